// Time-series store: series identity, counter deltas with resets, histogram windows and
// Prometheus histogram_quantile semantics.
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "observe/series_store.hpp"

namespace splleed::observe::test {
namespace {

constexpr Nanos kS = kNanosPerSecond;

void add(SeriesStore& st, Nanos t, const std::string& text) { ASSERT_TRUE(st.append(t, parse_exposition(text))); }

TEST(SeriesKey, SortedLabelsAndEscapes) {
  const Exposition e = parse_exposition("m{b=\"2\",a=\"x\\\"y\"} 1\n");
  const Sample& s = e.families[0].samples[0];
  EXPECT_EQ(series_key(s.name, s.labels), "m{a=\"x\\\"y\",b=\"2\"}");
  EXPECT_EQ(series_key("plain", {}), "plain");
}

TEST(SeriesStore, OneSeriesPerNameAndLabelSet) {
  SeriesStore st;
  add(st, 1 * kS, "# TYPE g gauge\ng{e=\"0\"} 1\ng{e=\"1\"} 2\nother 3\n");
  add(st, 2 * kS, "# TYPE g gauge\ng{e=\"1\"} 5\ng{e=\"0\"} 4\n");
  EXPECT_EQ(st.series_count(), 3u);
  EXPECT_EQ(st.scrape_times(), (std::vector<Nanos>{1 * kS, 2 * kS}));
  EXPECT_EQ(st.names(), (std::vector<std::string>{"g", "other"}));
  const auto g1 = st.find("g{e=\"1\"}");
  ASSERT_TRUE(g1);
  EXPECT_EQ(g1->type, MetricType::gauge);
  ASSERT_EQ(g1->points.size(), 2u);
  EXPECT_DOUBLE_EQ(g1->points[1].v, 5);
  EXPECT_EQ(st.select("g").size(), 2u);
  EXPECT_EQ(st.select("g", {{"e", "0"}}).size(), 1u);
  // A series missing from a scrape has no point there.
  EXPECT_EQ(st.find("other")->points.size(), 1u);
}

TEST(SeriesStore, TimeGoingBackwardsIsRefused) {
  SeriesStore st;
  add(st, 5 * kS, "a 1\n");
  EXPECT_FALSE(st.append(4 * kS, parse_exposition("a 2\n")));
  EXPECT_EQ(st.find("a")->points.size(), 1u);
}

TEST(SeriesRead, ValueAtIsTheLastValueAtOrBefore) {
  Series s{"g", {}, MetricType::gauge, {{10, 1}, {20, 2}, {30, 3}}};
  EXPECT_FALSE(value_at(s, 9));
  EXPECT_DOUBLE_EQ(*value_at(s, 10), 1);
  EXPECT_DOUBLE_EQ(*value_at(s, 25), 2);
  EXPECT_DOUBLE_EQ(*value_at(s, 99), 3);
}

TEST(CounterDelta, PlainIncreaseAndRate) {
  Series s{"c", {}, MetricType::counter, {{0, 10}, {1 * kS, 15}, {2 * kS, 30}}};
  const auto d = counter_delta(s, 0, 2 * kS);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->delta, 20);
  EXPECT_EQ(d->resets, 0);
  EXPECT_DOUBLE_EQ(*d->rate(), 10);
}

TEST(CounterDelta, ADecreaseIsARestartAndTheNewValueIsTheDelta) {
  Series s{"c", {}, MetricType::counter, {{0, 100}, {1 * kS, 120}, {2 * kS, 7}, {3 * kS, 9}}};
  const auto d = counter_delta(s, 0, 3 * kS);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->delta, 20 + 7 + 2);
  EXPECT_EQ(d->resets, 1);
}

TEST(CounterDelta, WindowUsesThePointsBracketingIt) {
  Series s{"c", {}, MetricType::counter, {{0, 0}, {10 * kS, 10}, {20 * kS, 30}, {30 * kS, 60}}};
  // From the last point at or before t0 (10 s) to the last at or before t1 (20 s).
  const auto d = counter_delta(s, 15 * kS, 25 * kS);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->delta, 20);
  EXPECT_EQ(d->from, 10 * kS);
  EXPECT_EQ(d->to, 20 * kS);
  // A window that holds a single point has no delta.
  EXPECT_FALSE(counter_delta(s, 31 * kS, 40 * kS));
  EXPECT_FALSE(counter_delta(Series{}, 0, 1));
}

TEST(CounterDelta, SumsAcrossSeries) {
  std::vector<Series> v{Series{"c", {{"engine", "0"}}, MetricType::counter, {{0, 1}, {kS, 4}}},
                        Series{"c", {{"engine", "1"}}, MetricType::counter, {{0, 10}, {kS, 2}}}};
  const auto d = counter_delta(v, 0, kS);
  ASSERT_TRUE(d);
  EXPECT_DOUBLE_EQ(d->delta, 3 + 2);
  EXPECT_EQ(d->resets, 1);
}

// ---- histogram_quantile: cases checked against Prometheus' own semantics ----

TEST(HistogramQuantile, LinearInterpolationInsideTheBucket) {
  const std::vector<Bucket> b{{0.1, 10}, {0.2, 30}, {0.4, 40}, {INFINITY, 40}};
  // rank 20 lies in (0.1, 0.2] holding 20: 0.1 + 0.1 * (20 - 10) / 20.
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, b), 0.15);
  // rank 4 in the first bucket, which starts at 0.
  EXPECT_DOUBLE_EQ(histogram_quantile(0.1, b), 0.04);
  EXPECT_DOUBLE_EQ(histogram_quantile(1.0, b), 0.4);
}

TEST(HistogramQuantile, RankInTheInfBucketReturnsTheHighestFiniteBound) {
  const std::vector<Bucket> b{{1, 5}, {2, 8}, {INFINITY, 10}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.99, b), 2);
}

TEST(HistogramQuantile, EdgeCases) {
  const std::vector<Bucket> b{{1, 5}, {INFINITY, 5}};
  EXPECT_TRUE(std::isinf(histogram_quantile(-0.1, b)) && histogram_quantile(-0.1, b) < 0);
  EXPECT_TRUE(std::isinf(histogram_quantile(1.1, b)) && histogram_quantile(1.1, b) > 0);
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{1, 0}, {INFINITY, 0}})));  // no observations
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{1, 3}, {2, 4}})));        // no +Inf bucket
  EXPECT_TRUE(std::isnan(histogram_quantile(0.5, {{INFINITY, 4}})));          // one bucket
  // A non-positive lowest bound is returned as is.
  EXPECT_DOUBLE_EQ(histogram_quantile(0.1, {{-1, 5}, {1, 10}, {INFINITY, 10}}), -1);
  // Non-monotonic counts (float noise) are forced monotonic; buckets may arrive unsorted.
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, {{INFINITY, 10}, {2, 9.9999}, {1, 10}}), 0.5);
}

// ---- Histogram windows from bucket deltas ----

std::string hist_text(double b1, double b2, double inf, double sum, const std::string& extra = "") {
  return fmt::format(
      "# TYPE lat histogram\n"
      "lat_bucket{{le=\"0.1\"{0}}} {1}\nlat_bucket{{le=\"1.0\"{0}}} {2}\nlat_bucket{{le=\"+Inf\"{0}}} {3}\n"
      "lat_sum{{{4}}} {5}\nlat_count{{{4}}} {3}\n",
      extra.empty() ? "" : "," + extra, b1, b2, inf, extra, sum);
}

TEST(HistogramWindow, DeltasBetweenTwoScrapes) {
  SeriesStore st;
  add(st, 0, hist_text(5, 8, 10, 3.0));
  add(st, 1 * kS, hist_text(7, 14, 20, 6.5));  // +10 observations: 2 <= 0.1, 4 in (0.1,1], 4 above
  add(st, 2 * kS, hist_text(7, 14, 20, 6.5));
  const auto w = histogram_window(st, "lat", {}, 0, 1 * kS);
  ASSERT_TRUE(w);
  ASSERT_EQ(w->buckets.size(), 3u);
  EXPECT_DOUBLE_EQ(w->buckets[0].count, 2);
  EXPECT_DOUBLE_EQ(w->buckets[1].count, 6);
  EXPECT_DOUBLE_EQ(w->buckets[2].count, 10);
  EXPECT_DOUBLE_EQ(w->count, 10);
  EXPECT_DOUBLE_EQ(*w->mean(), 0.35);
  EXPECT_DOUBLE_EQ(w->quantile(0.5), 0.1 + 0.9 * (5 - 2) / 4.0);
  EXPECT_DOUBLE_EQ(w->quantile(0.9), 1.0);
  // Nothing was observed in the second interval.
  const auto quiet = histogram_window(st, "lat", {}, 1 * kS, 2 * kS);
  ASSERT_TRUE(quiet);
  EXPECT_DOUBLE_EQ(quiet->count, 0);
  EXPECT_FALSE(quiet->mean());
  EXPECT_TRUE(std::isnan(quiet->quantile(0.5)));
}

TEST(HistogramWindow, SurvivesAnEngineRestartBetweenScrapes) {
  SeriesStore st;
  add(st, 0, hist_text(50, 80, 100, 30));
  add(st, 1 * kS, hist_text(1, 2, 3, 1.5));  // restarted: these 3 are new observations
  const auto w = histogram_window(st, "lat", {}, 0, 1 * kS);
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(w->count, 3);
  EXPECT_DOUBLE_EQ(w->buckets[0].count, 1);
  EXPECT_DOUBLE_EQ(w->sum, 1.5);
}

TEST(HistogramWindow, SumsAcrossEnginesAndFiltersByLabels) {
  SeriesStore st;
  add(st, 0, hist_text(0, 0, 0, 0, "engine=\"0\"") + hist_text(0, 0, 0, 0, "engine=\"1\"").substr(sizeof("# TYPE lat histogram\n") - 1));
  add(st, kS, hist_text(1, 1, 1, 0.05, "engine=\"0\"") + hist_text(0, 3, 3, 1.5, "engine=\"1\"").substr(sizeof("# TYPE lat histogram\n") - 1));
  const auto both = histogram_window(st, "lat", {}, 0, kS);
  ASSERT_TRUE(both);
  EXPECT_DOUBLE_EQ(both->count, 4);
  EXPECT_DOUBLE_EQ(both->buckets[1].count, 4);
  const auto one = histogram_window(st, "lat", {{"engine", "1"}}, 0, kS);
  ASSERT_TRUE(one);
  EXPECT_DOUBLE_EQ(one->count, 3);
  EXPECT_FALSE(histogram_window(st, "absent", {}, 0, kS));
}

TEST(SeriesStore, ConcurrentAppendAndRead) {
  SeriesStore st;
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) st.append(i * kS, parse_exposition(fmt::format("c {}\n", i)));
  });
  std::size_t seen = 0;
  for (int i = 0; i < 200; ++i) {
    for (const Series& s : st.select("c")) seen = std::max(seen, s.points.size());
  }
  writer.join();
  EXPECT_EQ(st.find("c")->points.size(), 200u);
  EXPECT_LE(seen, 200u);
}

}  // namespace
}  // namespace splleed::observe::test
