// The whole observability chain: the simulator's /metrics scraped during a run, each request's
// engine state, and a "why" that names the queue for the slowest requests of an overloaded engine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "metrics/request_metrics.hpp"
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
  // ~100 tokens at the simulator's 4 bytes a token
  o.config.prompts.assign(120, std::string(400, 'x'));
  o.config.sampling.max_tokens = 20;
  o.config.sampling.ignore_eos = true;
  // A replayed trace: 60 arrivals below what 4 slots serve (about 38/s), then a burst of 60 at
  // 200/s. The burst's last requests arrive to by far the longest queue and wait longest.
  TraceReplay trace;
  trace.source = "test";
  for (int i = 0; i < 120; ++i)
    trace.times.push_back(i < 60 ? i * 40 * kNanosPerMilli
                                 : 2400 * kNanosPerMilli + (i - 60) * 5 * kNanosPerMilli);
  o.config.load.mode = LoadMode::rate;
  o.config.load.trace = trace;
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
  EXPECT_THAT(ttft.sentences.front(), HasSubstr("waiting")) << [&] {
    std::ostringstream d;
    for (const auto& r : run.requests) {
      const auto m = metrics::compute(r);
      d << r.index << (r.warmup ? "w" : "") << " ttft=" << (m.ttft ? *m.ttft / 1e6 : -1) << " start="
        << (r.dispatched ? (*r.dispatched - result.clock.monotonic_origin_ns) / 1000000 : -1)
        << " wait0=" << (r.engine && r.engine->waiting_at_start ? *r.engine->waiting_at_start : -1)
        << "\n";
    }
    return d.str();
  }();

  // The engine's own view of the run: its latency histograms over the run's window, and the
  // client TTFT beside the engine's.
  ASSERT_TRUE(run.engine);
  const auto ttft_hist = std::find_if(run.engine->latencies.begin(), run.engine->latencies.end(),
                                      [](const EngineLatency& l) { return l.name == "ttft"; });
  ASSERT_NE(ttft_hist, run.engine->latencies.end());
  EXPECT_GT(ttft_hist->count, 10);
  ASSERT_TRUE(ttft_hist->p50_s && ttft_hist->p99_s);
  EXPECT_LE(*ttft_hist->p50_s, *ttft_hist->p99_s);
  ASSERT_TRUE(run.engine->ttft_gap_mean_ms);
  // The simulator's timer starts when the request arrives, so little lies outside it; the gap is
  // small against the queueing TTFT of an overloaded engine.
  EXPECT_LT(std::abs(*run.engine->ttft_gap_mean_ms), *ttft_hist->mean_s * 1e3);

  // Everything reaches the JSON and reads back.
  const auto back = report::from_json(report::to_json(result));
  ASSERT_TRUE(back.runs[0].engine);
  EXPECT_EQ(back.runs[0].engine->latencies.size(), run.engine->latencies.size());
  auto signals = run.engine->signals;  // JSON object keys read back in name order
  std::sort(signals.begin(), signals.end());
  EXPECT_EQ(back.runs[0].engine->signals, signals);
  EXPECT_EQ(back.runs[0].engine->ttft_gap_mean_ms, run.engine->ttft_gap_mean_ms);
  ASSERT_TRUE(back.engine);
  EXPECT_EQ(back.engine->timeline.size(), e.timeline.size());
  ASSERT_EQ(back.runs[0].why.size(), run.why.size());
  EXPECT_EQ(back.runs[0].why[0].sentences, ttft.sentences);
  ASSERT_TRUE(back.runs[0].requests[0].engine);
  EXPECT_EQ(back.runs[0].requests[0].engine->waiting_max, run.requests[0].engine->waiting_max);
}

TEST(Why, AFullKvCacheIsNamedWhenItIsTheCause) {
  // Slots for everyone, and a KV cache with room for the short requests, until one of the rare
  // long prompts takes most of it: then the engine preempts, and the requests that shared the
  // engine with a long one are the slow ones.
  MonotonicClock clock;
  SessionOptions o;
  sim::SimConfig sim;
  sim.ttft_ms = 2;
  sim.itl_ms = 3;
  sim.prefill_us_per_token = 1;
  sim.step_us_per_running = 0;
  sim.max_running = 64;
  sim.kv_tokens = 1000;
  o.embedded_sim = sim;
  o.config.prompts.assign(23, std::string(200, 'x'));  // ~50 tokens
  o.config.prompts.push_back(std::string(3600, 'y'));   // ~900 tokens
  o.config.sampling.max_tokens = 30;
  o.config.sampling.ignore_eos = true;
  o.config.load.mode = LoadMode::concurrency;
  o.config.load.concurrency = {4};
  o.config.load.num_requests = 192;
  o.config.load.workers = 1;
  o.observe = ObserveOptions{true, "", 100 * kNanosPerMilli, false};
  Session s(std::move(o), clock);
  BenchmarkResult result = s.run();
  ASSERT_EQ(result.runs.size(), 1u);
  const RunResult& run = result.runs[0];
  std::string all;
  for (const WhyFinding& w : run.why)
    for (const std::string& sentence : w.sentences) all += sentence + "\n";
  EXPECT_THAT(all, ::testing::AnyOf(HasSubstr("KV cache"), HasSubstr("preemptions"))) << all;
  double preempted = 0;
  for (const auto& r : run.requests)
    if (r.engine) preempted = std::max(preempted, r.engine->preemptions.value_or(0));
  EXPECT_GT(preempted, 0);
}

TEST(Why, GpuTelemetryComesFromADcgmExporterEndpoint) {
  // A simulator serving a DCGM exporter's names at /gpu/metrics stands in for dcgm-exporter.
  MonotonicClock clock;
  sim::SimConfig sim;
  sim.port = 0;
  sim.ttft_ms = 2;
  sim.itl_ms = 10;
  sim::SimServer server(sim, clock);
  const auto port = server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  SessionOptions o;
  o.config.target.base_url = base;
  o.config.prompts = {"hello"};
  o.config.sampling.max_tokens = 30;
  o.config.sampling.ignore_eos = true;
  o.config.load.concurrency = {4};
  o.config.load.num_requests = 24;
  o.config.load.workers = 1;
  o.observe = ObserveOptions{true, "", 100 * kNanosPerMilli, true, base + "/gpu/metrics"};
  Session s(std::move(o), clock);
  BenchmarkResult result = s.run();
  server.stop();
  ASSERT_TRUE(result.engine);
  EXPECT_EQ(result.engine->gpu, "");  // read, not absent
  auto series = [&](const std::string& name) -> const SignalSeries* {
    for (const auto& t : result.engine->timeline)
      if (t.signal == name) return &t;
    return nullptr;
  };
  const SignalSeries* util = series("gpu_utilization");
  ASSERT_NE(util, nullptr);
  const double busiest = std::max_element(util->points.begin(), util->points.end(),
                                          [](const auto& a, const auto& b) { return a.second < b.second; })
                             ->second;
  EXPECT_GT(busiest, 0.0);  // 4 of 16 slots busy while measuring
  EXPECT_LE(busiest, 1.0);
  EXPECT_NE(series("gpu_memory_used_bytes"), nullptr);
  std::size_t with_gpu = 0;
  for (const auto& r : result.runs[0].requests)
    if (r.engine && r.engine->gpu_utilization_mean) ++with_gpu;
  EXPECT_GT(with_gpu, 0u);
}

TEST(Why, AGpuEndpointThatNeverAnswersIsNamed) {
  MonotonicClock clock;
  SessionOptions o;
  o.embedded_sim = sim::SimConfig{};
  o.config.load.num_requests = 3;
  o.config.sampling.max_tokens = 2;
  o.observe = ObserveOptions{true, "", 100 * kNanosPerMilli, true, "http://127.0.0.1:1/metrics"};
  Session s(std::move(o), clock);
  BenchmarkResult result = s.run();
  ASSERT_TRUE(result.engine);
  EXPECT_THAT(result.engine->gpu, HasSubstr("http://127.0.0.1:1/metrics never answered"));
  EXPECT_EQ(result.runs[0].summary.requests_ok, 3);
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
