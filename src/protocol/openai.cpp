#include "protocol/openai.hpp"

#include <optional>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace sj = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

struct OpenAiStreamParser::Chunk {
  bool want_id = false;  // read `id` only while the record has none
  bool has_id = false;
  std::string_view id;

  // Choice index 0.
  bool token = false;          // carried non-empty generated text
  std::size_t text_bytes = 0;  // bytes of that text (content + reasoning)
  std::string_view content;    // the generated text itself (chat content or completion text)
  bool has_finish = false;
  std::string_view finish_reason;

  std::optional<std::int64_t> prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens;

  bool error = false;  // `"error": ...`, or `"object": "error"` at the top level
  std::string_view error_message;
  std::string_view error_type;   // fallback text when the error object has no message
  bool object_error = false;
  std::string_view top_message;  // top-level `message`, used with object_error
};

namespace {

using Chunk = OpenAiStreamParser::Chunk;

using jsonutil::for_each_field;
using jsonutil::is;
using jsonutil::read_int;
using jsonutil::read_string;

error_code read_usage(sj::value& v, Chunk& c) noexcept {
  return for_each_field(v, [&c](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "prompt_tokens") return read_int(val, c.prompt_tokens);
    if (key == "completion_tokens") return read_int(val, c.completion_tokens);
    if (key == "prompt_tokens_details") {
      return for_each_field(val, [&c](sj::raw_json_string k, sj::value& x) -> error_code {
        return k == "cached_tokens" ? read_int(x, c.cached_tokens) : SUCCESS;
      });
    }
    if (key == "completion_tokens_details") {
      return for_each_field(val, [&c](sj::raw_json_string k, sj::value& x) -> error_code {
        return k == "reasoning_tokens" ? read_int(x, c.reasoning_tokens) : SUCCESS;
      });
    }
    return SUCCESS;
  });
}

// `"error": "text"` or `"error": {"message": ..., "type": ..., ...}`; null means no error.
error_code read_error(sj::value& v, Chunk& c) noexcept {
  sj::json_type t{};
  SIMDJSON_TRY(v.type().get(t));
  if (t == sj::json_type::null) return SUCCESS;
  c.error = true;
  bool present = false;
  if (t == sj::json_type::string) return read_string(v, c.error_message, present);
  return for_each_field(v, [&c](sj::raw_json_string key, sj::value& val) -> error_code {
    bool seen = false;
    if (key == "message") return read_string(val, c.error_message, seen);
    if (key == "type") return read_string(val, c.error_type, seen);
    return SUCCESS;
  });
}

struct Choice {
  std::optional<std::int64_t> index;
  bool token = false;
  std::size_t bytes = 0;
  std::string_view content;
  bool has_finish = false;
  std::string_view finish_reason;
};

// Generated text of a chat delta: content plus reasoning. Servers name reasoning either
// `reasoning_content` (vLLM, DeepSeek) or `reasoning` (newer vLLM, OpenRouter); some send both
// with the same text, so only one of them is counted.
error_code read_delta(sj::value& v, Choice& ch) noexcept {
  std::string_view content, reasoning_content, reasoning;
  bool seen = false;
  SIMDJSON_TRY(for_each_field(v, [&](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "content") return read_string(val, content, seen);
    if (key == "reasoning_content") return read_string(val, reasoning_content, seen);
    if (key == "reasoning") return read_string(val, reasoning, seen);
    return SUCCESS;
  }));
  const std::size_t thought = reasoning_content.empty() ? reasoning.size() : reasoning_content.size();
  ch.bytes = content.size() + thought;
  ch.token = ch.bytes > 0;
  ch.content = content;
  return SUCCESS;
}

error_code read_choice(sj::value& v, ChoiceShape shape, Choice& ch) noexcept {
  return for_each_field(v, [&ch, shape](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "index") return read_int(val, ch.index);
    if (key == "finish_reason") return read_string(val, ch.finish_reason, ch.has_finish);
    if (shape == ChoiceShape::text && key == "text") {
      std::string_view text;
      bool seen = false;
      SIMDJSON_TRY(read_string(val, text, seen));
      ch.bytes = text.size();
      ch.token = !text.empty();
      ch.content = text;
      return SUCCESS;
    }
    if (shape == ChoiceShape::delta && key == "delta") return read_delta(val, ch);
    return SUCCESS;
  });
}

// Only choice index 0 is kept (a missing `index` means the array position).
error_code read_choices(sj::value& v, ChoiceShape shape, Chunk& c) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::array, err)) return err;
  sj::array arr;
  SIMDJSON_TRY(v.get_array().get(arr));
  std::int64_t position = 0;
  for (auto result : arr) {
    sj::value elem;
    SIMDJSON_TRY(std::move(result).get(elem));
    Choice ch;
    SIMDJSON_TRY(read_choice(elem, shape, ch));
    if (ch.index.value_or(position) == 0) {
      c.token = c.token || ch.token;
      c.text_bytes += ch.bytes;
      if (!ch.content.empty()) c.content = ch.content;
      if (ch.has_finish) {
        c.has_finish = true;
        c.finish_reason = ch.finish_reason;
      }
    }
    ++position;
  }
  return SUCCESS;
}

}  // namespace

// ---- body ------------------------------------------------------------------------------------

std::string build_openai_body(Api api, const RequestSpec& spec) {
  using json = nlohmann::ordered_json;  // keeps fields in the order written, for readable logs
  const SamplingParams& s = spec.sampling;
  json body = json::object();
  if (!spec.model.empty()) body["model"] = std::string(spec.model);
  if (api == Api::openai_chat) {
    body["messages"] = json::array();
    if (spec.messages.empty()) {
      body["messages"].push_back(json{{"role", "user"}, {"content", std::string(spec.prompt)}});
    } else {
      for (const ChatMessage& m : spec.messages)
        body["messages"].push_back(json{{"role", m.role}, {"content", m.content}});
    }
  } else {
    body["prompt"] = std::string(spec.prompt);
  }
  body["stream"] = true;
  body["stream_options"] = json::object();
  body["stream_options"]["include_usage"] = true;
  body["max_tokens"] = s.max_tokens;
  if (s.temperature) body["temperature"] = *s.temperature;
  if (s.top_p) body["top_p"] = *s.top_p;
  if (s.ignore_eos) body["ignore_eos"] = true;
  if (s.min_tokens) body["min_tokens"] = *s.min_tokens;
  return finish_body(body, s);
}

// ---- parser ----------------------------------------------------------------------------------

OpenAiStreamParser::OpenAiStreamParser(ChoiceShape shape) : shape_(shape) {}

simdjson::error_code OpenAiStreamParser::parse(std::string_view payload, Chunk& c) {
  return parse_object(payload, [this, &c](sj::raw_json_string key, sj::value& val) -> error_code {
    bool seen = false;
    if (key == "choices") return read_choices(val, shape_, c);
    if (key == "usage") return read_usage(val, c);
    if (key == "id") return c.want_id ? read_string(val, c.id, c.has_id) : SUCCESS;
    if (key == "error") return read_error(val, c);
    if (key == "object") {
      error_code err = SUCCESS;
      if (is(val, sj::json_type::string, err)) {
        sj::raw_json_string object;
        SIMDJSON_TRY(val.get_raw_json_string().get(object));
        c.object_error = object == "error";
      }
      return err;
    }
    if (key == "message") return read_string(val, c.top_message, seen);
    return SUCCESS;
  });
}

EventOutcome OpenAiStreamParser::on_event(std::string_view payload, Nanos received,
                                          RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  if (jsonutil::trim(payload) == "[DONE]") {
    if (cut_short(rec)) return fail(RequestStatus::stream_error, kCutShort, received, rec);
    return finish(received, rec);
  }
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  Chunk c;
  c.want_id = rec.response_id.empty();
  if (const error_code err = parse(body, c); err != SUCCESS) {
    return fail_malformed(err, body, received, rec);
  }
  ++well_formed_;

  if (c.error || c.object_error) {
    std::string_view msg = c.error ? c.error_message : c.top_message;
    if (msg.empty()) msg = c.error_type;
    if (msg.empty()) msg = "error event without a message";
    return fail(RequestStatus::stream_error, msg, received, rec);
  }

  if (c.has_id && !c.id.empty()) rec.response_id.assign(c.id);
  if (c.has_finish) rec.finish_reason.assign(c.finish_reason);  // short: fits the SSO buffer
  if (c.prompt_tokens) rec.usage.prompt_tokens = c.prompt_tokens;
  if (c.completion_tokens) rec.usage.completion_tokens = c.completion_tokens;
  if (c.cached_tokens) rec.usage.cached_tokens = c.cached_tokens;
  if (c.reasoning_tokens) rec.usage.reasoning_tokens = c.reasoning_tokens;

  // Cumulative usage on a token chunk (continuous usage stats): the tokens not yet attributed to
  // earlier events. Tokens of an event without text (e.g. a held-back stop string) thus go to the
  // next token event. Without usage, one token per event.
  if (text_out_ != nullptr && !c.content.empty()) text_out_->append(c.content);
  if (c.token) add_token_event(rec, received, tokens_from_cumulative(c.completion_tokens), c.text_bytes);
  return EventOutcome::more;
}

void OpenAiStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  // A missing [DONE] is tolerated: not every server sends it. A missing finish_reason is not.
  if (!finished_ && cut_short(rec)) {
    fail(RequestStatus::stream_error, kCutShort, t, rec);
    return;
  }
  end_body(t, rec, /*terminal_required=*/false, {});
}

bool OpenAiStreamParser::cut_short(const RequestRecord& rec) const noexcept {
  return rec.status == RequestStatus::incomplete && well_formed_ > 0 && rec.finish_reason.empty();
}

// ---- adapter ---------------------------------------------------------------------------------

OpenAiAdapter::OpenAiAdapter(Api api) : api_(api) {
  if (api != Api::openai_completions && api != Api::openai_chat) {
    throw std::invalid_argument("not an OpenAI API");
  }
}

std::string_view OpenAiAdapter::path() const noexcept {
  return api_ == Api::openai_chat ? "/v1/chat/completions" : "/v1/completions";
}

std::string OpenAiAdapter::build_body(const RequestSpec& spec) const {
  return build_openai_body(api_, spec);
}

std::unique_ptr<StreamParser> OpenAiAdapter::make_parser() const {
  return std::make_unique<OpenAiStreamParser>(api_ == Api::openai_chat ? ChoiceShape::delta
                                                                       : ChoiceShape::text);
}

}  // namespace splleed::protocol
