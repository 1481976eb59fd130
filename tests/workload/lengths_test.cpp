// Length distributions: parsing, seeded reproducibility, and means within bounds derived from
// each distribution's variance.
#include <cmath>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/error.hpp"
#include "workload/lengths.hpp"

namespace splleed::workload::test {
namespace {

using Kind = LengthDistribution::Kind;

std::vector<std::int32_t> draws(const char* text, std::size_t n, std::uint64_t seed) {
  const auto d = LengthDistribution::parse(text, "--x");
  Engine e = make_engine(seed, 1);
  std::vector<std::int32_t> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(draw_length(d, e));
  return v;
}

double mean(const std::vector<std::int32_t>& v) {
  double s = 0;
  for (const auto x : v) s += x;
  return s / static_cast<double>(v.size());
}

TEST(LengthDistribution, ParsesEveryForm) {
  auto d = LengthDistribution::parse("128", "--x");
  EXPECT_EQ(d.kind, Kind::fixed);
  EXPECT_EQ(d.a, 128);
  d = LengthDistribution::parse("fixed:64", "--x");
  EXPECT_EQ(d.kind, Kind::fixed);
  EXPECT_EQ(d.to_string(), "fixed:64");
  d = LengthDistribution::parse("uniform:10:20", "--x");
  EXPECT_EQ(d.kind, Kind::uniform);
  EXPECT_EQ(d.to_string(), "uniform:10:20");
  d = LengthDistribution::parse("normal:512:64.5", "--x");
  EXPECT_EQ(d.kind, Kind::normal);
  EXPECT_EQ(d.b, 64.5);
  d = LengthDistribution::parse("lognormal:5.5:0.8", "--x");
  EXPECT_EQ(d.kind, Kind::lognormal);
  EXPECT_EQ(d.to_string(), "lognormal:5.5:0.8");
}

TEST(LengthDistribution, RejectsBadTextNamingTheOption) {
  for (const char* bad : {"", "0", "-3", "1.5", "fixed", "fixed:0", "uniform:5", "uniform:0:4",
                          "uniform:9:3", "normal:10", "normal:10:-1", "lognormal:3:-0.1",
                          "lognormal:40:1", "zipf:1", "12abc", "normal:x:1"}) {
    try {
      LengthDistribution::parse(bad, "--input-len");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const WorkloadError& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr("--input-len")) << bad;
    }
  }
}

TEST(LengthDistribution, SeededAndReproducible) {
  for (const char* d : {"uniform:1:1000", "normal:300:100", "lognormal:5:1"}) {
    EXPECT_EQ(draws(d, 200, 42), draws(d, 200, 42)) << d;
    EXPECT_NE(draws(d, 200, 42), draws(d, 200, 43)) << d;
  }
  // Streams of one seed are independent.
  const auto d = LengthDistribution::parse("uniform:1:1000000", "--x");
  Engine a = make_engine(42, 1), b = make_engine(42, 2);
  EXPECT_NE(draw_length(d, a), draw_length(d, b));
}

// Golden draws: mt19937_64 and Boost.Random's algorithms are fixed, so these values must be the
// same on every platform and compiler. A change here changes every seeded workload.
TEST(LengthDistribution, GoldenValues) {
  EXPECT_EQ(draws("uniform:1:1000", 5, 0), (std::vector<std::int32_t>{220, 382, 77, 373, 310}));
  EXPECT_EQ(draws("normal:500:50", 3, 0), (std::vector<std::int32_t>{511, 471, 490}));
}

// The mean of n draws lies within 5 standard errors (sd / sqrt(n)) of the distribution's mean;
// rounding to integers moves it by at most 0.5 more.
TEST(LengthDistribution, MeansMatchParameters) {
  const std::size_t n = 20000;
  const double rn = std::sqrt(static_cast<double>(n));
  {  // uniform on lo..hi: mean (lo+hi)/2, variance ((hi-lo+1)^2 - 1) / 12
    const double lo = 100, hi = 400;
    const double sd = std::sqrt(((hi - lo + 1) * (hi - lo + 1) - 1) / 12);
    const auto v = draws("uniform:100:400", n, 1);
    EXPECT_NEAR(mean(v), (lo + hi) / 2, 5 * sd / rn);
    EXPECT_EQ(*std::min_element(v.begin(), v.end()), 100);
    EXPECT_EQ(*std::max_element(v.begin(), v.end()), 400);
  }
  {  // normal far from the clamp
    const auto v = draws("normal:500:50", n, 2);
    EXPECT_NEAR(mean(v), 500, 5 * 50 / rn + 0.5);
  }
  {  // lognormal: mean e^(mu + sigma^2/2), variance (e^(sigma^2) - 1) e^(2 mu + sigma^2)
    const double mu = 5, sigma = 0.5;
    const double m = std::exp(mu + sigma * sigma / 2);
    const double sd = std::sqrt((std::exp(sigma * sigma) - 1) * std::exp(2 * mu + sigma * sigma));
    auto v = draws("lognormal:5:0.5", n, 3);
    EXPECT_NEAR(mean(v), m, 5 * sd / rn + 0.5);
    // The median is e^mu: the count below it is Binomial(n, 1/2).
    const double median = std::exp(mu);
    const auto below = std::count_if(v.begin(), v.end(), [&](auto x) { return x < median; });
    EXPECT_NEAR(static_cast<double>(below), n / 2.0, 5 * std::sqrt(n / 4.0) + 0.01 * n);
  }
}

TEST(LengthDistribution, ClampedToAtLeastOne) {
  for (const auto x : draws("normal:1:50", 2000, 4)) EXPECT_GE(x, 1);
  for (const auto x : draws("lognormal:-3:1", 2000, 5)) EXPECT_GE(x, 1);
  EXPECT_EQ(draws("normal:-20:0", 3, 6), (std::vector<std::int32_t>{1, 1, 1}));
}

TEST(LengthSummary, PercentilesInterpolateLinearly) {
  const std::vector<std::int64_t> v = {10, 1, 4, 2, 3};  // sorted: 1 2 3 4 10
  const LengthSummary s = summarize_lengths(v);
  EXPECT_EQ(s.count, 5);
  EXPECT_DOUBLE_EQ(s.mean, 4);
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_DOUBLE_EQ(s.p90, 4 + 0.6 * 6);  // rank 3.6
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 10);
  EXPECT_EQ(summarize_lengths({}).count, 0);
}

}  // namespace
}  // namespace splleed::workload::test
