// What each API's body asks of the output length: exactly max_tokens, or at most.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/adapter.hpp"

namespace splleed::protocol::test {
namespace {

using nlohmann::json;

json body(Api api, const SamplingParams& s) {
  TargetConfig t;
  t.api = api;
  t.model = "m";
  return json::parse(make_adapter(t)->build_body(RequestSpec{"m", "hi", s}));
}

TEST(OutputLengthAsk, ExactWhereTheBodyCarriesAnEndOfSequenceSwitchTheApiHonours) {
  SamplingParams s;
  s.max_tokens = 32;
  s.ignore_eos = true;
  for (Api api : {Api::openai_completions, Api::openai_chat}) {
    EXPECT_TRUE(output_length_ask(api, s).exact) << to_string(api);
    const json b = body(api, s);
    EXPECT_EQ(b.at("max_tokens"), 32);
    EXPECT_EQ(b.at("ignore_eos"), true);
  }
  EXPECT_TRUE(output_length_ask(Api::sglang, s).exact);
  EXPECT_EQ(body(Api::sglang, s).at("sampling_params").at("ignore_eos"), true);
  EXPECT_TRUE(output_length_ask(Api::llamacpp, s).exact);
  EXPECT_EQ(body(Api::llamacpp, s).at("n_predict"), 32);
  EXPECT_EQ(body(Api::llamacpp, s).at("ignore_eos"), true);
}

TEST(OutputLengthAsk, AMinimumEqualToTheMaximumIsExactWhereTheApiSendsIt) {
  SamplingParams s;
  s.max_tokens = 16;
  s.min_tokens = 16;
  EXPECT_TRUE(output_length_ask(Api::openai_chat, s).exact);
  EXPECT_EQ(body(Api::openai_chat, s).at("min_tokens"), 16);
  EXPECT_TRUE(output_length_ask(Api::sglang, s).exact);
  EXPECT_EQ(body(Api::sglang, s).at("sampling_params").at("min_new_tokens"), 16);
  // llama.cpp's body has no minimum.
  EXPECT_FALSE(output_length_ask(Api::llamacpp, s).exact);
  EXPECT_FALSE(body(Api::llamacpp, s).contains("min_tokens"));
  s.min_tokens = 15;
  EXPECT_FALSE(output_length_ask(Api::openai_chat, s).exact);
}

TEST(OutputLengthAsk, CapsOnlySayWhy) {
  SamplingParams s;
  s.max_tokens = 8;
  const auto plain = output_length_ask(Api::openai_completions, s);
  EXPECT_FALSE(plain.exact);
  EXPECT_THAT(std::string(plain.note), ::testing::HasSubstr("--ignore-eos"));
  s.ignore_eos = true;  // asked for, but these APIs have no switch
  for (Api api : {Api::tgi, Api::ollama_generate, Api::ollama_chat, Api::triton}) {
    const auto ask = output_length_ask(api, s);
    EXPECT_FALSE(ask.exact) << to_string(api);
    EXPECT_FALSE(ask.note.empty()) << to_string(api);
    EXPECT_FALSE(body(api, s).dump().find("ignore_eos") != std::string::npos) << to_string(api);
  }
  EXPECT_EQ(body(Api::tgi, s).at("parameters").at("max_new_tokens"), 8);
  EXPECT_EQ(body(Api::ollama_chat, s).at("options").at("num_predict"), 8);
}

}  // namespace
}  // namespace splleed::protocol::test
