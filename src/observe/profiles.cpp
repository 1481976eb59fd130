#include "observe/profiles.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

namespace splleed::observe {
namespace {

// DCGM reports unsupported fields as values near INT64_MAX (e.g. 9223372036854775794).
constexpr double kSentinel = 9.0e18;

bool usable(double v, double floor) noexcept { return std::isfinite(v) && v < kSentinel && v >= floor; }

SeriesRef ref(std::string name, Labels match = {}) { return SeriesRef{std::move(name), std::move(match)}; }

SignalSource gauge(SeriesRef r, Aggregate agg = Aggregate::sum, double scale = 1) {
  SignalSource s;
  s.read = ReadAs::gauge;
  s.num = {std::move(r)};
  s.agg = agg;
  s.scale = scale;
  return s;
}

SignalSource interval_gauge(SeriesRef r) {
  SignalSource s = gauge(std::move(r));
  s.read = ReadAs::interval_gauge;
  return s;
}

SignalSource rate(std::vector<SeriesRef> num) {
  SignalSource s;
  s.read = ReadAs::counter_rate;
  s.num = std::move(num);
  return s;
}

SignalSource ratio(std::vector<SeriesRef> num, std::vector<SeriesRef> den, double offset = 0) {
  SignalSource s;
  s.read = ReadAs::counter_ratio;
  s.num = std::move(num);
  s.den = std::move(den);
  s.offset = offset;
  return s;
}

SignalSource gauge_ratio(SeriesRef num, SeriesRef den, Aggregate agg = Aggregate::sum) {
  SignalSource s;
  s.read = ReadAs::gauge_ratio;
  s.num = {std::move(num)};
  s.den = {std::move(den)};
  s.agg = agg;
  return s;
}

SignalSource with_floor(SignalSource s, double floor) {
  s.floor = floor;
  return s;
}

HistogramSource hist(std::string family, double to_seconds = 1, Labels match = {}) {
  return HistogramSource{std::move(family), std::move(match), to_seconds};
}

EngineProfile make_vllm() {
  EngineProfile p;
  p.kind = EngineKind::vllm;
  p.prefixes = {"vllm:"};
  // Every series carries `engine` (data-parallel index): counts sum over engines; KV usage takes
  // the fullest engine's cache.
  p.signals = {
      {Signal::running_requests, {gauge(ref("vllm:num_requests_running"))}},
      {Signal::waiting_requests, {gauge(ref("vllm:num_requests_waiting"))}},
      {Signal::kv_cache_usage,
       {gauge(ref("vllm:kv_cache_usage_perc"), Aggregate::max),  // a fraction despite the name
        gauge(ref("vllm:gpu_cache_usage_perc"), Aggregate::max)}},  // name before 0.9.2 / V0
      {Signal::preemptions_per_s, {rate({ref("vllm:num_preemptions_total")})}},
      {Signal::prefix_cache_hit_rate,
       {ratio({ref("vllm:prefix_cache_hits_total")}, {ref("vllm:prefix_cache_queries_total")}),
        ratio({ref("vllm:gpu_prefix_cache_hits_total")}, {ref("vllm:gpu_prefix_cache_queries_total")}),
        with_floor(gauge(ref("vllm:gpu_prefix_cache_hit_rate"), Aggregate::mean), 0)}},  // V0; -1 = off
      {Signal::spec_acceptance_rate,
       {ratio({ref("vllm:spec_decode_num_accepted_tokens_total")}, {ref("vllm:spec_decode_num_draft_tokens_total")}),
        gauge(ref("vllm:spec_decode_draft_acceptance_rate"), Aggregate::mean)}},
      {Signal::spec_mean_acceptance_length,
       {ratio({ref("vllm:spec_decode_num_accepted_tokens_total")}, {ref("vllm:spec_decode_num_drafts_total")}, 1)}},
      {Signal::tokens_per_step,
       {ratio({ref("vllm:iteration_tokens_total_sum")}, {ref("vllm:iteration_tokens_total_count")})}},
      {Signal::steps_per_s, {rate({ref("vllm:iteration_tokens_total_count")})}},
      {Signal::generation_tokens_per_s, {rate({ref("vllm:generation_tokens_total")})}},
      {Signal::prompt_tokens_per_s, {rate({ref("vllm:prompt_tokens_total")})}},
      {Signal::reported_generation_tps, {gauge(ref("vllm:avg_generation_throughput_toks_per_s"))}},
      {Signal::reported_prompt_tps, {gauge(ref("vllm:avg_prompt_throughput_toks_per_s"))}},
  };
  p.latencies = {
      {Latency::ttft, {hist("vllm:time_to_first_token_seconds")}},
      {Latency::queue, {hist("vllm:request_queue_time_seconds")}},
      {Latency::prefill, {hist("vllm:request_prefill_time_seconds")}},
      {Latency::decode, {hist("vllm:request_decode_time_seconds")}},
      {Latency::e2e, {hist("vllm:e2e_request_latency_seconds")}},
      // Renamed in 0.11; the old name measured the same gap.
      {Latency::itl, {hist("vllm:inter_token_latency_seconds"), hist("vllm:time_per_output_token_seconds")}},
      {Latency::tpot, {hist("vllm:request_time_per_output_token_seconds")}},
      {Latency::inference, {hist("vllm:request_inference_time_seconds")}},
  };
  return p;
}

EngineProfile make_sglang() {
  EngineProfile p;
  p.kind = EngineKind::sglang;
  p.prefixes = {"sglang:"};
  // Scheduler gauges refresh only when the scheduler logs (--decode-log-interval).
  p.signals = {
      {Signal::running_requests, {gauge(ref("sglang:num_running_reqs"))}},
      {Signal::waiting_requests, {gauge(ref("sglang:num_queue_reqs"))}},
      {Signal::kv_cache_usage, {gauge(ref("sglang:token_usage"), Aggregate::max)}},
      {Signal::preemptions_per_s, {rate({ref("sglang:num_retracted_requests_total")})}},
      {Signal::prefix_cache_hit_rate,
       {ratio({ref("sglang:cached_tokens_total", {{"cache_source", "total"}})}, {ref("sglang:prompt_tokens_total")}),
        ratio({ref("sglang:cached_tokens_total")}, {ref("sglang:prompt_tokens_total")}),
        gauge(ref("sglang:cache_hit_rate"), Aggregate::mean)}},
      {Signal::spec_acceptance_rate, {gauge(ref("sglang:spec_accept_rate"), Aggregate::mean)}},
      {Signal::spec_mean_acceptance_length, {gauge(ref("sglang:spec_accept_length"), Aggregate::mean)}},
      {Signal::generation_tokens_per_s, {rate({ref("sglang:generation_tokens_total")})}},
      {Signal::prompt_tokens_per_s, {rate({ref("sglang:prompt_tokens_total")})}},
      {Signal::reported_generation_tps, {gauge(ref("sglang:gen_throughput"))}},
  };
  p.latencies = {
      {Latency::ttft, {hist("sglang:time_to_first_token_seconds")}},
      {Latency::queue, {hist("sglang:queue_time_seconds")}},
      {Latency::e2e, {hist("sglang:e2e_request_latency_seconds")}},
      {Latency::itl, {hist("sglang:inter_token_latency_seconds"), hist("sglang:time_per_output_token_seconds")}},
  };
  return p;
}

EngineProfile make_tgi() {
  EngineProfile p;
  p.kind = EngineKind::tgi;
  p.prefixes = {"tgi_"};
  // TGI has no KV gauge: the token budget the running batch reserved, over the batch capacity, is
  // the nearest proxy. It has no TTFT histogram either.
  p.signals = {
      {Signal::running_requests, {gauge(ref("tgi_batch_current_size"))}},
      {Signal::waiting_requests, {gauge(ref("tgi_queue_size"))}},
      {Signal::kv_cache_usage, {gauge_ratio(ref("tgi_batch_current_max_tokens"), ref("tgi_batch_max_total_tokens"))}},
      {Signal::steps_per_s, {rate({ref("tgi_batch_inference_count")})}},
  };
  p.latencies = {
      {Latency::queue, {hist("tgi_request_queue_duration")}},
      {Latency::e2e, {hist("tgi_request_duration")}},
      {Latency::tpot, {hist("tgi_request_mean_time_per_token_duration")}},  // includes prefill
      {Latency::inference, {hist("tgi_request_inference_duration")}},
      {Latency::step, {hist("tgi_batch_forward_duration", 1, {{"method", "decode"}})}},
  };
  return p;
}

EngineProfile make_llamacpp() {
  EngineProfile p;
  p.kind = EngineKind::llamacpp;
  p.prefixes = {"llamacpp:"};
  // n_busy_slots_per_decode is declared a counter but is a running average: read as a gauge.
  // prompt_tokens_seconds / predicted_tokens_seconds are reset by each /metrics read: each value
  // covers the time since the previous read (interval gauges; one scraper only).
  p.signals = {
      {Signal::running_requests, {gauge(ref("llamacpp:requests_processing"))}},
      {Signal::waiting_requests, {gauge(ref("llamacpp:requests_deferred"))}},
      {Signal::kv_cache_usage, {gauge(ref("llamacpp:kv_cache_usage_ratio"), Aggregate::max)}},  // older builds
      {Signal::mean_batch_size, {gauge(ref("llamacpp:n_busy_slots_per_decode"))}},
      {Signal::steps_per_s, {rate({ref("llamacpp:n_decode_total")})}},
      {Signal::tokens_per_step,
       {ratio({ref("llamacpp:prompt_tokens_total"), ref("llamacpp:tokens_predicted_total")},
              {ref("llamacpp:n_decode_total")})}},
      {Signal::generation_tokens_per_s, {rate({ref("llamacpp:tokens_predicted_total")})}},
      {Signal::prompt_tokens_per_s, {rate({ref("llamacpp:prompt_tokens_total")})}},
      {Signal::reported_generation_tps, {interval_gauge(ref("llamacpp:predicted_tokens_seconds"))}},
      {Signal::reported_prompt_tps, {interval_gauge(ref("llamacpp:prompt_tokens_seconds"))}},
  };
  return p;
}

EngineProfile make_triton() {
  EngineProfile p;
  p.kind = EngineKind::triton_trtllm;
  // Triton core + TensorRT-LLM backend (nv_*), and trtllm-serve (trtllm_*, or trtllm: behind Dynamo).
  p.prefixes = {"nv_trt_llm_", "nv_inference_", "trtllm_", "trtllm:"};
  const auto trt = [](const char* selector_label, const char* value) {
    return Labels{{selector_label, value}};
  };
  p.signals = {
      {Signal::running_requests,
       {gauge(ref("nv_trt_llm_request_metrics", trt("request_type", "scheduled"))),
        gauge(ref("trtllm_num_requests_running")), gauge(ref("trtllm:num_requests_running"))}},
      {Signal::waiting_requests,
       {gauge(ref("nv_trt_llm_request_metrics", trt("request_type", "waiting"))),
        gauge(ref("trtllm_num_requests_waiting")), gauge(ref("trtllm:num_requests_waiting")),
        gauge(ref("nv_inference_pending_request_count"))}},
      {Signal::kv_cache_usage,
       {gauge(ref("nv_trt_llm_kv_cache_block_metrics", trt("kv_cache_block_type", "fraction")), Aggregate::max),
        gauge_ratio(ref("nv_trt_llm_kv_cache_block_metrics", trt("kv_cache_block_type", "used")),
                    ref("nv_trt_llm_kv_cache_block_metrics", trt("kv_cache_block_type", "max"))),
        gauge(ref("trtllm_kv_cache_utilization"), Aggregate::max),
        gauge(ref("trtllm:kv_cache_utilization"), Aggregate::max)}},
      {Signal::prefix_cache_hit_rate,
       {gauge(ref("trtllm_kv_cache_hit_rate"), Aggregate::mean), gauge(ref("trtllm:kv_cache_hit_rate"), Aggregate::mean)}},
      // The iteration counter is exported as a gauge but only grows: read it as a counter.
      {Signal::steps_per_s, {rate({ref("nv_trt_llm_general_metrics", trt("general_type", "iteration_counter"))})}},
      {Signal::gpu_utilization, {gauge(ref("nv_gpu_utilization"), Aggregate::mean)}},
      {Signal::gpu_memory_used_bytes, {gauge(ref("nv_gpu_memory_used_bytes"))}},
      {Signal::gpu_power_w, {gauge(ref("nv_gpu_power_usage"))}},
  };
  p.latencies = {
      {Latency::ttft,
       {hist("trtllm_time_to_first_token_seconds"), hist("trtllm:time_to_first_token_seconds"),
        // Time to the first response chunk, in ms (opt-in histogram_latencies=true).
        hist("nv_inference_first_response_histogram_ms", 1e-3)}},
      {Latency::tpot, {hist("trtllm_time_per_output_token_seconds"), hist("trtllm:time_per_output_token_seconds")}},
      {Latency::e2e, {hist("trtllm_e2e_request_latency_seconds"), hist("trtllm:e2e_request_latency_seconds")}},
      {Latency::queue, {hist("trtllm_request_queue_time_seconds"), hist("trtllm:request_queue_time_seconds")}},
  };
  return p;
}

EngineProfile make_dcgm() {
  EngineProfile p;
  p.kind = EngineKind::dcgm;
  p.prefixes = {"DCGM_FI_", "DCGM_EXP_", "splleed_gpu_"};
  // DCGM exporter fields, then the same signals from NVML readings (nvml.hpp's splleed_gpu_* names).
  // One series per GPU (label gpu/UUID): utilisations and clocks average over GPUs, memory and power
  // add up, temperature takes the hottest.
  p.signals = {
      {Signal::gpu_utilization,
       {gauge(ref("DCGM_FI_DEV_GPU_UTIL"), Aggregate::mean, 0.01),
        gauge(ref("splleed_gpu_utilization_ratio"), Aggregate::mean)}},
      {Signal::gpu_memory_used_bytes,
       {gauge(ref("DCGM_FI_DEV_FB_USED"), Aggregate::sum, 1024.0 * 1024.0),
        gauge(ref("splleed_gpu_memory_used_bytes"))}},
      {Signal::gpu_power_w, {gauge(ref("DCGM_FI_DEV_POWER_USAGE")), gauge(ref("splleed_gpu_power_watts"))}},
      {Signal::gpu_sm_clock_mhz,
       {gauge(ref("DCGM_FI_DEV_SM_CLOCK"), Aggregate::mean), gauge(ref("splleed_gpu_sm_clock_mhz"), Aggregate::mean)}},
      {Signal::gpu_temperature_c,
       {gauge(ref("DCGM_FI_DEV_GPU_TEMP"), Aggregate::max), gauge(ref("splleed_gpu_temperature_celsius"), Aggregate::max)}},
      {Signal::gpu_tensor_active, {gauge(ref("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"), Aggregate::mean)}},
      {Signal::gpu_dram_active, {gauge(ref("DCGM_FI_PROF_DRAM_ACTIVE"), Aggregate::mean)}},
  };
  return p;
}

// ---- Reading ----

bool ref_present(const SeriesStore& st, const SeriesRef& r) { return !st.select(r.name, r.match).empty(); }

bool source_present(const SeriesStore& st, const SignalSource& src) {
  const auto present = [&](const SeriesRef& r) { return ref_present(st, r); };
  return !src.num.empty() && std::all_of(src.num.begin(), src.num.end(), present) &&
         std::all_of(src.den.begin(), src.den.end(), present);
}

const SignalSource* pick_source(const SeriesStore& st, const EngineProfile& p, Signal s) {
  const SignalDef* def = p.find(s);
  if (def == nullptr) return nullptr;
  for (const SignalSource& src : def->sources) {
    if (source_present(st, src)) return &src;
  }
  return nullptr;
}

double aggregate(const std::vector<double>& v, Aggregate agg) {
  double out = agg == Aggregate::max ? v.front() : 0;
  for (const double x : v) {
    if (agg == Aggregate::max) {
      out = std::max(out, x);
    } else {
      out += x;
    }
  }
  return agg == Aggregate::mean ? out / static_cast<double>(v.size()) : out;
}

// Aggregated value of one gauge reference at each scrape time where it has usable data.
std::map<Nanos, double> gauge_values(const SeriesStore& st, const SeriesRef& r, const SignalSource& src) {
  std::map<Nanos, std::vector<double>> by_t;
  for (const Series& s : st.select(r.name, r.match)) {
    for (const Point& pt : s.points) {
      if (usable(pt.v, src.floor)) by_t[pt.t].push_back(pt.v);
    }
  }
  std::map<Nanos, double> out;
  for (const auto& [t, v] : by_t) out.emplace(t, aggregate(v, src.agg));
  return out;
}

struct Increment {
  Nanos from = 0;
  double delta = 0;
};

// Reset-aware increments of one counter reference per scrape interval, keyed by the interval end.
std::map<Nanos, Increment> counter_increments(const SeriesStore& st, const SeriesRef& r) {
  std::map<Nanos, Increment> out;
  for (const Series& s : st.select(r.name, r.match)) {
    for (std::size_t i = 1; i < s.points.size(); ++i) {
      const Point& a = s.points[i - 1];
      const Point& b = s.points[i];
      if (!usable(a.v, -1e300) || !usable(b.v, -1e300)) continue;
      const auto [it, fresh] = out.try_emplace(b.t, Increment{a.t, 0});
      if (!fresh) it->second.from = std::min(it->second.from, a.t);
      it->second.delta += b.v >= a.v ? b.v - a.v : b.v;  // a decrease is a restart
    }
  }
  return out;
}

// Per-key sum over several references, keeping only keys present in every one.
template <class V, class Add>
std::map<Nanos, V> sum_common(const std::vector<std::map<Nanos, V>>& maps, Add add) {
  std::map<Nanos, V> out;
  if (maps.empty()) return out;
  for (const auto& [t, v] : maps.front()) {
    V acc = v;
    bool all = true;
    for (std::size_t i = 1; i < maps.size() && all; ++i) {
      const auto it = maps[i].find(t);
      if (it == maps[i].end()) {
        all = false;
      } else {
        add(acc, it->second);
      }
    }
    if (all) out.emplace(t, acc);
  }
  return out;
}

std::map<Nanos, double> gauge_sum(const SeriesStore& st, const std::vector<SeriesRef>& refs, const SignalSource& src) {
  std::vector<std::map<Nanos, double>> maps;
  for (const SeriesRef& r : refs) maps.push_back(gauge_values(st, r, src));
  return sum_common(maps, [](double& a, double b) { a += b; });
}

std::map<Nanos, Increment> increment_sum(const SeriesStore& st, const std::vector<SeriesRef>& refs) {
  std::vector<std::map<Nanos, Increment>> maps;
  for (const SeriesRef& r : refs) maps.push_back(counter_increments(st, r));
  return sum_common(maps, [](Increment& a, const Increment& b) {
    a.delta += b.delta;
    a.from = std::min(a.from, b.from);
  });
}

double finish(const SignalSource& src, double v) { return v * src.scale + src.offset; }

}  // namespace

std::string_view to_string(EngineKind k) noexcept {
  switch (k) {
    case EngineKind::unknown: return "unknown";
    case EngineKind::vllm: return "vllm";
    case EngineKind::sglang: return "sglang";
    case EngineKind::tgi: return "tgi";
    case EngineKind::llamacpp: return "llamacpp";
    case EngineKind::triton_trtllm: return "triton_trtllm";
    case EngineKind::dcgm: return "dcgm";
  }
  return "unknown";
}

std::string_view to_string(Signal s) noexcept {
  static constexpr std::array<std::string_view, kSignalCount> kNames{
      "running_requests",        "waiting_requests",        "kv_cache_usage",
      "preemptions_per_s",       "prefix_cache_hit_rate",   "spec_acceptance_rate",
      "spec_mean_acceptance_length", "tokens_per_step",     "steps_per_s",
      "mean_batch_size",         "generation_tokens_per_s", "prompt_tokens_per_s",
      "reported_generation_tps", "reported_prompt_tps",     "gpu_utilization",
      "gpu_memory_used_bytes",   "gpu_power_w",             "gpu_sm_clock_mhz",
      "gpu_temperature_c",       "gpu_tensor_active",       "gpu_dram_active",
  };
  return kNames[static_cast<std::size_t>(s)];
}

std::string_view to_string(Latency l) noexcept {
  static constexpr std::array<std::string_view, kLatencyCount> kNames{
      "ttft", "queue", "prefill", "decode", "e2e", "itl", "tpot", "inference", "step"};
  return kNames[static_cast<std::size_t>(l)];
}

const SignalDef* EngineProfile::find(Signal s) const noexcept {
  for (const SignalDef& d : signals) {
    if (d.signal == s) return &d;
  }
  return nullptr;
}

const LatencyDef* EngineProfile::find(Latency l) const noexcept {
  for (const LatencyDef& d : latencies) {
    if (d.latency == l) return &d;
  }
  return nullptr;
}

const EngineProfile& profile_for(EngineKind k) {
  static const std::array<EngineProfile, 7> kProfiles{
      EngineProfile{}, make_vllm(), make_sglang(), make_tgi(), make_llamacpp(), make_triton(), make_dcgm()};
  return kProfiles[static_cast<std::size_t>(k)];
}

Detection detect_engine(const std::vector<std::string>& names) {
  Detection d;
  std::size_t best = 0;
  for (const EngineKind k : {EngineKind::vllm, EngineKind::sglang, EngineKind::tgi, EngineKind::llamacpp,
                             EngineKind::triton_trtllm, EngineKind::dcgm}) {
    std::size_t n = 0;
    for (const std::string& name : names) {
      const auto& pre = profile_for(k).prefixes;
      if (std::any_of(pre.begin(), pre.end(), [&](const std::string& p) { return name.starts_with(p); })) ++n;
    }
    if (n > best) {
      best = n;
      d.kind = k;
    }
  }
  const auto has = [&](std::string_view n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  const auto has_prefix = [&](std::string_view p) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.starts_with(p); });
  };
  if (d.kind == EngineKind::vllm) {
    if (has("vllm:kv_cache_usage_perc")) {
      d.variant = "v1";
    } else if (has("vllm:gpu_cache_usage_perc") || has("vllm:num_requests_swapped")) {
      d.variant = "v0";
    }
  } else if (d.kind == EngineKind::triton_trtllm) {
    d.variant = has_prefix("nv_") ? "triton" : "trtllm-serve";
  }
  return d;
}

Detection detect_engine(const Exposition& e) {
  std::set<std::string> names;
  for (const MetricFamily& f : e.families) {
    for (const Sample& s : f.samples) names.insert(s.name);
  }
  return detect_engine(std::vector<std::string>(names.begin(), names.end()));
}

bool overlaps(const SignalPoint& p, Nanos t0, Nanos t1) noexcept {
  if (p.to <= p.from) return p.from >= t0 && p.from <= t1;
  return p.from <= t1 && p.to > t0;
}

std::vector<SignalPoint> signal_timeline(const SeriesStore& st, const EngineProfile& p, Signal s) {
  std::vector<SignalPoint> out;
  const SignalSource* src = pick_source(st, p, s);
  if (src == nullptr) return out;
  switch (src->read) {
    case ReadAs::gauge:
    case ReadAs::interval_gauge:
    case ReadAs::gauge_ratio: {
      std::map<Nanos, double> values = gauge_sum(st, src->num, *src);
      if (src->read == ReadAs::gauge_ratio) {
        const std::map<Nanos, double> den = gauge_sum(st, src->den, *src);
        std::map<Nanos, double> r;
        for (const auto& [t, v] : values) {
          const auto it = den.find(t);
          if (it != den.end() && it->second != 0) r.emplace(t, v / it->second);
        }
        values = std::move(r);
      }
      Nanos prev = values.empty() ? 0 : values.begin()->first;
      for (auto it = values.begin(); it != values.end(); ++it) {
        const auto next = std::next(it);
        SignalPoint pt;
        pt.value = finish(*src, it->second);
        if (src->read == ReadAs::interval_gauge) {
          pt.from = prev;
          pt.to = it->first;
        } else {
          pt.from = it->first;
          pt.to = next == values.end() ? it->first : next->first;
        }
        prev = it->first;
        out.push_back(pt);
      }
      break;
    }
    case ReadAs::counter_rate: {
      for (const auto& [to, inc] : increment_sum(st, src->num)) {
        if (to <= inc.from) continue;
        out.push_back(SignalPoint{inc.from, to, finish(*src, inc.delta / (static_cast<double>(to - inc.from) / 1e9))});
      }
      break;
    }
    case ReadAs::counter_ratio: {
      const auto num = increment_sum(st, src->num);
      const auto den = increment_sum(st, src->den);
      for (const auto& [to, inc] : num) {
        const auto it = den.find(to);
        if (it == den.end() || it->second.delta <= 0) continue;
        out.push_back(SignalPoint{inc.from, to, finish(*src, inc.delta / it->second.delta)});
      }
      break;
    }
  }
  return out;
}

std::optional<double> signal_over(const SeriesStore& st, const EngineProfile& p, Signal s, Nanos t0, Nanos t1) {
  const SignalSource* src = pick_source(st, p, s);
  if (src == nullptr || t1 < t0) return std::nullopt;
  const auto total = [&](const std::vector<SeriesRef>& refs) -> std::optional<CounterDelta> {
    std::optional<CounterDelta> sum;
    for (const SeriesRef& r : refs) {
      const auto d = counter_delta(st.select(r.name, r.match), t0, t1);
      if (!d) return std::nullopt;
      if (!sum) {
        sum = d;
      } else {
        sum->delta += d->delta;
        sum->from = std::min(sum->from, d->from);
        sum->to = std::max(sum->to, d->to);
      }
    }
    return sum;
  };
  if (src->read == ReadAs::counter_rate) {
    const auto d = total(src->num);
    if (!d || !d->rate()) return std::nullopt;
    return finish(*src, *d->rate());
  }
  if (src->read == ReadAs::counter_ratio) {
    const auto n = total(src->num);
    const auto d = total(src->den);
    if (!n || !d || d->delta <= 0) return std::nullopt;
    return finish(*src, n->delta / d->delta);
  }
  double sum = 0;
  std::size_t count = 0;
  for (const SignalPoint& pt : signal_timeline(st, p, s)) {
    if (overlaps(pt, t0, t1)) {
      sum += pt.value;
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  return sum / static_cast<double>(count);
}

std::optional<HistogramWindow> latency_window(const SeriesStore& st, const EngineProfile& p, Latency l, Nanos t0,
                                              Nanos t1) {
  const LatencyDef* def = p.find(l);
  if (def == nullptr) return std::nullopt;
  for (const HistogramSource& src : def->sources) {
    auto w = histogram_window(st, src.family, src.match, t0, t1);
    if (!w) continue;
    if (src.to_seconds != 1) {
      for (Bucket& b : w->buckets) b.le *= src.to_seconds;
      w->sum *= src.to_seconds;
    }
    return w;
  }
  return std::nullopt;
}

std::vector<std::string> unmapped_names(const SeriesStore& st, const EngineProfile& p) {
  std::set<std::string> used;
  const auto use = [&](const std::string& n) {
    used.insert(n);
    if (n.ends_with("_total")) used.insert(n.substr(0, n.size() - 6) + "_created");
  };
  for (const SignalDef& d : p.signals) {
    for (const SignalSource& src : d.sources) {
      for (const SeriesRef& r : src.num) use(r.name);
      for (const SeriesRef& r : src.den) use(r.name);
    }
  }
  for (const LatencyDef& d : p.latencies) {
    for (const HistogramSource& h : d.sources) {
      for (const char* suffix : {"_bucket", "_sum", "_count", "_created"}) used.insert(h.family + suffix);
    }
  }
  std::vector<std::string> out;
  for (std::string& n : st.names()) {
    if (used.count(n) == 0) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace splleed::observe
