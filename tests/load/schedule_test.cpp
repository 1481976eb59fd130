#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/distributions/exponential.hpp>
#include <boost/math/distributions/gamma.hpp>
#include <cmath>
#include <functional>

#include "load/schedule.hpp"

namespace splleed::load {
namespace {

std::vector<double> gaps_seconds(const std::vector<Nanos>& t) {
  std::vector<double> g;
  for (std::size_t i = 1; i < t.size(); ++i) g.push_back(static_cast<double>(t[i] - t[i - 1]) / 1e9);
  return g;
}

// Kolmogorov–Smirnov statistic of samples against a CDF.
double ks_statistic(std::vector<double> x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  double d = 0;
  const double n = static_cast<double>(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    double f = cdf(x[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}

// KS critical value at significance 0.01 for large n.
double ks_critical(std::size_t n) { return 1.628 / std::sqrt(static_cast<double>(n)); }

TEST(Schedule, SeededAndReproducible) {
  ScheduleSpec s{.rate = 100, .arrival = Arrival::poisson, .seed = 3};
  auto a = arrival_times(s, 500, std::nullopt);
  auto b = arrival_times(s, 500, std::nullopt);
  s.seed = 4;
  auto c = arrival_times(s, 500, std::nullopt);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
}

TEST(Schedule, ConstantIsExactlyEvenlySpaced) {
  ScheduleSpec s{.rate = 250, .arrival = Arrival::constant};
  auto t = arrival_times(s, 5, std::nullopt);
  EXPECT_EQ(t, (std::vector<Nanos>{0, 4'000'000, 8'000'000, 12'000'000, 16'000'000}));
}

TEST(Schedule, HorizonAndCountBound) {
  ScheduleSpec s{.rate = 1000, .arrival = Arrival::constant};
  EXPECT_EQ(arrival_times(s, std::nullopt, 10 * kNanosPerMilli).size(), 10u);
  EXPECT_EQ(arrival_times(s, 3, 10 * kNanosPerMilli).size(), 3u);
  EXPECT_THROW(arrival_times(s, std::nullopt, std::nullopt), std::invalid_argument);
}

TEST(Schedule, PoissonGapsAreExponential) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    ScheduleSpec s{.rate = 50, .arrival = Arrival::poisson, .seed = seed};
    auto g = gaps_seconds(arrival_times(s, 4001, std::nullopt));
    boost::math::exponential_distribution<> e(50);
    double d = ks_statistic(g, [&](double x) { return boost::math::cdf(e, x); });
    EXPECT_LT(d, ks_critical(g.size())) << "seed " << seed;
    // A wrong rate is detected by the same test (the check can fail).
    boost::math::exponential_distribution<> wrong(40);
    EXPECT_GT(ks_statistic(g, [&](double x) { return boost::math::cdf(wrong, x); }),
              ks_critical(g.size()));
  }
}

TEST(Schedule, GammaGapsMatchShapeAndMean) {
  for (double k : {0.5, 2.0, 4.0}) {
    ScheduleSpec s{.rate = 20, .arrival = Arrival::gamma, .burstiness = k, .seed = 11};
    auto g = gaps_seconds(arrival_times(s, 4001, std::nullopt));
    boost::math::gamma_distribution<> dist(k, 1.0 / (20 * k));
    double d = ks_statistic(g, [&](double x) { return boost::math::cdf(dist, x); });
    EXPECT_LT(d, ks_critical(g.size())) << "shape " << k;
    double mean = 0;
    for (double x : g) mean += x;
    mean /= static_cast<double>(g.size());
    EXPECT_NEAR(mean, 1.0 / 20, 0.05 / 20 * 3) << "shape " << k;
  }
}

TEST(Schedule, LinearRampCumulativeRateAndInverse) {
  ScheduleSpec s{.rate = 100, .arrival = Arrival::constant};
  s.ramp = Ramp{.start_rate = 10, .duration = 10 * kNanosPerSecond, .shape = RampShape::linear};
  // Λ(10) = (10 + 100)/2 * 10 = 550, then 100/s.
  EXPECT_NEAR(cumulative_rate(s, 10), 550, 1e-9);
  EXPECT_NEAR(cumulative_rate(s, 12), 750, 1e-9);
  for (double t : {0.0, 0.5, 3.0, 9.99, 10.0, 15.0})
    EXPECT_NEAR(inverse_cumulative_rate(s, cumulative_rate(s, t)), t, 1e-9) << t;
  // Arrivals over the ramp: 550 of them within the first 10 s (constant gaps of 1 in Λ).
  auto t = arrival_times(s, std::nullopt, 10 * kNanosPerSecond);
  EXPECT_EQ(t.size(), 550u);
  // The rate climbs: the second half of the ramp holds far more arrivals than the first.
  auto first_half = std::count_if(t.begin(), t.end(), [](Nanos x) { return x < 5 * kNanosPerSecond; });
  EXPECT_NEAR(static_cast<double>(first_half), 10 * 5 + 90.0 / 20 * 25, 1.0);  // Λ(5) = 162.5
}

TEST(Schedule, ExponentialRampCumulativeRateAndInverse) {
  ScheduleSpec s{.rate = 160, .arrival = Arrival::poisson, .seed = 5};
  s.ramp = Ramp{.start_rate = 10, .duration = 4 * kNanosPerSecond, .shape = RampShape::exponential};
  // λ doubles every second: Λ(4) = 10 * 4/ln16 * 15.
  EXPECT_NEAR(cumulative_rate(s, 4), 10 * 4 / std::log(16.0) * 15, 1e-9);
  for (double t : {0.0, 1.0, 2.5, 4.0, 7.0})
    EXPECT_NEAR(inverse_cumulative_rate(s, cumulative_rate(s, t)), t, 1e-9) << t;
}

TEST(Schedule, ValidationNamesTheOption) {
  EXPECT_NE(validate(ScheduleSpec{.rate = 0}).find("--request-rate"), std::string::npos);
  EXPECT_NE(validate(ScheduleSpec{.rate = 1, .arrival = Arrival::gamma, .burstiness = 0})
                .find("--burstiness"),
            std::string::npos);
  EXPECT_EQ(validate(ScheduleSpec{.rate = 5}), "");
}

}  // namespace
}  // namespace splleed::load
