#pragma once
// Ollama native streaming: POST /api/generate and POST /api/chat, NDJSON (one JSON object per
// line). Chunks carry `response` (+ `thinking`) or `message.content` (+ `message.thinking`) and
// "done": false; the final object has "done": true, `done_reason`, `prompt_eval_count`,
// `eval_count` and durations in ns (`total_duration`, `load_duration`, `prompt_eval_duration`,
// `eval_duration`), kept in rec.server_timings in ms. Errors are `{"error": "..."}`.
// docs/design/protocol.md.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

class OllamaStreamParser final : public JsonEventParser {
 public:
  explicit OllamaStreamParser(bool chat) : chat_(chat) {}
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;

 private:
  bool chat_;  // /api/chat (message.content) rather than /api/generate (response)
};

class OllamaAdapter final : public ProtocolAdapter {
 public:
  explicit OllamaAdapter(Api api);  // ollama_generate or ollama_chat; throws otherwise
  Api api() const noexcept override { return api_; }
  Framing framing() const noexcept override { return Framing::ndjson; }
  std::string_view path() const noexcept override;
  // {"model", "prompt" | "messages", "stream": true, "options": {num_predict, temperature?,
  // top_p?}}.
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;

 private:
  Api api_;
};

}  // namespace splleed::protocol
