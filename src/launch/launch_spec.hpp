#pragma once
// Managed mode, part 1: an engine's command line from typed options (pure; no I/O).
//
// Contract: build_command() maps a LaunchSpec to the argv that starts that engine's
// OpenAI-compatible server on a given host and port, and names the path that answers 200 once the
// engine is ready. Flag spellings follow each engine's own CLI (see docs/engines.md for the
// sources and the versions they were taken from). Options left unset are not passed, so the
// engine's own defaults apply; extra_args are appended verbatim, last, so they can override.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace splleed::launch {

enum class Engine : std::uint8_t { vllm, tgi, sglang, llamacpp, llamacpp_python, sim };

// "vllm", "tgi", "sglang", "llamacpp", "llamacpp-python", "sim".
std::string_view to_string(Engine e) noexcept;
// Accepts the names above (also "llama.cpp", "llama-cpp-python", "llamacpp_python");
// nullopt otherwise.
std::optional<Engine> parse_engine(std::string_view name) noexcept;
// One line listing the accepted names, for error messages and --help.
std::string_view engine_names() noexcept;

// Bad launch input: the message is one sentence naming what to fix.
class LaunchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// vLLM (`vllm serve`).
struct VllmOptions {
  std::optional<int> tensor_parallel_size;    // --tensor-parallel-size
  std::optional<int> pipeline_parallel_size;  // --pipeline-parallel-size
  std::optional<double> gpu_memory_utilization;  // --gpu-memory-utilization (0, 1]
  std::optional<int> max_num_seqs;            // --max-num-seqs
  std::optional<int> max_num_batched_tokens;  // --max-num-batched-tokens
  std::optional<int> max_model_len;           // --max-model-len
  std::optional<std::string> dtype;           // --dtype
  std::optional<std::string> kv_cache_dtype;  // --kv-cache-dtype
  std::optional<std::string> quantization;    // --quantization
  std::optional<bool> enable_prefix_caching;  // --enable-prefix-caching / --no-enable-prefix-caching
  std::optional<bool> enable_chunked_prefill;  // --enable-chunked-prefill / --no-enable-chunked-prefill
};

// Hugging Face TGI (`text-generation-launcher`).
struct TgiOptions {
  std::optional<int> num_shard;                 // --num-shard
  std::optional<std::string> quantize;          // --quantize
  std::optional<std::string> dtype;             // --dtype
  std::optional<int> max_concurrent_requests;   // --max-concurrent-requests
  std::optional<int> max_batch_total_tokens;    // --max-batch-total-tokens
  std::optional<int> max_batch_prefill_tokens;  // --max-batch-prefill-tokens
  std::optional<int> max_batch_size;            // --max-batch-size
  std::optional<int> max_input_tokens;          // --max-input-tokens
  std::optional<int> max_total_tokens;          // --max-total-tokens
};

// SGLang (`python3 -m sglang.launch_server`).
struct SglangOptions {
  std::optional<int> tp_size;                 // --tp-size
  std::optional<int> dp_size;                 // --dp-size
  std::optional<double> mem_fraction_static;  // --mem-fraction-static
  std::optional<int> max_running_requests;    // --max-running-requests
  std::optional<int> context_length;          // --context-length
  std::optional<int> chunked_prefill_size;    // --chunked-prefill-size
  std::optional<std::string> dtype;           // --dtype
  std::optional<std::string> kv_cache_dtype;  // --kv-cache-dtype
  std::optional<std::string> quantization;    // --quantization
  bool disable_radix_cache = false;           // --disable-radix-cache
  bool enable_metrics = true;                 // --enable-metrics (for the /metrics scraper)
};

// llama.cpp (`llama-server`).
struct LlamacppOptions {
  std::optional<int> ctx_size;      // --ctx-size (total, shared by the slots)
  std::optional<int> parallel;      // --parallel (slots)
  std::optional<int> threads;       // --threads
  std::optional<int> threads_http;  // --threads-http
  std::optional<int> n_gpu_layers;  // --n-gpu-layers
  std::optional<int> batch_size;    // --batch-size
  bool metrics = true;              // --metrics (for the /metrics scraper)
};

// llama-cpp-python (`python3 -m llama_cpp.server`; its settings are spelled with underscores).
struct LlamacppPythonOptions {
  std::optional<int> n_ctx;                // --n_ctx
  std::optional<int> n_threads;            // --n_threads
  std::optional<int> n_gpu_layers;         // --n_gpu_layers
  std::optional<int> n_batch;              // --n_batch
  std::optional<std::string> chat_format;  // --chat_format
  // --interrupt_requests: the server's default (True) cuts a running stream short, with [DONE]
  // and no finish_reason, whenever another request arrives, so any concurrency above 1 would
  // measure truncated generations. splleed passes False unless this is set.
  bool interrupt_requests = false;
};

struct LaunchSpec {
  Engine engine = Engine::sim;
  // Hugging Face id or local path (vLLM, TGI, SGLang); a .gguf file (llama.cpp,
  // llama-cpp-python); the served name (sim).
  std::string model;
  // Program to run instead of the default (vllm, text-generation-launcher, python3, llama-server,
  // splleed); a name is looked up on PATH.
  std::string binary;
  std::string served_model_name;  // empty: the engine's default
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: pick a free port
  VllmOptions vllm;
  TgiOptions tgi;
  SglangOptions sglang;
  LlamacppOptions llamacpp;
  LlamacppPythonOptions llamacpp_python;
  std::vector<std::string> extra_args;  // appended verbatim, after everything else
};

struct EngineCommand {
  std::vector<std::string> argv;  // argv[0] is the program (name or path)
  std::string health_path;        // GET answers 200 once the engine serves requests
};

// The program run when spec.binary is empty.
std::string default_binary(Engine e);
// Whether the model is a local file that must exist before launch.
bool model_is_local_file(Engine e) noexcept;

// The command line for spec on `port` (spec.port is ignored here: the supervisor decides the
// port). Throws LaunchError when the model is empty or a numeric option is out of range.
EngineCommand build_command(const LaunchSpec& spec, std::uint16_t port);

// Sets one typed option from text, as a CLI's `--engine-opt key=value` would: `key` is the
// engine's own flag name without dashes, with '-' or '_' (e.g. "gpu-memory-utilization",
// "n_ctx"); a boolean option takes true/false/1/0/yes/no, or an empty value for true.
// Throws LaunchError naming the key and the engine when the key is unknown for spec.engine or the
// value does not parse.
void set_option(LaunchSpec& spec, std::string_view key, std::string_view value);

// The keys set_option accepts for an engine, for --help and error messages.
std::vector<std::string> option_keys(Engine e);

}  // namespace splleed::launch
