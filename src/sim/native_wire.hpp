#pragma once
// The bytes of the engines' native streaming APIs, as the simulator sends them: TGI's
// /generate_stream, SGLang's /generate, llama.cpp's /completion, Ollama's /api/generate and
// /api/chat, Triton's generate_stream. Shapes follow each engine's server (and the fixtures in
// tests/fixtures/protocol/). Every event is appended whole, framing included (`data:` for TGI,
// `data: ` for the other SSE APIs, a trailing newline for Ollama's NDJSON), to a caller-owned
// buffer, so the per-token path reuses memory. Texts passed in must need no JSON escaping (the
// simulator's vocabulary); ids and model names are JSON-escaped already.
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "sim/request.hpp"
#include "splleed/clock.hpp"

namespace splleed::sim {

// Token ids: vocabulary word w has id kFirstWordId + w; the EOS token is kEosTokenId ("</s>").
inline constexpr std::int32_t kEosTokenId = 2;
inline constexpr std::int32_t kFirstWordId = 1000;
inline constexpr std::string_view kEosText = "</s>";

// What a final event reports: counts, and the simulator's own timings of the request (its
// engine's truth: queueing, prefill = first admission to first token, decode = first to last
// token, total = arrival to last token).
struct NativeSummary {
  bool eos = false;                    // ended by EOS (else by the token limit)
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;  // EOS included
  std::int64_t prompt_computed = 0;    // prompt tokens prefilled (prompt less prefix-cache hits)
  std::int64_t cached_tokens = 0;      // prompt tokens found in the prefix cache
  Nanos queue_ns = 0;
  Nanos prefill_ns = 0;
  Nanos decode_ns = 0;
  Nanos total_ns = 0;
};

// TGI: `data:{"index":i,"token":{"id":..,"text":..,"logprob":..,"special":..},"generated_text":null,
// "details":null}`; the last token's event (`last` set) carries the whole `generated_text` and
// `details` {finish_reason ("length" | "eos_token"), generated_tokens, seed, input_length}.
void append_tgi_token_event(fmt::memory_buffer& out, std::int64_t index, std::int32_t token_id,
                            std::string_view text, bool special, const NativeSummary* last,
                            std::string_view generated_text);

// SGLang: `data: {"text":<cumulative>,"meta_info":{"id","finish_reason","prompt_tokens",
// "completion_tokens","cached_tokens","e2e_latency"}}`; finish_reason is null until the last
// event (`last` set): {"type":"length","length":N} or {"type":"stop","matched":<EOS id>}.
void append_sglang_event(fmt::memory_buffer& out, std::string_view id, std::string_view text,
                         std::int64_t prompt_tokens, std::int64_t completion_tokens,
                         std::int64_t cached_tokens, const NativeSummary* last, double e2e_s);

// llama.cpp: one event per token, `data: {"index":0,"content":..,"tokens":[id],"stop":false,
// "id_slot":-1,"tokens_predicted":n,"tokens_evaluated":P}`, then the final event with
// `"stop":true`, `stop_type` ("limit" | "eos"), counts and `timings` (prompt_n, prompt_ms,
// predicted_n, predicted_ms, per-token and per-second rates, cache_n).
void append_llamacpp_token_event(fmt::memory_buffer& out, std::string_view content,
                                 std::int32_t token_id, std::int64_t tokens_predicted,
                                 std::int64_t tokens_evaluated);
void append_llamacpp_final_event(fmt::memory_buffer& out, std::string_view model,
                                 const NativeSummary& s);

// Ollama: one NDJSON object per token, `{"model":..,"created_at":..,"response":..,"done":false}`
// (chat: `"message":{"role":"assistant","content":..}`), then the final object with
// `"done":true`, `done_reason` ("length" | "stop"), counts and durations in nanoseconds.
// `unix_ns` is the wall-clock time written as created_at (RFC 3339, UTC).
void append_ollama_event(fmt::memory_buffer& out, bool chat, std::string_view model,
                         std::int64_t unix_ns, std::string_view text, const NativeSummary* last);

// Triton generate_stream: `data: {"model_name":..,"model_version":"1","sequence_end":false,
// "sequence_id":0,"sequence_start":false,"text_output":..}`; the stream ends with the body.
void append_triton_event(fmt::memory_buffer& out, std::string_view model, std::string_view text);

// sim_fault error_event / malformed in each native API's framing.
void append_native_error_event(fmt::memory_buffer& out, Endpoint api);
void append_native_malformed_event(fmt::memory_buffer& out, Endpoint api);

// A non-200 answer's body in the API's own error shape (TGI {"error","error_type"}, SGLang
// {"error":{"message"}}, llama.cpp {"error":{"code","message","type"}}, Ollama and Triton
// {"error"}).
std::string native_error_body(Endpoint api, std::string_view message, std::string_view type,
                              int status);

// The stream's Content-Type: application/x-ndjson for Ollama, text/event-stream otherwise.
std::string_view native_content_type(Endpoint api) noexcept;

}  // namespace splleed::sim
