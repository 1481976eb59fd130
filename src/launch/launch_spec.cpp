#include "launch/launch_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>

namespace splleed::launch {

std::string_view to_string(Engine e) noexcept {
  switch (e) {
    case Engine::vllm: return "vllm";
    case Engine::tgi: return "tgi";
    case Engine::sglang: return "sglang";
    case Engine::llamacpp: return "llamacpp";
    case Engine::llamacpp_python: return "llamacpp-python";
    case Engine::sim: return "sim";
  }
  return "unknown";
}

std::optional<Engine> parse_engine(std::string_view name) noexcept {
  if (name == "vllm") return Engine::vllm;
  if (name == "tgi") return Engine::tgi;
  if (name == "sglang") return Engine::sglang;
  if (name == "llamacpp" || name == "llama.cpp" || name == "llama-server") return Engine::llamacpp;
  if (name == "llamacpp-python" || name == "llamacpp_python" || name == "llama-cpp-python") {
    return Engine::llamacpp_python;
  }
  if (name == "sim") return Engine::sim;
  return std::nullopt;
}

std::string_view engine_names() noexcept {
  return "vllm, tgi, sglang, llamacpp, llamacpp-python, sim";
}

std::string default_binary(Engine e) {
  switch (e) {
    case Engine::vllm: return "vllm";
    case Engine::tgi: return "text-generation-launcher";
    case Engine::sglang: return "python3";
    case Engine::llamacpp: return "llama-server";
    case Engine::llamacpp_python: return "python3";
    case Engine::sim: return "splleed";
  }
  return {};
}

bool model_is_local_file(Engine e) noexcept {
  return e == Engine::llamacpp || e == Engine::llamacpp_python;
}

namespace {

// Shortest round-trip text of a double (0.9 -> "0.9", not "0.900000").
std::string number(double v) { return fmt::format("{}", v); }

class Args {
 public:
  explicit Args(std::vector<std::string>& argv) : argv_(argv) {}
  void flag(std::string_view name) { argv_.emplace_back(name); }
  void value(std::string_view name, std::string v) {
    argv_.emplace_back(name);
    argv_.push_back(std::move(v));
  }
  void opt(std::string_view name, const std::optional<int>& v) {
    if (v) value(name, std::to_string(*v));
  }
  void opt(std::string_view name, const std::optional<double>& v) {
    if (v) value(name, number(*v));
  }
  void opt(std::string_view name, const std::optional<std::string>& v) {
    if (v) value(name, *v);
  }
  // --name when true, --no-name when false (argparse BooleanOptionalAction), nothing when unset.
  void boolean(std::string_view name, const std::optional<bool>& v) {
    if (v) argv_.push_back(fmt::format("--{}{}", *v ? "" : "no-", name));
  }

 private:
  std::vector<std::string>& argv_;
};

void require_positive(std::string_view what, const std::optional<int>& v) {
  if (v && *v <= 0) {
    throw LaunchError(fmt::format("{} must be a positive integer (got {}).", what, *v));
  }
}

void require_fraction(std::string_view what, const std::optional<double>& v) {
  if (v && !(*v > 0.0 && *v <= 1.0)) {
    throw LaunchError(fmt::format("{} must be in (0, 1] (got {}).", what, *v));
  }
}

void build_vllm(const LaunchSpec& s, Args& a) {
  const VllmOptions& o = s.vllm;
  require_positive("vllm tensor-parallel-size", o.tensor_parallel_size);
  require_positive("vllm pipeline-parallel-size", o.pipeline_parallel_size);
  require_fraction("vllm gpu-memory-utilization", o.gpu_memory_utilization);
  a.opt("--tensor-parallel-size", o.tensor_parallel_size);
  a.opt("--pipeline-parallel-size", o.pipeline_parallel_size);
  a.opt("--gpu-memory-utilization", o.gpu_memory_utilization);
  a.opt("--max-num-seqs", o.max_num_seqs);
  a.opt("--max-num-batched-tokens", o.max_num_batched_tokens);
  a.opt("--max-model-len", o.max_model_len);
  a.opt("--dtype", o.dtype);
  a.opt("--kv-cache-dtype", o.kv_cache_dtype);
  a.opt("--quantization", o.quantization);
  a.boolean("enable-prefix-caching", o.enable_prefix_caching);
  a.boolean("enable-chunked-prefill", o.enable_chunked_prefill);
}

void build_tgi(const LaunchSpec& s, Args& a) {
  const TgiOptions& o = s.tgi;
  require_positive("tgi num-shard", o.num_shard);
  a.opt("--num-shard", o.num_shard);
  a.opt("--quantize", o.quantize);
  a.opt("--dtype", o.dtype);
  a.opt("--max-concurrent-requests", o.max_concurrent_requests);
  a.opt("--max-batch-total-tokens", o.max_batch_total_tokens);
  a.opt("--max-batch-prefill-tokens", o.max_batch_prefill_tokens);
  a.opt("--max-batch-size", o.max_batch_size);
  a.opt("--max-input-tokens", o.max_input_tokens);
  a.opt("--max-total-tokens", o.max_total_tokens);
}

void build_sglang(const LaunchSpec& s, Args& a) {
  const SglangOptions& o = s.sglang;
  require_positive("sglang tp-size", o.tp_size);
  require_positive("sglang dp-size", o.dp_size);
  require_fraction("sglang mem-fraction-static", o.mem_fraction_static);
  a.opt("--tp-size", o.tp_size);
  a.opt("--dp-size", o.dp_size);
  a.opt("--mem-fraction-static", o.mem_fraction_static);
  a.opt("--max-running-requests", o.max_running_requests);
  a.opt("--context-length", o.context_length);
  a.opt("--chunked-prefill-size", o.chunked_prefill_size);
  a.opt("--dtype", o.dtype);
  a.opt("--kv-cache-dtype", o.kv_cache_dtype);
  a.opt("--quantization", o.quantization);
  if (o.disable_radix_cache) a.flag("--disable-radix-cache");
  if (o.enable_metrics) a.flag("--enable-metrics");
}

void build_llamacpp(const LaunchSpec& s, Args& a) {
  const LlamacppOptions& o = s.llamacpp;
  require_positive("llamacpp parallel", o.parallel);
  a.opt("--ctx-size", o.ctx_size);
  a.opt("--parallel", o.parallel);
  a.opt("--threads", o.threads);
  a.opt("--threads-http", o.threads_http);
  a.opt("--n-gpu-layers", o.n_gpu_layers);
  a.opt("--batch-size", o.batch_size);
  if (o.metrics) a.flag("--metrics");
}

void build_llamacpp_python(const LaunchSpec& s, Args& a) {
  const LlamacppPythonOptions& o = s.llamacpp_python;
  a.opt("--n_ctx", o.n_ctx);
  a.opt("--n_threads", o.n_threads);
  a.opt("--n_gpu_layers", o.n_gpu_layers);
  a.opt("--n_batch", o.n_batch);
  a.opt("--chat_format", o.chat_format);
  a.value("--interrupt_requests", o.interrupt_requests ? "True" : "False");
}

}  // namespace

EngineCommand build_command(const LaunchSpec& spec, std::uint16_t port) {
  if (spec.model.empty()) {
    throw LaunchError(fmt::format("the {} engine needs a model: give --model.", to_string(spec.engine)));
  }
  EngineCommand cmd;
  cmd.health_path = "/health";
  auto& argv = cmd.argv;
  argv.push_back(spec.binary.empty() ? default_binary(spec.engine) : spec.binary);
  Args a(argv);
  const std::string port_text = std::to_string(port);
  switch (spec.engine) {
    case Engine::vllm:
      a.flag("serve");
      a.flag(spec.model);
      a.value("--host", spec.host);
      a.value("--port", port_text);
      if (!spec.served_model_name.empty()) a.value("--served-model-name", spec.served_model_name);
      build_vllm(spec, a);
      break;
    case Engine::tgi:
      a.value("--model-id", spec.model);
      a.value("--hostname", spec.host);
      a.value("--port", port_text);
      if (!spec.served_model_name.empty()) a.value("--served-model-name", spec.served_model_name);
      build_tgi(spec, a);
      break;
    case Engine::sglang:
      a.value("-m", "sglang.launch_server");
      a.value("--model-path", spec.model);
      a.value("--host", spec.host);
      a.value("--port", port_text);
      if (!spec.served_model_name.empty()) a.value("--served-model-name", spec.served_model_name);
      build_sglang(spec, a);
      break;
    case Engine::llamacpp:
      a.value("--model", spec.model);
      a.value("--host", spec.host);
      a.value("--port", port_text);
      if (!spec.served_model_name.empty()) a.value("--alias", spec.served_model_name);
      build_llamacpp(spec, a);
      break;
    case Engine::llamacpp_python:
      // llama-cpp-python's server has no /health; /v1/models answers once the model is loaded
      // (the server loads it before it starts listening).
      cmd.health_path = "/v1/models";
      a.value("-m", "llama_cpp.server");
      a.value("--model", spec.model);
      a.value("--host", spec.host);
      a.value("--port", port_text);
      if (!spec.served_model_name.empty()) a.value("--model_alias", spec.served_model_name);
      build_llamacpp_python(spec, a);
      break;
    case Engine::sim:
      a.flag("sim");
      a.value("--host", spec.host);
      a.value("--port", port_text);
      a.value("--model", spec.served_model_name.empty() ? spec.model : spec.served_model_name);
      break;
  }
  argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
  return cmd;
}

namespace {

using Setter = std::function<void(LaunchSpec&, std::string_view key, std::string_view value)>;
struct OptionDef {
  std::string_view key;  // dashed form
  Setter set;
};

[[noreturn]] void bad_value(std::string_view key, std::string_view value, std::string_view want) {
  throw LaunchError(fmt::format("engine option {}={} is not valid: give {}.", key, value, want));
}

int parse_int(std::string_view key, std::string_view v) {
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) bad_value(key, v, "an integer");
  return out;
}

double parse_double(std::string_view key, std::string_view v) {
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) bad_value(key, v, "a number");
  return out;
}

bool parse_bool(std::string_view key, std::string_view v) {
  if (v.empty() || v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  bad_value(key, v, "true or false");
}

template <class Opts>
OptionDef int_opt(std::string_view key, Opts LaunchSpec::*group, std::optional<int> Opts::*field) {
  return {key, [group, field](LaunchSpec& s, std::string_view k, std::string_view v) {
            (s.*group).*field = parse_int(k, v);
          }};
}
template <class Opts>
OptionDef double_opt(std::string_view key, Opts LaunchSpec::*group,
                     std::optional<double> Opts::*field) {
  return {key, [group, field](LaunchSpec& s, std::string_view k, std::string_view v) {
            (s.*group).*field = parse_double(k, v);
          }};
}
template <class Opts>
OptionDef string_opt(std::string_view key, Opts LaunchSpec::*group,
                     std::optional<std::string> Opts::*field) {
  return {key, [group, field](LaunchSpec& s, std::string_view k, std::string_view v) {
            if (v.empty()) bad_value(k, v, "a value");
            (s.*group).*field = std::string(v);
          }};
}
template <class Opts>
OptionDef opt_bool_opt(std::string_view key, Opts LaunchSpec::*group,
                       std::optional<bool> Opts::*field) {
  return {key, [group, field](LaunchSpec& s, std::string_view k, std::string_view v) {
            (s.*group).*field = parse_bool(k, v);
          }};
}
template <class Opts>
OptionDef bool_opt(std::string_view key, Opts LaunchSpec::*group, bool Opts::*field) {
  return {key, [group, field](LaunchSpec& s, std::string_view k, std::string_view v) {
            (s.*group).*field = parse_bool(k, v);
          }};
}

const std::vector<OptionDef>& options_for(Engine e) {
  using S = LaunchSpec;
  static const std::vector<OptionDef> vllm = {
      int_opt("tensor-parallel-size", &S::vllm, &VllmOptions::tensor_parallel_size),
      int_opt("pipeline-parallel-size", &S::vllm, &VllmOptions::pipeline_parallel_size),
      double_opt("gpu-memory-utilization", &S::vllm, &VllmOptions::gpu_memory_utilization),
      int_opt("max-num-seqs", &S::vllm, &VllmOptions::max_num_seqs),
      int_opt("max-num-batched-tokens", &S::vllm, &VllmOptions::max_num_batched_tokens),
      int_opt("max-model-len", &S::vllm, &VllmOptions::max_model_len),
      string_opt("dtype", &S::vllm, &VllmOptions::dtype),
      string_opt("kv-cache-dtype", &S::vllm, &VllmOptions::kv_cache_dtype),
      string_opt("quantization", &S::vllm, &VllmOptions::quantization),
      opt_bool_opt("enable-prefix-caching", &S::vllm, &VllmOptions::enable_prefix_caching),
      opt_bool_opt("enable-chunked-prefill", &S::vllm, &VllmOptions::enable_chunked_prefill),
  };
  static const std::vector<OptionDef> tgi = {
      int_opt("num-shard", &S::tgi, &TgiOptions::num_shard),
      string_opt("quantize", &S::tgi, &TgiOptions::quantize),
      string_opt("dtype", &S::tgi, &TgiOptions::dtype),
      int_opt("max-concurrent-requests", &S::tgi, &TgiOptions::max_concurrent_requests),
      int_opt("max-batch-total-tokens", &S::tgi, &TgiOptions::max_batch_total_tokens),
      int_opt("max-batch-prefill-tokens", &S::tgi, &TgiOptions::max_batch_prefill_tokens),
      int_opt("max-batch-size", &S::tgi, &TgiOptions::max_batch_size),
      int_opt("max-input-tokens", &S::tgi, &TgiOptions::max_input_tokens),
      int_opt("max-total-tokens", &S::tgi, &TgiOptions::max_total_tokens),
  };
  static const std::vector<OptionDef> sglang = {
      int_opt("tp-size", &S::sglang, &SglangOptions::tp_size),
      int_opt("dp-size", &S::sglang, &SglangOptions::dp_size),
      double_opt("mem-fraction-static", &S::sglang, &SglangOptions::mem_fraction_static),
      int_opt("max-running-requests", &S::sglang, &SglangOptions::max_running_requests),
      int_opt("context-length", &S::sglang, &SglangOptions::context_length),
      int_opt("chunked-prefill-size", &S::sglang, &SglangOptions::chunked_prefill_size),
      string_opt("dtype", &S::sglang, &SglangOptions::dtype),
      string_opt("kv-cache-dtype", &S::sglang, &SglangOptions::kv_cache_dtype),
      string_opt("quantization", &S::sglang, &SglangOptions::quantization),
      bool_opt("disable-radix-cache", &S::sglang, &SglangOptions::disable_radix_cache),
      bool_opt("enable-metrics", &S::sglang, &SglangOptions::enable_metrics),
  };
  static const std::vector<OptionDef> llamacpp = {
      int_opt("ctx-size", &S::llamacpp, &LlamacppOptions::ctx_size),
      int_opt("parallel", &S::llamacpp, &LlamacppOptions::parallel),
      int_opt("threads", &S::llamacpp, &LlamacppOptions::threads),
      int_opt("threads-http", &S::llamacpp, &LlamacppOptions::threads_http),
      int_opt("n-gpu-layers", &S::llamacpp, &LlamacppOptions::n_gpu_layers),
      int_opt("batch-size", &S::llamacpp, &LlamacppOptions::batch_size),
      bool_opt("metrics", &S::llamacpp, &LlamacppOptions::metrics),
  };
  static const std::vector<OptionDef> llamacpp_python = {
      int_opt("n-ctx", &S::llamacpp_python, &LlamacppPythonOptions::n_ctx),
      int_opt("n-threads", &S::llamacpp_python, &LlamacppPythonOptions::n_threads),
      int_opt("n-gpu-layers", &S::llamacpp_python, &LlamacppPythonOptions::n_gpu_layers),
      int_opt("n-batch", &S::llamacpp_python, &LlamacppPythonOptions::n_batch),
      string_opt("chat-format", &S::llamacpp_python, &LlamacppPythonOptions::chat_format),
      bool_opt("interrupt-requests", &S::llamacpp_python, &LlamacppPythonOptions::interrupt_requests),
  };
  static const std::vector<OptionDef> none;
  switch (e) {
    case Engine::vllm: return vllm;
    case Engine::tgi: return tgi;
    case Engine::sglang: return sglang;
    case Engine::llamacpp: return llamacpp;
    case Engine::llamacpp_python: return llamacpp_python;
    case Engine::sim: return none;
  }
  return none;
}

std::string normalize_key(std::string_view key) {
  while (!key.empty() && key.front() == '-') key.remove_prefix(1);
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', '-');
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::vector<std::string> option_keys(Engine e) {
  std::vector<std::string> keys;
  for (const auto& d : options_for(e)) keys.emplace_back(d.key);
  return keys;
}

void set_option(LaunchSpec& spec, std::string_view key, std::string_view value) {
  const std::string k = normalize_key(key);
  for (const auto& d : options_for(spec.engine)) {
    if (d.key == k) {
      d.set(spec, k, value);
      return;
    }
  }
  const auto keys = option_keys(spec.engine);
  if (keys.empty()) {
    throw LaunchError(fmt::format(
        "the {} engine takes no typed options ({} given): pass its flags as extra arguments.",
        to_string(spec.engine), key));
  }
  throw LaunchError(fmt::format(
      "{} is not an option of the {} engine: use one of {}, or pass the flag as an extra argument.",
      key, to_string(spec.engine), fmt::join(keys, ", ")));
}

}  // namespace splleed::launch
