#include "protocol/ollama.hpp"

#include <optional>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace {

namespace sj = jsonutil::sj;
using jsonutil::error_code;
using jsonutil::SUCCESS;

struct OllamaChunk {
  std::size_t text_bytes = 0;  // content (or response) plus thinking
  std::string_view content;    // content (or response) alone
  std::optional<bool> done;
  std::string_view done_reason;
  std::optional<std::int64_t> prompt_eval_count, eval_count;
  std::optional<std::int64_t> total_ns, load_ns, prompt_eval_ns, eval_ns;
  bool error = false;
  std::string_view error_message;
};

error_code add_text(sj::value& v, OllamaChunk& c) noexcept {
  std::string_view text;
  SIMDJSON_TRY(jsonutil::read_string(v, text));
  c.text_bytes += text.size();
  return SUCCESS;
}

error_code add_content(sj::value& v, OllamaChunk& c) noexcept {
  SIMDJSON_TRY(jsonutil::read_string(v, c.content));
  c.text_bytes += c.content.size();
  return SUCCESS;
}

error_code read_message(sj::value& v, OllamaChunk& c) noexcept {
  return jsonutil::for_each_field(v, [&c](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "content") return add_content(val, c);
    if (key == "thinking") return add_text(val, c);
    return SUCCESS;
  });
}

std::optional<double> ns_to_ms(std::optional<std::int64_t> ns) noexcept {
  if (!ns) return std::nullopt;
  return static_cast<double>(*ns) / 1e6;
}

}  // namespace

EventOutcome OllamaStreamParser::on_event(std::string_view payload, Nanos received,
                                          RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  OllamaChunk c;
  const bool chat = chat_;
  const error_code err =
      parse_object(body, [&c, chat](sj::raw_json_string key, sj::value& val) -> error_code {
        if (chat && key == "message") return read_message(val, c);
        if (!chat && key == "response") return add_content(val, c);
        if (!chat && key == "thinking") return add_text(val, c);
        if (key == "done") return jsonutil::read_bool(val, c.done);
        if (key == "done_reason") return jsonutil::read_string(val, c.done_reason);
        if (key == "prompt_eval_count") return jsonutil::read_int(val, c.prompt_eval_count);
        if (key == "eval_count") return jsonutil::read_int(val, c.eval_count);
        if (key == "total_duration") return jsonutil::read_int(val, c.total_ns);
        if (key == "load_duration") return jsonutil::read_int(val, c.load_ns);
        if (key == "prompt_eval_duration") return jsonutil::read_int(val, c.prompt_eval_ns);
        if (key == "eval_duration") return jsonutil::read_int(val, c.eval_ns);
        if (key == "error") return jsonutil::read_error_value(val, c.error_message, c.error);
        return SUCCESS;
      });
  if (err != SUCCESS) return fail_malformed(err, body, received, rec);
  ++well_formed_;

  if (c.error) {
    return fail(RequestStatus::stream_error,
                c.error_message.empty() ? "error event without a message" : c.error_message,
                received, rec);
  }
  // Ollama sends one chunk per token; eval_count on the final object gives the exact total.
  if (text_out_ != nullptr && !c.content.empty()) text_out_->append(c.content);
  if (c.text_bytes > 0) add_token_event(rec, received, 1, c.text_bytes);
  if (!c.done.value_or(false)) return EventOutcome::more;

  if (!c.done_reason.empty()) rec.finish_reason.assign(c.done_reason);
  if (c.prompt_eval_count) rec.usage.prompt_tokens = c.prompt_eval_count;
  if (c.eval_count) rec.usage.completion_tokens = c.eval_count;
  ServerTimings& t = rec.server_timings;
  if (c.total_ns) t.total_ms = ns_to_ms(c.total_ns);
  if (c.load_ns) t.load_ms = ns_to_ms(c.load_ns);
  if (c.prompt_eval_ns) t.prompt_ms = ns_to_ms(c.prompt_eval_ns);
  if (c.eval_ns) t.predicted_ms = ns_to_ms(c.eval_ns);
  if (c.prompt_eval_count) t.prompt_n = c.prompt_eval_count;
  if (c.eval_count) t.predicted_n = c.eval_count;
  return finish(received, rec);
}

void OllamaStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  end_body(t, rec, /*terminal_required=*/true, "Ollama's final object (\"done\": true)");
}

OllamaAdapter::OllamaAdapter(Api api) : api_(api) {
  if (api != Api::ollama_generate && api != Api::ollama_chat) {
    throw std::invalid_argument("not an Ollama API");
  }
}

std::string_view OllamaAdapter::path() const noexcept {
  return api_ == Api::ollama_chat ? "/api/chat" : "/api/generate";
}

std::string OllamaAdapter::build_body(const RequestSpec& spec) const {
  using nlohmann::ordered_json;
  const SamplingParams& s = spec.sampling;
  ordered_json body = ordered_json::object();
  body["model"] = std::string(spec.model);  // required by Ollama
  if (api_ == Api::ollama_chat) {
    body["messages"] = ordered_json::array();
    if (spec.messages.empty()) {
      body["messages"].push_back(ordered_json{{"role", "user"}, {"content", std::string(spec.prompt)}});
    } else {
      for (const ChatMessage& m : spec.messages)
        body["messages"].push_back(ordered_json{{"role", m.role}, {"content", m.content}});
    }
  } else {
    body["prompt"] = std::string(spec.prompt);
  }
  body["stream"] = true;
  ordered_json options = ordered_json::object();
  options["num_predict"] = s.max_tokens;
  if (s.temperature) options["temperature"] = *s.temperature;
  if (s.top_p) options["top_p"] = *s.top_p;
  body["options"] = std::move(options);
  return finish_body(body, s);
}

std::unique_ptr<StreamParser> OllamaAdapter::make_parser() const {
  return std::make_unique<OllamaStreamParser>(api_ == Api::ollama_chat);
}

}  // namespace splleed::protocol
