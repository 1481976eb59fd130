#pragma once
// Shared by the protocol tests: the two OpenAI APIs as type parameters, chunk builders, and
// deliberately trivial SSE and NDJSON splits for fixture files (the real decoders live in net/).
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/adapter.hpp"

namespace splleed::protocol::test {

inline std::string q(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A usage object member, to append to a chunk.
inline std::string usage_member(int completion_tokens, int prompt_tokens = 5) {
  return ",\"usage\":{\"prompt_tokens\":" + std::to_string(prompt_tokens) +
         ",\"total_tokens\":" + std::to_string(prompt_tokens + completion_tokens) +
         ",\"completion_tokens\":" + std::to_string(completion_tokens) + "}";
}

struct CompletionsApi {
  static constexpr Api kApi = Api::openai_completions;
  static constexpr std::string_view kFixturePrefix = "vllm_completions";
  // One chunk; `text` is a JSON value (a quoted string or null), `finish` a JSON value,
  // `extra` more members of the top-level object (starting with ',').
  static std::string chunk(std::string_view text, std::string_view extra = "",
                           std::string_view finish = "null", int index = 0) {
    return R"({"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":)" +
           std::to_string(index) + R"(,"text":)" + std::string(text) +
           R"(,"logprobs":null,"finish_reason":)" + std::string(finish) + "}]" +
           std::string(extra) + "}";
  }
  // The first chunk a server sends before any text (chat: role-only delta).
  static std::string opening() { return chunk(q("")); }
};

struct ChatApi {
  static constexpr Api kApi = Api::openai_chat;
  static constexpr std::string_view kFixturePrefix = "vllm_chat";
  static std::string chunk(std::string_view text, std::string_view extra = "",
                           std::string_view finish = "null", int index = 0) {
    return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":)" +
           std::to_string(index) + R"(,"delta":{"content":)" + std::string(text) +
           R"(},"logprobs":null,"finish_reason":)" + std::string(finish) + "}]" +
           std::string(extra) + "}";
  }
  static std::string opening() {
    return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]})";
  }
};

struct ApiNames {
  template <class T>
  static std::string GetName(int) {
    return std::string(to_string(T::kApi));
  }
};

using OpenAiApis = ::testing::Types<CompletionsApi, ChatApi>;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The `data:` payloads of an SSE file whose events are single `data:` lines separated by blank
// lines (true of every fixture here).
inline std::vector<std::string> sse_payloads(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string_view block(text.data() + pos, end - pos);
    pos = end + 2;
    while (!block.empty() && (block.front() == '\n' || block.front() == '\r')) block.remove_prefix(1);
    if (block.empty()) continue;
    if (block.substr(0, 5) == "data:") block.remove_prefix(5);
    if (!block.empty() && block.front() == ' ') block.remove_prefix(1);
    out.emplace_back(block);
  }
  return out;
}

// The non-blank lines of an NDJSON file.
inline std::vector<std::string> ndjson_lines(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(std::move(line));
  }
  return out;
}

// Feeds payload i at time (i + 1) * kStep until the parser says done; returns the events fed.
inline constexpr Nanos kStep = 1000;
inline std::size_t feed_all(StreamParser& parser, const std::vector<std::string>& payloads,
                            RequestRecord& rec, bool& done) {
  done = false;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    if (parser.on_event(payloads[i], static_cast<Nanos>(i + 1) * kStep, rec) ==
        EventOutcome::done) {
      done = true;
      return i + 1;
    }
  }
  return payloads.size();
}

}  // namespace splleed::protocol::test
