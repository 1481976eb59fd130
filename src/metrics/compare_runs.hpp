#pragma once
// A/B comparison of two benchmark results (splleed compare): per matching label, per metric and
// percentile, the difference B - A with a bootstrap interval and a verdict (stats/compare.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "splleed/result.hpp"
#include "stats/compare.hpp"

namespace splleed::metrics {

struct CompareOptions {
  double confidence = 0.95;
  std::uint64_t seed = 0;
  std::int32_t resamples = 2000;
  std::vector<std::string> metrics;  // keys to compare (see comparable_metrics()); empty: all
};

struct ComparisonRow {
  std::string label;
  std::string metric;   // a metric key (ms) or a throughput key (per second)
  std::string stat;     // "p50", "p90", "p99", or "value" for a throughput
  std::size_t n_a = 0, n_b = 0;  // samples on each side (requests for throughputs)
  bool higher_is_better = false;
  stats::Difference diff;
  stats::Verdict verdict = stats::Verdict::no_change;
};

// Every key a comparison accepts: the ten metric keys of docs/metrics.md, then
// request_throughput, output_token_throughput, total_token_throughput.
const std::vector<std::string>& comparable_metrics();

// Measured samples of one load level, all its trials pooled: per metric, the per-request values
// (ITL and ICL: the pooled gap samples) in ms of ok requests; per throughput, each measured
// request's contribution (1 / output tokens / output + prompt tokens if it is ok and ended in its
// window, else 0) with the summed window length in seconds.
struct LevelSamples {
  std::array<std::vector<double>, kMetricCount> metrics;
  std::array<std::vector<double>, 3> throughput;
  double window_s = 0;
};
LevelSamples collect(const std::vector<const RunResult*>& runs);

// Rows for every label present in both results (in A's order), metric (options.metrics order, or
// comparable_metrics()) and statistic: p50, p90, p99 for latencies, "value" for throughputs.
// Throws std::invalid_argument for an unknown metric key.
std::vector<ComparisonRow> compare(const BenchmarkResult& a, const BenchmarkResult& b,
                                   const CompareOptions& options);

}  // namespace splleed::metrics
