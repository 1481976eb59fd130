#include "protocol/triton.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace {

namespace sj = jsonutil::sj;
using jsonutil::error_code;
using jsonutil::SUCCESS;

}  // namespace

EventOutcome TritonStreamParser::on_event(std::string_view payload, Nanos received,
                                          RequestRecord& rec) {
  if (finished_) return EventOutcome::done;
  std::string_view body;
  if (!begin_event(payload, received, rec, body)) return EventOutcome::more;

  std::string_view text, error_message;
  bool error = false;
  const error_code err =
      parse_object(body, [&](sj::raw_json_string key, sj::value& val) -> error_code {
        if (key == "text_output") return jsonutil::read_string(val, text);
        if (key == "error") return jsonutil::read_error_value(val, error_message, error);
        return SUCCESS;
      });
  if (err != SUCCESS) return fail_malformed(err, body, received, rec);
  ++well_formed_;

  if (error) {
    return fail(RequestStatus::stream_error,
                error_message.empty() ? "error event without a message" : error_message, received,
                rec);
  }
  // A streaming model sends one response per step, normally one token; Triton reports no count.
  if (!text.empty()) add_token_event(rec, received, 1, text.size());
  return EventOutcome::more;
}

void TritonStreamParser::on_body_end(Nanos t, RequestRecord& rec) {
  end_body(t, rec, /*terminal_required=*/false, {});  // the body's end is the stream's end
}

// Hand-written: the protocol layer does not link Boost.URL, and the rule is one line.
std::string encode_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char ch : segment) {
    const auto u = static_cast<unsigned char>(ch);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

TritonAdapter::TritonAdapter(std::string_view model) {
  if (model.empty()) {
    throw std::invalid_argument("the triton API needs a model name (--model): it is part of the path");
  }
  path_ = "/v2/models/" + encode_path_segment(model) + "/generate_stream";
}

std::string TritonAdapter::build_body(const RequestSpec& spec) const {
  using nlohmann::ordered_json;
  const SamplingParams& s = spec.sampling;
  ordered_json body = ordered_json::object();
  body["text_input"] = std::string(spec.prompt);
  body["max_tokens"] = s.max_tokens;
  body["stream"] = true;
  if (s.temperature) body["temperature"] = *s.temperature;
  if (s.top_p) body["top_p"] = *s.top_p;
  return finish_body(body, s);
}

std::unique_ptr<StreamParser> TritonAdapter::make_parser() const {
  return std::make_unique<TritonStreamParser>();
}

}  // namespace splleed::protocol
