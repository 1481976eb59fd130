#pragma once
// How a worker thread drives its io_context: blocking (the default), or the precision mode that
// polls for ready work for a while before it blocks, so that a read which completes during that
// time is handled without the kernel's wake-up latency. It trades CPU for receive delay.
#include <boost/asio/io_context.hpp>

#include "splleed/clock.hpp"

namespace splleed::load {

struct EventLoopStats {
  // Time spent polling with nothing ready (precision mode only): CPU burnt waiting, which the
  // client-health figure takes off the worker's busy time.
  Nanos idle_poll_ns = 0;
};

// Runs `io` until it runs out of work or is stopped, with a net::IdleQueue installed for the
// thread: responses read on it are parsed only when no other handler is ready, a few at a time
// (net/idle_queue.hpp). busy_poll <= 0: when nothing is ready, it blocks at once. Otherwise it
// first polls (a non-blocking reactor pass each time) for up to `busy_poll`. The polling is timed
// with CLOCK_MONOTONIC, whatever clock the run uses.
EventLoopStats run_event_loop(boost::asio::io_context& io, Nanos busy_poll);

}  // namespace splleed::load
