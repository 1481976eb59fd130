// The sweep and the SLO search: the planning logic alone, then whole plans against the simulator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/reporters.hpp"
#include "session/explore.hpp"

namespace splleed::session {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SweepRates, EvenlyBetweenTheEnds) {
  EXPECT_THAT(sweep_rates(10, 50, 3), ElementsAre(20, 30, 40));
  EXPECT_THAT(sweep_rates(1, 2, 1), ElementsAre(1.5));
  EXPECT_TRUE(sweep_rates(5, 5, 3).empty());
  EXPECT_TRUE(sweep_rates(6, 5, 3).empty());
}

// Runs the bisection against a known threshold: values <= limit pass.
std::vector<double> probes_for(Bisection b, double limit) {
  std::vector<double> probed;
  while (auto v = b.next()) {
    probed.push_back(*v);
    b.record(*v, *v <= limit);
    if (probed.size() > 100) break;
  }
  return probed;
}

TEST(Bisection, FindsTheLargestPassingRateWithinTolerance) {
  Bisection b(10, 100, 0.05, false);
  auto probed = probes_for(b, 61.3);
  ASSERT_GE(probed.size(), 3u);
  EXPECT_EQ(probed[0], 10);   // the low end first
  EXPECT_EQ(probed[1], 100);  // then the high end
  EXPECT_EQ(probed[2], 55);   // then midpoints
  Bisection replay(10, 100, 0.05, false);
  for (double v : probed) replay.record(v, v <= 61.3);
  ASSERT_TRUE(replay.answer());
  EXPECT_LE(*replay.answer(), 61.3);
  EXPECT_GT(*replay.answer(), 61.3 * (1 - 0.05) - 1e-9);
  EXPECT_FALSE(replay.next());
}

TEST(Bisection, LowEndFailingMeansNoAnswer) {
  Bisection b(10, 100, 0.05, false);
  b.record(10, false);
  EXPECT_FALSE(b.next());
  EXPECT_FALSE(b.answer());
}

TEST(Bisection, HighEndPassingIsTheAnswer) {
  Bisection b(10, 100, 0.05, false);
  b.record(10, true);
  b.record(100, true);
  EXPECT_FALSE(b.next());
  EXPECT_EQ(b.answer(), 100);
}

TEST(Bisection, ConcurrencyStopsAtAdjacentIntegers) {
  Bisection b(1, 64, 1, true);
  std::vector<double> probed;
  while (auto v = b.next()) {
    probed.push_back(*v);
    EXPECT_EQ(*v, std::floor(*v));
    b.record(*v, *v <= 23);
  }
  EXPECT_EQ(b.answer(), 23);
  EXPECT_LE(probed.size(), 2u + 6u);  // ends + log2(63) midpoints
}

RequestRecord record(Nanos ttft_ms, RequestStatus status = RequestStatus::ok) {
  RequestRecord r;
  r.status = status;
  r.scheduled = 0;
  r.dispatched = 0;
  r.first_token = ttft_ms * kNanosPerMilli;
  r.last_token = r.first_token;
  r.end = r.first_token;
  r.tokens = {{*r.first_token, 1}};
  return r;
}

TEST(EvaluateSlos, PercentileOfEachMetricWithFailuresAsMisses) {
  RunResult run;
  run.label = "rate=5";
  for (int i = 1; i <= 100; ++i) run.requests.push_back(record(i));
  RequestRecord warm = record(10'000);
  warm.warmup = true;  // excluded
  run.requests.push_back(warm);
  const std::vector<SloTarget> slos = {{"ttft", 100 * kNanosPerMilli}};
  SloProbe p = evaluate_slos(run, slos, 99);
  EXPECT_THAT(p.observed_ms, ElementsAre(DoubleNear(99.01, 1e-9)));  // numpy linear p99 of 1..100
  EXPECT_TRUE(p.passed);
  EXPECT_EQ(p.label, "rate=5");
  // Two failed requests push the p99 to a miss.
  run.requests.push_back(record(1, RequestStatus::timeout));
  run.requests.push_back(record(1, RequestStatus::http_error));
  p = evaluate_slos(run, slos, 99);
  EXPECT_FALSE(p.passed);
  EXPECT_EQ(p.failed_requests, 2);
  // A tighter bound fails on its own.
  p = evaluate_slos(run, {{"ttft", 50 * kNanosPerMilli}}, 50);
  EXPECT_FALSE(p.passed);
}

TEST(EvaluateSlos, NothingMeasuredIsNoEvidence) {
  RunResult run;
  SloProbe p = evaluate_slos(run, {{"ttft", kNanosPerSecond}}, 99);
  EXPECT_FALSE(p.passed);
  EXPECT_TRUE(std::isinf(p.observed_ms.at(0)));
}

sim::SimConfig bounded_sim() {
  sim::SimConfig c;
  c.ttft_ms = 2;
  c.itl_ms = 1;
  c.prefill_us_per_token = 1;
  c.step_us_per_running = 200;  // decode slows as the batch grows
  c.max_running = 4;            // beyond 4 in flight, requests queue
  return c;
}

SessionOptions sim_options() {
  SessionOptions o;
  o.embedded_sim = bounded_sim();
  o.config.load.num_requests = 24;
  o.config.load.workers = 1;
  o.config.sampling.max_tokens = 8;
  o.config.sampling.ignore_eos = true;
  return o;
}

TEST(Sweep, SynchronousSaturatingThenRatesBetween) {
  MonotonicClock clock;
  Session s(sim_options(), clock);
  auto result = run_sweep(s, {3, 16});
  ASSERT_TRUE(result.sweep);
  ASSERT_EQ(result.runs.size(), 5u);
  EXPECT_EQ(result.runs[0].label, "synchronous");
  EXPECT_EQ(result.runs[0].mode, LoadMode::latency);
  EXPECT_EQ(result.runs[1].label, "throughput");
  EXPECT_EQ(result.runs[1].concurrency, 16);
  EXPECT_EQ(result.sweep->max_concurrency, 16);
  EXPECT_GT(result.sweep->max_rate, result.sweep->synchronous_rate);
  ASSERT_EQ(result.sweep->rates.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(result.runs[2 + i].mode, LoadMode::rate);
    EXPECT_EQ(result.runs[2 + i].request_rate, result.sweep->rates[i]);
    EXPECT_EQ(result.runs[2 + i].summary.requests_ok, 24);
  }
  std::ostringstream console;
  report::write_console(result, console);
  EXPECT_THAT(console.str(), HasSubstr("Sweep: synchronous"));
  // The JSON keeps the sweep, and reads back.
  auto back = report::from_json(report::to_json(result));
  ASSERT_TRUE(back.sweep);
  EXPECT_EQ(back.sweep->rates, result.sweep->rates);
}

TEST(SloSearch, ConcurrencyBisectionReportsEveryProbe) {
  MonotonicClock clock;
  SessionOptions o = sim_options();
  // 4 decode slots: from 5 in flight requests queue, so a TTFT bound of ~a few ms fails.
  o.config.stats.slos = {{"e2e", 1000 * kNanosPerMilli}};
  Session s(std::move(o), clock);
  auto result = run_slo_search(s, {true, 99, 0.05, 8});
  ASSERT_TRUE(result.slo_search);
  const auto& search = *result.slo_search;
  EXPECT_EQ(search.variable, "concurrency");
  EXPECT_EQ(search.lower_bound, 1);
  EXPECT_EQ(search.upper_bound, 8);
  ASSERT_GE(search.probes.size(), 2u);
  EXPECT_EQ(result.runs.size(), 2u + search.probes.size());
  // A generous bound: every load passes, so the saturating end is the answer.
  EXPECT_EQ(search.answer, 8);
  EXPECT_THAT(search.verdict, HasSubstr("largest concurrency"));
  auto back = report::from_json(report::to_json(result));
  ASSERT_TRUE(back.slo_search);
  EXPECT_EQ(back.slo_search->probes.size(), search.probes.size());
  EXPECT_EQ(back.slo_search->answer, search.answer);
}

TEST(SloSearch, ImpossibleBoundHasNoAnswer) {
  MonotonicClock clock;
  SessionOptions o = sim_options();
  o.config.stats.slos = {{"ttft", 1}};  // 1 ns: nothing meets it
  Session s(std::move(o), clock);
  auto result = run_slo_search(s, {false, 99, 0.05, 8});
  ASSERT_TRUE(result.slo_search);
  EXPECT_FALSE(result.slo_search->answer);
  ASSERT_EQ(result.slo_search->probes.size(), 1u);  // the low end failed: nothing above can pass
  EXPECT_FALSE(result.slo_search->probes[0].passed);
  EXPECT_THAT(result.slo_search->verdict, HasSubstr("Even the lowest load"));
}

TEST(SloSearch, NeedsSlos) {
  MonotonicClock clock;
  Session s(sim_options(), clock);
  EXPECT_THROW(run_slo_search(s, {}), SessionError);
}

}  // namespace
}  // namespace splleed::session
