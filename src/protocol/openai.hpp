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
class OpenAiStreamParser final : public StreamParser {
 public:
  static constexpr std::size_t kInitialCapacity = 4096;  // payload bytes, grown on demand
  static constexpr std::size_t kMaxErrorBytes = 300;     // rec.error is cut to this length
  static constexpr std::size_t kPayloadExcerptBytes = 80;

  explicit OpenAiStreamParser(ChoiceShape shape);

  void reset() override;
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;

  // Current size of the padded payload buffer (for tests of buffer reuse).
  std::size_t capacity() const noexcept { return capacity_; }

  // What one chunk said; views point into the parser's buffers and live until the next event.
  struct Chunk;

 private:
  // Copies payload into the padded buffer (growing it if needed) and parses it into `out`.
  simdjson::error_code parse(std::string_view payload, Chunk& out);
  void ensure_capacity(std::size_t payload_size);
  EventOutcome fail(RequestStatus status, std::string message, Nanos received, RequestRecord& rec);

  ChoiceShape shape_;
  simdjson::ondemand::parser parser_;
  std::unique_ptr<char[]> buffer_;  // payload copy followed by SIMDJSON_PADDING bytes
  std::size_t capacity_ = 0;        // usable payload bytes (buffer holds capacity_ + padding)
  bool finished_ = false;           // terminal event or error seen: later events are ignored
  std::uint32_t well_formed_ = 0;   // events parsed without error in this stream
  std::int64_t attributed_ = 0;     // tokens attributed to token events so far
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
