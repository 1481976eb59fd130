#pragma once
// What every JSON stream parser shares: one simdjson On-Demand parser and one padded payload buffer
// per thread, reused across events, requests and streams; typed readers that skip values of an
// unexpected type; and the bookkeeping of a stream's end (terminal event, in-band error, malformed
// payload, body end). Nothing here allocates in the steady state; error paths may.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json_fwd.hpp>
#include <simdjson.h>

#include "protocol/adapter.hpp"

namespace splleed::protocol {

namespace jsonutil {

namespace sj = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

// Strips ASCII whitespace at both ends.
std::string_view trim(std::string_view s) noexcept;

// The longest prefix of at most `max` bytes that does not split a UTF-8 sequence, so that
// truncated text stays valid for the JSON reporter.
std::string_view utf8_prefix(std::string_view s, std::size_t max) noexcept;

// A printable excerpt of a payload for error messages (control bytes become spaces; non-ASCII
// bytes become '?' when the excerpt is not valid UTF-8), with "..." when cut.
std::string excerpt(std::string_view payload, std::size_t max);

// The message for a payload simdjson could not parse, quoting its first `excerpt_bytes` bytes.
std::string describe_malformed(error_code err, std::string_view payload, std::size_t excerpt_bytes);

// True when `v` has JSON type `want`; `err` reports a parse error (not a type mismatch).
inline bool is(sj::value& v, sj::json_type want, error_code& err) noexcept {
  sj::json_type t{};
  err = v.type().get(t);
  return err == SUCCESS && t == want;
}

// Typed readers: a value of another type (null included) leaves the output untouched and is not
// an error; only malformed JSON is.
inline error_code read_string(sj::value& v, std::string_view& out, bool& present) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::string, err)) return err;
  SIMDJSON_TRY(v.get_string().get(out));
  present = true;
  return SUCCESS;
}

inline error_code read_string(sj::value& v, std::string_view& out) noexcept {
  bool present = false;
  return read_string(v, out, present);
}

// Integers only: non-integral numbers and integers beyond int64 are ignored.
inline error_code read_int(sj::value& v, std::optional<std::int64_t>& out) noexcept {
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

// Any number, as a double.
inline error_code read_double(sj::value& v, std::optional<double>& out) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::number, err)) return err;
  double x = 0;
  SIMDJSON_TRY(v.get_double().get(x));
  out = x;
  return SUCCESS;
}

inline error_code read_bool(sj::value& v, std::optional<bool>& out) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::boolean, err)) return err;
  bool x = false;
  SIMDJSON_TRY(v.get_bool().get(x));
  out = x;
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

// The number of elements when `v` is an array (anything else leaves `out` untouched).
inline error_code count_elements(sj::value& v, std::optional<std::int64_t>& out) noexcept {
  error_code err = SUCCESS;
  if (!is(v, sj::json_type::array, err)) return err;
  sj::array arr;
  SIMDJSON_TRY(v.get_array().get(arr));
  std::int64_t n = 0;
  for (auto result : arr) {
    sj::value elem;
    SIMDJSON_TRY(std::move(result).get(elem));  // skipped unread; its structure is still checked
    ++n;
  }
  out = n;
  return SUCCESS;
}

// The error text of an in-band error value: a string, or an object's `message` (else `type`).
// `present` is set unless the value is null.
error_code read_error_value(sj::value& v, std::string_view& message, bool& present) noexcept;

}  // namespace jsonutil

// Base of the stream parsers: payload buffering and parsing, the stream's end, token events.
// A parser reads one stream at a time and is reused across requests via reset().
//
// The simdjson parser and the padded payload buffer belong to the thread, not to the stream: a
// payload is parsed from start to end within one on_event call, which never suspends, so every
// stream parser on a thread can take turns with one set. Thousands of concurrent streams on a
// worker thus share one structural index and one string buffer (which stay in cache) instead of
// each holding its own (several pages touched per stream).
class JsonEventParser : public StreamParser {
 public:
  static constexpr std::size_t kInitialCapacity = 4096;  // payload bytes, grown on demand
  static constexpr std::size_t kMaxErrorBytes = 300;     // rec.error is cut to this length
  static constexpr std::size_t kPayloadExcerptBytes = 80;

  void reset() override;

  // Current size of the calling thread's padded payload buffer (for tests of buffer reuse).
  std::size_t capacity() const;

 protected:
  // Copies `body` into the padded buffer (growing it if needed), parses it as one JSON object and
  // calls on_field(key, value) for each top-level field. Anything after the root object is an
  // error (e.g. `{...}{...}`); so is a root that is not an object (INCORRECT_TYPE).
  template <class Fn>
  jsonutil::error_code parse_object(std::string_view body, Fn&& on_field);

  // Starts an event: ignores it (returns false) after the end or when blank; otherwise counts it
  // and sets first_event. `body` receives the trimmed payload.
  bool begin_event(std::string_view payload, Nanos received, RequestRecord& rec,
                   std::string_view& body) noexcept;

  // Ends the stream with an error status and message (cut to kMaxErrorBytes).
  EventOutcome fail(RequestStatus status, std::string_view message, Nanos received,
                    RequestRecord& rec);
  EventOutcome fail_malformed(jsonutil::error_code err, std::string_view body, Nanos received,
                              RequestRecord& rec);
  // Ends the stream normally at its terminal event: ok unless a status was already set.
  EventOutcome finish(Nanos received, RequestRecord& rec) noexcept;

  // Appends a token event carrying `tokens` tokens (clamped to [1, 2^32-1]) and `bytes` bytes.
  void add_token_event(RequestRecord& rec, Nanos received, std::int64_t tokens,
                       std::size_t bytes);
  // Tokens of an event whose cumulative generated count is `cumulative`: those not yet attributed
  // to earlier token events (at least 1). Without a count, 1.
  std::int64_t tokens_from_cumulative(std::optional<std::int64_t> cumulative) const noexcept;

  // Body end without a terminal event. With `terminal_required`, a stream that had events but not
  // its terminal one is a protocol_error naming `what_was_missing`; otherwise ok. A stream with no
  // event at all is always a protocol_error.
  void end_body(Nanos t, RequestRecord& rec, bool terminal_required,
                std::string_view what_was_missing);

  // A hook for subclasses to clear their own per-stream state.
  virtual void reset_stream() noexcept {}

  bool finished_ = false;          // terminal event or error seen: later events are ignored
  std::uint32_t well_formed_ = 0;  // events parsed without error in this stream
  std::int64_t attributed_ = 0;    // tokens attributed to token events so far

 private:
  // The calling thread's parser and payload buffer (created on the thread's first use).
  struct Scratch {
    Scratch();
    // Copies `body` into the buffer, followed by zeroed padding, growing the buffer if needed.
    const char* load(std::string_view body);
    jsonutil::sj::parser parser;
    std::unique_ptr<char[]> buffer;  // payload copy followed by SIMDJSON_PADDING bytes
    std::size_t capacity = 0;        // usable payload bytes (buffer holds capacity + padding)
  };
  static Scratch& scratch();
};

template <class Fn>
jsonutil::error_code JsonEventParser::parse_object(std::string_view body, Fn&& on_field) {
  namespace sj = jsonutil::sj;
  Scratch& s = scratch();
  const char* json = s.load(body);
  sj::document doc;
  SIMDJSON_TRY(
      s.parser.iterate(json, body.size(), s.capacity + simdjson::SIMDJSON_PADDING).get(doc));
  sj::object root;
  SIMDJSON_TRY(doc.get_object().get(root));
  for (auto result : root) {
    sj::field field;
    SIMDJSON_TRY(std::move(result).get(field));
    SIMDJSON_TRY(on_field(field.key(), field.value()));
  }
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return simdjson::TRAILING_CONTENT;
  return jsonutil::SUCCESS;
}

// Builds a request body: `body` with sampling.extra_body merged last (RFC 7386 merge patch: its
// keys win, nested objects merge, null removes), dumped with invalid UTF-8 replaced.
// Throws std::invalid_argument when extra_body is not a JSON object.
std::string finish_body(nlohmann::ordered_json& body, const SamplingParams& sampling);

}  // namespace splleed::protocol
