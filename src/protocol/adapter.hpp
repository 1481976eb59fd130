#pragma once
// A protocol adapter speaks one wire API: it builds request bodies and turns decoded stream events
// (SSE `data:` payloads or NDJSON lines) into token events, usage and errors on a RequestRecord.
// Adapters are pure: no I/O, no clock reads (the receive time is passed in). Fixture-tested.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "splleed/clock.hpp"
#include "splleed/config.hpp"
#include "splleed/record.hpp"

namespace splleed::protocol {

enum class Framing : std::uint8_t { sse, ndjson };

struct RequestSpec {
  std::string_view model;
  std::string_view prompt;
  const SamplingParams& sampling;
  // Chat APIs: the messages to send; empty sends `prompt` as one user message. Completion APIs
  // ignore them.
  std::span<const ChatMessage> messages = {};
};

enum class EventOutcome : std::uint8_t {
  more,  // keep reading
  done,  // the stream's terminal event was seen; record.end and record.status are set
};

// Parses one response stream at a time. Owned by one worker slot and reused across requests
// (call reset() before each), so that buffers are allocated once, not per token.
// Not thread-safe.
class StreamParser {
 public:
  virtual ~StreamParser() = default;
  virtual void reset() = 0;

  // One event payload received at `received`. Updates rec: events, first_event, tokens,
  // first_token/last_token, usage, response_id, finish_reason, output_bytes; on an in-band error
  // sets status=stream_error + error; on malformed JSON status=protocol_error + error. Returns done
  // at the terminal event (e.g. `[DONE]`) or after an error, with rec.end set.
  // Must not allocate in the steady state (one token event after another).
  virtual EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) = 0;

  // The response body ended (end of chunked body, or close after a complete body) before any
  // terminal event: decides the final status (ok when the stream was well-formed) and sets end.
  virtual void on_body_end(Nanos t, RequestRecord& rec) = 0;

  // Multi-turn conversations send the replies back as history: when `out` is set, the generated
  // text (chat content or completion text; not reasoning) is appended to it as it arrives. The
  // caller reserves room beforehand so that appending does not allocate per token. nullptr (the
  // default) keeps nothing. Stays set across reset().
  void keep_text(std::string* out) noexcept { text_out_ = out; }

 protected:
  std::string* text_out_ = nullptr;
};

class ProtocolAdapter {
 public:
  virtual ~ProtocolAdapter() = default;
  virtual Api api() const noexcept = 0;
  virtual Framing framing() const noexcept = 0;
  // Request path, appended to the base URL's path (e.g. "/v1/completions").
  virtual std::string_view path() const noexcept = 0;
  // The request body (JSON). sampling.extra_body is merged last and wins.
  virtual std::string build_body(const RequestSpec& spec) const = 0;
  virtual std::unique_ptr<StreamParser> make_parser() const = 0;
};

// What the body build_body() makes from `s` asks of the engine's output length: exactly
// s.max_tokens (the body carries an end-of-sequence switch the API honours, or a minimum equal to
// the maximum), or at most s.max_tokens, with why not exactly. The adapters are the one place that
// writes these fields (OpenAI-compatible: max_tokens, min_tokens, ignore_eos; SGLang native:
// sampling_params.max_new_tokens, min_new_tokens, ignore_eos; llama.cpp: n_predict, ignore_eos;
// TGI: parameters.max_new_tokens; Ollama: options.num_predict; Triton: max_tokens); this states
// what they amount to.
struct OutputLengthAsk {
  bool exact = false;
  std::string_view note;  // when !exact: one clause on why
};
OutputLengthAsk output_length_ask(Api api, const SamplingParams& s) noexcept;

// The adapter for `api`. Throws std::invalid_argument for an unknown API and for Api::triton,
// whose path names the model (use the overload below).
std::unique_ptr<ProtocolAdapter> make_adapter(Api api);
// The adapter for a target, including those whose path depends on the model (Api::triton).
// Throws std::invalid_argument when the target lacks what the API needs (triton: a model name).
std::unique_ptr<ProtocolAdapter> make_adapter(const TargetConfig& target);

}  // namespace splleed::protocol
