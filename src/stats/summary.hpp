#pragma once
// Descriptive statistics over raw samples. No I/O.
#include <span>
#include <vector>

#include "splleed/result.hpp"

namespace splleed::stats {

// The p-th percentile (p in [0, 100]) of ascending-sorted samples, by linear interpolation between
// order statistics (numpy's default "linear" method). Precondition: !sorted.empty().
double percentile(std::span<const double> sorted, double p);

// mean, sample std (n-1; 0 for one sample), min, p50..p999, max, and the distribution-free
// interval of each percentile at `confidence` (stats/intervals.hpp). Sorts `samples` in place.
MetricSummary summarize(std::vector<double>& samples, double confidence = 0.95);

}  // namespace splleed::stats
