// Per-request engine state and the "why were these slow" comparison.
#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "observe/analysis.hpp"

namespace splleed::observe::test {
namespace {

constexpr Nanos kS = kNanosPerSecond;
constexpr Nanos kMs = kNanosPerMilli;

// vLLM scrapes at 0..10 s: 2 waiting, KV 50%, except the scrape at 5 s (37 waiting, KV 98%);
// 3 preemptions between 5 s and 6 s.
SeriesStore congested_store() {
  SeriesStore st;
  double preemptions = 0;
  for (int i = 0; i <= 10; ++i) {
    if (i == 6) preemptions += 3;
    const bool busy = i == 5;
    st.append(i * kS, parse_exposition(fmt::format(
                          "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{{engine=\"0\"}} {}\n"
                          "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{engine=\"0\"}} 8\n"
                          "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{{engine=\"0\"}} {}\n"
                          "# TYPE vllm:num_preemptions_total counter\nvllm:num_preemptions_total{{engine=\"0\"}} {}\n",
                          busy ? 37 : 2, busy ? 0.98 : 0.5, preemptions)));
  }
  return st;
}

std::vector<RequestInterval> one_per_second() {
  std::vector<RequestInterval> r;
  for (int i = 0; i < 10; ++i) r.push_back(RequestInterval{i * kS, i * kS + 999 * kMs});
  return r;
}

TEST(Analysis, PerRequestStateSeesTheGaugesInForce) {
  const Timelines tl = build_timelines(congested_store(), profile_for(EngineKind::vllm));
  const auto reqs = one_per_second();
  const auto states = engine_state_per_request(tl, reqs);
  ASSERT_EQ(states.size(), 10u);
  const auto& w5 = states[5][Signal::waiting_requests];
  ASSERT_TRUE(w5);
  EXPECT_DOUBLE_EQ(w5->first, 37);
  EXPECT_EQ(w5->points, 1u);  // the scrape at 4 s stopped holding at 5 s
  EXPECT_DOUBLE_EQ(states[5][Signal::kv_cache_usage]->max, 0.98);
  EXPECT_DOUBLE_EQ(states[4][Signal::waiting_requests]->first, 2);
  EXPECT_DOUBLE_EQ(states[4][Signal::kv_cache_usage]->max, 0.5);
  EXPECT_NEAR(*states[5].preemptions, 3 * 0.999, 1e-9);
  EXPECT_DOUBLE_EQ(*states[4].preemptions, 0);
}

TEST(Analysis, ARequestShorterThanTheScrapeIntervalStillSeesTheState) {
  const Timelines tl = build_timelines(congested_store(), profile_for(EngineKind::vllm));
  const std::vector<RequestInterval> r{{5 * kS + 300 * kMs, 5 * kS + 310 * kMs}, {5 * kS + 500 * kMs, 6 * kS + 500 * kMs}};
  const auto states = engine_state_per_request(tl, r);
  EXPECT_DOUBLE_EQ(states[0][Signal::waiting_requests]->first, 37);
  EXPECT_NEAR(*states[0].preemptions, 0.03, 1e-9);
  // Half of each of two intervals: 0.5 s at 3/s, then 0.5 s at 0/s.
  EXPECT_NEAR(*states[1].preemptions, 1.5, 1e-9);
  EXPECT_DOUBLE_EQ(states[1][Signal::waiting_requests]->max, 37);
  EXPECT_DOUBLE_EQ(states[1][Signal::waiting_requests]->min, 2);
}

TEST(Analysis, NoScrapeDuringTheRequestMeansNoState) {
  EXPECT_FALSE(stats_over({}, 0, kS));
  const std::vector<SignalPoint> tl{{0, kS, 4}};
  EXPECT_FALSE(stats_over(tl, 2 * kS, 3 * kS));
  EXPECT_DOUBLE_EQ(stats_over(tl, 0, 0)->first, 4);
}

TEST(Analysis, WindowSummaryHoldsEverySignalTheProfileYields) {
  const SeriesStore st = congested_store();
  const WindowSummary w = summarize_window(st, profile_for(EngineKind::vllm), 4 * kS, 7 * kS);
  EXPECT_EQ(w.t0, 4 * kS);
  ASSERT_TRUE(w[Signal::preemptions_per_s]);
  EXPECT_DOUBLE_EQ(*w[Signal::preemptions_per_s], 1);  // 3 over the 3 s between the 4 s and 7 s scrapes
  ASSERT_TRUE(w[Signal::running_requests]);
  EXPECT_DOUBLE_EQ(*w[Signal::running_requests], 8);
  EXPECT_FALSE(w[Signal::gpu_power_w]);
  EXPECT_FALSE(w[Latency::ttft]);  // no histogram in this store
}

TEST(Analysis, WhyNamesTheStrongestDifferencesFirst) {
  const Timelines tl = build_timelines(congested_store(), profile_for(EngineKind::vllm));
  const auto states = engine_state_per_request(tl, one_per_second());
  const std::vector<std::size_t> slow{5};
  const WhyReport w = explain_slow(states, slow, "p99-TTFT requests");
  ASSERT_EQ(w.differences.size(), 3u);
  EXPECT_EQ(w.differences[0].signal, Signal::waiting_requests);
  EXPECT_DOUBLE_EQ(w.differences[0].slow_median, 37);
  EXPECT_DOUBLE_EQ(w.differences[0].rest_median, 2);
  EXPECT_EQ(w.differences[1].signal, Signal::kv_cache_usage);
  EXPECT_EQ(w.differences[2].signal, Signal::preemptions_per_s);
  ASSERT_EQ(w.sentences.size(), 3u);
  EXPECT_EQ(w.sentences[0], "p99-TTFT requests arrived when 37 requests were waiting (median 2 for the others).");
  EXPECT_EQ(w.sentences[1], "The KV cache was 98% full during p99-TTFT requests (50% for the others).");
  EXPECT_EQ(w.sentences[2], "p99-TTFT requests saw 3 preemptions each (median 0 for the others).");
  // Running requests were 8 throughout: not mentioned.
  EXPECT_TRUE(std::none_of(w.differences.begin(), w.differences.end(),
                           [](const Difference& d) { return d.signal == Signal::running_requests; }));
}

TEST(Analysis, WhenNothingDiffersItSaysTheCauseIsNotVisible) {
  const Timelines tl = build_timelines(congested_store(), profile_for(EngineKind::vllm));
  const auto states = engine_state_per_request(tl, one_per_second());
  const std::vector<std::size_t> slow{1, 2};
  const WhyReport w = explain_slow(states, slow, "the slowest requests");
  EXPECT_TRUE(w.differences.empty());
  ASSERT_EQ(w.sentences.size(), 1u);
  EXPECT_NE(w.sentences[0].find("not visible from the engine's metrics"), std::string::npos);
  EXPECT_NE(w.sentences[0].find("the slowest requests"), std::string::npos);
}

TEST(Analysis, SmallGapsAreNotReported) {
  std::vector<RequestEngineState> states(4);
  for (std::size_t i = 0; i < states.size(); ++i) {
    SignalStats s;
    s.points = 1;
    s.first = s.mean = s.min = s.max = i == 0 ? 3 : 2;  // 3 waiting vs 2: within ordinary variation
    states[i].by_signal[static_cast<std::size_t>(Signal::waiting_requests)] = s;
  }
  const std::vector<std::size_t> slow{0};
  EXPECT_TRUE(explain_slow(states, slow, "slow").differences.empty());
}

TEST(Analysis, EmptyOrOutOfRangeGroupsAreHandled) {
  const std::vector<RequestEngineState> states(3);
  const std::vector<std::size_t> slow{7};
  const WhyReport w = explain_slow(states, slow, "slow");
  EXPECT_TRUE(w.differences.empty());
  EXPECT_EQ(w.sentences.size(), 1u);
}

}  // namespace
}  // namespace splleed::observe::test
