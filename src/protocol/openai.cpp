#include "protocol/openai.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
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

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// The longest prefix of at most `max` bytes that does not split a UTF-8 sequence, so that
// truncated text stays valid for the JSON reporter.
std::string_view utf8_prefix(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A printable excerpt of a payload for error messages: control bytes become spaces and, when the
// excerpt is not valid UTF-8, non-ASCII bytes become '?'. (simdjson provides the UTF-8 check; the
// substitution itself is too small a job for a library.)
std::string excerpt(std::string_view payload, std::size_t max) {
  std::string out(utf8_prefix(payload, max));
  const bool valid = simdjson::validate_utf8(out.data(), out.size());
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7F) ch = ' ';
    else if (u >= 0x80 && !valid) ch = '?';
  }
  if (payload.size() > out.size()) out += "...";
  return out;
}

bool is(sj::value& v, sj::json_type want, error_code& err) noexcept {
  sj::json_type t{};
  err = v.type().get(t);
  return err == SUCCESS && t == want;
}

// Reads a string; any other type (null included) leaves `out` untouched and is not an error.
error_code read_string(sj::value& v, std::string_view& out, bool& present) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::string, err)) return err;
  SIMDJSON_TRY(v.get_string().get(out));
  present = true;
  return SUCCESS;
}

// Reads an integer; null, non-numbers and non-integral numbers are ignored.
error_code read_int(sj::value& v, std::optional<std::int64_t>& out) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::number, err)) return err;
  std::int64_t x = 0;
  err = v.get_int64().get(x);
  if (err == SUCCESS) {
    out = x;
  } else if (err != simdjson::INCORRECT_TYPE && err != simdjson::NUMBER_OUT_OF_RANGE) {
    return err;
  }
  return SUCCESS;
}

// Iterates the fields of `v` when it is an object (anything else is skipped): fn(key, value).
template <class Fn>
error_code for_each_field(sj::value& v, Fn&& fn) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::object, err)) return err;
  sj::object obj;
  SIMDJSON_TRY(v.get_object().get(obj));
  for (auto result : obj) {
    sj::field field;
    SIMDJSON_TRY(std::move(result).get(field));
    SIMDJSON_TRY(fn(field.key(), field.value()));
  }
  return SUCCESS;
}

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
      if (ch.has_finish) {
        c.has_finish = true;
        c.finish_reason = ch.finish_reason;
      }
    }
    ++position;
  }
  return SUCCESS;
}

std::string describe(error_code err, std::string_view payload, std::size_t excerpt_bytes) {
  std::string msg = err == simdjson::INCORRECT_TYPE
                        ? std::string("stream event is not a JSON object")
                        : std::string("malformed JSON in stream event (") +
                              simdjson::error_message(err) + ")";
  msg += ": `";
  msg += excerpt(payload, excerpt_bytes);
  msg += '`';
  return msg;
}

}  // namespace

// ---- body ------------------------------------------------------------------------------------

std::string build_openai_body(Api api, const RequestSpec& spec) {
  using json = nlohmann::ordered_json;  // keeps fields in the order written, for readable logs
  const SamplingParams& s = spec.sampling;
  json body = json::object();
  if (!spec.model.empty()) body["model"] = std::string(spec.model);
  if (api == Api::openai_chat) {
    json message = json::object();
    message["role"] = "user";
    message["content"] = std::string(spec.prompt);
    body["messages"] = json::array();
    body["messages"].push_back(std::move(message));
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
  if (!s.extra_body.empty()) {
    json extra = json::parse(s.extra_body);
    if (!extra.is_object()) throw std::invalid_argument("extra_body must be a JSON object");
    // RFC 7386 merge patch: extra keys win, nested objects merge, a null removes a field.
    body.merge_patch(extra);
  }
  // Prompts may hold invalid UTF-8 (raw files): replace it rather than fail the request.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- parser ----------------------------------------------------------------------------------

OpenAiStreamParser::OpenAiStreamParser(ChoiceShape shape) : shape_(shape) {
  ensure_capacity(kInitialCapacity);
  if (parser_.allocate(kInitialCapacity) != SUCCESS) throw std::bad_alloc();
}

void OpenAiStreamParser::reset() {
  finished_ = false;
  well_formed_ = 0;
  attributed_ = 0;
}

void OpenAiStreamParser::ensure_capacity(std::size_t payload_size) {
  if (payload_size <= capacity_ && buffer_) return;
  const std::size_t cap = std::max(payload_size, capacity_ * 2);
  buffer_ = std::make_unique<char[]>(cap + simdjson::SIMDJSON_PADDING);  // zero-filled padding
  capacity_ = cap;
}

simdjson::error_code OpenAiStreamParser::parse(std::string_view payload, Chunk& c) {
  ensure_capacity(payload.size());
  std::memcpy(buffer_.get(), payload.data(), payload.size());
  std::memset(buffer_.get() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
  sj::document doc;
  SIMDJSON_TRY(
      parser_.iterate(buffer_.get(), payload.size(), capacity_ + simdjson::SIMDJSON_PADDING).get(doc));
  sj::object root;
  SIMDJSON_TRY(doc.get_object().get(root));
  for (auto result : root) {
    sj::field field;
    SIMDJSON_TRY(std::move(result).get(field));
    const sj::raw_json_string key = field.key();
    sj::value& val = field.value();
    bool seen = false;
    if (key == "choices") {
      SIMDJSON_TRY(read_choices(val, shape_, c));
    } else if (key == "usage") {
      SIMDJSON_TRY(read_usage(val, c));
    } else if (key == "id") {
      if (c.want_id) SIMDJSON_TRY(read_string(val, c.id, c.has_id));
    } else if (key == "error") {
      SIMDJSON_TRY(read_error(val, c));
    } else if (key == "object") {
      error_code err = SUCCESS;
      if (is(val, sj::json_type::string, err)) {
        sj::raw_json_string object;
        SIMDJSON_TRY(val.get_raw_json_string().get(object));
        c.object_error = object == "error";
      }
      SIMDJSON_TRY(err);
    } else if (key == "message") {
      SIMDJSON_TRY(read_string(val, c.top_message, seen));
    }
  }
  // Past the root object only the end of input may follow (e.g. not `{...}{...}`).
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return simdjson::TRAILING_CONTENT;
  return SUCCESS;
}

EventOutcome OpenAiStreamParser::fail(RequestStatus status, std::string message, Nanos received,
                                      RequestRecord& rec) {
  finished_ = true;
  rec.status = status;
  rec.error.assign(utf8_prefix(message, kMaxErrorBytes));
  rec.end = received;
  return EventOutcome::done;
}

EventOutcome OpenAiStreamParser::on_event(std::string_view payload, Nanos received,
                                          RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  const std::string_view body = trim(payload);
  if (body == "[DONE]") {
    finished_ = true;
    rec.end = received;
    if (rec.status == RequestStatus::incomplete) rec.status = RequestStatus::ok;
    return EventOutcome::done;
  }
  if (body.empty()) return EventOutcome::more;  // carries nothing (keep-alive)

  ++rec.events;
  if (!rec.first_event) rec.first_event = received;

  Chunk c;
  c.want_id = rec.response_id.empty();
  if (const error_code err = parse(body, c); err != SUCCESS) {
    return fail(RequestStatus::protocol_error, describe(err, body, kPayloadExcerptBytes), received,
                rec);
  }
  ++well_formed_;

  if (c.error || c.object_error) {
    std::string_view msg = c.error ? c.error_message : c.top_message;
    if (msg.empty()) msg = c.error_type;
    if (msg.empty()) msg = "error event without a message";
    return fail(RequestStatus::stream_error, std::string(msg), received, rec);
  }

  if (c.has_id && !c.id.empty()) rec.response_id.assign(c.id);
  if (c.has_finish) rec.finish_reason.assign(c.finish_reason);  // short: fits the SSO buffer
  if (c.prompt_tokens) rec.usage.prompt_tokens = c.prompt_tokens;
  if (c.completion_tokens) rec.usage.completion_tokens = c.completion_tokens;
  if (c.cached_tokens) rec.usage.cached_tokens = c.cached_tokens;
  if (c.reasoning_tokens) rec.usage.reasoning_tokens = c.reasoning_tokens;

  if (c.token) {
    // Cumulative usage on a token chunk (continuous usage stats): the tokens not yet attributed to
    // earlier events. Tokens of an event without text (e.g. a held-back stop string) thus go to
    // the next token event. Without usage, one token per event.
    std::int64_t n = 1;
    if (c.completion_tokens) n = std::max<std::int64_t>(1, *c.completion_tokens - attributed_);
    n = std::min<std::int64_t>(n, std::numeric_limits<std::uint32_t>::max());
    attributed_ += n;
    rec.tokens.push_back(TokenEvent{received, static_cast<std::uint32_t>(n)});
    if (!rec.first_token) rec.first_token = received;
    rec.last_token = received;
    rec.output_bytes += c.text_bytes;
  }
  return EventOutcome::more;
}

void OpenAiStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  if (finished_) return;
  finished_ = true;
  rec.end = t;
  if (rec.status != RequestStatus::incomplete) return;  // decided elsewhere (e.g. cancelled)
  if (well_formed_ == 0) {
    rec.status = RequestStatus::protocol_error;
    rec.error = "the stream ended with no events";
    return;
  }
  rec.status = RequestStatus::ok;  // a missing [DONE] is tolerated: not every server sends it
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
