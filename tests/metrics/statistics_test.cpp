// Goodput, percentile intervals in summaries, cross-trial aggregates and A/B comparison rows.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "metrics/compare_runs.hpp"
#include "metrics/request_metrics.hpp"
#include "metrics/trials.hpp"

namespace splleed::metrics {
namespace {

constexpr Nanos ms(double v) { return from_ms(v); }

// Sent at t0, first token after `ttft_ms`, then `tokens - 1` more one-token events every
// `gap_ms`; ends 1 ms after the last token.
RequestRecord request(Nanos t0, double ttft_ms, int tokens, double gap_ms,
                      RequestStatus status = RequestStatus::ok) {
  RequestRecord r;
  r.status = status;
  r.scheduled = t0;
  r.dispatched = t0;
  for (int i = 0; i < tokens; ++i) r.tokens.push_back({t0 + ms(ttft_ms + i * gap_ms), 1});
  if (!r.tokens.empty()) {
    r.first_token = r.tokens.front().received;
    r.last_token = r.tokens.back().received;
  }
  r.end = (r.last_token ? *r.last_token : t0) + ms(1);
  return r;
}

StatsConfig with_slos(std::vector<SloTarget> slos) {
  StatsConfig s;
  s.slos = std::move(slos);
  return s;
}

TEST(Goodput, CountsOkRequestsMeetingEverySlo) {
  const std::vector<RequestRecord> records = {
      request(0, 100, 5, 10),       // ttft 100, tpot 10: good
      request(0, 300, 5, 10),       // ttft too slow
      request(0, 100, 5, 30),       // tpot too slow
      request(0, 50, 1, 0),         // one token: TPOT undefined, counts as met
      request(0, 10, 5, 1, RequestStatus::http_error),  // fast, but failed
  };
  const RunSummary s = summarize(records, 0, ms(2000),
                                 with_slos({{"ttft", ms(200)}, {"tpot", ms(20)}}));
  ASSERT_TRUE(s.goodput.has_value());
  EXPECT_EQ(s.requests_good, 2);
  EXPECT_DOUBLE_EQ(*s.goodput, 1.0);          // 2 good / 2 s
  EXPECT_DOUBLE_EQ(*s.good_fraction, 2.0 / 5);  // failures stay in the denominator
}

TEST(Goodput, AbsentWithoutSlos) {
  const std::vector<RequestRecord> records = {request(0, 100, 5, 10)};
  const RunSummary s = summarize(records, 0, ms(1000));
  EXPECT_FALSE(s.goodput.has_value());
  EXPECT_FALSE(s.good_fraction.has_value());
  EXPECT_FALSE(s.requests_good.has_value());
}

TEST(Goodput, OnlyRequestsEndingInTheWindowCount) {
  const std::vector<RequestRecord> records = {request(0, 100, 2, 10),
                                              request(ms(900), 100, 2, 10)};  // ends at 1011 ms
  const RunSummary s = summarize(records, 0, ms(1000), with_slos({{"e2e", ms(500)}}));
  EXPECT_EQ(s.requests_good, 1);
  EXPECT_DOUBLE_EQ(*s.goodput, 1.0);
  EXPECT_DOUBLE_EQ(*s.good_fraction, 0.5);
}

TEST(Goodput, AFailedRequestNeverImprovesAnyFigure) {
  std::vector<RequestRecord> records = {request(0, 100, 5, 10), request(0, 300, 5, 10)};
  const StatsConfig slos = with_slos({{"ttft", ms(200)}});
  const RunSummary before = summarize(records, 0, ms(1000), slos);
  records.push_back(request(0, 1, 5, 1, RequestStatus::timeout));  // would meet every SLO if ok
  const RunSummary after = summarize(records, 0, ms(1000), slos);
  EXPECT_LE(*after.goodput, *before.goodput);
  EXPECT_LT(*after.good_fraction, *before.good_fraction);
  EXPECT_EQ(after.requests_good, before.requests_good);
  EXPECT_GE(after[Metric::ttft].p50, before[Metric::ttft].p50);
}

TEST(Goodput, PooledMetricsJudgeTheWorstGap) {
  RequestRecord r = request(0, 10, 3, 5);
  r.tokens.push_back({*r.last_token + ms(40), 4});  // 40 ms gap over 4 tokens: ITL 10, ICL 40
  r.last_token = r.tokens.back().received;
  r.end = *r.last_token + ms(1);
  const RequestMetrics m = compute(r);
  EXPECT_DOUBLE_EQ(*slo_value(r, m, "itl"), static_cast<double>(ms(10)));
  EXPECT_DOUBLE_EQ(*slo_value(r, m, "icl"), static_cast<double>(ms(40)));
  EXPECT_TRUE(meets_slos(r, m, {{"itl", ms(10)}}));
  EXPECT_FALSE(meets_slos(r, m, {{"icl", ms(39)}}));
  EXPECT_THROW(slo_value(r, m, "latency"), std::invalid_argument);
}

TEST(Summarize, IntervalsUseTheConfiguredLevel) {
  std::vector<RequestRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back(request(0, 10.0 * (i + 1), 1, 0));
  StatsConfig stats;
  stats.confidence = 0.95;
  const RunSummary s = summarize(records, 0, ms(1000), stats);
  EXPECT_EQ(s.confidence, 0.95);
  const PercentileInterval& p50 = s[Metric::ttft].intervals[0];
  EXPECT_TRUE(p50.supported);
  EXPECT_DOUBLE_EQ(p50.lo, 60);   // x_(6) of 10..200 ms
  EXPECT_DOUBLE_EQ(p50.hi, 150);  // x_(15)
  EXPECT_FALSE(s[Metric::ttft].intervals[4].supported);  // p99.9 of 20 samples
  EXPECT_EQ(s[Metric::ttft].intervals[4].min_samples, 2995);
  stats.confidence = 0.5;
  const RunSummary narrow = summarize(records, 0, ms(1000), stats);
  EXPECT_GT(narrow[Metric::ttft].intervals[0].lo, p50.lo);
  // The three-argument form keeps the default level.
  EXPECT_EQ(summarize(records, 0, ms(1000)).confidence, 0.95);
}

RunResult run(const std::string& label, std::int32_t trial, double throughput, double ttft_ms) {
  RunResult r;
  r.label = label;
  r.trial = trial;
  r.summary.request_throughput = throughput;
  r.summary[Metric::ttft].count = 10;
  r.summary[Metric::ttft].mean = ttft_ms;
  r.summary[Metric::ttft].p99 = 2 * ttft_ms;
  return r;
}

TEST(Trials, GroupsByLabelWithStudentTIntervals) {
  BenchmarkResult b;
  b.config.stats.confidence = 0.95;
  b.runs = {run("c=1", 0, 10, 100), run("c=1", 1, 12, 110), run("c=4", 0, 40, 200),
            run("c=1", 2, 14, 120)};
  aggregate_trials(b);
  ASSERT_EQ(b.aggregates.size(), 2U);
  const TrialAggregate& a = b.aggregates[0];
  EXPECT_EQ(a.label, "c=1");
  EXPECT_EQ(a.trials, 3);
  // {10, 12, 14}: mean 12, sd 2, se 2/sqrt(3); t_{0.975,2} = 4.302653 -> half-width 4.968275.
  EXPECT_DOUBLE_EQ(a.request_throughput.mean, 12);
  EXPECT_NEAR(a.request_throughput.hi - 12, 4.968275, 1e-5);
  EXPECT_NEAR(a.request_throughput.cv, 2.0 / 12, 1e-12);
  const TrialEstimate& ttft_mean = a.metrics[static_cast<int>(Metric::ttft)][0];
  EXPECT_DOUBLE_EQ(ttft_mean.mean, 110);
  EXPECT_NEAR(ttft_mean.hi - 110, 4.302653 * 10 / std::sqrt(3.0), 1e-4);
  EXPECT_DOUBLE_EQ(a.metrics[static_cast<int>(Metric::ttft)][4].mean, 220);  // p99
  EXPECT_EQ(a.metrics[static_cast<int>(Metric::tpot)][0].n, 0);  // no samples in any trial
  EXPECT_FALSE(a.goodput.has_value());

  const TrialAggregate& single = b.aggregates[1];
  EXPECT_EQ(single.trials, 1);
  EXPECT_FALSE(single.request_throughput.has_interval);
}

TEST(Trials, FinalizeAppliesTheConfiguredSlosAndLevel) {
  BenchmarkResult b;
  b.config.stats = with_slos({{"ttft", ms(150)}});
  for (std::int32_t t = 0; t < 2; ++t) {
    RunResult r;
    r.label = "c=1";
    r.trial = t;
    r.requests = {request(0, 100, 3, 10), request(0, 100.0 + 100 * t, 3, 10)};
    r.summary = summarize(r.requests, 0, ms(1000));  // as the runner computes it
    b.runs.push_back(std::move(r));
  }
  finalize(b);
  EXPECT_EQ(b.runs[0].summary.requests_good, 2);
  EXPECT_EQ(b.runs[1].summary.requests_good, 1);
  EXPECT_EQ(b.runs[1].summary.window_end, ms(1000));  // window kept
  ASSERT_EQ(b.aggregates.size(), 1U);
  ASSERT_TRUE(b.aggregates[0].goodput.has_value());
  EXPECT_DOUBLE_EQ(b.aggregates[0].goodput->mean, 1.5);
  EXPECT_DOUBLE_EQ(b.aggregates[0].good_fraction->mean, 0.75);
}

BenchmarkResult level(double ttft_ms, double spread_ms, int n, double gap_ms = 10) {
  BenchmarkResult b;
  RunResult r;
  r.label = "c=1";
  for (int i = 0; i < n; ++i)
    r.requests.push_back(request(ms(i), ttft_ms + spread_ms * ((i * 37) % n) / n, 4, gap_ms));
  r.summary = summarize(r.requests, 0, ms(5000));
  b.runs.push_back(std::move(r));
  return b;
}

TEST(Compare, IdenticalInputsShowNoSignificantChangeAnywhere) {
  const BenchmarkResult a = level(100, 50, 300);
  const auto rows = compare(a, a, CompareOptions{});
  // 11 metrics x 3 percentiles + 3 throughputs.
  EXPECT_EQ(rows.size(), 36U);
  for (const auto& row : rows)
    EXPECT_EQ(row.verdict, stats::Verdict::no_change) << row.metric << " " << row.stat;
}

TEST(Compare, AShiftedTtftIsWorseAndTheOtherWayBetter) {
  const BenchmarkResult a = level(100, 50, 300);
  const BenchmarkResult b = level(130, 50, 300);
  CompareOptions o;
  o.metrics = {"ttft", "tpot"};
  const auto rows = compare(a, b, o);
  ASSERT_EQ(rows.size(), 6U);
  for (const auto& row : rows) {
    if (row.metric == "ttft") {
      EXPECT_EQ(row.verdict, stats::Verdict::worse) << row.stat;
      EXPECT_NEAR(row.diff.diff, 30, 5);
    } else {
      EXPECT_EQ(row.verdict, stats::Verdict::no_change) << row.stat;  // same token gaps
    }
  }
  const auto back = compare(b, a, o);
  EXPECT_EQ(back[0].verdict, stats::Verdict::better);
}

TEST(Compare, HigherThroughputIsBetter) {
  BenchmarkResult a = level(100, 10, 200);
  BenchmarkResult b = level(100, 10, 200);
  b.runs[0].summary.window_end = ms(2500);  // same requests in half the time
  b.runs[0].summary.window_s = 2.5;
  a.runs[0].summary.window_s = 5;
  CompareOptions o;
  o.metrics = {"request_throughput"};
  const auto rows = compare(a, b, o);
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_TRUE(rows[0].higher_is_better);
  EXPECT_DOUBLE_EQ(rows[0].diff.a, 40);
  EXPECT_DOUBLE_EQ(rows[0].diff.b, 80);
  EXPECT_EQ(rows[0].verdict, stats::Verdict::better);
}

TEST(Compare, SeedDeterminismAndIndependenceFromTheFilter) {
  const BenchmarkResult a = level(100, 50, 200);
  const BenchmarkResult b = level(104, 50, 200);
  CompareOptions o;
  o.seed = 9;
  const auto all = compare(a, b, o);
  const auto again = compare(a, b, o);
  o.metrics = {"e2e"};
  const auto only = compare(a, b, o);
  ASSERT_EQ(all.size(), again.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].diff.lo, again[i].diff.lo);
    EXPECT_EQ(all[i].diff.hi, again[i].diff.hi);
  }
  const auto e2e = std::find_if(all.begin(), all.end(), [](const auto& r) { return r.metric == "e2e"; });
  ASSERT_NE(e2e, all.end());
  EXPECT_EQ(e2e->diff.lo, only[0].diff.lo);
  EXPECT_EQ(e2e->diff.hi, only[0].diff.hi);
}

TEST(Compare, OnlyLabelsInBothAndKnownMetrics) {
  const BenchmarkResult a = level(100, 50, 50);
  BenchmarkResult b = level(100, 50, 50);
  b.runs[0].label = "c=8";
  EXPECT_TRUE(compare(a, b, CompareOptions{}).empty());
  CompareOptions o;
  o.metrics = {"latency"};
  EXPECT_THROW(compare(a, a, o), std::invalid_argument);
}

TEST(Compare, FailedRequestsAreNotLatencySamples) {
  BenchmarkResult a = level(100, 0, 20);
  a.runs[0].requests[0].status = RequestStatus::http_error;
  const LevelSamples s = collect({&a.runs[0]});
  EXPECT_EQ(s.metrics[static_cast<int>(Metric::ttft)].size(), 19U);
  EXPECT_EQ(s.throughput[0].size(), 20U);  // every measured request has a contribution
  EXPECT_EQ(s.throughput[0][0], 0.0);
}

}  // namespace
}  // namespace splleed::metrics
