#pragma once
// Request records in, metric samples out, exactly as docs/metrics.md defines them.
#include <optional>
#include <vector>

#include "splleed/record.hpp"
#include "splleed/result.hpp"

namespace splleed::metrics {

// Per-request metrics in nanoseconds; empty where undefined for that request
// (e.g. TTST needs two token events, TPOT two output tokens).
struct RequestMetrics {
  std::optional<double> ttft, ttft_from_schedule, schedule_lag, ttst, tpot, e2e, stream_end,
      worst_stall;
};

RequestMetrics compute(const RequestRecord& r);

// Appends this request's inter-token samples (ns): ICL = each raw gap between consecutive token
// events; ITL = each gap split evenly over the tokens the later event carried (k samples of gap/k).
void append_gaps(const RequestRecord& r, std::vector<double>& itl, std::vector<double>& icl);

// Summarizes the records of one run that are neither warm-up nor ramp-up. Latency populations take only ok requests;
// every request counts in requests_sent and by_status. Throughputs use [window_start, window_end].
RunSummary summarize(const std::vector<RequestRecord>& records, Nanos window_start, Nanos window_end);

}  // namespace splleed::metrics
