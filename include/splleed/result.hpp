#pragma once
// A finished benchmark: what was asked, where it ran, and one RunResult per load level (and trial).
// Reporters take `const BenchmarkResult&`; JSON is the lossless form (report/json_reporter).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splleed/config.hpp"
#include "splleed/record.hpp"

namespace splleed {

// Summary of one metric's samples, in milliseconds. count == 0: no sample (other fields 0).
struct MetricSummary {
  std::size_t count = 0;
  double mean = 0, std = 0, min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
};

// The latency metrics of docs/metrics.md, in report order.
enum class Metric : std::uint8_t {
  ttft, ttft_from_schedule, schedule_lag, ttst, itl, icl, tpot, e2e, stream_end, worst_stall,
};
inline constexpr int kMetricCount = 10;
std::string_view to_string(Metric m) noexcept;       // JSON key, e.g. "ttft_from_schedule"
std::string_view display_name(Metric m) noexcept;    // console label, e.g. "TTFT (sched)"

struct RunSummary {
  std::array<MetricSummary, kMetricCount> metrics{};
  const MetricSummary& operator[](Metric m) const { return metrics[static_cast<int>(m)]; }
  MetricSummary& operator[](Metric m) { return metrics[static_cast<int>(m)]; }

  Nanos window_start = 0;  // measurement window, monotonic
  Nanos window_end = 0;
  double window_s = 0;
  std::int64_t requests_sent = 0;       // measured (non-warm-up) requests sent
  std::int64_t requests_ok = 0;
  std::int64_t requests_failed = 0;     // every status but ok
  std::array<std::int64_t, kRequestStatusCount> by_status{};
  std::int64_t output_tokens = 0;       // over ok requests that ended in the window
  std::int64_t prompt_tokens = 0;
  double request_throughput = 0;        // ok requests completed in the window / window_s
  double output_token_throughput = 0;   // output tokens received in the window / window_s
  double total_token_throughput = 0;    // adds prompt tokens
  bool tokens_from_usage = true;        // false if any ok request lacked server usage
};

struct RunResult {
  std::string label;          // e.g. "concurrency=4"
  LoadMode mode = LoadMode::concurrency;
  std::int32_t concurrency = 1;         // closed loop: slots; open loop: 0
  std::optional<double> request_rate;   // open loop: the target rate (requests/s)
  std::int32_t trial = 0;
  RunSummary summary;                   // steady state: warm-up and ramp-up excluded
  std::optional<RunSummary> ramp_up;    // open loop with --ramp-up: the ramp's own summary
  std::vector<RequestRecord> requests;  // warm-up first, then measured, in issue order
};

struct Environment {
  std::string hostname, os, cpu_model, splleed_version, build_commit;
  std::int32_t cpu_cores = 0;
  std::string target_url;       // base URL as given (never carries credentials)
  std::string served_model;     // from /v1/models when available
};

struct ClockInfo {
  Nanos monotonic_origin_ns = 0;     // CLOCK_MONOTONIC at the run's time zero
  std::int64_t wall_start_unix_ns = 0;
  std::string wall_start_iso;        // UTC, ISO 8601
};

struct BenchmarkResult {
  static constexpr int kSchemaVersion = 1;
  RunConfig config;
  Environment environment;
  ClockInfo clock;
  std::vector<RunResult> runs;
  bool interrupted = false;  // stopped by Ctrl-C (or a fatal error) before the plan finished
  std::string stop_reason;
};

}  // namespace splleed
