// Trace replay, warm-up by duration, the record sink and the session layer, end to end against
// the simulator.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "load/runner.hpp"
#include "session/session.hpp"
#include "sim/sim_server.hpp"

namespace splleed {
namespace {

sim::SimConfig fast_sim() {
  sim::SimConfig c;
  c.ttft_ms = 1;
  c.itl_ms = 1;
  c.prefill_us_per_token = 1;
  c.step_us_per_running = 5;
  c.max_running = 64;
  return c;
}

TEST(TraceReplay, EachRequestLeavesAtItsTimeWithItsPromptAndLength) {
  MonotonicClock clock;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.load.mode = LoadMode::rate;
  c.load.workers = 1;
  c.load.warmup = 1;
  c.sampling.ignore_eos = true;
  c.load.trace = TraceReplay{"inline", 1.0, {0, 5, 25, 30, 60}};
  for (Nanos& t : c.load.trace->times) t *= kNanosPerMilli;
  c.prompts = {"p0", "p1", "p2", "p3", "p4"};
  c.prompt_max_tokens = {2, 3, 4, 5, 6};
  ASSERT_EQ(validate(c), "");
  load::Runner runner(c, clock);
  runner.preflight();
  auto result = runner.run();
  server.stop();

  ASSERT_EQ(result.runs.size(), 1u);
  const RunResult& run = result.runs[0];
  EXPECT_EQ(run.label, "trace");
  ASSERT_EQ(run.requests.size(), 5u);
  EXPECT_EQ(run.summary.requests_sent, 4);
  ASSERT_TRUE(run.request_rate);
  EXPECT_NEAR(*run.request_rate, 4 / 0.060, 1e-9);  // the trace's own mean rate
  const RequestRecord* first_measured = nullptr;
  for (const auto& r : run.requests) {
    EXPECT_EQ(r.status, RequestStatus::ok) << r.error;
    EXPECT_EQ(r.prompt_index, r.index) << "a trace is replayed in order";
    EXPECT_EQ(r.warmup, r.index == 0);
    ASSERT_TRUE(r.usage.completion_tokens);
    EXPECT_EQ(*r.usage.completion_tokens, c.prompt_max_tokens[r.prompt_index]);
    if (r.index == 1) first_measured = &r;
  }
  ASSERT_NE(first_measured, nullptr);
  // Measured requests keep the trace's spacing, re-based to the measurement phase's start.
  for (const auto& r : run.requests) {
    if (r.warmup) continue;
    EXPECT_EQ(*r.scheduled - *first_measured->scheduled,
              c.load.trace->times[r.index] - c.load.trace->times[1]);
  }
}

TEST(WarmupDuration, ClosedLoopWarmsUpForTheGivenTimeThenMeasures) {
  MonotonicClock clock;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.prompts = {"hello"};
  c.sampling.max_tokens = 3;
  c.load.concurrency = {2};
  c.load.num_requests = 6;
  c.load.warmup_duration = 30 * kNanosPerMilli;
  c.load.workers = 1;
  load::Runner runner(c, clock);
  runner.preflight();
  auto result = runner.run();
  server.stop();
  ASSERT_EQ(result.runs.size(), 1u);
  std::size_t warm = 0;
  Nanos last_warm_dispatch = 0;
  Nanos first_measured_dispatch = std::numeric_limits<Nanos>::max();
  for (const auto& r : result.runs[0].requests) {
    if (r.warmup) {
      ++warm;
      last_warm_dispatch = std::max(last_warm_dispatch, *r.dispatched);
    } else {
      first_measured_dispatch = std::min(first_measured_dispatch, *r.dispatched);
    }
  }
  EXPECT_GE(warm, 2u) << "both slots warmed up";
  EXPECT_EQ(result.runs[0].summary.requests_sent, 6);
  EXPECT_LT(last_warm_dispatch, first_measured_dispatch);
}

TEST(RecordSink, ReceivesEverySentRequestOnce) {
  MonotonicClock clock;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.prompts = {"hello"};
  c.sampling.max_tokens = 3;
  c.load.concurrency = {1, 3};
  c.load.num_requests = 7;
  c.load.warmup = 2;
  c.load.workers = 2;
  std::mutex m;
  std::multiset<std::string> seen;
  load::Runner runner(c, clock);
  runner.set_record_sink([&](const RequestRecord& r) {
    EXPECT_NE(r.status, RequestStatus::incomplete);
    std::lock_guard lock(m);
    seen.insert(r.request_id);
  });
  runner.preflight();
  auto result = runner.run();
  server.stop();
  std::multiset<std::string> expected;
  for (const auto& run : result.runs)
    for (const auto& r : run.requests) expected.insert(r.request_id);
  EXPECT_EQ(expected.size(), 2u * 9u);
  EXPECT_EQ(seen, expected);
}

TEST(Session, RunsAgainstTheEmbeddedSimulator) {
  MonotonicClock clock;
  session::SessionOptions o;
  o.embedded_sim = fast_sim();
  o.config.load.num_requests = 4;
  o.config.sampling.max_tokens = 3;
  std::atomic<int> records{0};
  o.on_record = [&](const RequestRecord&) { ++records; };
  session::Session s(std::move(o), clock);
  auto result = s.run();
  ASSERT_EQ(result.runs.size(), 1u);
  EXPECT_EQ(result.runs[0].summary.requests_ok, 4);
  EXPECT_EQ(records.load(), 4);
  EXPECT_EQ(result.environment.target_url, "embedded simulator");
  EXPECT_EQ(result.config.target.model, "splleed-sim");
  EXPECT_EQ(result.config.prompts, session::default_sim_prompts());
}

TEST(Session, BadConfigurationIsOneSentenceAndNothingRuns) {
  MonotonicClock clock;
  session::SessionOptions o;
  o.embedded_sim = fast_sim();
  o.config.load.num_requests = 0;
  session::Session s(std::move(o), clock);
  try {
    s.run();
    FAIL() << "no error";
  } catch (const session::SessionError& e) {
    EXPECT_NE(std::string(e.what()).find("--num-requests"), std::string::npos) << e.what();
  }
}

TEST(Session, StopBeforeRunEndsAtOnce) {
  MonotonicClock clock;
  session::SessionOptions o;
  o.embedded_sim = fast_sim();
  o.config.load.num_requests = 1000000;
  session::Session s(std::move(o), clock);
  s.stop("stopped early");
  auto result = s.run();
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.stop_reason, "stopped early");
}

TEST(Session, AnUnusableLaterStepEndsThePlanAndKeepsWhatFinished) {
  MonotonicClock clock;
  session::SessionOptions o;
  o.embedded_sim = fast_sim();
  o.config.load.num_requests = 2;
  o.config.sampling.max_tokens = 2;
  session::Session s(std::move(o), clock);
  int step = 0;
  auto result = s.run_sequence([&](RunConfig& next, const std::vector<RunResult>&) {
    if (step++ == 0) return true;
    if (step > 2) return false;
    next.load.mode = LoadMode::rate;
    next.load.request_rates = {0};  // what a plan could derive after every request failed
    return true;
  });
  ASSERT_EQ(result.runs.size(), 1u);
  EXPECT_EQ(result.runs[0].summary.requests_ok, 2);
  EXPECT_TRUE(result.interrupted);
  EXPECT_NE(result.stop_reason.find("could not continue"), std::string::npos) << result.stop_reason;
}

}  // namespace
}  // namespace splleed
