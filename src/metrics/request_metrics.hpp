#pragma once
// Request records in, metric samples out, exactly as docs/metrics.md defines them.
#include <optional>
#include <string_view>
#include <vector>

#include "splleed/config.hpp"

#include "splleed/record.hpp"
#include "splleed/result.hpp"

namespace splleed::metrics {

// Per-request metrics in nanoseconds; empty where undefined for that request
// (e.g. TTST needs two token events, TPOT two output tokens).
struct RequestMetrics {
  std::optional<double> ttft, ttft_from_schedule, schedule_lag, ttst, tpot, e2e,
      e2e_from_schedule, stream_end, worst_stall;
};

RequestMetrics compute(const RequestRecord& r);

// The part of the client's TTFT (ns) the server's own per-request timings do not account for:
// client TTFT minus the server's queue + model load + prompt processing time (the fields it
// reported; prompt time is required). Network, HTTP handling and anything queued before the
// engine's timer starts. Empty when the request has no TTFT or the server reported no prompt time.
std::optional<double> ttft_outside_server(const RequestRecord& r);

// Appends this request's inter-token samples (ns): ICL = each raw gap between consecutive token
// events; ITL = each gap split evenly over the tokens the later event carried (k samples of gap/k).
void append_gaps(const RequestRecord& r, std::vector<double>& itl, std::vector<double>& icl);

// This request's value (ns) of the metric an SLO names (the keys of docs/metrics.md). The
// per-request metrics are as compute(); the pooled ones take the request's worst sample: itl its
// largest per-token gap, icl its largest raw gap. Empty where undefined for this request.
// Throws std::invalid_argument for a name that is not a metric key.
std::optional<double> slo_value(const RequestRecord& r, const RequestMetrics& m,
                                std::string_view metric);

// Whether an ok request meets every SLO: its value is at most the threshold. A metric undefined
// for the request (e.g. TPOT of a one-token answer) counts as met: the SLO cannot judge it.
bool meets_slos(const RequestRecord& r, const RequestMetrics& m,
                const std::vector<SloTarget>& slos);

// Summarizes the records of one run that are neither warm-up nor ramp-up. Latency populations take only ok requests;
// every request counts in requests_sent and by_status. Throughputs use [window_start, window_end].
// Percentile intervals take stats.confidence; with stats.slos set, the goodput figures are filled
// (ok requests ending in the window that meet every SLO). The 3-argument form uses StatsConfig{}.
RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start, Nanos window_end,
                     const StatsConfig& stats);
RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start, Nanos window_end);

// Recomputes every run's summary (and ramp-up summary) from its records with result.config.stats,
// keeping each window, then fills result.aggregates (aggregate_trials). The CLI calls it once the
// runs are done, so that the configured level and SLOs apply whatever the runner computed.
void finalize(BenchmarkResult& result);

}  // namespace splleed::metrics
