#pragma once
// llama.cpp native streaming: POST /completion with "stream": true (SSE `data: {json}`). Content
// events carry `content`, `tokens` (ids) and cumulative `tokens_predicted`; the final event has
// "stop": true, `stop_type`, `tokens_predicted`, `tokens_evaluated` and `timings` (prompt_n,
// prompt_ms, predicted_n, predicted_ms, cache_n) and ends the stream (there is no [DONE]).
// `timings` are kept in rec.server_timings. In-band errors are `{"error": {...}}`.
// docs/design/protocol.md.
#include <memory>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

class LlamaCppStreamParser final : public JsonEventParser {
 public:
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;
};

class LlamaCppAdapter final : public ProtocolAdapter {
 public:
  Api api() const noexcept override { return Api::llamacpp; }
  Framing framing() const noexcept override { return Framing::sse; }
  std::string_view path() const noexcept override { return "/completion"; }
  // {"model"?, "prompt", "stream": true, "n_predict", "temperature"?, "top_p"?, "ignore_eos"?}.
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;
};

}  // namespace splleed::protocol
