#include "stats/intervals.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace splleed::stats {
namespace {

// Published distribution-free ranks for the median at 95% (e.g. Conover, Practical
// Nonparametric Statistics, Table A3; Gibbons & Chakraborti): n -> (lower, upper).
TEST(PercentileRanks, MedianMatchesPublishedTables) {
  struct Case {
    std::int64_t n, lower, upper;
  };
  for (const Case c : {Case{10, 2, 9}, Case{20, 6, 15}, Case{30, 10, 21}, Case{50, 18, 33},
                       Case{100, 40, 61}}) {
    SCOPED_TRACE(c.n);
    const auto r = percentile_ranks(c.n, 0.5, 0.95);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->lower, c.lower);
    EXPECT_EQ(r->upper, c.upper);
    EXPECT_GE(r->coverage, 0.95);
  }
  // n = 20: P(6 <= B <= 14) for B ~ Bin(20, 1/2) = 0.9586.
  EXPECT_NEAR(percentile_ranks(20, 0.5, 0.95)->coverage, 0.958611, 1e-6);
}

TEST(PercentileRanks, CoverageIsAtLeastTheLevelEverywhere) {
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999})
    for (double level : {0.9, 0.95, 0.99})
      for (std::int64_t n : {1, 2, 5, 10, 37, 100, 299, 1000, 5000, 100000}) {
        const auto r = percentile_ranks(n, q, level);
        if (!r) continue;
        SCOPED_TRACE(testing::Message() << "q=" << q << " level=" << level << " n=" << n);
        EXPECT_GE(r->lower, 1);
        EXPECT_LE(r->upper, n);
        EXPECT_LE(r->lower, r->upper);
        EXPECT_GE(r->coverage, level - 1e-12);
      }
}

TEST(PercentileRanks, TooSmallASampleHasNoInterval) {
  EXPECT_FALSE(percentile_ranks(5, 0.5, 0.95).has_value());  // 1 - 2/32 = 0.9375 < 0.95
  EXPECT_TRUE(percentile_ranks(6, 0.5, 0.95).has_value());
  EXPECT_FALSE(percentile_ranks(200, 0.999, 0.95).has_value());
  EXPECT_FALSE(percentile_ranks(0, 0.5, 0.95).has_value());
}

TEST(MinSamples, SmallestSampleThatSupportsTheInterval) {
  EXPECT_EQ(min_samples_for(0.5, 0.95), 6);
  EXPECT_EQ(min_samples_for(0.9, 0.95), 29);
  EXPECT_EQ(min_samples_for(0.99, 0.95), 299);
  EXPECT_EQ(min_samples_for(0.999, 0.95), 2995);  // "p99.9 needs about 3000 requests"
  for (double q : {0.5, 0.9, 0.95, 0.99, 0.999})
    for (double level : {0.9, 0.95, 0.99}) {
      const std::int64_t n = min_samples_for(q, level);
      EXPECT_TRUE(percentile_ranks(n, q, level).has_value()) << q << " " << level;
      EXPECT_FALSE(percentile_ranks(n - 1, q, level).has_value()) << q << " " << level;
    }
}

TEST(PercentileRanks, NearTheMinimumTheFullEndIsClampedAndTheOtherMovesIn) {
  // n = 3000, q = 0.999: the symmetric upper rank would exceed n, so upper = n.
  const auto r = percentile_ranks(3000, 0.999, 0.95);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->upper, 3000);
  EXPECT_LT(r->lower, 3000);
  EXPECT_GE(r->coverage, 0.95);
}

TEST(PercentileInterval, PicksTheOrderStatistics) {
  std::vector<double> x(20);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i + 1) * 10;  // 10..200
  const PercentileInterval ci = percentile_interval(x, 50, 0.95);
  EXPECT_TRUE(ci.supported);
  EXPECT_EQ(ci.lo, 60);   // x_(6)
  EXPECT_EQ(ci.hi, 150);  // x_(15)
  EXPECT_EQ(ci.min_samples, 6);
  const PercentileInterval p99 = percentile_interval(x, 99, 0.95);
  EXPECT_FALSE(p99.supported);
  EXPECT_EQ(p99.min_samples, 299);
}

// Seeded simulation: intervals at 95% cover the true percentile of Exp(1) (-ln(1-q)) in 2,000
// samples of 200 at the rate the binomial ranks promise. Exact coverage of these ranks is
// 0.9600 (p50) and 0.9669 (p90): discreteness makes the interval conservative. The simulated
// rate must be at least 93% and within 3 standard errors (~0.012) of the exact coverage; a fixed
// 97% ceiling would fail for about one seed in five at p90 through sampling noise alone.
TEST(PercentileInterval, CoverageBySimulation) {
  for (double p : {50.0, 90.0}) {
    const double truth = -std::log(1 - p / 100);
    std::mt19937_64 rng(20240531 + static_cast<std::uint64_t>(p));
    std::exponential_distribution<double> exp1(1.0);
    int covered = 0;
    constexpr int kDraws = 2000;
    std::vector<double> x(200);
    for (int d = 0; d < kDraws; ++d) {
      for (double& v : x) v = exp1(rng);
      std::sort(x.begin(), x.end());
      const PercentileInterval ci = percentile_interval(x, p, 0.95);
      ASSERT_TRUE(ci.supported);
      if (ci.lo <= truth && truth <= ci.hi) ++covered;
    }
    const double rate = static_cast<double>(covered) / kDraws;
    const double exact = percentile_ranks(200, p / 100, 0.95)->coverage;
    const double se = std::sqrt(exact * (1 - exact) / kDraws);
    EXPECT_GE(rate, 0.93) << "p" << p;
    EXPECT_NEAR(rate, exact, 3 * se) << "p" << p;
    EXPECT_LE(rate, 0.98) << "p" << p;
  }
}

TEST(StudentT, QuantilesMatchPublishedTables) {
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.975, 9), 2.262, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.995, 2), 9.925, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706, 5e-4);
  EXPECT_NEAR(student_t_quantile(0.95, 30), 1.697, 5e-4);
}

TEST(MeanInterval, HandComputedCase) {
  // mean 3, sd sqrt(2.5), se sqrt(0.5); t_{0.975,4} = 2.7764451 -> half-width 1.963243.
  const std::vector<double> v = {1, 2, 3, 4, 5};
  const TrialEstimate e = mean_interval(v, 0.95);
  EXPECT_EQ(e.n, 5);
  EXPECT_TRUE(e.has_interval);
  EXPECT_DOUBLE_EQ(e.mean, 3);
  EXPECT_NEAR(e.lo, 3 - 1.963243, 1e-6);
  EXPECT_NEAR(e.hi, 3 + 1.963243, 1e-6);
  EXPECT_NEAR(e.cv, std::sqrt(2.5) / 3, 1e-12);
}

TEST(MeanInterval, TwoValuesAndAHigherLevelWiden) {
  // {10, 12}: mean 11, sd sqrt(2), se 1; t_{0.995,1} = 63.6567.
  const std::vector<double> v = {10, 12};
  const TrialEstimate e = mean_interval(v, 0.99);
  EXPECT_NEAR(e.hi - e.mean, 63.656741, 1e-5);
  EXPECT_GT(e.hi - e.lo, mean_interval(v, 0.95).hi - mean_interval(v, 0.95).lo);
}

TEST(MeanInterval, FewerThanTwoValuesHaveNoInterval) {
  const std::vector<double> one = {7};
  const TrialEstimate e = mean_interval(one, 0.95);
  EXPECT_FALSE(e.has_interval);
  EXPECT_EQ(e.mean, 7);
  EXPECT_EQ(e.lo, 7);
  EXPECT_EQ(e.hi, 7);
  EXPECT_EQ(mean_interval({}, 0.95).n, 0);
  const std::vector<double> zeros = {0, 0, 0};
  EXPECT_EQ(mean_interval(zeros, 0.95).cv, 0);  // no division by a zero mean
}

}  // namespace
}  // namespace splleed::stats
