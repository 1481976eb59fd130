#include "metrics/trials.hpp"

#include <algorithm>
#include <functional>
#include <optional>

#include "stats/intervals.hpp"

namespace splleed::metrics {

namespace {

// kStats order: mean, p50, p90, p95, p99, p999.
double stat(const MetricSummary& m, std::size_t k) {
  switch (k) {
    case 0: return m.mean;
    case 1: return m.p50;
    case 2: return m.p90;
    case 3: return m.p95;
    case 4: return m.p99;
    default: return m.p999;
  }
}

TrialEstimate over(const std::vector<const RunResult*>& trials, double confidence,
                   const std::function<std::optional<double>(const RunSummary&)>& value) {
  std::vector<double> values;
  for (const RunResult* run : trials)
    if (auto v = value(run->summary)) values.push_back(*v);
  return stats::mean_interval(values, confidence);
}

}  // namespace

TrialAggregate aggregate(const std::vector<const RunResult*>& trials, double confidence) {
  TrialAggregate a;
  a.trials = static_cast<std::int32_t>(trials.size());
  a.confidence = confidence;
  if (trials.empty()) return a;
  a.label = trials.front()->label;
  for (std::size_t m = 0; m < a.metrics.size(); ++m)
    for (std::size_t k = 0; k < TrialAggregate::kStats.size(); ++k)
      a.metrics[m][k] = over(trials, confidence, [m, k](const RunSummary& s) {
        const MetricSummary& ms = s.metrics[m];
        return ms.count > 0 ? std::optional<double>(stat(ms, k)) : std::nullopt;
      });
  a.request_throughput = over(trials, confidence, [](const RunSummary& s) {
    return std::optional<double>(s.request_throughput);
  });
  a.output_token_throughput = over(trials, confidence, [](const RunSummary& s) {
    return std::optional<double>(s.output_token_throughput);
  });
  a.total_token_throughput = over(trials, confidence, [](const RunSummary& s) {
    return std::optional<double>(s.total_token_throughput);
  });
  const bool slo = std::any_of(trials.begin(), trials.end(),
                               [](const RunResult* r) { return r->summary.goodput.has_value(); });
  if (slo) {
    a.goodput = over(trials, confidence, [](const RunSummary& s) { return s.goodput; });
    a.good_fraction = over(trials, confidence, [](const RunSummary& s) { return s.good_fraction; });
  }
  return a;
}

void aggregate_trials(BenchmarkResult& result) {
  std::vector<std::vector<const RunResult*>> groups;
  for (const RunResult& run : result.runs) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&run](const auto& g) { return g.front()->label == run.label; });
    if (it == groups.end())
      groups.push_back({&run});
    else
      it->push_back(&run);
  }
  result.aggregates.clear();
  for (const auto& g : groups) result.aggregates.push_back(aggregate(g, result.config.stats.confidence));
}

}  // namespace splleed::metrics
