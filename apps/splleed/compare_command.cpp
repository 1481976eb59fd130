#include "compare_command.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "metrics/compare_runs.hpp"
#include "report/compare_table.hpp"
#include "report/reporters.hpp"

namespace splleed::cli {

namespace {

BenchmarkResult read_result(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  try {
    return report::from_json(nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace

int run_compare(const CompareArgs& args, std::ostream& out, std::ostream& err) {
  if (!(args.confidence > 0 && args.confidence < 1)) {
    err << "splleed compare: --confidence must be between 0 and 1 (e.g. 0.95).\n";
    return 2;
  }
  if (args.resamples < 100) {
    err << "splleed compare: --resamples must be at least 100.\n";
    return 2;
  }
  const auto& known = metrics::comparable_metrics();
  struct Gate {
    std::string metric, stat;  // empty stat: every statistic of the metric
  };
  std::vector<Gate> gates;
  for (const std::string& g : args.fail_if_worse) {
    const auto colon = g.find(':');
    Gate gate{g.substr(0, colon), colon == std::string::npos ? "" : g.substr(colon + 1)};
    if (std::find(known.begin(), known.end(), gate.metric) == known.end() ||
        !(gate.stat.empty() || gate.stat == "p50" || gate.stat == "p90" || gate.stat == "p99" ||
          gate.stat == "value")) {
      err << "splleed compare: --fail-if-worse '" << g
          << "' is not METRIC[:STAT] with STAT one of p50, p90, p99, value.\n";
      return 2;
    }
    gates.push_back(std::move(gate));
  }

  std::vector<metrics::ComparisonRow> rows;
  try {
    const BenchmarkResult a = read_result(args.a_path);
    const BenchmarkResult b = read_result(args.b_path);
    metrics::CompareOptions options;
    options.confidence = args.confidence;
    options.seed = args.seed;
    options.resamples = args.resamples;
    options.metrics = args.metrics;
    rows = metrics::compare(a, b, options);
  } catch (const std::exception& e) {
    err << "splleed compare: " << e.what() << "\n";
    return 2;
  }
  if (rows.empty()) {
    err << "splleed compare: the two files have no run label in common.\n";
    return 2;
  }
  report::write_comparison(rows, args.confidence, out);

  int code = 0;
  for (const auto& row : rows) {
    if (row.verdict != stats::Verdict::worse) continue;
    for (const Gate& g : gates)
      if (g.metric == row.metric && (g.stat.empty() || g.stat == row.stat)) {
        err << "splleed compare: " << row.label << " " << row.metric << " " << row.stat
            << " is worse (--fail-if-worse)\n";
        code = 1;
      }
  }
  return code;
}

CLI::App* add_compare_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare", "Compare two results files: B - A per metric with bootstrap intervals");
  cmd->add_option("A", args->a_path, "Baseline results JSON")->required()->check(CLI::ExistingFile);
  cmd->add_option("B", args->b_path, "Candidate results JSON")->required()->check(CLI::ExistingFile);
  cmd->add_option("--metric", args->metrics,
                  "Metric keys to compare (e.g. ttft, tpot, request_throughput); default all");
  cmd->add_option("--confidence", args->confidence, "Interval level")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Bootstrap seed")->capture_default_str();
  cmd->add_option("--resamples", args->resamples, "Bootstrap resamples")->capture_default_str();
  cmd->add_option("--fail-if-worse", args->fail_if_worse,
                  "Exit 1 when METRIC[:STAT] (e.g. ttft:p99) is significantly worse in B");
  cmd->callback([args, &exit_code] { exit_code = run_compare(*args, std::cout, std::cerr); });
  return cmd;
}

}  // namespace splleed::cli
