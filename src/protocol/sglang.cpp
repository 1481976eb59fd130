#include "protocol/sglang.hpp"

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace {

namespace sj = jsonutil::sj;
using jsonutil::error_code;
using jsonutil::SUCCESS;

struct SglangEvent {
  bool has_text = false;
  std::string_view text;  // cumulative
  std::string_view id;
  std::optional<std::int64_t> prompt_tokens, completion_tokens, cached_tokens;
  std::optional<double> e2e_latency_s;
  bool has_finish = false;
  std::string_view finish_type, finish_message;
  bool error = false;
  std::string_view error_message;
};

// `finish_reason`: null while generating, then {"type": "length"|"stop"|"abort", ...}. Older
// servers sent a plain string; that is taken as the type.
error_code read_finish(sj::value& v, SglangEvent& e) noexcept {
  error_code err = SUCCESS;
  if (jsonutil::is(v, sj::json_type::string, err)) {
    return jsonutil::read_string(v, e.finish_type, e.has_finish);
  }
  SIMDJSON_TRY(err);
  if (!jsonutil::is(v, sj::json_type::object, err)) return err;
  e.has_finish = true;
  return jsonutil::for_each_field(v, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "type") return jsonutil::read_string(val, e.finish_type);
    if (key == "message") return jsonutil::read_string(val, e.finish_message);
    return SUCCESS;
  });
}

error_code read_meta(sj::value& v, SglangEvent& e) noexcept {
  return jsonutil::for_each_field(v, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "completion_tokens") return jsonutil::read_int(val, e.completion_tokens);
    if (key == "prompt_tokens") return jsonutil::read_int(val, e.prompt_tokens);
    if (key == "cached_tokens") return jsonutil::read_int(val, e.cached_tokens);
    if (key == "finish_reason") return read_finish(val, e);
    if (key == "id") return jsonutil::read_string(val, e.id);
    if (key == "e2e_latency") return jsonutil::read_double(val, e.e2e_latency_s);
    return SUCCESS;
  });
}

}  // namespace

EventOutcome SglangStreamParser::on_event(std::string_view payload, Nanos received,
                                          RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  if (jsonutil::trim(payload) == "[DONE]") return finish(received, rec);
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  SglangEvent e;
  const error_code err =
      parse_object(body, [&e](sj::raw_json_string key, sj::value& val) -> error_code {
        if (key == "text") return jsonutil::read_string(val, e.text, e.has_text);
        if (key == "meta_info") return read_meta(val, e);
        if (key == "error") return jsonutil::read_error_value(val, e.error_message, e.error);
        return SUCCESS;
      });
  if (err != SUCCESS) return fail_malformed(err, body, received, rec);
  ++well_formed_;

  if (e.error) {
    return fail(RequestStatus::stream_error,
                e.error_message.empty() ? "error event without a message" : e.error_message,
                received, rec);
  }
  if (e.has_finish && e.finish_type == "abort") {
    return fail(RequestStatus::stream_error,
                e.finish_message.empty() ? "the request was aborted" : e.finish_message, received,
                rec);
  }

  if (rec.response_id.empty() && !e.id.empty()) rec.response_id.assign(e.id);
  if (e.prompt_tokens) rec.usage.prompt_tokens = e.prompt_tokens;
  if (e.completion_tokens) rec.usage.completion_tokens = e.completion_tokens;
  if (e.cached_tokens) rec.usage.cached_tokens = e.cached_tokens;
  if (e.e2e_latency_s) rec.server_timings.total_ms = *e.e2e_latency_s * 1e3;
  if (e.has_finish) {
    finish_seen_ = true;
    if (!e.finish_type.empty()) rec.finish_reason.assign(e.finish_type);
  }

  // Text is cumulative: the new bytes are its growth.
  std::size_t grown = 0;
  if (e.has_text && e.text.size() > text_bytes_) {
    grown = e.text.size() - text_bytes_;
    text_bytes_ = e.text.size();
  }
  // A token event is one where completion_tokens rose (by k: k tokens), or, from a server that
  // does not count, where the text grew (1 token).
  if (e.completion_tokens) {
    if (*e.completion_tokens > attributed_) {
      add_token_event(rec, received, *e.completion_tokens - attributed_, grown);
    } else {
      rec.output_bytes += grown;
    }
  } else if (grown > 0) {
    add_token_event(rec, received, 1, grown);
  }
  return EventOutcome::more;
}

void SglangStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  // SGLang always ends with [DONE]; a stream cut after its finishing event lost nothing.
  end_body(t, rec, /*terminal_required=*/!finish_seen_, "a finish_reason or [DONE]");
}

// The native request has no model field (a server serves one model); extra_body can add one.
std::string SglangAdapter::build_body(const RequestSpec& spec) const {
  using nlohmann::ordered_json;
  const SamplingParams& s = spec.sampling;
  ordered_json params = ordered_json::object();
  params["max_new_tokens"] = s.max_tokens;
  if (s.temperature) params["temperature"] = *s.temperature;
  if (s.top_p) params["top_p"] = *s.top_p;
  if (s.ignore_eos) params["ignore_eos"] = true;
  if (s.min_tokens) params["min_new_tokens"] = *s.min_tokens;
  ordered_json body = ordered_json::object();
  body["text"] = std::string(spec.prompt);
  body["sampling_params"] = std::move(params);
  body["stream"] = true;
  return finish_body(body, s);
}

std::unique_ptr<StreamParser> SglangAdapter::make_parser() const {
  return std::make_unique<SglangStreamParser>();
}

}  // namespace splleed::protocol
