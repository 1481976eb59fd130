// The whole observability chain: the simulator's /metrics scraped during a run, each request's
// engine state, and a "why" that names the queue for the slowest requests of an overloaded engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/reporters.hpp"
#include "session/session.hpp"

namespace splleed::session {
namespace {

using ::testing::HasSubstr;

TEST(Why, AnOverloadedEngineShowsItsQueueAndKvPressure) {
  MonotonicClock clock;
  SessionOptions o;
  sim::SimConfig sim;
  sim.ttft_ms = 2;
  sim.itl_ms = 5;
  sim.prefill_us_per_token = 1;
  sim.step_us_per_running = 0;
  sim.max_running = 4;
  sim.kv_tokens = 400;  // four requests of ~100 prompt + 20 output tokens do not fit: preemptions
  o.embedded_sim = sim;
  o.config.prompts = {std::string(400, 'x')};  // ~100 tokens at the simulator's 4 bytes a token
  o.config.sampling.max_tokens = 20;
  o.config.sampling.ignore_eos = true;
  // Arrivals at about twice what 4 slots serve: the queue grows through the run, so the last
  // requests wait longest and arrive to the longest queue.
  o.config.load.mode = LoadMode::rate;
  o.config.load.request_rates = {80};
  o.config.load.arrival = Arrival::constant;
  o.config.load.num_requests = 120;
  o.config.load.workers = 1;
  o.observe = ObserveOptions{true, "", 100 * kNanosPerMilli, false};
  Session s(std::move(o), clock);
  BenchmarkResult result = s.run();

  ASSERT_TRUE(result.engine);
  const EngineObservation& e = *result.engine;
  EXPECT_EQ(e.engine, "vllm");
  EXPECT_GE(e.scrapes_ok, 5);
  EXPECT_EQ(e.scrapes_failed, 0) << (e.failures.empty() ? "" : e.failures.front());
  auto has_signal = [&](const std::string& name) {
    return std::any_of(e.timeline.begin(), e.timeline.end(),
                       [&](const SignalSeries& series) { return series.signal == name && !series.points.empty(); });
  };
  EXPECT_TRUE(has_signal("waiting_requests"));
  EXPECT_TRUE(has_signal("running_requests"));
  EXPECT_TRUE(has_signal("kv_cache_usage"));

  ASSERT_EQ(result.runs.size(), 1u);
  const RunResult& run = result.runs[0];
  double max_waiting = 0, max_kv = 0;
  std::size_t with_state = 0;
  for (const auto& r : run.requests) {
    if (!r.engine) continue;
    ++with_state;
    max_waiting = std::max(max_waiting, r.engine->waiting_max.value_or(0));
    max_kv = std::max(max_kv, r.engine->kv_usage_max.value_or(0));
  }
  EXPECT_EQ(with_state, run.requests.size());
  EXPECT_GE(max_waiting, 10);
  EXPECT_GT(max_kv, 0.8);

  ASSERT_FALSE(run.why.empty());
  const WhyFinding& ttft = run.why.front();
  EXPECT_EQ(ttft.group, "p99-TTFT requests");
  ASSERT_FALSE(ttft.sentences.empty());
  EXPECT_THAT(ttft.sentences.front(), HasSubstr("waiting"));

  // Everything reaches the JSON and reads back.
  const auto back = report::from_json(report::to_json(result));
  ASSERT_TRUE(back.engine);
  EXPECT_EQ(back.engine->timeline.size(), e.timeline.size());
  ASSERT_EQ(back.runs[0].why.size(), run.why.size());
  EXPECT_EQ(back.runs[0].why[0].sentences, ttft.sentences);
  ASSERT_TRUE(back.runs[0].requests[0].engine);
  EXPECT_EQ(back.runs[0].requests[0].engine->waiting_max, run.requests[0].engine->waiting_max);
}

TEST(Why, AnEndpointWithoutMetricsIsRecordedAndTheRunGoesOn) {
  MonotonicClock clock;
  SessionOptions o;
  o.embedded_sim = sim::SimConfig{};
  o.config.load.num_requests = 3;
  o.config.sampling.max_tokens = 2;
  o.observe = ObserveOptions{true, "http://127.0.0.1:1/metrics", 100 * kNanosPerMilli, false};
  Session s(std::move(o), clock);
  BenchmarkResult result = s.run();
  ASSERT_TRUE(result.engine);
  EXPECT_EQ(result.engine->scrapes_ok, 0);
  EXPECT_GE(result.engine->scrapes_failed, 1);
  ASSERT_FALSE(result.engine->failures.empty());
  EXPECT_THAT(result.engine->failures.front(), HasSubstr("127.0.0.1:1"));
  EXPECT_EQ(result.runs[0].summary.requests_ok, 3);
  EXPECT_TRUE(result.runs[0].why.empty());
  std::ostringstream console;
  report::write_console(result, console);
  EXPECT_THAT(console.str(), HasSubstr("not available"));
}

}  // namespace
}  // namespace splleed::session
