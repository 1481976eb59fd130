#pragma once
// OpenAI-compatible streaming APIs: `/v1/completions` and `/v1/chat/completions` (vLLM, SGLang,
// llama.cpp, TGI's OpenAI routes, ...). Semantics are in docs/design/protocol.md; in short:
//  - a token event is a chunk whose choice 0 carries non-empty `text` (completions) or non-empty
//    `delta.content` / `delta.reasoning_content` / `delta.reasoning` (chat);
//  - it carries 1 token unless the chunk has cumulative `usage.completion_tokens`
//    (vLLM `continuous_usage_stats`), then the tokens not yet attributed to earlier events (min 1);
//  - `usage` anywhere fills rec.usage; `[DONE]` ends the stream; in-band errors give stream_error,
//    malformed JSON gives protocol_error.
// Only choice index 0 is read: splleed sends one prompt and never asks for n > 1.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

// Which field of choice 0 carries generated text.
enum class ChoiceShape : std::uint8_t {
  text,   // completions: choices[0].text
  delta,  // chat: choices[0].delta.{content,reasoning_content,reasoning}
};

// Builds the JSON request body for an OpenAI-style streaming request (see ProtocolAdapter).
// Throws std::invalid_argument when sampling.extra_body is not a JSON object.
std::string build_openai_body(Api api, const RequestSpec& spec);

// Parser for one OpenAI-style SSE stream at a time; reused across requests via reset().
// Allocation happens only when a payload is larger than any seen before (buffer growth), on the
// first `id` of a request, and on error paths.
class OpenAiStreamParser final : public JsonEventParser {
 public:
  explicit OpenAiStreamParser(ChoiceShape shape);

  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;

  // What one chunk said; views point into the parser's buffers and live until the next event.
  struct Chunk;

 private:
  simdjson::error_code parse(std::string_view payload, Chunk& out);
  // The stream is ending ([DONE] or the body's end) but no choice ever carried a finish_reason:
  // the server stopped generating without saying why (llama-cpp-python does this when another
  // request interrupts the running one). Such a reply is truncated, so it is a stream_error,
  // never ok; counting it ok would inflate throughput with cut-off generations.
  bool cut_short(const RequestRecord& rec) const noexcept;
  static constexpr std::string_view kCutShort =
      "the stream ended without a finish_reason: the server stopped this generation early";

  ChoiceShape shape_;
};

// The adapter for Api::openai_completions and Api::openai_chat (SSE framing).
class OpenAiAdapter final : public ProtocolAdapter {
 public:
  explicit OpenAiAdapter(Api api);  // throws std::invalid_argument for any other Api
  Api api() const noexcept override { return api_; }
  Framing framing() const noexcept override { return Framing::sse; }
  std::string_view path() const noexcept override;
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;

 private:
  Api api_;
};

}  // namespace splleed::protocol
