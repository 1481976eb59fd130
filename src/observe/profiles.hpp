#pragma once
// Engine profiles: which raw series mean "running requests", "KV-cache usage", "TTFT histogram"...
// for each engine, across the names different releases use.
//
// Contract:
// - A signal is defined by an ordered list of sources; the first source whose series exist in the
//   store is used (new names first, renamed old names after, coarser fallbacks last).
// - Values are normalised: KV usage and utilisations are fractions 0..1, memory in bytes, latency
//   histograms in seconds, rates per second.
// - Sentinel values (DCGM's ~9.22e18 "not supported"), NaN, and values below a source's floor
//   (vLLM v0 reports -1 for a disabled prefix cache) are treated as missing, never as numbers.
// - Series no profile uses stay in the store, readable by name (`unmapped_names`).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observe/exposition.hpp"
#include "observe/series_store.hpp"
#include "splleed/clock.hpp"

namespace splleed::observe {

enum class EngineKind { unknown, vllm, sglang, tgi, llamacpp, triton_trtllm, dcgm };
std::string_view to_string(EngineKind k) noexcept;

enum class Signal {
  running_requests,             // batch size
  waiting_requests,             // queue depth
  kv_cache_usage,               // 0..1
  preemptions_per_s,            // vLLM preemptions, SGLang retractions
  prefix_cache_hit_rate,        // 0..1, hit tokens / queried tokens
  spec_acceptance_rate,         // accepted draft tokens / proposed draft tokens
  spec_mean_acceptance_length,  // tokens emitted per draft (accepted + the bonus token)
  tokens_per_step,              // tokens (prefill + decode) per engine step
  steps_per_s,                  // engine steps (forward passes) per second
  mean_batch_size,              // engine-reported average busy slots per step (llama.cpp)
  generation_tokens_per_s,      // output tokens per second of wall time
  prompt_tokens_per_s,          // prompt tokens per second of wall time
  reported_generation_tps,      // the engine's own throughput gauge
  reported_prompt_tps,
  gpu_utilization,        // 0..1 (time a kernel ran)
  gpu_memory_used_bytes,
  gpu_power_w,
  gpu_sm_clock_mhz,
  gpu_temperature_c,
  gpu_tensor_active,      // 0..1
  gpu_dram_active,        // 0..1
};
inline constexpr int kSignalCount = static_cast<int>(Signal::gpu_dram_active) + 1;
std::string_view to_string(Signal s) noexcept;

enum class Latency { ttft, queue, prefill, decode, e2e, itl, tpot, inference, step };
inline constexpr int kLatencyCount = static_cast<int>(Latency::step) + 1;
std::string_view to_string(Latency l) noexcept;

// ---- Profile definitions ----

struct SeriesRef {
  std::string name;  // sample name (`vllm:num_preemptions_total`, `x_sum`, ...)
  Labels match;      // labels each series must carry; others are aggregated over
};

enum class ReadAs {
  gauge,           // value at each scrape
  interval_gauge,  // value covers (previous scrape, this scrape]: the engine resets it on each read
  counter_rate,    // reset-aware Δ(sum of num) / Δt
  counter_ratio,   // Δ(sum of num) / Δ(sum of den)
  gauge_ratio,     // num / den at each scrape
};

enum class Aggregate { sum, mean, max };  // across the series matching one SeriesRef

struct SignalSource {
  ReadAs read = ReadAs::gauge;
  std::vector<SeriesRef> num;
  std::vector<SeriesRef> den;  // ratios only
  Aggregate agg = Aggregate::sum;
  double scale = 1;   // value * scale + offset
  double offset = 0;
  double floor = -1e300;  // raw values below are missing
};

struct SignalDef {
  Signal signal;
  std::vector<SignalSource> sources;
};

struct HistogramSource {
  std::string family;
  Labels match;
  double to_seconds = 1;  // bucket bounds and sum are multiplied by this
};

struct LatencyDef {
  Latency latency;
  std::vector<HistogramSource> sources;
};

struct EngineProfile {
  EngineKind kind = EngineKind::unknown;
  std::vector<std::string> prefixes;  // name prefixes that identify the engine
  std::vector<SignalDef> signals;
  std::vector<LatencyDef> latencies;

  const SignalDef* find(Signal s) const noexcept;
  const LatencyDef* find(Latency l) const noexcept;
};

const EngineProfile& profile_for(EngineKind k);

struct Detection {
  EngineKind kind = EngineKind::unknown;
  // The naming generation seen: vLLM "v1" (kv_cache_usage_perc) or "v0" (gpu_cache_usage_perc);
  // Triton "triton" (nv_trt_llm_*) or "trtllm-serve" (trtllm_*); empty otherwise.
  std::string variant;
};

// The engine whose name prefixes cover the most of `names` (sample names from one endpoint).
Detection detect_engine(const std::vector<std::string>& names);
Detection detect_engine(const Exposition& e);

// ---- Reading signals from a store ----

// A value and the span it describes: gauges hold from their scrape (`from`) until the next
// scrape (`to`; equal to `from` for the last one); rates and interval gauges cover (from, to].
struct SignalPoint {
  Nanos from = 0;
  Nanos to = 0;
  double value = 0;
};

// Whether `p` was in force during [t0, t1]. Spans are half-open at the end (a gauge scraped at t
// stops holding when the next scrape arrives; a rate interval ending at t0 is over), and a
// zero-length point counts when it lies inside the window.
bool overlaps(const SignalPoint& p, Nanos t0, Nanos t1) noexcept;

// The signal at every scrape (or scrape interval) where its first available source has data.
// Empty when the profile does not define it or no source's series exist.
std::vector<SignalPoint> signal_timeline(const SeriesStore& store, const EngineProfile& p, Signal s);

// The signal over [t0, t1]: for counter reads the exact Δ over the window (Δnum/Δt or Δnum/Δden);
// for gauges the mean of the points overlapping the window.
std::optional<double> signal_over(const SeriesStore& store, const EngineProfile& p, Signal s, Nanos t0,
                                  Nanos t1);

// The engine's own latency histogram over [t0, t1] (bucket deltas), in seconds.
std::optional<HistogramWindow> latency_window(const SeriesStore& store, const EngineProfile& p, Latency l,
                                              Nanos t0, Nanos t1);

// Sample names in the store that no signal or latency source of `p` reads, sorted.
std::vector<std::string> unmapped_names(const SeriesStore& store, const EngineProfile& p);

}  // namespace splleed::observe
