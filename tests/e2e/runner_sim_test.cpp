// End-to-end: the real runner, HTTP client and protocol adapters against the real simulator,
// in one process on loopback, both on the same monotonic clock.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <sstream>
#include <thread>

#include "load/runner.hpp"
#include "net/test_server.hpp"
#include "sim/sim_server.hpp"

namespace splleed {
namespace {

sim::SimConfig fast_sim() {
  sim::SimConfig c;
  c.ttft_ms = 2;
  c.itl_ms = 1;
  c.prefill_us_per_token = 1;
  c.step_us_per_running = 5;
  c.max_running = 64;
  return c;
}

RunConfig base_config(std::uint16_t port, Api api = Api::openai_completions) {
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.target.api = api;
  c.prompts = {"hello world", "tell me a story about a very long river"};
  c.sampling.max_tokens = 12;
  c.sampling.ignore_eos = true;
  c.load.concurrency = {1, 4};
  c.load.num_requests = 20;
  c.load.warmup = 2;
  c.load.workers = 2;
  return c;
}

class RunnerSimTest : public ::testing::TestWithParam<Api> {
 protected:
  MonotonicClock clock;
};

TEST_P(RunnerSimTest, CountsStatusesOrderingAndTruth) {
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  load::Runner runner(base_config(port, GetParam()), clock);
  auto info = runner.preflight();
  EXPECT_EQ(info.served_model, "splleed-sim");
  EXPECT_EQ(runner.config().target.model, "splleed-sim");
  auto result = runner.run();
  server.stop();

  ASSERT_EQ(result.runs.size(), 2u);
  EXPECT_FALSE(result.interrupted);
  std::map<std::string, std::vector<const RequestRecord*>> by_id;
  for (const auto& run : result.runs) {
    EXPECT_EQ(run.requests.size(), 22u);
    EXPECT_EQ(run.summary.requests_sent, 20);
    EXPECT_EQ(run.summary.requests_ok, 20);
    EXPECT_EQ(run.summary[Metric::ttft].count, 20u);
    EXPECT_EQ(run.summary[Metric::tpot].count, 20u);
    // 11 gaps per request between 12 single-token events
    EXPECT_EQ(run.summary[Metric::itl].count, 20u * 11u);
    EXPECT_GT(run.summary.request_throughput, 0);
    int warm = 0;
    for (const auto& r : run.requests) {
      warm += r.warmup;
      EXPECT_EQ(r.status, RequestStatus::ok) << r.error;
      ASSERT_TRUE(r.scheduled && r.dispatched && r.headers && r.first_event && r.first_token &&
                  r.last_token && r.end);
      EXPECT_LE(*r.scheduled, *r.dispatched);
      EXPECT_LE(*r.dispatched, *r.headers);
      EXPECT_LE(*r.headers, *r.first_event);
      EXPECT_LE(*r.first_event, *r.first_token);
      EXPECT_LE(*r.first_token, *r.last_token);
      EXPECT_LE(*r.last_token, *r.end);
      EXPECT_EQ(r.tokens.size(), 12u);
      ASSERT_TRUE(r.usage.completion_tokens);
      EXPECT_EQ(*r.usage.completion_tokens, 12);
      EXPECT_FALSE(r.response_id.empty());
      by_id[r.request_id].push_back(&r);
    }
    EXPECT_EQ(warm, 2);
  }
  EXPECT_EQ(by_id.size(), 44u) << "request ids must be unique";

  // The client never receives an event before the simulator began writing it.
  std::map<std::string, std::vector<sim::SendLogEntry>> sent;
  for (const auto& e : server.send_log()) sent[e.request_id].push_back(e);
  std::size_t checked = 0;
  for (const auto& [id, records] : by_id) {
    const RequestRecord& r = *records.front();
    auto it = sent.find(id);
    ASSERT_NE(it, sent.end()) << id;
    const auto& log = it->second;
    // Each token event i (for completions) is written before it can be received.
    std::size_t token_log_offset = GetParam() == Api::openai_chat ? 1 : 0;  // role-only chunk
    ASSERT_GE(log.size(), r.tokens.size() + token_log_offset);
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      EXPECT_GE(r.tokens[i].received, log[i + token_log_offset].before_write)
          << id << " token " << i;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 44u * 12u);
}

INSTANTIATE_TEST_SUITE_P(Apis, RunnerSimTest,
                         ::testing::Values(Api::openai_completions, Api::openai_chat),
                         [](const auto& param_info) {
                           return param_info.param == Api::openai_chat ? "chat" : "completions";
                         });

struct FaultCase {
  const char* fault;
  RequestStatus expected;
};

class FaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(FaultTest, EachFailureEndsWithItsStatusAndTheRunGoesOn) {
  MonotonicClock clock;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  auto config = base_config(port);
  config.load.concurrency = {2};
  config.load.num_requests = 4;
  config.load.warmup = 0;
  config.target.read_timeout = 300 * kNanosPerMilli;
  config.sampling.extra_body = std::string(R"({"sim_fault":")") + GetParam().fault + "\"}";
  load::Runner runner(config, clock);
  runner.preflight();
  auto result = runner.run();
  server.stop();
  ASSERT_EQ(result.runs.size(), 1u);
  const auto& run = result.runs[0];
  EXPECT_EQ(run.summary.requests_sent, 4);
  for (const auto& r : run.requests) {
    EXPECT_EQ(r.status, GetParam().expected) << GetParam().fault << ": " << r.error;
    if (r.status != RequestStatus::ok) {
      EXPECT_FALSE(r.error.empty());
    }
  }
  const auto expected = static_cast<std::size_t>(GetParam().expected);
  EXPECT_EQ(run.summary.by_status[expected], 4);
  if (GetParam().expected != RequestStatus::ok) {
    EXPECT_EQ(run.summary.requests_failed, 4);
    EXPECT_EQ(run.summary[Metric::ttft].count, 0u) << "failed requests never enter latency";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Faults, FaultTest,
    ::testing::Values(FaultCase{"http_500", RequestStatus::http_error},
                      FaultCase{"http_429", RequestStatus::http_error},
                      FaultCase{"error_event", RequestStatus::stream_error},
                      FaultCase{"reset", RequestStatus::protocol_error},
                      FaultCase{"malformed", RequestStatus::protocol_error},
                      FaultCase{"stall", RequestStatus::timeout},
                      FaultCase{"no_done", RequestStatus::ok}),
    [](const auto& param_info) { return std::string(param_info.param.fault); });

// A stream that failed does not lend its connection to the next request; a good one does. The
// server answers 200 with an empty event stream (as llama-cpp-python does for a prompt past its
// context) or, for "ok", one token and [DONE].
TEST(RunnerConnections, AStreamThatFailedDoesNotLendItsConnection) {
  for (const bool empty : {true, false}) {
    SCOPED_TRACE(empty ? "empty stream" : "ok stream");
    namespace asio = boost::asio;
    asio::io_context io(1);
    const std::string body =
        empty ? "" : "data: {\"choices\":[{\"text\":\"x\",\"finish_reason\":\"length\"}]}\n\n"
                     "data: [DONE]\n\n";
    std::ostringstream response;
    response << "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
                "chunked\r\n\r\n";
    if (!body.empty()) response << std::hex << body.size() << "\r\n" << body << "\r\n";
    response << "0\r\n\r\n";
    net::testing::TestServer server(io, [&](net::testing::ServerConn& c) -> asio::awaitable<void> {
      while (co_await c.read_request()) {
        if (!co_await c.write(response.str())) co_return;
      }
    });
    auto work = asio::make_work_guard(io);
    std::thread serving([&] { io.run(); });
    MonotonicClock clock;
    auto config = base_config(server.port());
    config.target.model = "m";
    config.sampling.max_tokens = 1;
    config.load.concurrency = {1};
    config.load.num_requests = 4;
    config.load.warmup = 0;
    config.load.workers = 1;
    load::Runner runner(config, clock);
    auto result = runner.run();
    asio::post(io, [&] { io.stop(); });
    serving.join();
    for (const auto& r : result.runs.at(0).requests)
      EXPECT_EQ(r.status, empty ? RequestStatus::protocol_error : RequestStatus::ok) << r.error;
    EXPECT_EQ(server.accepted(), empty ? 4 : 1);
  }
}

TEST(RunnerTarget, UnreachableTargetFailsFastWithOneSentence) {
  MonotonicClock clock;
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:9";
  c.prompts = {"x"};
  c.load.num_requests = 1;
  load::Runner runner(c, clock);
  try {
    runner.preflight();
    FAIL() << "expected TargetError";
  } catch (const load::TargetError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cannot reach http://127.0.0.1:9"), std::string::npos) << msg;
  }
}

TEST(RunnerStop, StopKeepsFinishedAndMarksInFlightIncomplete) {
  MonotonicClock clock;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  auto config = base_config(port);
  config.load.concurrency = {2, 4};
  config.load.num_requests = 1000000;
  config.load.warmup = 0;
  config.sampling.extra_body = R"({"sim_fault":"stall"})";
  std::atomic<int> phases{0};
  load::Runner* runner_ptr = nullptr;
  load::Runner runner(config, clock, [&](const std::string&) { phases++; });
  runner_ptr = &runner;
  runner.preflight();
  // Stalled requests never finish, so the run can only end through stop(): wait until both are
  // in flight (the simulator has accepted them), then stop.
  std::thread stopper([&] {
    while (server.stats().generations_started < 2) std::this_thread::yield();
    runner_ptr->stop("test stop");
  });
  auto result = runner.run();
  stopper.join();
  server.stop();
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.stop_reason, "test stop");
  ASSERT_EQ(result.runs.size(), 1u) << "later levels do not start after a stop";
  ASSERT_EQ(result.runs[0].requests.size(), 2u);
  for (const auto& r : result.runs[0].requests) {
    EXPECT_EQ(r.status, RequestStatus::incomplete);
    EXPECT_LE(r.tokens.size(), 2u);
  }
}

}  // namespace
}  // namespace splleed
