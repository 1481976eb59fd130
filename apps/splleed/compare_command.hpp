#pragma once
// `splleed compare A.json B.json`: per matching run label, metric and percentile, the difference
// B - A with a seeded bootstrap interval and a verdict (docs/metrics.md, "Comparing two results").
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace splleed::cli {

struct CompareArgs {
  std::string a_path, b_path;
  std::vector<std::string> metrics;        // empty: all
  double confidence = 0.95;
  std::uint64_t seed = 0;
  std::int32_t resamples = 2000;
  std::vector<std::string> fail_if_worse;  // "METRIC:STAT" (e.g. ttft:p99) or "METRIC"
};

// Reads both files, prints the table to `out` and problems to `err`. Returns 0, 1 when a
// --fail-if-worse row is worse, or 2 when a file cannot be read or an argument is invalid.
int run_compare(const CompareArgs& args, std::ostream& out, std::ostream& err);

// Adds the `compare` subcommand to `app`. Its callback runs during parsing and stores
// run_compare's result in `exit_code`; main returns exit_code when the subcommand was chosen.
CLI::App* add_compare_command(CLI::App& app, int& exit_code);

}  // namespace splleed::cli
