#pragma once
// Template parts of SseDecoder and NdjsonDecoder; included by net/sse_decoder.hpp.
//
// Hand-written: no available library decodes text/event-stream incrementally, and the framing is a
// few lines. Complete lines are viewed in place in the caller's bytes; only a line cut by a feed
// boundary is copied into line_.
#include <cstring>
#include <string_view>
#include <utility>

namespace splleed::net {

namespace detail {

// Position of the first '\r' or '\n' in `s` at or after `from`, or npos. Two memchr calls rather
// than string_view::find_first_of, which tests every byte against the set with a call per byte
// and cost more than everything else in the client's per-event path.
inline std::size_t find_line_end(std::string_view s, std::size_t from) noexcept {
  const char* p = s.data() + from;
  const std::size_t len = s.size() - from;
  const auto* lf = static_cast<const char*>(std::memchr(p, '\n', len));
  const std::size_t lf_len = lf ? static_cast<std::size_t>(lf - p) : len;
  const auto* cr = static_cast<const char*>(std::memchr(p, '\r', lf_len));
  if (cr) return from + static_cast<std::size_t>(cr - p);
  return lf ? from + lf_len : std::string_view::npos;
}

}  // namespace detail

template <class OnEvent>
void SseDecoder::feed(std::string_view bytes, OnEvent&& on_event) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  if (skip_lf_ && n > 0) {
    skip_lf_ = false;
    if (bytes[0] == '\n') i = 1;  // the second half of a "\r\n" split across feeds
  }
  while (i < n) {
    const std::size_t end = detail::find_line_end(bytes, i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      return;
    }
    std::string_view line = bytes.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < n) {
        if (bytes[i] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
    const bool complete = process_line(line);
    line_.clear();
    if (!complete) continue;
    const bool more = on_event(SseEvent{data_, event_});
    data_.clear();
    event_.clear();
    has_data_ = false;
    if (!more) {
      skip_lf_ = false;
      return;
    }
  }
}

template <class OnEvent>
bool SseDecoder::finish(OnEvent&& on_event) {
  bool complete = false;
  if (!line_.empty()) {
    process_line(line_);
    line_.clear();
  }
  complete = process_line(std::string_view{});
  if (complete) on_event(SseEvent{data_, event_});
  reset();
  return complete;
}

template <class OnLine>
void NdjsonDecoder::feed(std::string_view bytes, OnLine&& on_line) {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const std::size_t end = bytes.find('\n', i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      return;
    }
    std::string_view line = bytes.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    i = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      line_.clear();
      continue;
    }
    const bool more = on_line(line);
    line_.clear();
    if (!more) return;
  }
}

template <class OnLine>
bool NdjsonDecoder::finish(OnLine&& on_line) {
  std::string_view line = line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const bool dispatched = !line.empty();
  if (dispatched) on_line(line);
  line_.clear();
  return dispatched;
}

}  // namespace splleed::net
