#pragma once
// Hugging Face TGI native streaming: POST /generate_stream (SSE, `data:{json}`). Each event is one
// generated token (`token` {id, text, special}); the last event also carries `generated_text` and
// `details` {finish_reason, generated_tokens, input_length} and ends the stream (there is no
// [DONE]). In-band errors are `{"error": "...", "error_type": "..."}`. docs/design/protocol.md.
#include <memory>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

class TgiStreamParser final : public JsonEventParser {
 public:
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;
};

class TgiAdapter final : public ProtocolAdapter {
 public:
  Api api() const noexcept override { return Api::tgi; }
  Framing framing() const noexcept override { return Framing::sse; }
  std::string_view path() const noexcept override { return "/generate_stream"; }
  // {"inputs": prompt, "parameters": {max_new_tokens, temperature, top_p, details: true, ...}}.
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;
};

}  // namespace splleed::protocol
