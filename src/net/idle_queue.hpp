#pragma once
// Reads first, parsing when idle. A worker's event loop (load/event_loop.hpp) installs an
// IdleQueue for its thread and marks the start of each pass over the handlers that are ready. A
// response read on that thread takes its receive time; when the pass has already run for longer
// than `defer_after` (a backlog: other reads are waiting behind this one), its parse is then
// deferred to the queue, and the loop releases deferred parses only when no other handler is
// ready. In a burst (every stream gets a token at once) each read is then timestamped without
// waiting for the parsing of the reads before it, as a bare read loop would; without a backlog
// nothing waits, and parsing follows the read at once, while its bytes are in cache.
//
// Hand-written because asio has no "run when idle" priority. The queue holds plain pointers to
// tasks that live in their connections, and release() calls them directly: deferring a parse
// allocates nothing and costs no extra trip through the io_context. Not thread-safe: one queue
// per thread, used only by that thread.
#include <cstddef>
#include <vector>

#include "splleed/clock.hpp"

namespace splleed::net {

// Work deferred to the queue: a connection's parse of what it has read. It lives in its owner
// (the connection), which keeps it alive while it is queued; it is queued at most once at a time.
class IdleTask {
 public:
  // Runs the deferred work. Called by IdleQueue::release on the io_context's thread, from inside
  // a handler (the event loop posts the release), so that what it starts is an ordinary handler's
  // work.
  virtual void run_deferred() = 0;
  // The loop is leaving with this task still queued (io_context::stop()): hand the work to the
  // io_context as an ordinary handler, which runs it if the context runs again and is destroyed
  // with everything it owns if the context is destroyed first.
  virtual void post_deferred() = 0;

 protected:
  ~IdleTask() = default;
};

class IdleQueue {
 public:
  // The queue of the calling thread's event loop, or nullptr (then nothing is deferred).
  static IdleQueue* current() noexcept;
  // Installs `q` for the calling thread (nullptr removes it); returns the previous one.
  static IdleQueue* install(IdleQueue* q) noexcept;

  explicit IdleQueue(Nanos defer_after) : defer_after_(defer_after) {}

  // The loop starts a pass over ready handlers (`now`: CLOCK_MONOTONIC), or runs a single handler
  // (kNoPass: nothing is waiting behind it, so nothing needs to wait).
  static constexpr Nanos kNoPass = -1;
  void begin_pass(Nanos now) noexcept { pass_start_ = now; }
  // Whether a read completing now should defer its parse: the current pass has run past
  // defer_after.
  bool behind() const noexcept {
    return pass_start_ != kNoPass && MonotonicClock::read() - pass_start_ > defer_after_;
  }

  // Queues `task` behind those already waiting.
  void defer(IdleTask& task);
  // Runs up to `max` queued tasks, oldest first; returns how many. A task may defer itself (or
  // another) again while it runs: it then waits behind the rest.
  std::size_t release(std::size_t max);
  // Hands every queued task to its io_context (IdleTask::post_deferred) and empties the queue.
  void post_all();
  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }

 private:
  IdleTask* pop() noexcept;
  std::vector<IdleTask*> ring_;  // capacity is a power of two; grows, never shrinks
  std::size_t head_ = 0, size_ = 0;
  Nanos defer_after_;
  Nanos pass_start_ = kNoPass;
};

}  // namespace splleed::net
