// The per-token path must not allocate in the steady state. This binary replaces the global
// operator new to count allocations made while `g_counting` is set.
#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/adapter.hpp"
#include "native_test_util.hpp"
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

TYPED_TEST(NoAllocTest, KeptReplyTextDoesNotAllocateWithinItsReservedRoom) {
  auto parser = make_adapter(TypeParam::kApi)->make_parser();
  std::string text;
  text.reserve(4096);
  parser->keep_text(&text);
  RequestRecord rec;
  rec.tokens.reserve(256);
  parser->on_event(TypeParam::opening(), 1, rec);
  const std::string chunk = TypeParam::chunk(q("word "));
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 200; ++i) parser->on_event(chunk, 2 + i, rec);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(text.size(), 200u * 5u);
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
  const std::string last = TypeParam::chunk(q("next"), "", q("length"));
  g_allocations = 0;
  g_counting = true;
  parser->reset();
  for (int i = 0; i < 32; ++i) parser->on_event(i == 31 ? last : chunk, 3 + i, second);
  parser->on_body_end(100, second);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(second.tokens.size(), 32u);
  EXPECT_EQ(second.status, RequestStatus::ok);
}

// ---- native APIs ------------------------------------------------------------------------------

template <class T>
class NativeNoAllocTest : public ::testing::Test {
 protected:
  static constexpr int kEvents = 1000;
  NativeNoAllocTest() {
    for (int i = 1; i <= kEvents; ++i) {
      payloads.push_back(T::token(i, "tok \\u00e9"));
    }
  }
  // Feeds the whole stream and ends it the API's way.
  EventOutcome feed_stream(RequestRecord& rec) {
    EventOutcome last = EventOutcome::more;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
      last = parser->on_event(payloads[i], static_cast<Nanos>(10 + i), rec);
    }
    if (terminal) return parser->on_event(*terminal, 5000, rec);
    parser->on_body_end(5000, rec);
    return last;
  }
  std::unique_ptr<StreamParser> parser = native_adapter(T::kApi)->make_parser();
  std::vector<std::string> payloads;
  std::optional<std::string> terminal = T::terminal(kEvents);
};
TYPED_TEST_SUITE(NativeNoAllocTest, NativeApis, NativeNames);

TYPED_TEST(NativeNoAllocTest, SteadyStateTokenEventsDoNotAllocate) {
  RequestRecord rec;
  rec.tokens.reserve(this->kEvents + 16);
  rec.response_id.reserve(64);
  // Warm-up: the first events take the response id; buffers grow to a payload's size.
  for (std::size_t i = 0; i < 8; ++i) this->parser->on_event(this->payloads[i], 1, rec);
  // Payloads of cumulative-text APIs (SGLang) grow through the stream; the buffer then grows only
  // when a payload outgrows it, so its steady state is checked on a reused parser below.
  const bool cumulative = TypeParam::kApi == Api::sglang;
  g_allocations = 0;
  g_counting = !cumulative;
  for (std::size_t i = 8; i < this->payloads.size(); ++i) {
    this->parser->on_event(this->payloads[i], static_cast<Nanos>(10 + i), rec);
  }
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(rec.status, RequestStatus::incomplete) << rec.error;
}

TYPED_TEST(NativeNoAllocTest, ReusedParserDoesNotAllocateForAWholeRequest) {
  RequestRecord first;
  first.tokens.reserve(this->kEvents + 16);
  this->feed_stream(first);
  ASSERT_EQ(first.status, RequestStatus::ok) << first.error;

  RequestRecord second;
  second.tokens.reserve(this->kEvents + 16);
  second.response_id.reserve(64);
  g_allocations = 0;
  g_counting = true;
  this->parser->reset();
  const EventOutcome outcome = this->feed_stream(second);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(second.status, RequestStatus::ok) << second.error;
  if (this->terminal) {
    EXPECT_EQ(outcome, EventOutcome::done);
  }
  EXPECT_EQ(second.tokens.size(),
            static_cast<std::size_t>(this->kEvents + TypeParam::kTerminalTokens));
  EXPECT_EQ(second.output_bytes, static_cast<std::uint64_t>(this->kEvents) * 6);  // "tok é"
  EXPECT_EQ(first.tokens.size(), second.tokens.size());
}

}  // namespace
}  // namespace splleed::protocol::test
