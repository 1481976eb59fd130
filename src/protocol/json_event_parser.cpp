#include "protocol/json_event_parser.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace splleed::protocol {

namespace jsonutil {

std::string_view trim(std::string_view s) noexcept {
  // Plain loops: find_first_not_of(" \t\r\n") calls memchr once per byte tested.
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string_view utf8_prefix(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// simdjson provides the UTF-8 check; the substitution itself is too small a job for a library.
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

std::string describe_malformed(error_code err, std::string_view payload,
                               std::size_t excerpt_bytes) {
  std::string msg = err == simdjson::INCORRECT_TYPE
                        ? std::string("stream event is not a JSON object")
                        : std::string("malformed JSON in stream event (") +
                              simdjson::error_message(err) + ")";
  msg += ": `";
  msg += excerpt(payload, excerpt_bytes);
  msg += '`';
  return msg;
}

error_code read_error_value(sj::value& v, std::string_view& message, bool& present) noexcept {
  sj::json_type t{};
  SIMDJSON_TRY(v.type().get(t));
  if (t == sj::json_type::null) return SUCCESS;
  present = true;
  if (t == sj::json_type::string) return read_string(v, message);
  std::string_view type;
  SIMDJSON_TRY(for_each_field(v, [&](sj::raw_json_string key, sj::value& val) -> error_code {
    if (key == "message") return read_string(val, message);
    if (key == "type") return read_string(val, type);
    return SUCCESS;
  }));
  if (message.empty()) message = type;
  return SUCCESS;
}

}  // namespace jsonutil

// ---- JsonEventParser -------------------------------------------------------------------------

JsonEventParser::Scratch::Scratch() {
  load({});
  if (parser.allocate(kInitialCapacity) != simdjson::SUCCESS) throw std::bad_alloc();
}

JsonEventParser::Scratch& JsonEventParser::scratch() {
  thread_local Scratch s;
  return s;
}

std::size_t JsonEventParser::capacity() const { return scratch().capacity; }

const char* JsonEventParser::Scratch::load(std::string_view body) {
  if (body.size() > capacity || !buffer) {
    const std::size_t cap = std::max({body.size(), capacity * 2, kInitialCapacity});
    buffer = std::make_unique<char[]>(cap + simdjson::SIMDJSON_PADDING);  // zero-filled padding
    capacity = cap;
  }
  if (!body.empty()) std::memcpy(buffer.get(), body.data(), body.size());
  std::memset(buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  return buffer.get();
}

void JsonEventParser::reset() {
  finished_ = false;
  well_formed_ = 0;
  attributed_ = 0;
  reset_stream();
}

bool JsonEventParser::begin_event(std::string_view payload, Nanos received, RequestRecord& rec,
                                  std::string_view& body) noexcept {
  if (finished_) return false;
  body = jsonutil::trim(payload);
  if (body.empty()) return false;  // carries nothing (keep-alive)
  ++rec.events;
  if (!rec.first_event) rec.first_event = received;
  return true;
}

EventOutcome JsonEventParser::fail(RequestStatus status, std::string_view message, Nanos received,
                                   RequestRecord& rec) {
  finished_ = true;
  rec.status = status;
  rec.error.assign(jsonutil::utf8_prefix(message, kMaxErrorBytes));
  rec.end = received;
  return EventOutcome::done;
}

EventOutcome JsonEventParser::fail_malformed(jsonutil::error_code err, std::string_view body,
                                             Nanos received, RequestRecord& rec) {
  return fail(RequestStatus::protocol_error,
              jsonutil::describe_malformed(err, body, kPayloadExcerptBytes), received, rec);
}

EventOutcome JsonEventParser::finish(Nanos received, RequestRecord& rec) noexcept {
  finished_ = true;
  rec.end = received;
  if (rec.status == RequestStatus::incomplete) rec.status = RequestStatus::ok;
  return EventOutcome::done;
}

void JsonEventParser::add_token_event(RequestRecord& rec, Nanos received, std::int64_t tokens,
                                      std::size_t bytes) {
  const std::int64_t n =
      std::clamp<std::int64_t>(tokens, 1, std::numeric_limits<std::uint32_t>::max());
  attributed_ += n;
  rec.tokens.push_back(TokenEvent{received, static_cast<std::uint32_t>(n)});
  if (!rec.first_token) rec.first_token = received;
  rec.last_token = received;
  rec.output_bytes += bytes;
}

std::int64_t JsonEventParser::tokens_from_cumulative(
    std::optional<std::int64_t> cumulative) const noexcept {
  if (!cumulative) return 1;
  return std::max<std::int64_t>(1, *cumulative - attributed_);
}

void JsonEventParser::end_body(Nanos t, RequestRecord& rec, bool terminal_required,
                               std::string_view what_was_missing) {
  if (finished_) return;
  finished_ = true;
  rec.end = t;
  if (rec.status != RequestStatus::incomplete) return;  // decided elsewhere (e.g. cancelled)
  if (well_formed_ == 0) {
    rec.status = RequestStatus::protocol_error;
    rec.error = "the stream ended with no events";
    return;
  }
  if (terminal_required) {
    rec.status = RequestStatus::protocol_error;
    rec.error = "the stream ended without ";
    rec.error += what_was_missing;
    return;
  }
  rec.status = RequestStatus::ok;
}

// ---- bodies ----------------------------------------------------------------------------------

std::string finish_body(nlohmann::ordered_json& body, const SamplingParams& sampling) {
  using nlohmann::ordered_json;
  if (!sampling.extra_body.empty()) {
    ordered_json extra = ordered_json::parse(sampling.extra_body);
    if (!extra.is_object()) throw std::invalid_argument("extra_body must be a JSON object");
    body.merge_patch(extra);
  }
  // Prompts may hold invalid UTF-8 (raw files): replace it rather than fail the request.
  return body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace splleed::protocol
