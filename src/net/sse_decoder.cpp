#include "net/sse_decoder.hpp"

namespace splleed::net {

// One line of the stream, without its line end (WHATWG HTML, "Interpreting an event stream").
// Returns true when the line is blank and the event built so far has data to dispatch; a blank
// line without data only clears the event type.
bool SseDecoder::process_line(std::string_view line) {
  if (line.empty()) {
    if (has_data_ && !data_.empty()) return true;
    data_.clear();
    event_.clear();
    has_data_ = false;
    return false;
  }
  if (line.front() == ':') return false;  // comment
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  }
  // "id" and "retry" only matter to a reconnecting EventSource; unknown fields are ignored.
  return false;
}

void SseDecoder::reset() {
  line_.clear();
  data_.clear();
  event_.clear();
  has_data_ = false;
  skip_lf_ = false;
}

}  // namespace splleed::net
