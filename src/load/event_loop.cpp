#include "load/event_loop.hpp"

namespace splleed::load {

EventLoopStats run_event_loop(boost::asio::io_context& io, Nanos busy_poll) {
  EventLoopStats stats;
  if (busy_poll <= 0) {
    io.run();
    return stats;
  }
  for (;;) {
    // Handlers that are ready now, then any that they made ready.
    if (io.poll() > 0) continue;
    if (io.stopped()) return stats;  // out of work, or stop()
    // Nothing ready: poll until something is, for up to busy_poll, then block for it.
    const Nanos start = MonotonicClock::read();
    Nanos now = start;
    bool found = false;
    while (now - start < busy_poll) {
      if (io.poll_one() > 0) {
        found = true;
        break;
      }
      if (io.stopped()) break;
      now = MonotonicClock::read();
    }
    stats.idle_poll_ns += now - start;
    if (io.stopped()) return stats;
    if (!found && io.run_one() == 0) return stats;
  }
}

}  // namespace splleed::load
