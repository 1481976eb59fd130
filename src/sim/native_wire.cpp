#include "sim/native_wire.hpp"

#include <ctime>
#include <iterator>

#include <nlohmann/json.hpp>

namespace splleed::sim {

namespace {

void put(fmt::memory_buffer& out, std::string_view s) { out.append(s); }

double ms(Nanos ns) noexcept { return static_cast<double>(ns) / 1e6; }

// A rate that stays finite JSON: 0 when nothing was measured.
double per(double numerator, double denominator) noexcept {
  return denominator > 0 ? numerator / denominator : 0.0;
}

}  // namespace

void append_tgi_token_event(fmt::memory_buffer& out, std::int64_t index, std::int32_t token_id,
                            std::string_view text, bool special, const NativeSummary* last,
                            std::string_view generated_text) {
  // TGI writes its SSE events without a space after `data:` (axum's Event::json_data).
  const double logprob = -0.125 * static_cast<double>(1 + token_id % 8);
  fmt::format_to(fmt::appender(out),
                 R"(data:{{"index":{},"token":{{"id":{},"text":"{}","logprob":{},"special":{}}},)",
                 index, token_id, text, logprob, special);
  if (last == nullptr) {
    put(out, R"("generated_text":null,"details":null})");
  } else {
    fmt::format_to(fmt::appender(out),
                   R"("generated_text":"{}","details":{{"finish_reason":"{}","generated_tokens":{},"seed":null,"input_length":{}}}}})",
                   generated_text, last->eos ? "eos_token" : "length", last->completion_tokens,
                   last->prompt_tokens);
  }
  put(out, "\n\n");
}

void append_sglang_event(fmt::memory_buffer& out, std::string_view id, std::string_view text,
                         std::int64_t prompt_tokens, std::int64_t completion_tokens,
                         std::int64_t cached_tokens, const NativeSummary* last, double e2e_s) {
  // SGLang writes `data: ` + orjson.dumps(...): compact JSON.
  fmt::format_to(fmt::appender(out), R"(data: {{"text":"{}","meta_info":{{"id":"{}","finish_reason":)",
                 text, id);
  if (last == nullptr) {
    put(out, "null");
  } else if (last->eos) {
    fmt::format_to(fmt::appender(out), R"({{"type":"stop","matched":{}}})", kEosTokenId);
  } else {
    fmt::format_to(fmt::appender(out), R"({{"type":"length","length":{}}})", completion_tokens);
  }
  fmt::format_to(fmt::appender(out),
                 R"(,"prompt_tokens":{},"completion_tokens":{},"cached_tokens":{},"e2e_latency":{}}}}})",
                 prompt_tokens, completion_tokens, cached_tokens, e2e_s);
  put(out, "\n\n");
}

void append_llamacpp_token_event(fmt::memory_buffer& out, std::string_view content,
                                 std::int32_t token_id, std::int64_t tokens_predicted,
                                 std::int64_t tokens_evaluated) {
  fmt::format_to(fmt::appender(out),
                 R"(data: {{"index":0,"content":"{}","tokens":[{}],"stop":false,"id_slot":-1,"tokens_predicted":{},"tokens_evaluated":{}}})",
                 content, token_id, tokens_predicted, tokens_evaluated);
  put(out, "\n\n");
}

void append_llamacpp_final_event(fmt::memory_buffer& out, std::string_view model,
                                 const NativeSummary& s) {
  const double prompt_ms = ms(s.prefill_ns);
  const double predicted_ms = ms(s.decode_ns);
  const auto prompt_n = static_cast<double>(s.prompt_computed);
  const auto predicted_n = static_cast<double>(s.completion_tokens);
  fmt::format_to(fmt::appender(out),
                 R"(data: {{"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"{}",)"
                 R"("tokens_predicted":{},"tokens_evaluated":{},"has_new_line":false,"truncated":false,)"
                 R"("stop_type":"{}","stopping_word":"","tokens_cached":{},)",
                 model, s.completion_tokens, s.prompt_tokens, s.eos ? "eos" : "limit",
                 s.prompt_tokens + s.completion_tokens);
  fmt::format_to(fmt::appender(out),
                 R"("timings":{{"cache_n":{},"prompt_n":{},"prompt_ms":{},"prompt_per_token_ms":{},)"
                 R"("prompt_per_second":{},"predicted_n":{},"predicted_ms":{},)"
                 R"("predicted_per_token_ms":{},"predicted_per_second":{}}}}})",
                 s.cached_tokens, s.prompt_computed, prompt_ms, per(prompt_ms, prompt_n),
                 per(1e3 * prompt_n, prompt_ms), s.completion_tokens, predicted_ms,
                 per(predicted_ms, predicted_n), per(1e3 * predicted_n, predicted_ms));
  put(out, "\n\n");
}

void append_ollama_event(fmt::memory_buffer& out, bool chat, std::string_view model,
                         std::int64_t unix_ns, std::string_view text, const NativeSummary* last) {
  // created_at as Go's time.Time marshals it: RFC 3339 with nanoseconds, UTC.
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  fmt::format_to(fmt::appender(out),
                 R"({{"model":"{}","created_at":"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",)", model,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 unix_ns % 1'000'000'000);
  if (chat) {
    fmt::format_to(fmt::appender(out), R"("message":{{"role":"assistant","content":"{}"}},)", text);
  } else {
    fmt::format_to(fmt::appender(out), R"("response":"{}",)", text);
  }
  if (last == nullptr) {
    put(out, "\"done\":false}\n");
    return;
  }
  // The model is loaded once and stays: load_duration is 0.
  fmt::format_to(fmt::appender(out),
                 R"("done":true,"done_reason":"{}","total_duration":{},"load_duration":0,)"
                 R"("prompt_eval_count":{},"prompt_eval_duration":{},"eval_count":{},"eval_duration":{}}})",
                 last->eos ? "stop" : "length", last->total_ns, last->prompt_tokens, last->prefill_ns,
                 last->completion_tokens, last->decode_ns);
  put(out, "\n");
}

void append_triton_event(fmt::memory_buffer& out, std::string_view model, std::string_view text) {
  fmt::format_to(fmt::appender(out),
                 R"(data: {{"model_name":"{}","model_version":"1","sequence_end":false,"sequence_id":0,"sequence_start":false,"text_output":"{}"}})",
                 model, text);
  put(out, "\n\n");
}

void append_native_error_event(fmt::memory_buffer& out, Endpoint api) {
  switch (api) {
    case Endpoint::tgi:
      put(out, R"(data:{"error":"simulated engine failure","error_type":"generation"})" "\n\n");
      return;
    case Endpoint::sglang:
      put(out, R"(data: {"error":{"message":"simulated engine failure"}})" "\n\n");
      return;
    case Endpoint::llamacpp:
      put(out,
          R"(data: {"error":{"code":500,"message":"simulated engine failure","type":"server_error"}})"
          "\n\n");
      return;
    case Endpoint::ollama_generate:
    case Endpoint::ollama_chat:
      put(out, R"({"error":"simulated engine failure"})" "\n");
      return;
    default:
      put(out, R"(data: {"error":"simulated engine failure"})" "\n\n");
      return;
  }
}

void append_native_malformed_event(fmt::memory_buffer& out, Endpoint api) {
  switch (api) {
    case Endpoint::tgi:
      put(out, "data:{\"index\": \n\n");
      return;
    case Endpoint::ollama_generate:
    case Endpoint::ollama_chat:
      put(out, "{\"model\": \n");
      return;
    default:
      put(out, "data: {\"text\": \n\n");
      return;
  }
}

std::string native_error_body(Endpoint api, std::string_view message, std::string_view type,
                              int status) {
  using nlohmann::ordered_json;
  switch (api) {
    case Endpoint::tgi:
      return ordered_json{{"error", message},
                          {"error_type", status == 429   ? "overloaded"
                                         : status >= 500 ? "generation"
                                                         : "validation"}}
          .dump();
    case Endpoint::sglang:
      return ordered_json{{"error", {{"message", message}}}}.dump();
    case Endpoint::llamacpp:
      return ordered_json{{"error",
                           {{"code", status},
                            {"message", message},
                            {"type", status >= 500 ? std::string_view("server_error") : type}}}}
          .dump();
    default:
      return ordered_json{{"error", message}}.dump();
  }
}

std::string_view native_content_type(Endpoint api) noexcept {
  return is_ollama(api) ? "application/x-ndjson" : "text/event-stream";
}

}  // namespace splleed::sim
