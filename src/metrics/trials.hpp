#pragma once
// Statistics across the trials of each load level (--trials K).
#include <vector>

#include "splleed/result.hpp"

namespace splleed::metrics {

// Groups result.runs by label (in order of first appearance) and replaces result.aggregates with
// one TrialAggregate per label at result.config.stats.confidence: for each metric's mean and
// percentiles (from each trial's steady-state summary; trials where the metric has no sample are
// left out of that figure) and for the throughputs and goodput figures, the mean over the trials,
// its Student-t interval and the coefficient of variation.
void aggregate_trials(BenchmarkResult& result);

// The aggregate of one group of runs (the trials of one level).
TrialAggregate aggregate(const std::vector<const RunResult*>& trials, double confidence);

}  // namespace splleed::metrics
