#pragma once
// Triton Inference Server generate extension: POST /v2/models/{model}/generate_stream (SSE
// `data: {json}`). Each event carries `model_name`, `model_version` and the model's outputs, here
// `text_output` (the new text of a streaming TensorRT-LLM model); errors are `{"error": "..."}`.
// There is no terminal event: the stream ends with the response body. docs/design/protocol.md.
#include <memory>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"

namespace splleed::protocol {

class TritonStreamParser final : public JsonEventParser {
 public:
  EventOutcome on_event(std::string_view payload, Nanos received, RequestRecord& rec) override;
  void on_body_end(Nanos t, RequestRecord& rec) override;
};

// The path names the model, so the adapter needs it: throws std::invalid_argument when empty.
class TritonAdapter final : public ProtocolAdapter {
 public:
  explicit TritonAdapter(std::string_view model);
  Api api() const noexcept override { return Api::triton; }
  Framing framing() const noexcept override { return Framing::sse; }
  std::string_view path() const noexcept override { return path_; }
  // {"text_input": prompt, "max_tokens", "stream": true, "temperature"?, "top_p"?}: the inputs of
  // TensorRT-LLM's ensemble model; other models take other names (extra_body).
  std::string build_body(const RequestSpec& spec) const override;
  std::unique_ptr<StreamParser> make_parser() const override;

 private:
  std::string path_;
};

// Percent-encodes `segment` for use as one URL path segment (RFC 3986: unreserved bytes stay).
std::string encode_path_segment(std::string_view segment);

}  // namespace splleed::protocol
