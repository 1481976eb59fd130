#pragma once
// The engines' native APIs as type parameters: for each, how its i-th token event, its terminal
// event and an in-band error look on the wire (shapes as in tests/fixtures/protocol/<engine>/).
#include <optional>
#include <string>
#include <string_view>

#include "protocol/adapter.hpp"
#include "protocol_test_util.hpp"

namespace splleed::protocol::test {

// token(i): the i-th token event (i from 1); `text` is its new text (JSON-escaped already).
// terminal(i): the event that ends a stream of i token events (none: the body's end), carrying
// kTerminalTokens tokens of its own.
struct TgiApi {
  static constexpr Api kApi = Api::tgi;
  static std::string token(int i, std::string_view text = "x") {
    return R"({"index":)" + std::to_string(i) + R"(,"token":{"id":)" + std::to_string(100 + i) +
           R"(,"text":")" + std::string(text) +
           R"(","logprob":-0.5,"special":false},"generated_text":null,"details":null})";
  }
  // The final event is itself a token (here the special EOS token, which has no output text).
  static constexpr int kTerminalTokens = 1;
  static std::optional<std::string> terminal(int i) {
    return R"({"index":)" + std::to_string(i + 1) +
           R"(,"token":{"id":2,"text":"</s>","logprob":-0.1,"special":true},"generated_text":"x",)"
           R"("details":{"finish_reason":"eos_token","generated_tokens":)" +
           std::to_string(i + 1) + R"(,"seed":null,"input_length":3}})";
  }
  static std::string error() { return R"({"error":"boom","error_type":"generation"})"; }
};

struct SglangApi {
  static constexpr int kTerminalTokens = 0;
  static constexpr Api kApi = Api::sglang;
  // Cumulative text: i copies of `text`.
  static std::string token(int i, std::string_view text = "x") {
    std::string all;
    for (int k = 0; k < i; ++k) all += text;
    return R"({"text":")" + all + R"(","output_ids":[1],"meta_info":{"id":"r1","finish_reason":null,)"
           R"("prompt_tokens":3,"completion_tokens":)" +
           std::to_string(i) + R"(,"cached_tokens":0,"e2e_latency":0.5}})";
  }
  static std::optional<std::string> terminal(int) { return std::string("[DONE]"); }
  static std::string error() { return R"({"error":{"message":"boom"}})"; }
};

struct LlamaCppApi {
  static constexpr int kTerminalTokens = 0;
  static constexpr Api kApi = Api::llamacpp;
  static std::string token(int i, std::string_view text = "x") {
    return R"({"index":0,"content":")" + std::string(text) + R"(","tokens":[)" +
           std::to_string(100 + i) + R"(],"stop":false,"id_slot":-1,"tokens_predicted":)" +
           std::to_string(i) + R"(,"tokens_evaluated":3})";
  }
  static std::optional<std::string> terminal(int i) {
    return R"({"index":0,"content":"","tokens":[],"id_slot":0,"stop":true,"model":"m",)"
           R"("tokens_predicted":)" +
           std::to_string(i) +
           R"(,"tokens_evaluated":3,"stop_type":"limit","timings":{"prompt_n":3,"prompt_ms":1.5,)"
           R"("predicted_n":)" +
           std::to_string(i) + R"(,"predicted_ms":9.25}})";
  }
  static std::string error() {
    return R"({"error":{"code":500,"message":"boom","type":"server_error"}})";
  }
};

struct OllamaGenerateApi {
  static constexpr int kTerminalTokens = 0;
  static constexpr Api kApi = Api::ollama_generate;
  static std::string token(int, std::string_view text = "x") {
    return R"({"model":"m","created_at":"2025-03-01T10:00:00.1Z","response":")" +
           std::string(text) + R"(","done":false})";
  }
  static std::optional<std::string> terminal(int i) {
    return R"({"model":"m","created_at":"2025-03-01T10:00:00.2Z","response":"","done":true,)"
           R"("done_reason":"length","context":[1,2,3],"total_duration":5000000,)"
           R"("load_duration":1000,"prompt_eval_count":3,"prompt_eval_duration":2000000,)"
           R"("eval_count":)" +
           std::to_string(i) + R"(,"eval_duration":3000000})";
  }
  static std::string error() { return R"({"error":"boom"})"; }
};

struct OllamaChatApi {
  static constexpr int kTerminalTokens = 0;
  static constexpr Api kApi = Api::ollama_chat;
  static std::string token(int, std::string_view text = "x") {
    return R"({"model":"m","created_at":"2025-03-01T10:00:00.1Z","message":{"role":"assistant",)"
           R"("content":")" +
           std::string(text) + R"("},"done":false})";
  }
  static std::optional<std::string> terminal(int i) {
    return R"({"model":"m","created_at":"2025-03-01T10:00:00.2Z","message":{"role":"assistant",)"
           R"("content":""},"done_reason":"stop","done":true,"total_duration":5000000,)"
           R"("load_duration":1000,"prompt_eval_count":3,"prompt_eval_duration":2000000,)"
           R"("eval_count":)" +
           std::to_string(i) + R"(,"eval_duration":3000000})";
  }
  static std::string error() { return R"({"error":"boom"})"; }
};

struct TritonApi {
  static constexpr int kTerminalTokens = 0;
  static constexpr Api kApi = Api::triton;
  static std::string token(int, std::string_view text = "x") {
    return R"({"model_name":"ensemble","model_version":"1","sequence_end":false,"sequence_id":0,)"
           R"("sequence_start":false,"text_output":")" +
           std::string(text) + R"("})";
  }
  static std::optional<std::string> terminal(int) { return std::nullopt; }  // the body's end
  static std::string error() { return R"({"error":"boom"})"; }
};

using NativeApis = ::testing::Types<TgiApi, SglangApi, LlamaCppApi, OllamaGenerateApi,
                                    OllamaChatApi, TritonApi>;

struct NativeNames {
  template <class T>
  static std::string GetName(int) {
    std::string name(to_string(T::kApi));
    for (char& c : name)
      if (c == '-') c = '_';
    return name;
  }
};

// Triton's adapter needs a model for its path; the others are built from the API alone.
inline std::unique_ptr<ProtocolAdapter> native_adapter(Api api, std::string_view model = "m") {
  TargetConfig target;
  target.api = api;
  target.model = std::string(model);
  return make_adapter(target);
}

}  // namespace splleed::protocol::test
