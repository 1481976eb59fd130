#pragma once
// Counts calls to the global operator new on the calling thread (replacement in alloc_counter.cpp
// of this test binary), so tests can assert that a steady-state path does not allocate.
#include <cstdint>

namespace splleed::net::testing {

std::uint64_t allocations_on_this_thread() noexcept;

}  // namespace splleed::net::testing
