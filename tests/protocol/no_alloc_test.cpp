// The per-token path must not allocate in the steady state. This binary replaces the global
// operator new to count allocations made while `g_counting` is set.
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/adapter.hpp"
#include "protocol_test_util.hpp"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void* counted_alloc(std::size_t n) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_alloc_or_throw(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace

// Every non-aligned form is replaced, so that all of them pair malloc with free (sanitizers check
// the pairing); the aligned forms keep the library's matching new and delete.
void* operator new(std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new[](std::size_t n) { return counted_alloc_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace splleed::protocol::test {
namespace {

TEST(AllocationCounter, SeesAllocations) {
  g_allocations = 0;
  g_counting = true;
  auto* s = new std::string(100, 'x');  // beyond the small-string buffer: two allocations
  g_counting = false;
  delete s;
  EXPECT_GE(g_allocations.load(), 2);
}

template <class T>
class NoAllocTest : public ::testing::Test {};
TYPED_TEST_SUITE(NoAllocTest, OpenAiApis, ApiNames);

TYPED_TEST(NoAllocTest, SteadyStateTokenEventsDoNotAllocate) {
  constexpr int kEvents = 1000;
  auto parser = make_adapter(TypeParam::kApi)->make_parser();
  // Payloads built up front; a mix of plain chunks, cumulative usage and a finish chunk.
  std::vector<std::string> payloads;
  for (int i = 0; i < kEvents; ++i) {
    const std::string text = q("tok" + std::to_string(i % 10) + " \\u00e9");
    payloads.push_back(i % 3 == 0 ? TypeParam::chunk(text, usage_member(i + 1))
                                  : TypeParam::chunk(text));
  }
  const std::string finish = TypeParam::chunk(q(""), usage_member(kEvents), q("length"));

  RequestRecord rec;
  rec.tokens.reserve(kEvents + 16);  // the caller sizes the record; the parser must not grow it
  // Warm-up: the first event takes the response id; buffers reach their steady size.
  parser->on_event(TypeParam::opening(), 1, rec);
  for (int i = 0; i < 8; ++i) parser->on_event(payloads[static_cast<std::size_t>(i)], 2, rec);

  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < kEvents; ++i) {
    parser->on_event(payloads[static_cast<std::size_t>(i)], 10 + i, rec);
  }
  parser->on_event(finish, 5000, rec);
  const auto outcome = parser->on_event("[DONE]", 5001, rec);
  g_counting = false;

  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(outcome, EventOutcome::done);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(rec.tokens.size(), static_cast<std::size_t>(kEvents + 8));
  EXPECT_EQ(rec.finish_reason, "length");
}

TYPED_TEST(NoAllocTest, ReusedParserDoesNotAllocateForTheNextRequest) {
  auto parser = make_adapter(TypeParam::kApi)->make_parser();
  RequestRecord first;
  parser->on_event(TypeParam::chunk(q("warm")), 1, first);
  parser->on_event("[DONE]", 2, first);

  RequestRecord second;
  second.tokens.reserve(64);
  second.response_id.reserve(64);
  const std::string chunk = TypeParam::chunk(q("next"));
  g_allocations = 0;
  g_counting = true;
  parser->reset();
  for (int i = 0; i < 32; ++i) parser->on_event(chunk, 3 + i, second);
  parser->on_body_end(100, second);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(second.tokens.size(), 32u);
  EXPECT_EQ(second.status, RequestStatus::ok);
}

}  // namespace
}  // namespace splleed::protocol::test
