#include "stats/compare.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace splleed::stats {
namespace {

std::vector<double> lognormal(std::size_t n, std::uint64_t seed, double shift = 0) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(3.0, 0.4);  // median ~20 ms
  std::vector<double> x(n);
  for (double& v : x) v = d(rng) + shift;
  return x;
}

BootstrapSpec spec_for(double p, std::uint64_t seed = 1) {
  BootstrapSpec s;
  s.p = p;
  s.seed = seed;
  return s;
}

TEST(Bootstrap, IdenticalInputsShowNoChange) {
  const auto x = lognormal(500, 7);
  for (double p : {50.0, 90.0, 99.0}) {
    const Difference d = bootstrap_difference(x, 1, x, 1, spec_for(p));
    ASSERT_TRUE(d.defined);
    EXPECT_EQ(d.diff, 0);
    EXPECT_LE(d.lo, 0);
    EXPECT_GE(d.hi, 0);
    EXPECT_EQ(verdict(d, false), Verdict::no_change) << p;
    EXPECT_EQ(verdict(d, true), Verdict::no_change) << p;
  }
}

TEST(Bootstrap, AClearShiftIsDetected) {
  const auto a = lognormal(400, 11);
  const auto b = lognormal(400, 12, 8.0);  // every sample 8 ms later
  const Difference d = bootstrap_difference(a, 1, b, 1, spec_for(50));
  EXPECT_GT(d.lo, 0);
  EXPECT_NEAR(d.diff, 8, 3);
  EXPECT_EQ(verdict(d, /*higher_is_better=*/false), Verdict::worse);
  EXPECT_EQ(verdict(d, /*higher_is_better=*/true), Verdict::better);
  const Difference back = bootstrap_difference(b, 1, a, 1, spec_for(90));
  EXPECT_LT(back.hi, 0);
  EXPECT_EQ(verdict(back, false), Verdict::better);
}

TEST(Bootstrap, SameSeedSameIntervalOtherSeedOtherDraws) {
  const auto a = lognormal(300, 1);
  const auto b = lognormal(300, 2);
  const Difference d1 = bootstrap_difference(a, 1, b, 1, spec_for(90, 42));
  const Difference d2 = bootstrap_difference(a, 1, b, 1, spec_for(90, 42));
  EXPECT_EQ(d1.lo, d2.lo);
  EXPECT_EQ(d1.hi, d2.hi);
  const Difference d3 = bootstrap_difference(a, 1, b, 1, spec_for(90, 43));
  EXPECT_TRUE(d3.lo != d1.lo || d3.hi != d1.hi);
  EXPECT_EQ(d3.diff, d1.diff);  // the point estimate does not depend on the draws
}

TEST(Bootstrap, EstimatesMatchThePercentileAndScaledSum) {
  const std::vector<double> a = {1, 2, 3, 4};
  const std::vector<double> b = {1, 1, 0, 1};
  const Difference p = bootstrap_difference(a, 1, a, 1, spec_for(90));
  EXPECT_DOUBLE_EQ(p.a, 3.7);  // numpy linear
  BootstrapSpec sum;
  sum.estimator = Estimator::sum;
  const Difference s = bootstrap_difference(b, 0.5, b, 0.25, sum);
  EXPECT_DOUBLE_EQ(s.a, 1.5);
  EXPECT_DOUBLE_EQ(s.b, 0.75);
  EXPECT_DOUBLE_EQ(s.diff, -0.75);
  EXPECT_LE(s.lo, s.diff);
  EXPECT_GE(s.hi, s.diff);
}

TEST(Bootstrap, ConstantSamplesGiveADegenerateInterval) {
  const std::vector<double> a(50, 10.0);
  const std::vector<double> b(60, 12.5);
  const Difference d = bootstrap_difference(a, 1, b, 1, spec_for(99));
  EXPECT_EQ(d.lo, 2.5);
  EXPECT_EQ(d.hi, 2.5);
  EXPECT_EQ(verdict(d, false), Verdict::worse);
}

TEST(Bootstrap, AnEmptySideIsUndefined) {
  const std::vector<double> a = {1, 2};
  const Difference d = bootstrap_difference(a, 1, {}, 1, spec_for(50));
  EXPECT_FALSE(d.defined);
  EXPECT_EQ(verdict(d, false), Verdict::no_change);
}

TEST(Verdict, Names) {
  EXPECT_EQ(to_string(Verdict::better), "better");
  EXPECT_EQ(to_string(Verdict::worse), "worse");
  EXPECT_EQ(to_string(Verdict::no_change), "no significant change");
}

}  // namespace
}  // namespace splleed::stats
