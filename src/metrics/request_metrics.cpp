#include "metrics/request_metrics.hpp"

#include <algorithm>
#include <array>

#include "stats/summary.hpp"

namespace splleed::metrics {

namespace {

// b - a in ns when both stamps exist; a metric whose stamps are missing is absent, not zero.
std::optional<double> span(const std::optional<Nanos>& a, const std::optional<Nanos>& b) {
  if (!a || !b) return std::nullopt;
  return static_cast<double>(*b - *a);
}

// Convert ns samples to ms and summarize them (MetricSummary is in ms).
MetricSummary summarize_ms(std::vector<double>& ns) {
  for (double& v : ns) v /= static_cast<double>(kNanosPerMilli);
  return stats::summarize(ns);
}

}  // namespace

RequestMetrics compute(const RequestRecord& r) {
  RequestMetrics m;
  m.ttft = span(r.dispatched, r.first_token);
  m.ttft_from_schedule = span(r.scheduled, r.first_token);
  m.schedule_lag = span(r.scheduled, r.dispatched);
  m.e2e = span(r.dispatched, r.last_token);
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

RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start,
                     Nanos window_end) {
  RunSummary s;
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
    add(Metric::stream_end, m.stream_end);
    add(Metric::worst_stall, m.worst_stall);
    append_gaps(r, itl, icl);

    if (r.end && *r.end >= window_start && *r.end <= window_end) {
      ++completed_in_window;
      s.output_tokens += r.output_tokens();
      s.prompt_tokens += r.usage.prompt_tokens.value_or(0);
      if (!r.output_tokens_from_usage()) s.tokens_from_usage = false;
    }
  }

  for (std::size_t i = 0; i < samples.size(); ++i) s.metrics[i] = summarize_ms(samples[i]);

  if (s.window_s > 0) {
    s.request_throughput = static_cast<double>(completed_in_window) / s.window_s;
    s.output_token_throughput = static_cast<double>(s.output_tokens) / s.window_s;
    s.total_token_throughput =
        static_cast<double>(s.output_tokens + s.prompt_tokens) / s.window_s;
  }
  return s;
}

}  // namespace splleed::metrics
