// Replaces the global operator new/delete of the net test binary with malloc/free plus a
// per-thread counter (see alloc_counter.hpp). Every replaceable non-aligned form is replaced so
// that allocation and release always pair, also under AddressSanitizer.
#include "net/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>

namespace {
thread_local std::uint64_t t_allocations = 0;

void* counted_alloc(std::size_t n) {
  ++t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

namespace splleed::net::testing {
std::uint64_t allocations_on_this_thread() noexcept { return t_allocations; }
}  // namespace splleed::net::testing

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace splleed::net {
namespace {

TEST(AllocCounter, CountsOperatorNew) {
  const auto before = testing::allocations_on_this_thread();
  auto p = std::make_unique<int>(7);
  EXPECT_EQ(testing::allocations_on_this_thread(), before + 1);
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace splleed::net
