#pragma once
// A/B comparison of two samples by a seeded bootstrap. No I/O.
#include <cstdint>
#include <span>
#include <string_view>

namespace splleed::stats {

enum class Estimator : std::uint8_t {
  percentile,  // the p-th percentile (numpy "linear", as stats::percentile)
  sum,         // the sum of the samples (e.g. per-request contributions to a throughput)
};

struct BootstrapSpec {
  Estimator estimator = Estimator::percentile;
  double p = 50;               // percentile, for Estimator::percentile
  double level = 0.95;         // confidence level of the interval
  std::int32_t resamples = 2000;
  std::uint64_t seed = 0;      // with `stream`, fixes every draw: same inputs, same interval
  std::uint64_t stream = 0;    // separates the draws of different comparisons under one seed
};

// B - A of an estimator, each side multiplied by its scale (e.g. 1 / window seconds).
struct Difference {
  bool defined = false;        // false when either side has no sample (nothing else is set)
  double a = 0, b = 0;         // the estimates on the full samples
  double diff = 0;             // b - a
  double lo = 0, hi = 0;       // percentile-bootstrap interval of b - a at spec.level
};

// Resamples each side with replacement (its own size), spec.resamples times, and takes the
// spec.level central interval of the resampled differences (the percentile bootstrap).
Difference bootstrap_difference(std::span<const double> a, double a_scale,
                                std::span<const double> b, double b_scale,
                                const BootstrapSpec& spec);

enum class Verdict : std::uint8_t { better, worse, no_change };
std::string_view to_string(Verdict v) noexcept;  // "better", "worse", "no significant change"

// Significant when the interval excludes 0. Lower is better for latencies; higher for throughputs.
Verdict verdict(const Difference& d, bool higher_is_better) noexcept;

}  // namespace splleed::stats
