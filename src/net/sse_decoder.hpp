#pragma once
// Byte-stream decoders: bytes in (split anywhere), complete events out. No I/O, no clock.
//
// SseDecoder follows the WHATWG event-stream rules: events end at a blank line; lines end with
// "\r\n", "\n" or "\r"; lines starting with ':' are comments; "data:" with or without one leading
// space; several data lines are joined with '\n'; `event:` names the type. An event whose data is
// empty is not dispatched. Buffers grow to the largest event seen and are then reused, so the steady
// state does not allocate.
#include <string>
#include <string_view>

namespace splleed::net {

struct SseEvent {
  std::string_view data;   // valid only during the callback
  std::string_view event;  // "" when no `event:` line
};

class SseDecoder {
 public:
  // Calls on_event(const SseEvent&) for each complete event in `bytes`. If on_event returns
  // false, decoding stops and the remaining bytes are dropped (the caller is done with the stream).
  template <class OnEvent>
  void feed(std::string_view bytes, OnEvent&& on_event);
  // End of stream: an event cut off without its blank line is dispatched if it has data
  // (lenient: some servers omit the final blank line). Returns whether one was dispatched.
  template <class OnEvent>
  bool finish(OnEvent&& on_event);
  void reset();
  // Bytes buffered of an incomplete line.
  std::size_t pending() const noexcept { return line_.size(); }

 private:
  bool process_line(std::string_view line);  // true when a blank line completes an event
  std::string line_;   // partial line carried across feeds
  std::string data_;   // data of the event being built
  std::string event_;  // its event type
  bool has_data_ = false;
  bool skip_lf_ = false;  // last byte was '\r'; a following '\n' belongs to it
};

// Newline-delimited JSON: one event per non-empty line ("\n" or "\r\n").
class NdjsonDecoder {
 public:
  template <class OnLine>
  void feed(std::string_view bytes, OnLine&& on_line);  // on_line(std::string_view) -> bool
  template <class OnLine>
  bool finish(OnLine&& on_line);  // dispatches a last line without a newline
  void reset() { line_.clear(); }

 private:
  std::string line_;
};

}  // namespace splleed::net

#include "net/sse_decoder_impl.hpp"
