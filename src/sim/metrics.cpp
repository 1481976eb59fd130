#include "sim/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace splleed::sim {

// Sums of every replica, read once per render.
struct MetricsTotals {
  std::uint64_t running = 0, waiting = 0, kv_used = 0, preemptions = 0, prefix_queries = 0,
                prefix_hits = 0, spec_drafts = 0, spec_draft_tokens = 0, spec_accepted = 0,
                prompt_tokens = 0, generation_tokens = 0, prompt_computed = 0, prefill_ns = 0,
                decode_calls = 0, busy_slots = 0, released_tokens = 0, released_decode_ns = 0;
  std::array<std::uint64_t, kMaxSpecTokens> accepted_per_pos{};
};

namespace {

MetricsTotals sum(const std::vector<const Counters*>& replicas) {
  MetricsTotals t;
  for (const Counters* c : replicas) {
    t.running += c->running_now.get();
    t.waiting += c->waiting_now.get();
    t.kv_used += c->kv_used_tokens.get();
    t.preemptions += c->preemptions.get();
    t.prefix_queries += c->prefix_queries.get();
    t.prefix_hits += c->prefix_hits.get();
    t.spec_drafts += c->spec_drafts.get();
    t.spec_draft_tokens += c->spec_draft_tokens.get();
    t.spec_accepted += c->spec_accepted.get();
    for (std::size_t p = 0; p < t.accepted_per_pos.size(); ++p)
      t.accepted_per_pos[p] += c->spec_accepted_per_pos[p].get();
    t.prompt_tokens += c->prompt_tokens.get();
    t.generation_tokens += c->tokens_generated.get();
    t.prompt_computed += c->prompt_tokens_computed.get();
    t.prefill_ns += c->prefill_ns.get();
    t.decode_calls += c->decode_calls.get();
    t.busy_slots += c->busy_slots.get();
    t.released_tokens += c->released_tokens.get();
    t.released_decode_ns += c->released_decode_ns.get();
  }
  return t;
}

// Label values escaped as the exposition format asks (backslash, quote, newline).
std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char ch : v) {
    if (ch == '\\') out += "\\\\";
    else if (ch == '"') out += "\\\"";
    else if (ch == '\n') out += "\\n";
    else out += ch;
  }
  return out;
}

class VllmWriter {
 public:
  VllmWriter(std::string_view model, double created)
      : labels_(fmt::format("engine=\"0\",model_name=\"{}\"", escape_label(model))),
        created_(prometheus_float(created)) {}

  void gauge(std::string_view name, std::string_view help, double v) {
    head(name, help, "gauge");
    sample(name, "", v);
  }
  void counter(std::string_view name, std::string_view help, double v) {
    const std::string total = fmt::format("{}_total", name);
    head(total, help, "counter");
    sample(total, "", v);
    created(name, help);
  }
  // `counts` are per bucket (not cumulative), the last one above every bound.
  void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                 const std::vector<std::uint64_t>& counts, double sum_value) {
    head(name, help, "histogram");
    std::uint64_t cumulative = 0;
    const std::string bucket = fmt::format("{}_bucket", name);
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += i < counts.size() ? counts[i] : 0;
      const std::string le = i < bounds.size() ? prometheus_float(bounds[i]) : "+Inf";
      // prometheus_client sorts labels: engine, le, model_name.
      fmt::format_to(fmt::appender(out_), "{}{{engine=\"0\",le=\"{}\",{}}} {}\n", bucket, le,
                     labels_.substr(labels_.find(',') + 1), prometheus_float(static_cast<double>(cumulative)));
    }
    sample(fmt::format("{}_count", name), "", static_cast<double>(cumulative));
    sample(fmt::format("{}_sum", name), "", sum_value);
    created(name, help);
  }
  // A counter with one more label (sorted after model_name), e.g. position="0".
  void counter_family(std::string_view name, std::string_view help, std::string_view label,
                      const std::vector<std::pair<std::string, double>>& values) {
    const std::string total = fmt::format("{}_total", name);
    head(total, help, "counter");
    for (const auto& [lv, v] : values)
      sample(total, fmt::format(",{}=\"{}\"", label, escape_label(lv)), v);
    head(fmt::format("{}_created", name), help, "gauge");
    for (const auto& [lv, v] : values)
      fmt::format_to(fmt::appender(out_), "{}_created{{{},{}=\"{}\"}} {}\n", name, labels_, label,
                     escape_label(lv), created_);
  }
  std::string str() const { return fmt::to_string(out_); }

 private:
  void head(std::string_view name, std::string_view help, std::string_view type) {
    fmt::format_to(fmt::appender(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, std::string_view extra_labels, double v) {
    fmt::format_to(fmt::appender(out_), "{}{{{}{}}} {}\n", name, labels_, extra_labels,
                   prometheus_float(v));
  }
  // prometheus_client's `_created` gauge, written after the family's samples.
  void created(std::string_view name, std::string_view help) {
    const std::string n = fmt::format("{}_created", name);
    head(n, help, "gauge");
    fmt::format_to(fmt::appender(out_), "{}{{{}}} {}\n", n, labels_, created_);
  }

  std::string labels_;
  std::string created_;
  fmt::memory_buffer out_;
};

void add_histogram(VllmWriter& w, const std::vector<const Counters*>& replicas,
                   Histogram Counters::*member, std::string_view name, std::string_view help) {
  std::vector<std::uint64_t> counts;
  double total = 0;
  std::span<const double> bounds;
  for (const Counters* c : replicas) {
    const Histogram& h = c->*member;
    bounds = h.bounds();
    h.add_to(counts, total);
  }
  w.histogram(name, help, bounds, counts, total);
}

// A double as a C++ stream writes it by default (6 significant digits), as llama.cpp does.
std::string stream_double(double v) { return fmt::format("{:g}", v); }

}  // namespace

std::string prometheus_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // fmt's shortest round-trip form matches Python's repr() except that repr() keeps ".0" on
  // integral values.
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  const auto dot = s.find('.');
  if (v > 0 && dot != std::string::npos && dot > 6) {
    // Go switches to exponents sooner than Python (prometheus_client's floatToGoString).
    std::string mantissa = s.substr(0, 1) + "." + s.substr(1, dot - 1) + s.substr(dot + 1);
    while (!mantissa.empty() && (mantissa.back() == '0' || mantissa.back() == '.'))
      mantissa.pop_back();
    return fmt::format("{}e+0{}", mantissa, dot - 1);
  }
  return s;
}

MetricsExporter::MetricsExporter(MetricsStyle style, std::string model, std::int64_t kv_tokens,
                                 std::int32_t spec_tokens, std::vector<const Counters*> replicas,
                                 std::int32_t max_running)
    : style_(style),
      model_(std::move(model)),
      kv_tokens_(kv_tokens),
      spec_tokens_(spec_tokens),
      max_running_(std::max(max_running, 1)),
      replicas_(std::move(replicas)),
      created_(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

std::string_view MetricsExporter::content_type() const noexcept {
  return style_ == MetricsStyle::vllm ? "text/plain; version=0.0.4; charset=utf-8"
                                      : "text/plain; version=0.0.4";
}

std::string MetricsExporter::render() {
  return style_ == MetricsStyle::vllm ? render_vllm() : render_llamacpp();
}

std::string MetricsExporter::render_gpu() const {
  const MetricsTotals t = sum(replicas_);
  const double slots = static_cast<double>(max_running_) * static_cast<double>(replicas_.size());
  const double util = std::min(1.0, static_cast<double>(t.running) / slots);
  const double kv = kv_usage_of(t);
  constexpr double kFramebufferMiB = 81'559;  // an 80 GB card, as DCGM reports it
  constexpr double kWeightsMiB = 16'000;
  constexpr double kKvMiB = 56'000;
  const double fb_used = kWeightsMiB + kKvMiB * (kv_tokens_ > 0 ? kv : util);
  struct Field {
    const char* name;
    const char* help;
    double value;
  };
  const Field fields[] = {
      // A fixed clock: the simulated GPU never throttles, so no "why" blames its clock.
      {"DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", 1980.0},
      {"DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", 35 + 30 * util},
      {"DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", 90 + 500 * util},
      {"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", std::round(100 * util)},
      {"DCGM_FI_DEV_MEM_COPY_UTIL", "Memory utilization (in %).", std::round(60 * util)},
      {"DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", std::round(kFramebufferMiB - fb_used)},
      {"DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", std::round(fb_used)},
  };
  std::string out;
  for (const Field& f : fields) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n", f.name, f.help);
    out += fmt::format(
        "{}{{gpu=\"0\", UUID=\"GPU-00000000-0000-0000-0000-00000000517d\", "
        "pci_bus_id=\"00000000:00:00.0\", device=\"nvidia0\", modelName=\"splleed simulated GPU\", "
        "Hostname=\"splleed-sim\"}} {}\n",
        f.name, f.value);
  }
  return out;
}

double MetricsExporter::kv_usage_of(const MetricsTotals& t) const {
  // Every replica has its own kv_tokens; the sum of their use is out of the sum of capacities.
  const double capacity = static_cast<double>(kv_tokens_) * static_cast<double>(replicas_.size());
  return capacity > 0 ? static_cast<double>(t.kv_used) / capacity : 0.0;
}

std::string MetricsExporter::render_vllm() const {
  const MetricsTotals t = sum(replicas_);
  const double kv_usage = kv_usage_of(t);
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  VllmWriter w(model_, created_);
  // Order, names and help texts follow vLLM's PrometheusStatLogger.
  w.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", d(t.running));
  w.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", d(t.waiting));
  w.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kv_usage);
  w.counter("vllm:prefix_cache_queries",
            "Prefix cache queries, in terms of number of queried tokens.", d(t.prefix_queries));
  w.counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.",
            d(t.prefix_hits));
  w.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
            d(t.preemptions));
  w.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", d(t.prompt_tokens));
  w.counter("vllm:generation_tokens", "Number of generation tokens processed.",
            d(t.generation_tokens));
  add_histogram(w, replicas_, &Counters::iteration_tokens, "vllm:iteration_tokens_total",
                "Histogram of number of tokens per engine_step.");
  add_histogram(w, replicas_, &Counters::ttft, "vllm:time_to_first_token_seconds",
                "Histogram of time to first token in seconds.");
  add_histogram(w, replicas_, &Counters::itl, "vllm:inter_token_latency_seconds",
                "Histogram of inter-token latency in seconds.");
  add_histogram(w, replicas_, &Counters::e2e, "vllm:e2e_request_latency_seconds",
                "Histogram of e2e request latency in seconds.");
  add_histogram(w, replicas_, &Counters::queue, "vllm:request_queue_time_seconds",
                "Histogram of time spent in WAITING phase for request.");
  add_histogram(w, replicas_, &Counters::inference, "vllm:request_inference_time_seconds",
                "Histogram of time spent in RUNNING phase for request.");
  add_histogram(w, replicas_, &Counters::prefill, "vllm:request_prefill_time_seconds",
                "Histogram of time spent in PREFILL phase for request.");
  add_histogram(w, replicas_, &Counters::decode, "vllm:request_decode_time_seconds",
                "Histogram of time spent in DECODE phase for request.");
  if (spec_tokens_ > 0) {  // as vLLM: only with a speculative config
    w.counter("vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", d(t.spec_drafts));
    w.counter("vllm:spec_decode_num_draft_tokens", "Number of draft tokens.",
              d(t.spec_draft_tokens));
    w.counter("vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.",
              d(t.spec_accepted));
    std::vector<std::pair<std::string, double>> per_pos;
    for (std::int32_t p = 0; p < spec_tokens_ && p < kMaxSpecTokens; ++p)
      per_pos.emplace_back(std::to_string(p), d(t.accepted_per_pos[static_cast<std::size_t>(p)]));
    w.counter_family("vllm:spec_decode_num_accepted_tokens_per_pos",
                     "Accepted tokens per draft position.", "position", per_pos);
  }
  return w.str();
}

std::string MetricsExporter::render_llamacpp() {
  const MetricsTotals t = sum(replicas_);
  // The throughput gauges cover the window since the previous read, which this read ends.
  double prompt_rate = 0, predicted_rate = 0;
  {
    std::lock_guard lock(window_mu_);
    const std::uint64_t n_prompt = t.prompt_computed - last_prompt_tokens_;
    const std::uint64_t ns_prompt = t.prefill_ns - last_prompt_ns_;
    const std::uint64_t n_pred = t.released_tokens - last_predicted_tokens_;
    const std::uint64_t ns_pred = t.released_decode_ns - last_predicted_ns_;
    if (n_prompt > 0 && ns_prompt > 0)
      prompt_rate = 1e9 * static_cast<double>(n_prompt) / static_cast<double>(ns_prompt);
    if (n_pred > 0 && ns_pred > 0)
      predicted_rate = 1e9 * static_cast<double>(n_pred) / static_cast<double>(ns_pred);
    last_prompt_tokens_ = t.prompt_computed;
    last_prompt_ns_ = t.prefill_ns;
    last_predicted_tokens_ = t.released_tokens;
    last_predicted_ns_ = t.released_decode_ns;
  }
  const double kv_ratio = kv_usage_of(t);
  const double busy_per_decode =
      t.decode_calls > 0 ? static_cast<double>(t.busy_slots) / static_cast<double>(t.decode_calls) : 0.0;
  fmt::memory_buffer out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help, double v) {
    fmt::format_to(fmt::appender(out), "# HELP llamacpp:{} {}\n# TYPE llamacpp:{} {}\nllamacpp:{} {}\n",
                   name, help, name, type, name, stream_double(v));
  };
  auto d = [](std::uint64_t v) { return static_cast<double>(v); };
  metric("prompt_tokens_total", "counter", "Number of prompt tokens processed.", d(t.prompt_computed));
  metric("prompt_seconds_total", "counter", "Prompt process time", d(t.prefill_ns) / 1e9);
  metric("tokens_predicted_total", "counter", "Number of generation tokens processed.",
         d(t.released_tokens));
  metric("tokens_predicted_seconds_total", "counter", "Predict process time",
         d(t.released_decode_ns) / 1e9);
  metric("n_decode_total", "counter", "Total number of llama_decode() calls", d(t.decode_calls));
  metric("n_busy_slots_per_decode", "counter",
         "Average number of busy slots per llama_decode() call", busy_per_decode);
  metric("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", prompt_rate);
  metric("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.",
         predicted_rate);
  metric("kv_cache_usage_ratio", "gauge", "KV-cache usage. 1 means 100 percent usage.", kv_ratio);
  metric("kv_cache_tokens", "gauge", "KV-cache tokens.", d(t.kv_used));
  metric("requests_processing", "gauge", "Number of requests processing.", d(t.running));
  metric("requests_deferred", "gauge", "Number of requests deferred.", d(t.waiting));
  return fmt::to_string(out);
}

}  // namespace splleed::sim
