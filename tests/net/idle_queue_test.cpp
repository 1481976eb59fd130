// Reads first, parsing when idle (net/idle_queue.hpp): the queue's order, and an HttpClient whose
// reads in one pass are all timestamped before any of them is parsed.
#include "net/idle_queue.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "net/steady_stream.hpp"
#include "net/test_server.hpp"

namespace splleed::net {
namespace {

namespace asio = boost::asio;
using testing::Gate;
using testing::ServerConn;
using testing::TestServer;
using Task = asio::awaitable<void>;

// Installs `q` for this thread while in scope.
struct Installed {
  explicit Installed(IdleQueue& q) : previous(IdleQueue::install(&q)) {}
  ~Installed() { IdleQueue::install(previous); }
  IdleQueue* previous;
};

// A task that records when it runs, and that can defer itself once more.
struct Recorder final : IdleTask {
  void run_deferred() override {
    log->push_back(id);
    if (again) {
      again = false;
      queue->defer(*this);
    }
  }
  void post_deferred() override { log->push_back(-id); }
  int id = 0;
  std::vector<int>* log = nullptr;
  IdleQueue* queue = nullptr;
  bool again = false;
};

// `n` recorders with ids 1..n, queued in order.
std::vector<Recorder> queue_recorders(IdleQueue& q, int n, std::vector<int>& log) {
  std::vector<Recorder> tasks(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Recorder& t = tasks[static_cast<std::size_t>(i)];
    t.id = i + 1;
    t.log = &log;
    t.queue = &q;
  }
  for (Recorder& t : tasks) q.defer(t);
  return tasks;
}

TEST(IdleQueue, ReleasesTasksOldestFirstAndGrows) {
  IdleQueue q(0);
  constexpr int kTasks = 40;  // past the first ring size
  std::vector<int> ran;
  std::vector<Recorder> tasks = queue_recorders(q, kTasks, ran);
  EXPECT_EQ(q.size(), static_cast<std::size_t>(kTasks));
  EXPECT_TRUE(ran.empty());  // nothing runs until released
  EXPECT_EQ(q.release(3), 3u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(q.release(100), static_cast<std::size_t>(kTasks - 3));
  ASSERT_EQ(ran.size(), static_cast<std::size_t>(kTasks));
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(ran[static_cast<std::size_t>(i)], i + 1);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.release(1), 0u);
}

TEST(IdleQueue, ATaskThatDefersAgainWaitsForTheNextRelease) {
  IdleQueue q(0);
  std::vector<int> ran;
  std::vector<Recorder> tasks = queue_recorders(q, 3, ran);
  tasks[0].again = true;
  EXPECT_EQ(q.release(10), 3u);  // only the three queued when the release began
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.release(10), 1u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3, 1}));
}

TEST(IdleQueue, PostAllHandsEveryQueuedTaskBack) {
  IdleQueue q(0);
  std::vector<int> ran;
  std::vector<Recorder> tasks = queue_recorders(q, 2, ran);
  q.post_all();
  EXPECT_EQ(ran, (std::vector<int>{-1, -2}));
  EXPECT_TRUE(q.empty());
}

TEST(IdleQueue, BehindOnlyOnceAPassHasRunPastItsLimit) {
  IdleQueue q(1'000'000'000);  // 1 s
  EXPECT_FALSE(q.behind());    // no pass begun
  q.begin_pass(MonotonicClock::read());
  EXPECT_FALSE(q.behind());
  q.begin_pass(MonotonicClock::read() - 2'000'000'000);
  EXPECT_TRUE(q.behind());
  q.begin_pass(IdleQueue::kNoPass);
  EXPECT_FALSE(q.behind());
}

std::string chunk(std::string_view payload) {
  std::ostringstream os;
  os << std::hex << payload.size() << "\r\n" << payload << "\r\n";
  return os.str();
}

// Advances the clock by 1 ms for every body it is handed: parsing that takes time.
struct SlowParser final : ResponseHandler {
  explicit SlowParser(FakeClock& c) : clock(c) {}
  void on_dispatched(Nanos) override {}
  void on_headers(Nanos, int) override {}
  bool on_body(std::string_view bytes, Nanos t) override {
    body.append(bytes);
    read_times.push_back(t);
    clock.advance(kNanosPerMilli);
    return true;
  }
  FakeClock& clock;
  std::string body;
  std::vector<Nanos> read_times;
};

// Two streams whose responses arrive together, so both reads complete in one pass. Returns each
// stream's read times. With `queue`, the loop drains it as load::run_event_loop does (every pass
// counts as behind); without, it is a plain io.run().
std::vector<std::vector<Nanos>> two_streams_arriving_together(IdleQueue* queue) {
  asio::io_context io(1);
  FakeClock clock(1'000 * kNanosPerMilli);
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n" +
                               chunk("data: token\n\n") + "0\r\n\r\n";
  std::vector<ServerConn*> waiting;
  TestServer server(io, [&](ServerConn& c) -> Task {
    if (!co_await c.read_request()) co_return;
    waiting.push_back(&c);
    if (waiting.size() == 2) {  // the second request: answer both at once
      for (ServerConn* s : waiting) co_await s->write(response);
    }
    co_await c.wait_for_close();
  });
  std::string error;
  ClientOptions options;
  HttpClient client(io, *Url::parse(server.url(), &error), options, clock);
  SlowParser a(clock), b(clock);
  int done = 0;
  for (SlowParser* p : {&a, &b}) {
    asio::co_spawn(io, [&, p]() -> Task {
      const TransportResult r = co_await client.post_stream("/x", {}, "{}", *p);
      EXPECT_EQ(r.error, TransportError::none) << r.message;
      if (++done == 2) client.shutdown(), io.stop();
    }, asio::detached);
  }
  if (queue == nullptr) {
    io.run();
  } else {
    Installed installed(*queue);
    while (!io.stopped()) {
      queue->begin_pass(0);  // every read counts as behind
      io.poll();
      if (!queue->empty()) {
        asio::post(io, [queue] { queue->release(1); });
        continue;
      }
      if (!io.stopped()) io.run_one();
    }
    EXPECT_TRUE(queue->empty());
  }
  EXPECT_EQ(a.body, "data: token\n\n");
  EXPECT_EQ(b.body, "data: token\n\n");
  return {a.read_times, b.read_times};
}

TEST(IdleQueue, ReadsInOnePassAreTimestampedBeforeAnyIsParsed) {
  IdleQueue q(0);
  const auto with_queue = two_streams_arriving_together(&q);
  ASSERT_EQ(with_queue[0].size(), 1u);
  ASSERT_EQ(with_queue[1].size(), 1u);
  // Both reads took their time before either parse advanced the clock.
  EXPECT_EQ(with_queue[0][0], with_queue[1][0]);

  // Without the queue the second read waits for the first one's parse.
  const auto inline_parse = two_streams_arriving_together(nullptr);
  ASSERT_EQ(inline_parse[0].size(), 1u);
  ASSERT_EQ(inline_parse[1].size(), 1u);
  const Nanos gap = inline_parse[0][0] > inline_parse[1][0] ? inline_parse[0][0] - inline_parse[1][0]
                                                            : inline_parse[1][0] - inline_parse[0][0];
  EXPECT_EQ(gap, kNanosPerMilli);
}

// Sends one request; when it has ended well, sets `done`, shuts the client down and stops `io`
// (the test server's accept loop would keep the context running).
void spawn_one_request(asio::io_context& io, HttpClient& client, ResponseHandler& handler,
                       bool& done) {
  asio::co_spawn(io, [&]() -> Task {
    const TransportResult r = co_await client.post_stream("/x", {}, "{}", handler);
    EXPECT_EQ(r.error, TransportError::none) << r.message;
    done = true;
    client.shutdown();
    io.stop();
  }, asio::detached);
}

// Runs `io` one handler at a time, every read counting as behind, until a parse waits in `q`.
void run_until_a_parse_waits(asio::io_context& io, IdleQueue& q) {
  while (q.empty() && !io.stopped()) {
    q.begin_pass(0);
    io.run_one();
  }
}

// A loop stopped while a parse waits hands it back to the io_context: run again without the
// queue, the request finishes; nothing is lost or leaked (ASan runs this too).
TEST(IdleQueue, AParseQueuedWhenTheLoopStopsRunsWhenTheContextRunsAgain) {
  asio::io_context io(1);
  const std::string response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                               chunk("data: token\n\n") + "0\r\n\r\n";
  TestServer server(io, [&](ServerConn& c) -> Task {
    if (!co_await c.read_request()) co_return;
    co_await c.write(response);
    co_await c.wait_for_close();
  });
  FakeClock clock(0);
  std::string error;
  HttpClient client(io, *Url::parse(server.url(), &error), ClientOptions{}, clock);
  SlowParser handler(clock);
  bool done = false;
  spawn_one_request(io, client, handler, done);
  IdleQueue q(0);
  {
    Installed installed(q);
    run_until_a_parse_waits(io, q);
    ASSERT_EQ(q.size(), 1u);  // the response's read, waiting for its parse
    io.stop();
    q.post_all();  // what the event loop does when it leaves
  }
  EXPECT_FALSE(done);
  io.restart();
  io.run_for(std::chrono::seconds(30));  // a guard: the request's end stops it at once
  EXPECT_TRUE(done);
  EXPECT_EQ(handler.body, "data: token\n\n");
}

// The same, but the context is destroyed instead of run again: the queued parse owns the
// request's coroutine and goes with it (LeakSanitizer checks that nothing is left behind).
TEST(IdleQueue, AParseQueuedWhenTheLoopStopsIsDestroyedWithItsContext) {
  auto io = std::make_unique<asio::io_context>(1);
  auto server = std::make_unique<TestServer>(*io, [&](ServerConn& c) -> Task {
    if (!co_await c.read_request()) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunk("data: token\n\n"));
    co_await c.wait_for_close();
  });
  FakeClock clock(0);
  std::string error;
  auto client = std::make_unique<HttpClient>(*io, *Url::parse(server->url(), &error),
                                             ClientOptions{}, clock);
  SlowParser handler(clock);
  bool done = false;
  asio::co_spawn(*io, [&]() -> Task {
    co_await client->post_stream("/x", {}, "{}", handler);
    done = true;
  }, asio::detached);
  IdleQueue q(0);
  {
    Installed installed(q);
    run_until_a_parse_waits(*io, q);
    ASSERT_EQ(q.size(), 1u);
    io->stop();
    q.post_all();
  }
  // Torn down as a worker is: its client, then its context, which destroys the handed-back parse
  // and the coroutine it owns.
  client.reset();
  server.reset();
  io.reset();
  EXPECT_FALSE(done);
}

// The read timeout is the server's silence between reads: a deadline that passes while a parse
// waits in the queue starts again with the next read, and a server that then stays silent still
// ends the request with a timeout instead of leaving it unwatched.
TEST(IdleQueue, ReadTimeoutStillWatchesAfterAParseWaitedPastIt) {
  asio::io_context io(1);
  TestServer server(io, [&](ServerConn& c) -> Task {
    if (!co_await c.read_request()) co_return;
    co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunk("data: token\n\n"));
    co_await c.wait_for_close();  // silent from here on
  });
  FakeClock clock(0);
  std::string error;
  ClientOptions options;
  options.read_timeout = 50 * kNanosPerMilli;
  HttpClient client(io, *Url::parse(server.url(), &error), options, clock);
  SlowParser handler(clock);
  std::optional<TransportResult> result;
  asio::co_spawn(io, [&]() -> Task {
    result = co_await client.post_stream("/x", {}, "{}", handler);
    client.shutdown();
    io.stop();
  }, asio::detached);
  IdleQueue q(0);
  Installed installed(q);
  run_until_a_parse_waits(io, q);
  ASSERT_EQ(q.size(), 1u);
  // The parse waits past the read deadline (the watchdog fires meanwhile, with no read pending).
  asio::steady_timer past_deadline(io, std::chrono::milliseconds(120));
  bool waited = false;
  past_deadline.async_wait([&](const boost::system::error_code&) { waited = true; });
  q.begin_pass(IdleQueue::kNoPass);
  while (!waited) io.run_one();
  asio::post(io, [&] { q.release(1); });
  io.run_for(std::chrono::seconds(10));  // a guard: the timeout stops it after 50 ms
  ASSERT_TRUE(result.has_value()) << "no timeout: the next read was not watched";
  EXPECT_EQ(result->error, TransportError::timeout) << result->message;
  EXPECT_EQ(handler.body, "data: token\n\n");
}

// Every read waits in the queue; after warm-up that allocates nothing either.
TEST(IdleQueue, WaitingReadsDoNotAllocateInSteadyState) {
  asio::io_context io(1);
  Gate gate(io);
  testing::CountingHandler handler(gate);
  TestServer server(io, testing::steady_stream(gate, handler));
  MonotonicClock clock;
  std::string error;
  HttpClient client(io, *Url::parse(server.url(), &error), ClientOptions{}, clock);
  bool done = false;
  spawn_one_request(io, client, handler, done);
  IdleQueue q(0);
  std::size_t released = 0;
  {
    Installed installed(q);
    while (!io.stopped()) {
      q.begin_pass(0);  // every read counts as behind
      io.poll();
      if (!q.empty()) {
        asio::post(io, [&] { released += q.release(1); });
        continue;
      }
      if (!io.stopped()) io.run_one();
    }
  }
  ASSERT_TRUE(done);
  ASSERT_EQ(handler.reads, testing::kSteadyEvents);
  EXPECT_GE(released, testing::kSteadyEvents);  // every read waited
  EXPECT_EQ(handler.marks[59], handler.marks[20]) << "allocations between read 20 and read 59";
}

}  // namespace
}  // namespace splleed::net
