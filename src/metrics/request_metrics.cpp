#include "metrics/request_metrics.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "metrics/run_checks.hpp"
#include "metrics/trials.hpp"

#include "stats/summary.hpp"

namespace splleed::metrics {

namespace {

// b - a in ns when both stamps exist; a metric whose stamps are missing is absent, not zero.
std::optional<double> span(const std::optional<Nanos>& a, const std::optional<Nanos>& b) {
  if (!a || !b) return std::nullopt;
  return static_cast<double>(*b - *a);
}

// Convert ns samples to ms and summarize them (MetricSummary is in ms).
MetricSummary summarize_ms(std::vector<double>& ns, double confidence) {
  for (double& v : ns) v /= static_cast<double>(kNanosPerMilli);
  return stats::summarize(ns, confidence);
}

}  // namespace

RequestMetrics compute(const RequestRecord& r) {
  RequestMetrics m;
  m.ttft = span(r.dispatched, r.first_token);
  m.ttft_from_schedule = span(r.scheduled, r.first_token);
  m.schedule_lag = span(r.scheduled, r.dispatched);
  m.e2e = span(r.dispatched, r.last_token);
  m.e2e_from_schedule = span(r.scheduled, r.last_token);
  m.stream_end = span(r.dispatched, r.end);

  if (r.tokens.size() >= 2) {
    const Nanos first_gap = r.tokens[1].received - r.tokens[0].received;
    m.ttst = static_cast<double>(first_gap);
    Nanos worst = first_gap;
    for (std::size_t i = 2; i < r.tokens.size(); ++i)
      worst = std::max(worst, r.tokens[i].received - r.tokens[i - 1].received);
    m.worst_stall = static_cast<double>(worst);
  }

  const std::int64_t out = r.output_tokens();
  if (out >= 2 && r.first_token && r.last_token)
    m.tpot = static_cast<double>(*r.last_token - *r.first_token) / static_cast<double>(out - 1);
  return m;
}

std::optional<double> ttft_outside_server(const RequestRecord& r) {
  const ServerTimings& t = r.server_timings;
  if (!t.prompt_ms || !r.dispatched || !r.first_token) return std::nullopt;
  const double server_ms = *t.prompt_ms + t.queue_ms.value_or(0) + t.load_ms.value_or(0);
  return static_cast<double>(*r.first_token - *r.dispatched) - server_ms * 1e6;
}

void append_gaps(const RequestRecord& r, std::vector<double>& itl, std::vector<double>& icl) {
  for (std::size_t i = 1; i < r.tokens.size(); ++i) {
    const auto gap = static_cast<double>(r.tokens[i].received - r.tokens[i - 1].received);
    icl.push_back(gap);
    // A token-bearing event carries at least one token; a zero count is read as one so that
    // the gap still yields a sample instead of a division by zero.
    const std::uint32_t k = std::max<std::uint32_t>(r.tokens[i].tokens, 1);
    itl.insert(itl.end(), k, gap / static_cast<double>(k));
  }
}

std::optional<double> slo_value(const RequestRecord& r, const RequestMetrics& m,
                                std::string_view metric) {
  if (metric == "ttft") return m.ttft;
  if (metric == "ttft_from_schedule") return m.ttft_from_schedule;
  if (metric == "schedule_lag") return m.schedule_lag;
  if (metric == "ttst") return m.ttst;
  if (metric == "tpot") return m.tpot;
  if (metric == "e2e") return m.e2e;
  if (metric == "e2e_from_schedule") return m.e2e_from_schedule;
  if (metric == "stream_end") return m.stream_end;
  if (metric == "worst_stall" || metric == "icl") return m.worst_stall;
  if (metric == "itl") {
    std::optional<double> worst;
    for (std::size_t i = 1; i < r.tokens.size(); ++i) {
      const auto gap = static_cast<double>(r.tokens[i].received - r.tokens[i - 1].received);
      const double per_token = gap / std::max<std::uint32_t>(r.tokens[i].tokens, 1);
      worst = std::max(worst.value_or(per_token), per_token);
    }
    return worst;
  }
  throw std::invalid_argument("unknown SLO metric '" + std::string(metric) + "'");
}

bool meets_slos(const RequestRecord& r, const RequestMetrics& m,
                const std::vector<SloTarget>& slos) {
  return std::all_of(slos.begin(), slos.end(), [&](const SloTarget& slo) {
    const std::optional<double> v = slo_value(r, m, slo.metric);
    return !v || *v <= static_cast<double>(slo.threshold);
  });
}

RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start,
                     Nanos window_end) {
  return summarize(records, window_start, window_end, StatsConfig{});
}

RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start,
                     Nanos window_end, const StatsConfig& stats) {
  RunSummary s;
  s.confidence = stats.confidence;
  s.window_start = window_start;
  s.window_end = window_end;
  s.window_s =
      static_cast<double>(window_end - window_start) / static_cast<double>(kNanosPerSecond);

  std::array<std::vector<double>, kMetricCount> samples;
  auto& itl = samples[static_cast<int>(Metric::itl)];
  auto& icl = samples[static_cast<int>(Metric::icl)];
  auto add = [&samples](Metric metric, const std::optional<double>& v) {
    if (v) samples[static_cast<int>(metric)].push_back(*v);
  };

  std::int64_t completed_in_window = 0;
  std::int64_t good = 0;
  for (const RequestRecord& r : records) {
    // Warm-up and ramp-up requests are not part of the steady state this summary describes.
    if (r.warmup || r.ramp_up) continue;
    ++s.requests_sent;
    ++s.by_status[static_cast<std::size_t>(r.status)];
    if (r.status != RequestStatus::ok) {
      ++s.requests_failed;
      continue;
    }
    ++s.requests_ok;

    const RequestMetrics m = compute(r);
    add(Metric::ttft, m.ttft);
    add(Metric::ttft_from_schedule, m.ttft_from_schedule);
    add(Metric::schedule_lag, m.schedule_lag);
    add(Metric::ttst, m.ttst);
    add(Metric::tpot, m.tpot);
    add(Metric::e2e, m.e2e);
    add(Metric::e2e_from_schedule, m.e2e_from_schedule);
    add(Metric::stream_end, m.stream_end);
    add(Metric::worst_stall, m.worst_stall);
    append_gaps(r, itl, icl);

    if (r.end && *r.end >= window_start && *r.end <= window_end) {
      ++completed_in_window;
      s.output_tokens += r.output_tokens();
      s.prompt_tokens += r.usage.prompt_tokens.value_or(0);
      if (!r.output_tokens_from_usage()) s.tokens_from_usage = false;
      if (!stats.slos.empty() && meets_slos(r, m, stats.slos)) ++good;
    }
  }

  for (std::size_t i = 0; i < samples.size(); ++i) s.metrics[i] = summarize_ms(samples[i], stats.confidence);

  if (s.window_s > 0) {
    s.request_throughput = static_cast<double>(completed_in_window) / s.window_s;
    s.output_token_throughput = static_cast<double>(s.output_tokens) / s.window_s;
    s.total_token_throughput =
        static_cast<double>(s.output_tokens + s.prompt_tokens) / s.window_s;
  }
  if (!stats.slos.empty()) {
    s.requests_good = good;
    s.goodput = s.window_s > 0 ? static_cast<double>(good) / s.window_s : 0.0;
    // Failed requests stay in the denominator: a failure can only lower the fraction.
    s.good_fraction =
        s.requests_sent > 0 ? static_cast<double>(good) / static_cast<double>(s.requests_sent) : 0.0;
  }
  return s;
}

void finalize(BenchmarkResult& result) {
  const StatsConfig& stats = result.config.stats;
  for (RunResult& run : result.runs) {
    if (run.ramp_up) {
      // The ramp-up summary takes the ramp-up requests as its own population, as the runner does.
      std::vector<RequestRecord> ramp;
      for (const RequestRecord& r : run.requests)
        if (r.ramp_up && !r.warmup) {
          ramp.push_back(r);
          ramp.back().ramp_up = false;
        }
      run.ramp_up = summarize(ramp, run.ramp_up->window_start, run.ramp_up->window_end, stats);
    }
    run.summary = summarize(run.requests, run.summary.window_start, run.summary.window_end, stats);
    check_run(run);
  }
  aggregate_trials(result);
}

}  // namespace splleed::metrics
