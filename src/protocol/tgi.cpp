#include "protocol/tgi.hpp"

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace {

namespace sj = jsonutil::sj;
using jsonutil::error_code;
using jsonutil::SUCCESS;

// What one TGI stream event said; views live until the next event.
struct TgiEvent {
  bool token = false;  // a `token` object: one generated token
  bool special = false;
  std::string_view text;
  bool final = false;  // non-null `generated_text` or `details`: the terminal event
  std::string_view finish_reason;
  std::optional<std::int64_t> generated_tokens, input_length;
  bool error = false;
  std::string_view error_message, error_type;
};

error_code read_token(sj::value& v, TgiEvent& e) noexcept {
  error_code err = SUCCESS;
  if (!jsonutil::is(v, sj::json_type::object, err)) return err;
  e.token = true;
  return jsonutil::for_each_field(v, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "text") return jsonutil::read_string(val, e.text);
    if (key == "special") {
      std::optional<bool> special;
      SIMDJSON_TRY(jsonutil::read_bool(val, special));
      e.special = special.value_or(false);
    }
    return SUCCESS;
  });
}

error_code read_details(sj::value& v, TgiEvent& e) noexcept {
  error_code err = SUCCESS;
  if (!jsonutil::is(v, sj::json_type::object, err)) return err;
  e.final = true;
  return jsonutil::for_each_field(v, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "finish_reason") return jsonutil::read_string(val, e.finish_reason);
    if (key == "generated_tokens") return jsonutil::read_int(val, e.generated_tokens);
    if (key == "input_length") return jsonutil::read_int(val, e.input_length);
    return SUCCESS;
  });
}

}  // namespace

EventOutcome TgiStreamParser::on_event(std::string_view payload, Nanos received,
                                       RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  TgiEvent e;
  const error_code err =
      parse_object(body, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
        if (key == "token") return read_token(val, e);
        if (key == "details") return read_details(val, e);
        if (key == "generated_text") {
          bool present = false;
          std::string_view text;
          SIMDJSON_TRY(jsonutil::read_string(val, text, present));
          e.final = e.final || present;
          return SUCCESS;
        }
        if (key == "error") return jsonutil::read_error_value(val, e.error_message, e.error);
        if (key == "error_type") return jsonutil::read_string(val, e.error_type);
        return SUCCESS;
      });
  if (err != SUCCESS) return fail_malformed(err, body, received, rec);
  ++well_formed_;

  if (e.error) {
    std::string_view msg = e.error_message.empty() ? e.error_type : e.error_message;
    if (msg.empty()) msg = "error event without a message";
    return fail(RequestStatus::stream_error, msg, received, rec);
  }
  // Every event is one generated token, special ones (e.g. the EOS token) included; only text
  // that is not a special token counts as output bytes.
  if (e.token) add_token_event(rec, received, 1, e.special ? 0 : e.text.size());
  if (!e.final) return EventOutcome::more;
  if (!e.finish_reason.empty()) rec.finish_reason.assign(e.finish_reason);
  if (e.generated_tokens) rec.usage.completion_tokens = e.generated_tokens;
  if (e.input_length) rec.usage.prompt_tokens = e.input_length;
  return finish(received, rec);
}

void TgiStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  end_body(t, rec, /*terminal_required=*/true, "TGI's final event (with `details`)");
}

std::string TgiAdapter::build_body(const RequestSpec& spec) const {
  using nlohmann::ordered_json;
  const SamplingParams& s = spec.sampling;
  ordered_json params = ordered_json::object();
  params["max_new_tokens"] = s.max_tokens;
  // TGI samples only when asked (do_sample); a temperature or top_p of its own implies it.
  if (s.temperature) {
    if (*s.temperature > 0) {
      params["temperature"] = *s.temperature;
      params["do_sample"] = true;
    } else {
      params["do_sample"] = false;  // TGI rejects temperature 0: greedy is do_sample false
    }
  }
  if (s.top_p && *s.top_p < 1) params["top_p"] = *s.top_p;  // TGI requires top_p < 1
  params["details"] = true;
  ordered_json body = ordered_json::object();
  body["inputs"] = std::string(spec.prompt);
  body["parameters"] = std::move(params);
  body["stream"] = true;
  return finish_body(body, s);
}

std::unique_ptr<StreamParser> TgiAdapter::make_parser() const {
  return std::make_unique<TgiStreamParser>();
}

}  // namespace splleed::protocol
