// The worker event loop: blocking, and the precision mode that polls before it blocks.
#include "load/event_loop.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

namespace splleed::load {
namespace {

namespace asio = boost::asio;

// A chain of handlers, each posting the next, and a timer: work that becomes ready later.
struct Work {
  explicit Work(asio::io_context& context) : io(context), timer(context) {}
  void start(int chain) {
    step(chain);
    timer.expires_after(std::chrono::milliseconds(2));
    timer.async_wait([this](const boost::system::error_code& ec) { timer_fired = !ec; });
  }
  void step(int left) {
    asio::post(io, [this, left] {
      ++steps;
      if (left > 1) step(left - 1);
    });
  }
  asio::io_context& io;
  asio::steady_timer timer;
  int steps = 0;
  bool timer_fired = false;
};

TEST(EventLoop, BlockingRunsEverythingAndReturnsWhenOutOfWork) {
  asio::io_context io(1);
  Work w(io);
  w.start(50);
  const EventLoopStats s = run_event_loop(io, 0);
  EXPECT_EQ(w.steps, 50);
  EXPECT_TRUE(w.timer_fired);
  EXPECT_EQ(s.idle_poll_ns, 0);
  EXPECT_TRUE(io.stopped());
}

TEST(EventLoop, PrecisionModeRunsEverythingAndCountsItsIdlePolling) {
  for (Nanos busy_poll : {Nanos{1'000}, Nanos{50'000}, Nanos{10'000'000}}) {
    SCOPED_TRACE(busy_poll);
    asio::io_context io(1);
    Work w(io);
    w.start(50);
    const EventLoopStats s = run_event_loop(io, busy_poll);
    EXPECT_EQ(w.steps, 50);
    EXPECT_TRUE(w.timer_fired);
    // The timer was pending with nothing else ready, so the loop polled for a while, at most
    // busy_poll each time it found nothing.
    EXPECT_GT(s.idle_poll_ns, 0);
    EXPECT_TRUE(io.stopped());
  }
}

TEST(EventLoop, PrecisionModeSeesWorkPostedFromAnotherThreadAndStops) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);  // keeps the loop waiting for outside work
  int ran = 0;
  std::thread other([&] {
    asio::post(io, [&] {
      ++ran;
      guard.reset();  // the last work: the loop returns once it has run
    });
  });
  const EventLoopStats s = run_event_loop(io, 20'000);
  other.join();
  EXPECT_EQ(ran, 1);
  EXPECT_GE(s.idle_poll_ns, 0);

  asio::io_context stopped(1);
  auto keep = asio::make_work_guard(stopped);
  std::thread stopper([&] { stopped.stop(); });
  run_event_loop(stopped, 20'000);  // returns: stop() ends the loop whatever work is left
  stopper.join();
  EXPECT_TRUE(stopped.stopped());
}

}  // namespace
}  // namespace splleed::load
