#pragma once
// The aligned table `splleed compare` prints.
#include <iosfwd>
#include <vector>

#include "metrics/compare_runs.hpp"

namespace splleed::report {

// One line per row: run label, metric, statistic, A, B, B - A, its interval at `confidence`, the
// change relative to A and the verdict. Latencies in ms, throughputs per second. A row with no
// samples on a side shows "n/a".
void write_comparison(const std::vector<metrics::ComparisonRow>& rows, double confidence,
                      std::ostream& out);

}  // namespace splleed::report
