// Chat request bodies with a workload's messages, and the reply text kept for multi-turn history.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "native_test_util.hpp"
#include "protocol/adapter.hpp"
#include "protocol_test_util.hpp"

namespace splleed::protocol::test {
namespace {

using nlohmann::json;

const std::vector<ChatMessage> kConversation = {
    {"system", "You are terse."},
    {"user", "Name a colour."},
    {"assistant", "Blue \"sky\"\n"},
    {"user", "Another?"},
};

json body(Api api, std::string_view prompt, std::span<const ChatMessage> messages) {
  SamplingParams s;
  s.max_tokens = 7;
  return json::parse(make_adapter(api)->build_body(RequestSpec{"m", prompt, s, messages}));
}

json expected_messages(const std::vector<ChatMessage>& list) {
  json out = json::array();
  for (const auto& m : list) out.push_back({{"role", m.role}, {"content", m.content}});
  return out;
}

TEST(ChatMessages, OpenAiChatSendsTheGivenMessagesInOrder) {
  const json b = body(Api::openai_chat, "Another?", kConversation);
  EXPECT_EQ(b.at("messages"), expected_messages(kConversation));
  EXPECT_FALSE(b.contains("prompt"));
  EXPECT_EQ(b.at("max_tokens"), 7);
}

TEST(ChatMessages, OpenAiChatWithoutMessagesSendsThePromptAsOneUserMessage) {
  const json b = body(Api::openai_chat, "Say hi", {});
  EXPECT_EQ(b.at("messages"), json::parse(R"([{"role":"user","content":"Say hi"}])"));
}

TEST(ChatMessages, CompletionApisSendThePromptAndIgnoreMessages) {
  for (Api api : {Api::openai_completions, Api::ollama_generate}) {
    const json b = body(api, "Another?", kConversation);
    EXPECT_EQ(b.at("prompt"), "Another?") << to_string(api);
    EXPECT_FALSE(b.contains("messages")) << to_string(api);
  }
}

TEST(ChatMessages, OllamaChatSendsTheGivenMessagesInOrder) {
  EXPECT_EQ(body(Api::ollama_chat, "Another?", kConversation).at("messages"),
            expected_messages(kConversation));
  EXPECT_EQ(body(Api::ollama_chat, "Say hi", {}).at("messages"),
            json::parse(R"([{"role":"user","content":"Say hi"}])"));
}

TEST(KeepText, OpenAiChatKeepsContentButNotReasoning) {
  auto parser = make_adapter(Api::openai_chat)->make_parser();
  std::string text;
  parser->keep_text(&text);
  RequestRecord rec;
  parser->reset();
  parser->on_event(ChatApi::opening(), 1, rec);
  parser->on_event(ChatApi::chunk(q("Hel")), 2, rec);
  parser->on_event(
      R"({"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"hmm"},"finish_reason":null}]})",
      3, rec);
  parser->on_event(ChatApi::chunk(q("lo \\\"you\\\""), "", q("stop")), 4, rec);
  parser->on_event(ChatApi::chunk(q("ignored"), "", "null", 1), 5, rec);  // another choice
  parser->on_event("[DONE]", 6, rec);
  EXPECT_EQ(text, "Hello \"you\"");
  EXPECT_EQ(rec.status, RequestStatus::ok);

  // Unset: nothing more is kept.
  parser->keep_text(nullptr);
  parser->reset();
  RequestRecord next;
  parser->on_event(ChatApi::chunk(q("more")), 7, next);
  EXPECT_EQ(text, "Hello \"you\"");
}

TEST(KeepText, OpenAiCompletionsKeepsText) {
  auto parser = make_adapter(Api::openai_completions)->make_parser();
  std::string text;
  parser->keep_text(&text);
  RequestRecord rec;
  parser->on_event(CompletionsApi::chunk(q("a")), 1, rec);
  parser->on_event(CompletionsApi::chunk(q(" b")), 2, rec);
  EXPECT_EQ(text, "a b");
}

TEST(KeepText, OllamaChatKeepsContent) {
  auto parser = make_adapter(Api::ollama_chat)->make_parser();
  std::string text;
  parser->keep_text(&text);
  RequestRecord rec;
  parser->on_event(OllamaChatApi::token(0, "Hi"), 1, rec);
  parser->on_event(OllamaChatApi::token(1, " there"), 2, rec);
  parser->on_event(*OllamaChatApi::terminal(2), 3, rec);
  EXPECT_EQ(text, "Hi there");
  EXPECT_EQ(rec.status, RequestStatus::ok);
}

}  // namespace
}  // namespace splleed::protocol::test
