#pragma once
// The bytes the simulator sends: vLLM's OpenAI-compatible JSON shapes, SSE events and HTTP/1.1
// chunk framing. Stream events are appended to caller-owned buffers so the per-token path reuses
// memory; whole responses (once per request) are returned as strings.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "sim/request.hpp"

namespace splleed::sim {

// What every chunk of one response repeats. `id` and `model` are JSON-escaped already (their
// text goes between quotes as is).
struct ChunkContext {
  Endpoint endpoint = Endpoint::completions;
  std::string_view id;
  std::int64_t created = 0;
  std::string_view model;
};

struct UsageCounts {
  std::int64_t prompt = 0;
  std::int64_t completion = 0;
};

// `s` as JSON string content (no surrounding quotes).
std::string json_escape(std::string_view s);

// SSE events, each `data: <payload>\n\n`. `text` must need no JSON escaping (the simulator's
// vocabulary); an empty `finish_reason` is written as null; `usage` adds cumulative usage
// (stream_options.continuous_usage_stats) when not null.
void append_token_event(fmt::memory_buffer& out, const ChunkContext& c, std::string_view text,
                        std::string_view finish_reason, const UsageCounts* usage);
// Chat only: the role-only first chunk vLLM sends, `"delta":{"role":"assistant","content":""}`.
void append_role_event(fmt::memory_buffer& out, const ChunkContext& c, const UsageCounts* usage);
// The usage-only chunk (`"choices":[]`) for stream_options.include_usage.
void append_usage_event(fmt::memory_buffer& out, const ChunkContext& c, UsageCounts usage);
void append_done_event(fmt::memory_buffer& out);
// sim_fault error_event: an OpenAI-style error object inside the 200 stream.
void append_error_event(fmt::memory_buffer& out);
// sim_fault malformed: an event whose JSON breaks off.
void append_malformed_event(fmt::memory_buffer& out);

// HTTP/1.1 chunked framing of one SSE event: `<hex size>\r\n<payload>\r\n` appended to out.
void append_http_chunk(fmt::memory_buffer& out, std::string_view payload);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Non-streaming response bodies.
std::string completion_body(const ChunkContext& c, std::string_view text,
                            std::string_view finish_reason, UsageCounts usage);
// {"error":{"message":...,"type":...,"code":...}}
std::string error_body(std::string_view message, std::string_view type, int code);
// POST /tokenize with the simulator's tokenizer (prompt_tokens_for_bytes: one token per 4 bytes;
// a token's id is a hash of its bytes), answered in the shape of the engine whose body it is:
// - vLLM's and SGLang's {"model"?, "prompt"} or {"model"?, "messages": [...]} (every message's
//   content counted, as the generation endpoints do) -> {"count", "max_model_len", "tokens",
//   "token_strs": null}; max_model_len is null when `kv_tokens` is 0 (unlimited); another model
//   is vLLM's 404;
// - TGI's {"inputs"} -> [{"id", "text", "start", "stop"}, ...];
// - llama.cpp's {"content"} -> {"tokens": [...]}.
// A body with none of these fields gets a 400. The simulator has no special tokens, so
// add_special_tokens / add_special change nothing.
struct TokenizeReply {
  int status = 200;
  std::string body;
};
TokenizeReply tokenize_reply(std::string_view request_body, std::string_view model,
                             std::int64_t kv_tokens);

// `max_model_len` (vLLM's field: the longest context one request may use) is listed when set.
std::string models_body(std::string_view model, std::int64_t created,
                        std::optional<std::int64_t> max_model_len = std::nullopt);

}  // namespace splleed::sim
