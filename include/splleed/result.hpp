#pragma once
// A finished benchmark: what was asked, where it ran, and one RunResult per load level (and trial).
// Reporters take `const BenchmarkResult&`; JSON is the lossless form (report/json_reporter).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "splleed/config.hpp"
#include "splleed/record.hpp"

namespace splleed {

// The percentiles that carry confidence intervals, in MetricSummary::intervals order.
inline constexpr std::array<double, 5> kIntervalPercentiles = {50, 90, 95, 99, 99.9};

// Distribution-free confidence interval of one percentile: [x_(l), x_(u)] from order statistics
// with binomial ranks (docs/metrics.md). supported == false: the sample is too small for an
// interval at the level (lo and hi are then 0); min_samples is the smallest sample size that
// gives one.
struct PercentileInterval {
  double lo = 0, hi = 0;
  bool supported = false;
  std::int64_t min_samples = 0;
};

// Summary of one metric's samples, in milliseconds. count == 0: no sample (other fields 0).
struct MetricSummary {
  std::size_t count = 0;
  double mean = 0, std = 0, min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
  // Intervals of p50, p90, p95, p99, p999 (kIntervalPercentiles) at RunSummary::confidence.
  std::array<PercentileInterval, 5> intervals{};
};

// The latency metrics of docs/metrics.md, in report order.
enum class Metric : std::uint8_t {
  ttft, ttft_from_schedule, schedule_lag, ttst, itl, icl, tpot, e2e, e2e_from_schedule, stream_end,
  worst_stall,
};
inline constexpr int kMetricCount = 11;
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

  double confidence = 0.95;             // level of the percentile intervals
  // With SLOs configured (StatsConfig::slos): ok requests that ended in the window and met every
  // SLO; goodput = requests_good / window_s; good_fraction = requests_good / requests_sent.
  // Absent when no SLO was set.
  std::optional<std::int64_t> requests_good;
  std::optional<double> goodput;
  std::optional<double> good_fraction;
};

// Whether the client itself kept up, measured during the run (docs/metrics.md, client health).
struct ClientHealth {
  double requested_rate = 0;        // open loop: the target (requests/s); 0 in closed loop
  double delivered_rate = 0;        // open loop: measured dispatch rate over the steady state
  MetricSummary schedule_lag;       // ms, every measured request (dispatched − scheduled)
  MetricSummary wakeup_delay;       // ms, lateness of a 5 ms probe timer on each event loop
  std::vector<double> worker_cpu;   // per worker thread: CPU time / phase wall time (0..1)
  bool client_limited = false;
  std::string verdict;              // one plain sentence; "" when the client kept up
};

// Why the slowest requests of a run were slow: one group (e.g. the p99-and-above TTFT requests)
// compared with the rest on each engine signal.
struct WhyFinding {
  std::string group;                   // "p99-TTFT requests"
  std::int64_t requests = 0;           // in the group
  std::vector<std::string> sentences;  // strongest difference first; or one saying none is visible
};

// One of the engine's own latency histograms over a run's measurement window (bucket deltas of
// its metrics endpoint), in seconds; quantiles interpolate inside buckets as Prometheus does.
struct EngineLatency {
  std::string name;  // "ttft", "queue", "prefill", "decode", "e2e", "itl", "tpot", "inference", "step"
  double count = 0;  // observations the engine made in the window
  std::optional<double> mean_s, p50_s, p90_s, p99_s;
};

// The engine's own view of one run (present when its metrics were scraped).
struct EngineRunSummary {
  Nanos window_start = 0, window_end = 0;  // first measured send .. last measured end (absolute)
  // Each canonical signal over the window: counter-based rates and ratios exactly, gauges as the
  // mean of the scrapes in force.
  std::vector<std::pair<std::string, double>> signals;
  std::vector<EngineLatency> latencies;
  // Mean TTFT the client saw minus the engine's mean TTFT over the same window: time spent
  // outside the engine's own timer (network, HTTP server, tokenization, queueing before the engine
  // counts). From the engine histograms; per-request gaps from server timings are in the records.
  std::optional<double> ttft_gap_mean_ms;
};

// The engine's own profiler around a run's measurement phase (--profile). Times are absolute, on
// the run's monotonic clock; a step that failed leaves its time unset and says why in `error`.
struct ProfileWindow {
  std::optional<Nanos> start_requested;  // POST /start_profile sent
  std::optional<Nanos> started;          // ... and answered: the engine profiles from here at most
  std::optional<Nanos> stop_requested;   // POST /stop_profile sent
  std::optional<Nanos> stopped;          // ... and answered (the trace is written by then)
  std::string trace_location;            // the folder the engine was told, or how to find it
  std::string error;                     // empty when both calls succeeded
  // Measured requests dispatched while the profiler ran (started .. stop_requested).
  std::int64_t requests_inside = 0;
};

// One request whose produced output length differed from the exact length it asked for.
struct OutputLengthExample {
  std::uint64_t index = 0;  // RequestRecord::index
  std::int32_t requested = 0;
  std::int64_t produced = 0;
  bool operator==(const OutputLengthExample&) const = default;
};

// Measured ok requests that asked for an exact output length (RequestRecord::exact_output_tokens)
// against the tokens they produced (RequestRecord::output_tokens()).
struct OutputLengthCheck {
  std::int64_t checked = 0;  // requests compared
  std::int64_t exact = 0;
  std::int64_t shorter = 0;  // produced fewer tokens than asked (e.g. stopped at a stop string)
  std::int64_t longer = 0;
  std::vector<OutputLengthExample> examples;  // the first few mismatches, in issue order
  bool operator==(const OutputLengthCheck&) const = default;
};

// TTFT of every session's turn `turn` (multi-turn runs): measured ok requests of that turn index.
struct TurnSummary {
  std::int32_t turn = 0;  // 0-based
  std::int64_t requests = 0;
  double ttft_mean_ms = 0, ttft_p50_ms = 0, ttft_p90_ms = 0, ttft_p99_ms = 0;
  // Mean prompt tokens of the turn (server usage, else the client's count; the history makes later
  // turns longer); empty when no request of the turn had a count.
  std::optional<double> input_tokens_mean;
  bool operator==(const TurnSummary&) const = default;
};

// One request whose server-reported token count disagrees with the client's.
struct TokenCountExample {
  std::uint64_t index = 0;  // RequestRecord::index
  std::string kind;         // "prompt" or "output"
  std::int64_t client = 0;  // prompt: the client's tokenizer; output: tokens counted from events
  std::int64_t server = 0;  // usage.prompt_tokens or usage.completion_tokens
  bool operator==(const TokenCountExample&) const = default;
};

// The three token counts side by side over a run's measured ok requests (docs/metrics.md):
// which one drives TPOT and throughput, and how often the server's usage and the client's counts
// disagree beyond the tolerance of metrics::prompt_counts_disagree / output_counts_disagree.
struct TokenCountCheck {
  // Where TPOT's output token count came from: "usage" (every request), "events" (none reported
  // usage) or "mixed" (usage where reported, counted events elsewhere). "none" without requests.
  std::string tpot_source = "none";
  std::int64_t prompt_compared = 0;   // requests with both a client and a server prompt count
  std::int64_t prompt_disagree = 0;
  std::int64_t output_compared = 0;   // requests with usage.completion_tokens and token events
  std::int64_t output_disagree = 0;
  std::vector<TokenCountExample> examples;  // the first few disagreements, in issue order
  bool operator==(const TokenCountCheck&) const = default;
};

struct RunResult {
  std::string label;          // e.g. "concurrency=4"
  LoadMode mode = LoadMode::concurrency;
  std::int32_t concurrency = 1;         // closed loop: slots; open loop: 0
  std::optional<double> request_rate;   // open loop: the target rate (requests/s)
  std::int32_t trial = 0;
  RunSummary summary;                   // steady state: warm-up and ramp-up excluded
  std::optional<RunSummary> ramp_up;    // open loop with --ramp-up: the ramp's own summary
  ClientHealth client_health;
  std::vector<WhyFinding> why;          // when engine metrics were scraped
  std::optional<EngineRunSummary> engine;  // when engine metrics were scraped
  std::optional<ProfileWindow> profile;    // with --profile
  // Over the steady-state requests (as `summary`), filled by metrics::check_run:
  std::optional<OutputLengthCheck> output_length;  // when a request asked for an exact length
  std::vector<TurnSummary> by_turn;     // multi-turn runs: one per turn index, ascending
  TokenCountCheck token_counts;
  std::vector<RequestRecord> requests;  // warm-up first, then measured, in issue order
};

// One GPU of the machine the benchmark ran on.
struct GpuInfo {
  std::string name;
  std::string uuid;                               // NVML only
  std::optional<std::uint64_t> memory_total_bytes;
  std::string driver_version;
};

// What the engine says about itself (its version and info endpoints; docs/engines.md).
struct EngineIdentity {
  std::string engine;        // "vllm", "tgi", "sglang", "llama.cpp", "ollama", "sim", ...; "" unknown
  std::string version;       // as the engine reports it
  std::string served_model;  // the id /v1/models lists first, else the engine's model path
  std::optional<std::int64_t> max_model_len;  // longest context one request may use
  std::string raw_json = "{}";  // JSON object: endpoint path -> body (JSON, or a string)
};

struct Environment {
  std::string hostname, os, cpu_model, splleed_version, build_commit;
  std::int32_t cpu_cores = 0;
  std::optional<std::uint64_t> memory_total_bytes;  // MemTotal of /proc/meminfo
  std::string target_url;       // base URL as given (never carries credentials)
  std::string served_model;     // from /v1/models when available
  EngineIdentity engine;
  // "nvml", "nvidia-smi", "none" (neither found a GPU) or "not read" (--no-gpu); gpus is empty
  // unless one of the first two.
  std::string gpu_source = "not read";
  std::vector<GpuInfo> gpus;
  std::string cuda_driver_version;  // e.g. "12.4", when NVML gives it
};

// The engine splleed started for the benchmark (managed mode, docs/engines.md).
struct LaunchedEngine {
  std::string engine;             // "vllm", "tgi", "sglang", "llamacpp", "llamacpp-python", "sim"
  std::vector<std::string> argv;  // the command line, secrets redacted
  std::string base_url;
  std::string log_path;
  std::string exit_status;        // "exit status 0", "signal 15 (Terminated)", ...
  std::optional<std::int32_t> exit_code;    // when it exited normally
  std::optional<std::int32_t> exit_signal;  // when a signal ended it
  bool killed_after_grace = false;  // did not stop on SIGTERM within the grace period
  bool exited_during_run = false;   // died before splleed stopped it
};

struct ClockInfo {
  Nanos monotonic_origin_ns = 0;     // CLOCK_MONOTONIC at the run's time zero
  std::int64_t wall_start_unix_ns = 0;
  std::string wall_start_iso;        // UTC, ISO 8601
};

// One figure across the trials of a load level: the mean of the per-trial values, a Student-t
// interval at TrialAggregate::confidence, and the coefficient of variation (sample std / mean).
// n counts the trials that had a value; with n < 2 there is no interval (has_interval false).
struct TrialEstimate {
  std::int32_t n = 0;
  double mean = 0, lo = 0, hi = 0, cv = 0;
  bool has_interval = false;
};

// Statistics over the trials of one load level (runs sharing a label).
struct TrialAggregate {
  // The per-metric figures aggregated, in TrialAggregate::metrics order.
  static constexpr std::array<std::string_view, 6> kStats = {"mean", "p50", "p90",
                                                             "p95",  "p99", "p999"};
  std::string label;
  std::int32_t trials = 0;   // runs with this label
  double confidence = 0.95;
  std::array<std::array<TrialEstimate, 6>, kMetricCount> metrics{};  // [metric][kStats]
  TrialEstimate request_throughput, output_token_throughput, total_token_throughput;
  std::optional<TrialEstimate> goodput, good_fraction;  // when the runs have SLO figures
};

// A sweep: the synchronous (one request at a time) and the maximum (saturating closed loop)
// throughput, then one open-loop run per rate spaced evenly between them.
struct SweepResult {
  double synchronous_rate = 0;  // requests/s of the synchronous run
  double max_rate = 0;          // requests/s of the saturating run
  std::int32_t max_concurrency = 0;  // in flight during the saturating run
  std::vector<double> rates;    // the rates run in between, ascending
};

// One SLO search probe: the run at `value` (request rate or concurrency) and what it showed.
struct SloProbe {
  std::string label;             // the run's label
  double value = 0;
  bool passed = false;
  std::vector<double> observed_ms;  // the percentile of each SLO metric, in config.stats.slos order
  std::int64_t failed_requests = 0; // counted as SLO misses
};

// The largest load whose chosen percentile of every SLO metric stays within its bound.
struct SloSearchResult {
  std::string variable;          // "request_rate" or "concurrency"
  double percentile = 99;
  double tolerance = 0.05;       // relative width of the final bracket (rate), 1 (concurrency)
  double lower_bound = 0, upper_bound = 0;  // the bracket searched
  std::vector<SloProbe> probes;  // in the order run
  std::optional<double> answer;  // largest passing value; empty when even the lowest failed
  std::string verdict;           // one sentence
};

// One canonical engine signal over the run: points [from_ns relative to the run's origin, value].
struct SignalSeries {
  std::string signal;  // e.g. "waiting_requests", "kv_cache_usage"
  std::vector<std::pair<Nanos, double>> points;
};

// What splleed saw of the engine's own metrics (and GPUs) while it measured.
struct EngineObservation {
  std::string metrics_url;             // scraped endpoint ("" when not scraped)
  std::string engine;                  // detected profile: vllm, sglang, tgi, llamacpp, ...
  std::string variant;                 // naming generation, e.g. vLLM "v1"
  double interval_s = 0;
  std::int64_t scrapes_ok = 0;
  std::int64_t scrapes_failed = 0;
  std::vector<std::string> failures;   // the first few failed scrapes, each "t=...: message"
  std::vector<SignalSeries> timeline;  // every canonical signal with data (absolute ns in memory)
  std::vector<std::string> unmapped;   // raw sample names no profile reads
  std::string gpu;                     // "" when read; otherwise why GPU telemetry is absent
};

struct BenchmarkResult {
  static constexpr int kSchemaVersion = 1;
  RunConfig config;
  Environment environment;
  ClockInfo clock;
  std::vector<RunResult> runs;
  bool interrupted = false;  // stopped by Ctrl-C (or a fatal error) before the plan finished
  std::string stop_reason;
  // One per label, in order of first appearance (metrics::aggregate_trials); empty until filled.
  std::vector<TrialAggregate> aggregates;
  std::optional<SweepResult> sweep;
  std::optional<EngineObservation> engine;
  std::optional<SloSearchResult> slo_search;
  std::optional<LaunchedEngine> launched_engine;  // managed mode only
};

}  // namespace splleed
