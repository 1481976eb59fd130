#include "stats/summary.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "stats/intervals.hpp"

namespace splleed::stats {

namespace {

// numpy's `_lerp`: a + (b-a)*t, computed from the nearer end so that t == 1 gives b exactly.
// Written out because neither the standard library (std::lerp rounds differently) nor the
// libraries in this build offer numpy's percentile arithmetic, and figures must match numpy's.
double numpy_lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

}  // namespace

double percentile(std::span<const double> sorted, double p) {
  const std::size_t n = sorted.size();
  // numpy "linear": virtual index (n-1) * q with q = p/100, clamped to the sample.
  const double rank = std::clamp(static_cast<double>(n - 1) * (p / 100.0), 0.0,
                                 static_cast<double>(n - 1));
  const double below = std::floor(rank);
  const auto lo = static_cast<std::size_t>(below);
  const std::size_t hi = std::min(lo + 1, n - 1);
  return numpy_lerp(sorted[lo], sorted[hi], rank - below);
}

MetricSummary summarize(std::vector<double>& samples, double confidence) {
  MetricSummary s;
  s.count = samples.size();
  std::sort(samples.begin(), samples.end());
  // Computed for an empty sample too: min_samples still says how many would be needed.
  for (std::size_t i = 0; i < kIntervalPercentiles.size(); ++i)
    s.intervals[i] = percentile_interval(samples, kIntervalPercentiles[i], confidence);
  if (samples.empty()) return s;

  const auto n = static_cast<double>(samples.size());
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / n;
  if (samples.size() > 1) {
    // Two-pass sample variance (ddof = 1), as numpy.std(ddof=1) computes it.
    const double m = s.mean;
    const double ss = std::transform_reduce(samples.begin(), samples.end(), 0.0, std::plus<>{},
                                            [m](double x) { return (x - m) * (x - m); });
    s.std = std::sqrt(ss / (n - 1.0));
  }
  s.min = samples.front();
  s.max = samples.back();
  s.p50 = percentile(samples, 50);
  s.p90 = percentile(samples, 90);
  s.p95 = percentile(samples, 95);
  s.p99 = percentile(samples, 99);
  s.p999 = percentile(samples, 99.9);
  return s;
}

}  // namespace splleed::stats
