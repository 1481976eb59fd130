#pragma once
// Plans built from several runs: the throughput-latency sweep and the SLO search (bisection on
// request rate or concurrency). The planning logic is pure and unit-tested; Session runs it.
#include <cstdint>
#include <optional>
#include <vector>

#include "session/session.hpp"
#include "splleed/result.hpp"

namespace splleed::session {

// `points` rates spaced evenly strictly between lo and hi, ascending. Empty when hi <= lo.
std::vector<double> sweep_rates(double lo, double hi, std::int32_t points);

// The chosen percentile of each SLO metric over a run's measured requests (ms), failed requests
// counting as misses (infinitely slow), and whether every one is within its bound.
SloProbe evaluate_slos(const RunResult& run, const std::vector<SloTarget>& slos, double percentile);

// Bisection between a bracket's ends: probe the low end (if it fails there is no answer), then
// the high end (if it passes it is the answer), then midpoints until the bracket is narrower than
// `tolerance` times its high end (rate) or adjacent integers (concurrency).
class Bisection {
 public:
  Bisection(double lo, double hi, double tolerance, bool integer);
  std::optional<double> next() const;  // the value to probe next; empty when done
  void record(double value, bool passed);
  std::optional<double> answer() const { return best_; }

 private:
  double lo_, hi_, tolerance_;
  bool integer_;
  bool lo_probed_ = false, hi_probed_ = false, done_ = false;
  std::optional<double> best_;
};

struct SweepOptions {
  std::int32_t points = 5;
  std::int32_t max_concurrency = 256;  // in flight for the maximum-throughput run
};

struct SearchOptions {
  bool over_concurrency = false;  // search concurrency (closed loop) instead of request rate
  double percentile = 99;
  double tolerance = 0.05;
  std::int32_t max_concurrency = 256;  // the saturating run's concurrency (upper bound)
};

// Runs the sweep: synchronous, saturating, then each rate in between. Fills result.sweep.
BenchmarkResult run_sweep(Session& session, const SweepOptions& options);

// Runs the SLO search with the session's config.stats.slos (at least one). The bracket comes from
// a synchronous and a saturating run. Fills result.slo_search.
BenchmarkResult run_slo_search(Session& session, const SearchOptions& options);

}  // namespace splleed::session
