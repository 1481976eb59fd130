#pragma once
// SGLang native streaming: POST /generate with "stream": true (SSE `data: {json}`, ending with
// `data: [DONE]`). Each event carries the cumulative `text` so far and `meta_info` with cumulative
// `completion_tokens`, `prompt_tokens`, `cached_tokens`, `finish_reason` ({type, ...} or null) and
// `e2e_latency` (s). An event whose completion_tokens rose by k carries k tokens; output bytes are
// the growth of `text`. A finish_reason of type "abort" and `{"error": ...}` are in-band errors.
// docs/design/protocol.md.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

class SglangStreamParser final : public JsonEventParser {
 public:
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;

 private:
  void reset_stream() noexcept override {
    text_bytes_ = 0;
    finish_seen_ = false;
  }
  std::size_t text_bytes_ = 0;  // length of the cumulative text seen so far
  bool finish_seen_ = false;    // a non-null finish_reason arrived
};

class SglangAdapter final : public ProtocolAdapter {
 public:
  Api api() const noexcept override { return Api::sglang; }
  Framing framing() const noexcept override { return Framing::sse; }
  std::string_view path() const noexcept override { return "/generate"; }
  // {"text": prompt, "sampling_params": {max_new_tokens, temperature, top_p, ignore_eos,
  // min_new_tokens}, "stream": true}.
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;
};

}  // namespace splleed::protocol
