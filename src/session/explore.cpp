#include "session/explore.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "metrics/request_metrics.hpp"
#include "metrics/trials.hpp"
#include "stats/summary.hpp"

namespace splleed::session {

std::vector<double> sweep_rates(double lo, double hi, std::int32_t points) {
  std::vector<double> out;
  if (!(hi > lo) || points < 1) return out;
  const double step = (hi - lo) / (points + 1);
  for (std::int32_t i = 1; i <= points; ++i) out.push_back(lo + step * i);
  return out;
}

SloProbe evaluate_slos(const RunResult& run, const std::vector<SloTarget>& slos,
                       double percentile) {
  SloProbe probe;
  probe.label = run.label;
  probe.passed = true;
  std::vector<std::vector<double>> values(slos.size());
  for (const RequestRecord& r : run.requests) {
    if (r.warmup || r.ramp_up) continue;
    if (r.status != RequestStatus::ok) {
      ++probe.failed_requests;
      for (auto& v : values) v.push_back(std::numeric_limits<double>::infinity());
      continue;
    }
    const metrics::RequestMetrics m = metrics::compute(r);
    for (std::size_t i = 0; i < slos.size(); ++i)
      if (auto v = metrics::slo_value(r, m, slos[i].metric)) values[i].push_back(*v);
  }
  for (std::size_t i = 0; i < slos.size(); ++i) {
    auto& v = values[i];
    if (v.empty()) {  // nothing measured: no evidence that the SLO holds
      probe.observed_ms.push_back(std::numeric_limits<double>::infinity());
      probe.passed = false;
      continue;
    }
    std::sort(v.begin(), v.end());
    const double p = stats::percentile(v, percentile);
    probe.observed_ms.push_back(p / static_cast<double>(kNanosPerMilli));
    if (!(p <= static_cast<double>(slos[i].threshold))) probe.passed = false;
  }
  return probe;
}

Bisection::Bisection(double lo, double hi, double tolerance, bool integer)
    : lo_(lo), hi_(std::max(lo, hi)), tolerance_(tolerance), integer_(integer) {
  if (integer_) {
    lo_ = std::max(1.0, std::floor(lo_));
    hi_ = std::max(lo_, std::floor(hi_));
  }
}

std::optional<double> Bisection::next() const {
  if (done_) return std::nullopt;
  if (!lo_probed_) return lo_;
  if (!hi_probed_) return hi_;
  if (integer_) {
    if (hi_ - lo_ <= 1) return std::nullopt;
    return std::floor((lo_ + hi_) / 2);
  }
  if (hi_ - lo_ <= tolerance_ * hi_) return std::nullopt;
  return (lo_ + hi_) / 2;
}

void Bisection::record(double value, bool passed) {
  if (!lo_probed_) {
    lo_probed_ = true;
    if (!passed) {
      done_ = true;  // even the lowest load misses the SLOs
      return;
    }
    best_ = value;
    if (hi_ <= lo_) done_ = true;
    return;
  }
  if (!hi_probed_) {
    hi_probed_ = true;
    if (passed) {
      best_ = value;
      done_ = true;
    }
    return;
  }
  if (passed) {
    lo_ = value;
    best_ = value;
  } else {
    hi_ = value;
  }
}

namespace {

RunConfig single_level(RunConfig c) {
  c.stats.trials = 1;
  c.load.ramp.reset();
  c.load.request_rates.clear();
  return c;
}

RunConfig synchronous(const RunConfig& base) {
  RunConfig c = single_level(base);
  c.load.mode = LoadMode::latency;
  c.load.concurrency = {1};
  return c;
}

RunConfig saturating(const RunConfig& base, std::int32_t concurrency) {
  RunConfig c = single_level(base);
  c.load.mode = LoadMode::concurrency;
  std::int32_t n = concurrency;
  if (c.load.num_requests) n = static_cast<std::int32_t>(std::min<std::int64_t>(n, *c.load.num_requests));
  c.load.concurrency = {std::max(1, n)};
  return c;
}

RunConfig at_rate(const RunConfig& base, double rate) {
  RunConfig c = single_level(base);
  c.load.mode = LoadMode::rate;
  c.load.request_rates = {rate};
  return c;
}

RunConfig at_concurrency(const RunConfig& base, std::int32_t n) {
  RunConfig c = single_level(base);
  c.load.mode = LoadMode::concurrency;
  c.load.concurrency = {n};
  return c;
}

double throughput_of(const RunResult& run) { return run.summary.request_throughput; }

void check_plannable(const RunConfig& c, const char* what) {
  if (c.load.trace) throw SessionError(fmt::format("{} cannot be combined with --trace.", what));
}

}  // namespace

BenchmarkResult run_sweep(Session& session, const SweepOptions& options) {
  if (options.points < 1) throw SessionError("--sweep needs at least 1 rate between the ends.");
  check_plannable(session.config(), "--sweep");
  SweepResult sweep;
  std::size_t step = 0;
  auto result = session.run_sequence([&](RunConfig& next, const std::vector<RunResult>& so_far) {
    switch (step++) {
      case 0:
        next = synchronous(next);
        return true;
      case 1:
        next = saturating(next, options.max_concurrency);
        sweep.max_concurrency = next.load.concurrency.front();
        return true;
      case 2: {
        sweep.synchronous_rate = throughput_of(so_far.at(0));
        sweep.max_rate = throughput_of(so_far.at(1));
        sweep.rates = sweep_rates(sweep.synchronous_rate, sweep.max_rate, options.points);
        if (sweep.rates.empty()) return false;  // no room between the ends
        [[fallthrough]];
      }
      default: {
        const std::size_t i = step - 3;
        if (i >= sweep.rates.size()) return false;
        next = at_rate(next, sweep.rates[i]);
        return true;
      }
    }
  });
  if (result.runs.size() >= 2) {
    result.runs[0].label = "synchronous";
    result.runs[1].label = "throughput";
    result.sweep = sweep;
    metrics::aggregate_trials(result);
  }
  return result;
}

BenchmarkResult run_slo_search(Session& session, const SearchOptions& options) {
  const auto& slos = session.config().stats.slos;
  if (slos.empty()) throw SessionError("--slo-search needs SLOs: give --slo, e.g. ttft:500ms,tpot:50ms.");
  if (!(options.percentile > 0 && options.percentile <= 100))
    throw SessionError("--slo-percentile must be in (0, 100].");
  if (!options.over_concurrency && !(options.tolerance > 0 && options.tolerance < 1))
    throw SessionError("--search-tolerance must be between 0 and 1 (e.g. 0.05).");
  check_plannable(session.config(), "--slo-search");

  SloSearchResult search;
  search.variable = options.over_concurrency ? "concurrency" : "request_rate";
  search.percentile = options.percentile;
  search.tolerance = options.over_concurrency ? 1 : options.tolerance;
  std::optional<Bisection> bisection;
  std::optional<double> probing;
  std::size_t step = 0;
  auto result = session.run_sequence([&](RunConfig& next, const std::vector<RunResult>& so_far) {
    const std::size_t s = step++;
    if (s == 0) {
      next = synchronous(next);
      return true;
    }
    if (s == 1) {
      next = saturating(next, options.max_concurrency);
      return true;
    }
    if (s == 2) {
      if (options.over_concurrency) {
        search.lower_bound = 1;
        search.upper_bound = so_far.at(1).concurrency;
      } else {
        search.lower_bound = throughput_of(so_far.at(0));
        search.upper_bound = throughput_of(so_far.at(1));
      }
      bisection.emplace(search.lower_bound, search.upper_bound, search.tolerance,
                        options.over_concurrency);
    } else {
      SloProbe probe = evaluate_slos(so_far.back(), slos, options.percentile);
      probe.value = *probing;
      bisection->record(probe.value, probe.passed);
      search.probes.push_back(std::move(probe));
    }
    probing = bisection->next();
    if (!probing) return false;
    next = options.over_concurrency ? at_concurrency(next, static_cast<std::int32_t>(*probing))
                                    : at_rate(next, *probing);
    return true;
  });
  if (result.runs.size() >= 2) {
    result.runs[0].label = "synchronous";
    result.runs[1].label = "throughput";
    metrics::aggregate_trials(result);
  }
  search.answer = bisection ? bisection->answer() : std::nullopt;
  std::string bounds;
  for (std::size_t i = 0; i < slos.size(); ++i)
    bounds += fmt::format("{}{} {} <= {:g} ms", i ? ", " : "", fmt::format("p{:g}", search.percentile),
                          slos[i].metric, static_cast<double>(slos[i].threshold) / kNanosPerMilli);
  const char* unit = options.over_concurrency ? "" : " req/s";
  if (result.interrupted) {
    search.verdict = "The search was interrupted before it finished.";
  } else if (search.answer) {
    search.verdict = fmt::format("The largest {} that keeps {} is {:.4g}{} ({} probes).",
                                 options.over_concurrency ? "concurrency" : "request rate", bounds,
                                 *search.answer, unit, search.probes.size());
  } else {
    search.verdict = fmt::format("Even the lowest load tried ({:.4g}{}) misses {}.",
                                 search.lower_bound, unit, bounds);
  }
  result.slo_search = std::move(search);
  return result;
}

}  // namespace splleed::session
