// Request bodies and adapter metadata for both OpenAI APIs.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/adapter.hpp"
#include "protocol_test_util.hpp"

namespace splleed::protocol::test {
namespace {

using nlohmann::json;

template <class T>
class BodyTest : public ::testing::Test {
 protected:
  json body(std::string_view model = "m1", std::string_view prompt = "Say hi") const {
    const std::string text = adapter->build_body(RequestSpec{model, prompt, sampling});
    return json::parse(text);
  }
  std::unique_ptr<ProtocolAdapter> adapter = make_adapter(T::kApi);
  SamplingParams sampling;
};
TYPED_TEST_SUITE(BodyTest, OpenAiApis, ApiNames);

TYPED_TEST(BodyTest, DefaultsCarryOnlyTheRequiredFields) {
  this->sampling.max_tokens = 32;
  const json b = this->body();
  EXPECT_EQ(b.at("model"), "m1");
  EXPECT_EQ(b.at("stream"), true);
  EXPECT_EQ(b.at("stream_options"), json({{"include_usage", true}}));
  EXPECT_EQ(b.at("max_tokens"), 32);
  for (const char* absent : {"temperature", "top_p", "ignore_eos", "min_tokens"}) {
    EXPECT_FALSE(b.contains(absent)) << absent;
  }
}

TYPED_TEST(BodyTest, OptionalSamplingFieldsAppearWhenSet) {
  this->sampling.temperature = 0.7;
  this->sampling.top_p = 0.9;
  this->sampling.ignore_eos = true;
  this->sampling.min_tokens = 16;
  const json b = this->body();
  EXPECT_DOUBLE_EQ(b.at("temperature").get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(b.at("top_p").get<double>(), 0.9);
  EXPECT_EQ(b.at("ignore_eos"), true);
  EXPECT_EQ(b.at("min_tokens"), 16);
}

TYPED_TEST(BodyTest, ZeroTemperatureIsSent) {
  this->sampling.temperature = 0.0;
  const json b = this->body();
  EXPECT_EQ(b.at("temperature").get<double>(), 0.0);
}

TYPED_TEST(BodyTest, ExtraBodyIsMergedLastAndWins) {
  this->sampling.temperature = 0.5;
  this->sampling.max_tokens = 64;
  this->sampling.extra_body =
      R"({"max_tokens":5,"stream_options":{"continuous_usage_stats":true},"temperature":null,)"
      R"("cache_prompt":false,"stop":["\n"]})";
  const json b = this->body();
  EXPECT_EQ(b.at("max_tokens"), 5);
  EXPECT_EQ(b.at("stream_options"),
            json({{"include_usage", true}, {"continuous_usage_stats", true}}));  // merged
  EXPECT_FALSE(b.contains("temperature"));  // null removes (JSON merge patch)
  EXPECT_EQ(b.at("cache_prompt"), false);
  EXPECT_EQ(b.at("stop"), json::array({"\n"}));
  EXPECT_EQ(b.at("stream"), true);
}

TYPED_TEST(BodyTest, ExtraBodyThatIsNotAnObjectIsRejected) {
  this->sampling.extra_body = "[1,2]";
  EXPECT_THROW(this->body(), std::invalid_argument);
}

TYPED_TEST(BodyTest, EmptyModelIsOmitted) {
  EXPECT_FALSE(this->body("").contains("model"));
}

TYPED_TEST(BodyTest, PromptTextIsEscapedAndRoundTrips) {
  const std::string prompt = "line1\n\"quoted\" \\ tab\t é 漢字";
  const json b = this->body("m", prompt);
  if (TypeParam::kApi == Api::openai_chat) {
    EXPECT_EQ(b.at("messages").at(0).at("content"), prompt);
  } else {
    EXPECT_EQ(b.at("prompt"), prompt);
  }
}

TYPED_TEST(BodyTest, InvalidUtf8InThePromptIsReplacedNotThrown) {
  const std::string prompt = "ok \xff\xfe end";
  EXPECT_NO_THROW(this->body("m", prompt));
}

TYPED_TEST(BodyTest, AdapterMetadata) {
  EXPECT_EQ(this->adapter->api(), TypeParam::kApi);
  EXPECT_EQ(this->adapter->framing(), Framing::sse);
  EXPECT_NE(this->adapter->make_parser(), nullptr);
}

TEST(CompletionsBody, CarriesPromptAndNoMessages) {
  SamplingParams s;
  const auto adapter = make_adapter(Api::openai_completions);
  EXPECT_EQ(adapter->path(), "/v1/completions");
  const json b = json::parse(adapter->build_body(RequestSpec{"m", "Hello", s}));
  EXPECT_EQ(b.at("prompt"), "Hello");
  EXPECT_FALSE(b.contains("messages"));
}

TEST(ChatBody, CarriesOneUserMessageAndNoPrompt) {
  SamplingParams s;
  const auto adapter = make_adapter(Api::openai_chat);
  EXPECT_EQ(adapter->path(), "/v1/chat/completions");
  const json b = json::parse(adapter->build_body(RequestSpec{"m", "Hello", s}));
  EXPECT_EQ(b.at("messages"), json::array({json({{"role", "user"}, {"content", "Hello"}})}));
  EXPECT_FALSE(b.contains("prompt"));
}

TEST(ChatBody, ExtraBodyCanReplaceMessages) {
  SamplingParams s;
  s.extra_body = R"({"messages":[{"role":"system","content":"x"}]})";
  const json b =
      json::parse(make_adapter(Api::openai_chat)->build_body(RequestSpec{"m", "Hello", s}));
  EXPECT_EQ(b.at("messages").size(), 1u);  // arrays are replaced, not merged
  EXPECT_EQ(b.at("messages").at(0).at("role"), "system");
}

TEST(MakeAdapter, RejectsAnUnknownApi) {
  EXPECT_THROW(make_adapter(static_cast<Api>(250)), std::invalid_argument);
}

}  // namespace
}  // namespace splleed::protocol::test
