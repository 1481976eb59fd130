#include "stats/intervals.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace splleed::stats {

namespace {

namespace bm = boost::math;
// Round-down discrete quantiles; the result is only a starting point that cdf() then refines.
using Policy =
    bm::policies::policy<bm::policies::discrete_quantile<bm::policies::integer_round_down>>;
using Binomial = bm::binomial_distribution<double, Policy>;

// P(B <= k), with P(B <= -1) = 0 and P(B <= n) = 1.
double cdf(const Binomial& b, std::int64_t k, std::int64_t n) {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return bm::cdf(b, static_cast<double>(k));
}

std::int64_t quantile_guess(const Binomial& b, double p, std::int64_t n) {
  const double k = bm::quantile(b, p);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(k), 0, n);
}

// Coverage of the widest interval [x_(1), x_(n)]: 1 - P(B = 0) - P(B = n).
double widest_coverage(std::int64_t n, double q) {
  const auto nd = static_cast<double>(n);
  return 1.0 - std::pow(q, nd) - std::pow(1.0 - q, nd);
}

}  // namespace

std::optional<RankInterval> percentile_ranks(std::int64_t n, double q, double level) {
  if (n < 1 || !(q > 0 && q < 1) || !(level > 0 && level < 1)) return std::nullopt;
  if (widest_coverage(n, q) < level) return std::nullopt;
  const Binomial b(static_cast<double>(n), q);
  const double tail = (1.0 - level) / 2.0;

  // k = l - 1: the largest k in [-1, n] with P(B <= k) <= tail.
  std::int64_t k = quantile_guess(b, tail, n);
  while (k >= 0 && cdf(b, k, n) > tail) --k;
  while (k + 1 <= n && cdf(b, k + 1, n) <= tail) ++k;
  std::int64_t lower = k + 1;
  // j = u - 1: the smallest j in [0, n] with P(B <= j) >= 1 - tail.
  std::int64_t j = quantile_guess(b, 1.0 - tail, n);
  while (j < n && cdf(b, j, n) < 1.0 - tail) ++j;
  while (j > 0 && cdf(b, j - 1, n) >= 1.0 - tail) --j;
  std::int64_t upper = j + 1;

  // A rank outside 1..n: clamp it and spend the remaining error on the other end.
  if (lower < 1) {
    lower = 1;
    upper = 1;
    while (upper < n && cdf(b, upper - 1, n) - cdf(b, 0, n) < level) ++upper;
  } else if (upper > n) {
    upper = n;
    lower = n;
    while (lower > 1 && cdf(b, n - 1, n) - cdf(b, lower - 1, n) < level) --lower;
  }
  return RankInterval{lower, upper, cdf(b, upper - 1, n) - cdf(b, lower - 1, n)};
}

std::int64_t min_samples_for(double q, double level) {
  if (!(q > 0 && q < 1) || !(level > 0 && level < 1)) return 0;
  // 1 - q^n - (1-q)^n grows with n; start just below the bound that ignores the smaller term.
  const double big = std::max(q, 1.0 - q);
  auto n = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::floor(std::log(1.0 - level) / std::log(big))) - 2);
  while (n > 1 && widest_coverage(n - 1, q) >= level) --n;
  while (widest_coverage(n, q) < level) ++n;
  return n;
}

PercentileInterval percentile_interval(std::span<const double> sorted, double p, double level) {
  PercentileInterval out;
  const double q = p / 100.0;
  out.min_samples = min_samples_for(q, level);
  const auto ranks = percentile_ranks(static_cast<std::int64_t>(sorted.size()), q, level);
  if (!ranks) return out;
  out.supported = true;
  out.lo = sorted[static_cast<std::size_t>(ranks->lower - 1)];
  out.hi = sorted[static_cast<std::size_t>(ranks->upper - 1)];
  return out;
}

double student_t_quantile(double prob, double df) {
  return bm::quantile(bm::students_t_distribution<double>(df), prob);
}

TrialEstimate mean_interval(std::span<const double> values, double level) {
  TrialEstimate e;
  e.n = static_cast<std::int32_t>(values.size());
  if (values.empty()) return e;
  const auto n = static_cast<double>(values.size());
  e.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  e.lo = e.hi = e.mean;
  if (values.size() < 2) return e;
  double ss = 0;
  for (double v : values) ss += (v - e.mean) * (v - e.mean);
  const double sd = std::sqrt(ss / (n - 1.0));
  const double half = student_t_quantile(1.0 - (1.0 - level) / 2.0, n - 1.0) * sd / std::sqrt(n);
  e.lo = e.mean - half;
  e.hi = e.mean + half;
  e.has_interval = true;
  e.cv = e.mean != 0 ? sd / std::abs(e.mean) : 0.0;
  return e;
}

}  // namespace splleed::stats
