#include "load/event_loop.hpp"

#include <boost/asio/post.hpp>

#include "net/idle_queue.hpp"

namespace splleed::load {

namespace {

// Parses released per pass: between two passes the loop looks for ready reads again (a
// non-blocking reactor pass), so a burst's later reads wait for at most this many parses.
constexpr std::size_t kParsesPerPass = 8;
// A read parses at once unless its pass has already run this long (net/idle_queue.hpp).
constexpr Nanos kDeferAfter = 10'000;

// Keeps the thread's IdleQueue installed for the loop's lifetime.
class InstalledQueue {
 public:
  InstalledQueue() : queue_(kDeferAfter), previous_(net::IdleQueue::install(&queue_)) {}
  ~InstalledQueue() { net::IdleQueue::install(previous_); }
  InstalledQueue(const InstalledQueue&) = delete;
  InstalledQueue& operator=(const InstalledQueue&) = delete;
  net::IdleQueue& queue() { return queue_; }

 private:
  net::IdleQueue queue_;
  net::IdleQueue* previous_;
};

}  // namespace

EventLoopStats run_event_loop(boost::asio::io_context& io, Nanos busy_poll) {
  EventLoopStats stats;
  InstalledQueue installed;
  net::IdleQueue& idle = installed.queue();
  // Leaving with parses queued (stop()): they go to the io_context as ordinary handlers, which
  // it destroys with everything else it holds, instead of dangling in the queue.
  struct Drain {
    net::IdleQueue& q;
    ~Drain() { q.post_all(); }
  } drain{idle};
  for (;;) {
    // Handlers that are ready now (reads first), then any that they made ready: poll() returns
    // when a non-blocking reactor pass finds nothing more.
    idle.begin_pass(MonotonicClock::read());
    io.poll();
    if (io.stopped()) return stats;  // out of work, or stop()
    // Nothing else ready: parse what was read. The release runs as a handler, first in the next
    // pass, so that what the parses start (the next reads, a finished request's coroutine) is
    // ordinary handler work on this io_context.
    if (!idle.empty()) {
      // Found through the thread, not captured: a stopped context that is run again elsewhere
      // must not reach this loop's queue.
      boost::asio::post(io, [] {
        if (net::IdleQueue* q = net::IdleQueue::current()) q->release(kParsesPerPass);
      });
      continue;
    }
    bool found = false;
    if (busy_poll > 0) {
      // Precision mode: poll until something is ready, for up to busy_poll, then block for it.
      const Nanos start = MonotonicClock::read();
      Nanos now = start;
      while (now - start < busy_poll) {
        idle.begin_pass(net::IdleQueue::kNoPass);
        if (io.poll_one() > 0) {
          found = true;
          break;
        }
        if (io.stopped()) break;
        now = MonotonicClock::read();
      }
      stats.idle_poll_ns += now - start;
      if (io.stopped()) return stats;
    }
    idle.begin_pass(net::IdleQueue::kNoPass);  // one handler: nothing waits behind it
    if (!found && io.run_one() == 0) return stats;
  }
}

}  // namespace splleed::load
