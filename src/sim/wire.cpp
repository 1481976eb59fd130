#include "sim/wire.hpp"

#include <iterator>

#include <nlohmann/json.hpp>

namespace splleed::sim {

namespace {

std::string_view object_name(Endpoint e, bool stream) {
  if (e == Endpoint::completions) return "text_completion";
  return stream ? "chat.completion.chunk" : "chat.completion";
}

// vLLM writes usage fields in this order (its UsageInfo declaration order).
void append_usage(fmt::memory_buffer& out, UsageCounts u) {
  fmt::format_to(fmt::appender(out),
                 R"("usage":{{"prompt_tokens":{},"total_tokens":{},"completion_tokens":{}}})",
                 u.prompt, u.prompt + u.completion, u.completion);
}

void append_head(fmt::memory_buffer& out, const ChunkContext& c, bool stream) {
  fmt::format_to(fmt::appender(out), R"({{"id":"{}","object":"{}","created":{},"model":"{}",)",
                 c.id, object_name(c.endpoint, stream), c.created, c.model);
}

void append_reason(fmt::memory_buffer& out, std::string_view finish_reason) {
  if (finish_reason.empty()) {
    out.append(std::string_view("null"));
  } else {
    out.push_back('"');
    out.append(finish_reason);
    out.push_back('"');
  }
}

void append_sv(fmt::memory_buffer& out, std::string_view s) { out.append(s); }

}  // namespace

std::string json_escape(std::string_view s) {
  std::string quoted = nlohmann::json(std::string(s)).dump();
  return quoted.substr(1, quoted.size() - 2);
}

void append_token_event(fmt::memory_buffer& out, const ChunkContext& c, std::string_view text,
                        std::string_view finish_reason, const UsageCounts* usage) {
  append_sv(out, "data: ");
  append_head(out, c, true);
  if (c.endpoint == Endpoint::completions) {
    fmt::format_to(fmt::appender(out), R"("choices":[{{"index":0,"text":"{}","logprobs":null,"finish_reason":)",
                   text);
    append_reason(out, finish_reason);
    // vLLM sets stop_reason on every completions chunk, and on the final chat chunk only.
    append_sv(out, R"(,"stop_reason":null}])");
  } else {
    fmt::format_to(fmt::appender(out),
                   R"("choices":[{{"index":0,"delta":{{"content":"{}"}},"logprobs":null,"finish_reason":)", text);
    append_reason(out, finish_reason);
    if (!finish_reason.empty()) append_sv(out, R"(,"stop_reason":null)");
    append_sv(out, "}]");
  }
  if (usage) {
    out.push_back(',');
    append_usage(out, *usage);
  }
  append_sv(out, "}\n\n");
}

void append_role_event(fmt::memory_buffer& out, const ChunkContext& c, const UsageCounts* usage) {
  append_sv(out, "data: ");
  append_head(out, c, true);
  append_sv(out,
            R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}])");
  if (usage) {
    out.push_back(',');
    append_usage(out, *usage);
  }
  append_sv(out, "}\n\n");
}

void append_usage_event(fmt::memory_buffer& out, const ChunkContext& c, UsageCounts usage) {
  append_sv(out, "data: ");
  append_head(out, c, true);
  append_sv(out, R"("choices":[],)");
  append_usage(out, usage);
  append_sv(out, "}\n\n");
}

void append_done_event(fmt::memory_buffer& out) { append_sv(out, "data: [DONE]\n\n"); }

void append_error_event(fmt::memory_buffer& out) {
  append_sv(out,
            R"(data: {"error":{"message":"simulated engine failure","type":"internal_error","code":500}})"
            "\n\n");
}

void append_malformed_event(fmt::memory_buffer& out) { append_sv(out, "data: {\"choices\": [\n\n"); }

void append_http_chunk(fmt::memory_buffer& out, std::string_view payload) {
  fmt::format_to(fmt::appender(out), "{:x}\r\n", payload.size());
  out.append(payload);
  append_sv(out, "\r\n");
}

std::string completion_body(const ChunkContext& c, std::string_view text,
                            std::string_view finish_reason, UsageCounts usage) {
  fmt::memory_buffer out;
  append_head(out, c, false);
  std::string escaped = json_escape(text);
  if (c.endpoint == Endpoint::completions) {
    fmt::format_to(fmt::appender(out), R"("choices":[{{"index":0,"text":"{}","logprobs":null,"finish_reason":)",
                   escaped);
  } else {
    fmt::format_to(fmt::appender(out),
                   R"("choices":[{{"index":0,"message":{{"role":"assistant","content":"{}","tool_calls":[]}},"logprobs":null,"finish_reason":)",
                   escaped);
  }
  append_reason(out, finish_reason);
  append_sv(out, R"(,"stop_reason":null}],)");
  append_usage(out, usage);
  out.push_back('}');
  return fmt::to_string(out);
}

std::string error_body(std::string_view message, std::string_view type, int code) {
  nlohmann::ordered_json j = {{"error", {{"message", message}, {"type", type}, {"code", code}}}};
  return j.dump();
}

std::string models_body(std::string_view model, std::int64_t created,
                        std::optional<std::int64_t> max_model_len) {
  nlohmann::ordered_json m = {{"id", model},           {"object", "model"}, {"created", created},
                      {"owned_by", "splleed"}, {"root", model},     {"parent", nullptr},
                      {"permission", nlohmann::ordered_json::array()}};
  if (max_model_len) m["max_model_len"] = *max_model_len;
  nlohmann::ordered_json j = {{"object", "list"}, {"data", nlohmann::ordered_json::array({m})}};
  return j.dump();
}

}  // namespace splleed::sim
