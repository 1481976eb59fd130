#pragma once
// The one clock every duration in splleed comes from.
//
// Contract: Nanos values are integer nanoseconds on CLOCK_MONOTONIC (std::chrono::steady_clock on
// Linux). Wall-clock time is only used to stamp when a run started (see RunClock). Timing logic takes
// a `const Clock&` so that tests can inject a FakeClock and never sleep.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace splleed {

using Nanos = std::int64_t;  // nanoseconds on the monotonic clock

inline constexpr Nanos kNanosPerMicro = 1'000;
inline constexpr Nanos kNanosPerMilli = 1'000'000;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000;

inline constexpr double to_ms(Nanos ns) { return static_cast<double>(ns) / 1e6; }
inline constexpr Nanos from_ms(double ms) { return static_cast<Nanos>(ms * 1e6); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Nanos now() const noexcept = 0;
};

// Reads CLOCK_MONOTONIC. Thread-safe, allocation-free.
class MonotonicClock final : public Clock {
 public:
  static Nanos read() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  Nanos now() const noexcept override { return read(); }
};

// Test clock: time moves only when told to. Safe to read from several threads.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Nanos start = 0) : t_(start) {}
  Nanos now() const noexcept override { return t_.load(std::memory_order_relaxed); }
  void set(Nanos t) noexcept { t_.store(t, std::memory_order_relaxed); }
  void advance(Nanos d) noexcept { t_.fetch_add(d, std::memory_order_relaxed); }

 private:
  std::atomic<Nanos> t_;
};

}  // namespace splleed
