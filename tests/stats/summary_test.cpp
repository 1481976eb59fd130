#include "stats/summary.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace splleed::stats {
namespace {

// Expected values are numpy.percentile(x, p) (method="linear"), worked by hand:
// rank = p/100 * (n-1), then interpolate between the neighbouring order statistics.

TEST(Percentile, InterpolatesBetweenOrderStatistics) {
  const std::vector<double> x = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(percentile(x, 50), 2.5);   // rank 1.5
  EXPECT_DOUBLE_EQ(percentile(x, 90), 3.7);   // rank 2.7
  EXPECT_DOUBLE_EQ(percentile(x, 25), 1.75);  // rank 0.75
  EXPECT_DOUBLE_EQ(percentile(x, 99), 3.97);  // rank 2.97
}

TEST(Percentile, EndsAreMinAndMax) {
  const std::vector<double> x = {-3.5, 0, 10, 1e6};
  EXPECT_EQ(percentile(x, 0), -3.5);
  EXPECT_EQ(percentile(x, 100), 1e6);
}

TEST(Percentile, SingleSampleIsEveryPercentile) {
  const std::vector<double> x = {42.25};
  for (double p : {0.0, 1.0, 50.0, 99.9, 100.0}) EXPECT_EQ(percentile(x, p), 42.25) << p;
}

TEST(Percentile, ExactRankHitsTheSample) {
  // n = 11: p-th percentile of 0..10 is p/10 exactly at multiples of 10.
  std::vector<double> x;
  for (int i = 0; i <= 10; ++i) x.push_back(i);
  EXPECT_EQ(percentile(x, 30), 3.0);
  EXPECT_EQ(percentile(x, 90), 9.0);
  EXPECT_DOUBLE_EQ(percentile(x, 95), 9.5);
}

TEST(Percentile, P999OfThousandSamples) {
  std::vector<double> x;
  for (int i = 1; i <= 1000; ++i) x.push_back(i);
  // rank = 0.999 * 999 = 998.001 -> 999 + 0.001 * (1000 - 999)
  EXPECT_NEAR(percentile(x, 99.9), 999.001, 1e-9);
  EXPECT_NEAR(percentile(x, 99), 990.01, 1e-9);  // rank 989.01
}

TEST(Summarize, EmptyHasCountZeroAndZeros) {
  std::vector<double> x;
  const MetricSummary s = summarize(x);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.mean, 0);
  EXPECT_EQ(s.max, 0);
}

TEST(Summarize, SingleSampleHasZeroStd) {
  std::vector<double> x = {7.5};
  const MetricSummary s = summarize(x);
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.mean, 7.5);
  EXPECT_EQ(s.std, 0);
  EXPECT_EQ(s.min, 7.5);
  EXPECT_EQ(s.p50, 7.5);
  EXPECT_EQ(s.p999, 7.5);
  EXPECT_EQ(s.max, 7.5);
}

TEST(Summarize, SortsAndComputesEveryField) {
  std::vector<double> x = {4, 1, 3, 2};  // unsorted on purpose
  const MetricSummary s = summarize(x);
  EXPECT_EQ(x, (std::vector<double>{1, 2, 3, 4}));  // sorted in place, as documented
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  // sample std: sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3)
  EXPECT_DOUBLE_EQ(s.std, 1.2909944487358056);
  EXPECT_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.p50, 2.5);
  EXPECT_DOUBLE_EQ(s.p90, 3.7);
  EXPECT_DOUBLE_EQ(s.p95, 3.85);
  EXPECT_DOUBLE_EQ(s.p99, 3.97);
  EXPECT_DOUBLE_EQ(s.p999, 3.997);
  EXPECT_EQ(s.max, 4);
}

TEST(Summarize, StdIsSampleNotPopulation) {
  std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};  // population std 2, sample std sqrt(32/7)
  const MetricSummary s = summarize(x);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_DOUBLE_EQ(s.std, 2.138089935299395);
}

}  // namespace
}  // namespace splleed::stats
