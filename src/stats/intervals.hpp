#pragma once
// Confidence intervals: distribution-free percentile intervals from order statistics, and
// Student-t intervals on a mean. No I/O.
#include <cstdint>
#include <optional>
#include <span>

#include "splleed/result.hpp"

namespace splleed::stats {

// 1-based ranks [lower, upper] of the order statistics that bound the q-quantile (q in (0, 1))
// of n samples with coverage P(x_(lower) <= xi_q <= x_(upper)) >= level.
struct RankInterval {
  std::int64_t lower = 0, upper = 0;
  double coverage = 0;  // the exact binomial coverage of these ranks
};

// The standard symmetric-tail construction: lower is the largest l with P(B <= l-1) <= a/2 and
// upper the smallest u with P(B >= u) <= a/2, B ~ Binomial(n, q), a = 1 - level. When one of
// those ranks falls outside 1..n but the widest interval [x_(1), x_(n)] still reaches the level,
// that end is clamped and the other end moved inward as far as the level allows. Empty when
// even [x_(1), x_(n)] covers less than `level`.
std::optional<RankInterval> percentile_ranks(std::int64_t n, double q, double level);

// Smallest n for which percentile_ranks(n, q, level) has a value: the least n with
// 1 - q^n - (1-q)^n >= level (e.g. 2995 for q = 0.999 at 95%).
std::int64_t min_samples_for(double q, double level);

// Interval of the p-th percentile (p in (0, 100)) of ascending-sorted samples.
PercentileInterval percentile_interval(std::span<const double> sorted, double p, double level);

// Two-sided Student-t quantile t_{prob, df}, computed by Boost.Math (no tables).
double student_t_quantile(double prob, double df);

// Mean, Student-t interval at `level` and coefficient of variation of `values` (e.g. one value
// per trial). No interval for fewer than two values; cv is 0 when the mean is 0.
TrialEstimate mean_interval(std::span<const double> values, double level);

}  // namespace splleed::stats
