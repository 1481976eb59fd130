#pragma once
// Reads first, parsing when idle. A worker's event loop (load/event_loop.hpp) installs an
// IdleQueue for its thread and marks the start of each pass over the handlers that are ready. A
// response read on that thread takes its receive time; when the pass has already run for longer
// than `defer_after` (a backlog: other reads are waiting behind this one), it then waits in the
// queue before parsing what it read, and the loop releases waiters only when no other handler is
// ready. In a burst (every stream gets a token at once) each read is then timestamped without
// waiting for the parsing of the reads before it, as a bare read loop would; without a backlog
// nothing waits, and parsing follows the read at once, while its bytes are in cache.
//
// Hand-written because asio has no "run when idle" priority; the wait is an asio async operation
// (usable with co_await) whose handler the queue keeps in the waiter itself, so a wait allocates
// nothing beyond asio's own recycled operation memory. Not thread-safe: one queue per thread,
// used only by that thread.
#include <cstddef>
#include <optional>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "splleed/clock.hpp"

namespace splleed::net {

// The completion handler of a `co_await` on a void() operation: resuming it resumes the coroutine.
using ResumeHandler =
    boost::asio::async_result<boost::asio::use_awaitable_t<>, void()>::handler_type;

// One connection's place in the queue.
struct IdleWaiter {
  std::optional<ResumeHandler> handler;  // set while queued
};

class IdleQueue {
 public:
  // The queue of the calling thread's event loop, or nullptr (then nothing waits).
  static IdleQueue* current() noexcept;
  // Installs `q` for the calling thread (nullptr removes it); returns the previous one.
  static IdleQueue* install(IdleQueue* q) noexcept;

  explicit IdleQueue(Nanos defer_after) : defer_after_(defer_after) {}

  // The loop starts a pass over ready handlers (`now`: CLOCK_MONOTONIC), or runs a single handler
  // (kNoPass: nothing is waiting behind it, so nothing needs to wait).
  static constexpr Nanos kNoPass = -1;
  void begin_pass(Nanos now) noexcept { pass_start_ = now; }
  // Whether a read completing now should wait: the current pass has run past defer_after.
  bool behind() const noexcept {
    return pass_start_ != kNoPass && MonotonicClock::read() - pass_start_ > defer_after_;
  }

  // Suspends the calling coroutine until the queue releases `w`.
  boost::asio::awaitable<void> wait(IdleWaiter& w);

  // Resumes up to `max` waiters, oldest first, by posting their handlers to their executors (the
  // event loop then runs them); returns how many.
  std::size_t release(std::size_t max);
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

 private:
  void push(IdleWaiter& w);
  std::vector<IdleWaiter*> ring_;  // capacity is a power of two; grows, never shrinks
  std::size_t head_ = 0, size_ = 0;
  Nanos defer_after_;
  Nanos pass_start_ = kNoPass;
};

}  // namespace splleed::net
