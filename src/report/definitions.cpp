#include "report/definitions.hpp"

#include <array>

namespace splleed::report {

namespace {

constexpr std::array<std::string_view, kMetricCount> kMetricDefinitions = {
    "time to first token: first_token - dispatched (first event carrying output)",
    "TTFT from schedule: first_token - scheduled (includes client-side queueing)",
    "schedule lag: dispatched - scheduled (how late the client sent the request)",
    "time to second token: second token event - first token event (needs 2 token events)",
    "inter-token latency: each gap between token events split evenly over the tokens the later "
    "event carried; one sample per token, pooled over requests",
    "inter-chunk latency: each raw gap between consecutive token events; one sample per gap, "
    "pooled over requests (vLLM calls this ITL)",
    "time per output token: (last_token - first_token) / (output_tokens - 1), requests with >= 2 "
    "output tokens",
    "end-to-end latency: last_token - dispatched",
    "E2E from schedule: last_token - scheduled (coordinated-omission corrected: includes "
    "client-side queueing)",
    "stream end: end - dispatched (includes the trailing usage/[DONE] events)",
    "worst stall: a request's largest gap between consecutive token events; one sample per request",
};

constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kGeneral = {{
    {"units",
     "latencies in milliseconds; timestamps in nanoseconds relative to clock.monotonic_origin_ns"},
    {"population",
     "latency metrics use ok requests only; warm-up requests are excluded from every figure"},
    {"percentiles", "exact, from raw samples, linear interpolation between order statistics "
                    "(numpy default); std is the sample standard deviation (n-1)"},
    {"request_throughput", "ok requests whose end falls in the window / window seconds"},
    {"output_token_throughput",
     "output tokens of those requests (server usage, else counted) / window seconds"},
    {"total_token_throughput", "output plus prompt tokens of those requests / window seconds"},
    {"intervals",
     "per percentile, distribution-free confidence interval [x_(l), x_(u)] from order statistics "
     "with binomial ranks at summary.confidence; lo/hi null when the sample is smaller than "
     "min_samples"},
    {"goodput", "ok requests whose end falls in the window and that meet every SLO / window "
                "seconds; an SLO whose metric is undefined for a request counts as met"},
    {"good_fraction", "those requests / all measured requests sent, failed ones included"},
    {"aggregates", "per load level over its trials: mean of the per-trial figures, Student-t "
                   "interval at the configured confidence, coefficient of variation (std/mean)"},
    {"client_health",
     "whether the client kept up: requested and delivered dispatch rate (open loop, requests/s) "
     "and schedule lag (ms) over the steady-state requests; lateness of a probe timer on each "
     "event loop (every 20 ms for its first 20 samples, then every 100 ms; ms) and CPU time / "
     "wall time per worker thread over the measurement phase; "
     "client_limited and verdict say when the client may have limited the results"},
}};

}  // namespace

std::string_view definition(Metric m) noexcept {
  return kMetricDefinitions[static_cast<std::size_t>(m)];
}

std::span<const std::pair<std::string_view, std::string_view>> general_definitions() noexcept {
  return kGeneral;
}

}  // namespace splleed::report
