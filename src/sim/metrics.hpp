#pragma once
// GET /metrics of the simulated engine: Prometheus text format 0.0.4 rendered from every
// replica's counters (summed; the replicas appear as one engine), in vLLM's or llama.cpp's names.
//
// vLLM style: the v1 engine's metric names, HELP texts, types and bucket bounds, with the labels
// engine="0" and model_name, the `_total` counter samples and `_created` series that
// prometheus_client writes, labels sorted and values written as Python floats ("1.0").
// llama.cpp style: llama-server --metrics (build b4748): `llamacpp:` names without labels, values
// written as C++ streams write doubles ("0.385254"); the two throughput gauges cover the time
// since the previous read, which resets them, as llama.cpp's do.
//
// Rendering reads relaxed atomics only, so it never stops an engine; only llama.cpp's read window
// takes a lock, which no engine thread touches.
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sim/counters.hpp"

namespace splleed::sim {

enum class MetricsStyle : std::uint8_t { vllm, llamacpp };
struct MetricsTotals;

class MetricsExporter {
 public:
  // `replicas` must outlive the exporter. `kv_tokens` is each replica's capacity, 0 unlimited
  // (usage then reads 0).
  MetricsExporter(MetricsStyle style, std::string model, std::int64_t kv_tokens,
                  std::int32_t spec_tokens, std::vector<const Counters*> replicas,
                  std::int32_t max_running = 1);

  std::string_view content_type() const noexcept;
  std::string render();  // any thread

  // GET /gpu/metrics: one simulated GPU in a DCGM exporter's names and labels (dcgm-exporter's
  // default counters), driven by the engine's load: utilisation is busy decode slots out of
  // `max_running`, framebuffer use grows with the KV cache, power follows utilisation, the SM clock is fixed.
  // Lets GPU telemetry from an exporter (--gpu-metrics-url) be exercised without a GPU.
  std::string render_gpu() const;  // any thread

 private:
  std::string render_vllm() const;
  std::string render_llamacpp();
  double kv_usage_of(const MetricsTotals& t) const;

  MetricsStyle style_;
  std::string model_;
  std::int64_t kv_tokens_;
  std::int32_t spec_tokens_;
  std::int32_t max_running_;  // per replica
  std::vector<const Counters*> replicas_;
  double created_;  // Unix seconds at construction: the `_created` value of every vLLM series

  // llama.cpp's per-read window: totals at the previous read.
  std::mutex window_mu_;
  std::uint64_t last_prompt_tokens_ = 0, last_prompt_ns_ = 0, last_predicted_tokens_ = 0,
                last_predicted_ns_ = 0;
};

// A double as Python's prometheus_client writes it (floatToGoString): repr(), then Go's exponent
// form for more than 6 integer digits; "+Inf", "-Inf", "NaN".
std::string prometheus_float(double v);

}  // namespace splleed::sim
