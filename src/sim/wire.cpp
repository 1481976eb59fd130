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

TokenizeReply tokenize_reply(std::string_view request_body, std::string_view model,
                             std::int64_t kv_tokens) {
  using nlohmann::json;
  using nlohmann::ordered_json;
  const json req = json::parse(request_body, nullptr, /*allow_exceptions=*/false);
  if (!req.is_object())
    return {400, error_body("the request body is not a JSON object", "BadRequestError", 400)};
  enum class Shape { vllm, tgi, llamacpp } shape = Shape::vllm;
  std::string text;
  if (auto p = req.find("prompt"); p != req.end() && p->is_string()) {
    text = p->get<std::string>();
  } else if (auto ms = req.find("messages"); ms != req.end() && ms->is_array()) {
    for (const json& msg : *ms)
      if (msg.is_object() && msg.contains("content") && msg["content"].is_string())
        text += msg["content"].get<std::string>();
  } else if (auto in = req.find("inputs"); in != req.end() && in->is_string()) {
    shape = Shape::tgi;
    text = in->get<std::string>();
  } else if (auto c = req.find("content"); c != req.end() && c->is_string()) {
    shape = Shape::llamacpp;
    text = c->get<std::string>();
  } else {
    return {400, error_body("a tokenize request needs \"prompt\", \"messages\", \"inputs\" or "
                            "\"content\"",
                            "BadRequestError", 400)};
  }
  if (auto m = req.find("model"); shape == Shape::vllm && m != req.end() && m->is_string() &&
                                  !m->get<std::string>().empty() && *m != model) {
    return {404, error_body("The model `" + m->get<std::string>() + "` does not exist.",
                            "NotFoundError", 404)};
  }
  ordered_json tokens = ordered_json::array();
  for (std::size_t at = 0; at < text.size(); at += 4) {
    const std::string_view piece = std::string_view(text).substr(at, 4);
    // FNV-1a of the token's bytes, folded into a 32k vocabulary.
    std::uint32_t h = 2166136261u;
    for (char c : piece) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    const std::uint32_t id = h % 32000u;
    if (shape == Shape::tgi) {
      tokens.push_back(ordered_json{{"id", id},
                                    {"text", std::string(piece)},  // may cut a UTF-8 sequence: dumped with replace
                                    {"start", at},
                                    {"stop", at + piece.size()}});
    } else {
      tokens.push_back(id);
    }
  }
  if (shape == Shape::tgi) return {200, tokens.dump(-1, ' ', false, json::error_handler_t::replace)};
  ordered_json out;
  if (shape == Shape::vllm) {
    out["count"] = tokens.size();
    out["max_model_len"] = kv_tokens > 0 ? ordered_json(kv_tokens) : ordered_json(nullptr);
  }
  out["tokens"] = std::move(tokens);
  if (shape == Shape::vllm) out["token_strs"] = nullptr;
  return {200, out.dump()};  // ids only: nothing to replace
}

}  // namespace splleed::sim
