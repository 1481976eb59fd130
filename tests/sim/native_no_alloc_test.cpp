// The native APIs' per-token formatters append into a reused buffer without allocating. This file
// replaces the global operator new/delete of the sim test binary with malloc/free plus a
// per-thread counter; every non-aligned form is replaced so that allocation and release always
// pair, also under AddressSanitizer.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "sim/native_wire.hpp"

namespace {
thread_local std::uint64_t t_allocations = 0;

void* counted_alloc(std::size_t n) noexcept {
  ++t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* counted_alloc_or_throw(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
}  // namespace

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

namespace splleed::sim {
namespace {

TEST(NativeWireNoAlloc, TokenAndFinalEventsReuseTheBuffer) {
  fmt::memory_buffer out;
  NativeSummary s;
  s.prompt_tokens = 100;
  s.completion_tokens = 1000;
  s.prefill_ns = 12'345'678;
  s.decode_ns = 987'654'321;
  s.total_ns = 1'111'111'111;
  const std::string_view text = " the river and the stone under the bright long water";
  auto all = [&](std::int64_t i) {
    out.clear();
    append_tgi_token_event(out, i, 1000 + static_cast<std::int32_t>(i % 64), " river", false,
                           i % 2 ? &s : nullptr, text);
    out.clear();
    append_sglang_event(out, "0123456789abcdef", text, 100, i, 16, i % 2 ? &s : nullptr, 0.123);
    out.clear();
    append_llamacpp_token_event(out, " river", 1007, i, 100);
    out.clear();
    append_llamacpp_final_event(out, "splleed-sim", s);
    out.clear();
    append_ollama_event(out, i % 2 == 0, "splleed-sim", 1'700'000'000'000'000'000 + i, " river",
                        i % 3 ? nullptr : &s);
    out.clear();
    append_triton_event(out, "splleed-sim", " river");
  };
  all(1);  // the buffer grows to its size once
  all(2);
  const std::uint64_t before = t_allocations;
  for (std::int64_t i = 3; i < 2000; ++i) all(i);
  EXPECT_EQ(t_allocations - before, 0u);
}

}  // namespace
}  // namespace splleed::sim
