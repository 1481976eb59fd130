#pragma once
// What the simulator reads from a generation request body (OpenAI-compatible or an engine's native
// API), and its error answers.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace simdjson::dom {
class parser;
}

namespace splleed::sim {

// The generation APIs the simulator speaks: OpenAI's (vLLM's shapes) and the engines' native ones.
enum class Endpoint : std::uint8_t {
  completions,      // POST /v1/completions
  chat,             // POST /v1/chat/completions
  tgi,              // POST /generate_stream (TGI)
  sglang,           // POST /generate (SGLang)
  llamacpp,         // POST /completion (llama.cpp server)
  ollama_generate,  // POST /api/generate (Ollama)
  ollama_chat,      // POST /api/chat (Ollama)
  triton,           // POST /v2/models/{model}/generate_stream (Triton's generate extension)
};
constexpr bool is_openai(Endpoint e) noexcept {
  return e == Endpoint::completions || e == Endpoint::chat;
}
constexpr bool is_ollama(Endpoint e) noexcept {
  return e == Endpoint::ollama_generate || e == Endpoint::ollama_chat;
}
std::string_view to_string(Endpoint e) noexcept;

// Failures a request can ask for with the body field "sim_fault" (docs/design/simulator.md).
enum class Fault : std::uint8_t {
  none,
  http_500,     // 500 with a JSON error body, no stream
  http_429,     // 429 with a JSON error body, no stream
  error_event,  // after 2 tokens: an error event, then the body ends without [DONE]
  reset,        // after 2 tokens: the socket is reset (no chunk terminator)
  malformed,    // after 2 tokens: a truncated JSON event, then the body ends without [DONE]
  stall,        // after 2 tokens: nothing more is sent until the server stops
  no_done,      // a normal stream without `data: [DONE]` (APIs without one: a normal stream)
};
std::optional<Fault> fault_from_string(std::string_view s) noexcept;
std::string_view to_string(Fault f) noexcept;
// Faults that strike in the middle of a generation, after kFaultAfterTokens tokens.
constexpr bool is_mid_stream(Fault f) noexcept {
  return f == Fault::error_event || f == Fault::reset || f == Fault::malformed || f == Fault::stall;
}
inline constexpr std::int32_t kFaultAfterTokens = 2;

// The simulator's tokenizer: one token per 4 bytes of text, rounded up. It is deliberately not a
// real tokenizer: counts are exact and predictable for tests and need no vocabulary files.
constexpr std::int64_t prompt_tokens_for_bytes(std::uint64_t bytes) noexcept {
  return static_cast<std::int64_t>((bytes + 3) / 4);
}

inline constexpr std::int32_t kDefaultMaxTokens = 16;

struct GenerationRequest {
  Endpoint endpoint = Endpoint::completions;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  bool continuous_usage = false;        // stream_options.continuous_usage_stats
  bool ignore_eos = false;
  std::int64_t prompt_tokens = 0;
  std::int32_t max_tokens = kDefaultMaxTokens;
  std::int32_t min_tokens = 0;
  Fault fault = Fault::none;
  std::string model;                    // as sent; empty when absent
  // The prompt's chained prefix-cache block hashes (prefix_block_hashes); filled only when asked.
  std::vector<std::uint64_t> prefix_blocks;
};

// An answer other than 200: HTTP status, message, and the OpenAI error `type`.
struct RequestError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
};

// Reads a generation request body of `endpoint`'s API. Prompt tokens count the prompt (a string,
// strings, or token ids) or the concatenated message contents (strings or text parts). With
// `prefix_blocks` the prompt's prefix-cache block hashes are computed too. Native APIs: TGI's
// `inputs` + `parameters.max_new_tokens`; SGLang's `text` (or `input_ids`) +
// `sampling_params.{max_new_tokens,min_new_tokens,ignore_eos}`; llama.cpp's `prompt` + `n_predict`
// + `ignore_eos`; Ollama's `prompt` or `messages` + `options.num_predict`; Triton's `text_input` +
// `max_tokens` (+ `min_tokens`, `ignore_eos`). A negative n_predict / num_predict (the engines'
// "no limit") means the default. Native APIs are served streaming only. "sim_fault" is read at the
// body's top level for every API.
std::variant<GenerationRequest, RequestError> parse_generation_request(
    simdjson::dom::parser& parser, std::string_view body, Endpoint endpoint,
    bool prefix_blocks = false);

}  // namespace splleed::sim
