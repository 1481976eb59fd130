// Request bodies, paths and framing of the native adapters, and the adapter factories.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "native_test_util.hpp"
#include "protocol/adapter.hpp"
#include "protocol/ollama.hpp"
#include "protocol/triton.hpp"

namespace splleed::protocol::test {
namespace {

using nlohmann::json;

json body_of(Api api, const SamplingParams& s, std::string_view prompt = "Say hi",
             std::string_view model = "m1") {
  return json::parse(native_adapter(api, model)->build_body(RequestSpec{model, prompt, s}));
}

// ---- every native API --------------------------------------------------------------------------

template <class T>
class NativeBodyTest : public ::testing::Test {};
TYPED_TEST_SUITE(NativeBodyTest, NativeApis, NativeNames);

TYPED_TEST(NativeBodyTest, AdapterMetadata) {
  const auto adapter = native_adapter(TypeParam::kApi);
  EXPECT_EQ(adapter->api(), TypeParam::kApi);
  const bool ollama = TypeParam::kApi == Api::ollama_generate || TypeParam::kApi == Api::ollama_chat;
  EXPECT_EQ(adapter->framing(), ollama ? Framing::ndjson : Framing::sse);
  EXPECT_EQ(adapter->path().front(), '/');
  EXPECT_NE(adapter->make_parser(), nullptr);
}

TYPED_TEST(NativeBodyTest, ExtraBodyIsMergedLastAndWins) {
  SamplingParams s;
  s.extra_body = R"({"stream":false,"added":{"k":1}})";
  const json b = body_of(TypeParam::kApi, s);
  EXPECT_EQ(b.at("stream"), false);
  EXPECT_EQ(b.at("added"), json({{"k", 1}}));
}

TYPED_TEST(NativeBodyTest, ExtraBodyThatIsNotAnObjectIsRejected) {
  SamplingParams s;
  s.extra_body = "[1]";
  EXPECT_THROW(body_of(TypeParam::kApi, s), std::invalid_argument);
}

TYPED_TEST(NativeBodyTest, InvalidUtf8InThePromptIsReplacedNotThrown) {
  SamplingParams s;
  EXPECT_NO_THROW(body_of(TypeParam::kApi, s, "ok \xff\xfe end"));
}

TYPED_TEST(NativeBodyTest, PromptTextIsEscapedAndRoundTrips) {
  SamplingParams s;
  const std::string prompt = "line1\n\"quoted\" \\ tab\t é 漢字";
  EXPECT_NE(body_of(TypeParam::kApi, s, prompt).dump().find(json(prompt).dump()),
            std::string::npos);
}

// ---- TGI -------------------------------------------------------------------------------------

TEST(TgiBody, DefaultsCarryOnlyTheRequiredFields) {
  SamplingParams s;
  s.max_tokens = 32;
  const auto adapter = make_adapter(Api::tgi);
  EXPECT_EQ(adapter->path(), "/generate_stream");
  const json b = body_of(Api::tgi, s, "Hello");
  EXPECT_EQ(b, json::parse(R"({"inputs":"Hello","parameters":{"max_new_tokens":32,"details":true},)"
                           R"("stream":true})"));
}

TEST(TgiBody, SamplingMapsToParameters) {
  SamplingParams s;
  s.temperature = 0.7;
  s.top_p = 0.9;
  s.ignore_eos = true;  // TGI has no such parameter
  s.min_tokens = 4;     // nor this one
  const json p = body_of(Api::tgi, s).at("parameters");
  EXPECT_DOUBLE_EQ(p.at("temperature").get<double>(), 0.7);
  EXPECT_EQ(p.at("do_sample"), true);
  EXPECT_DOUBLE_EQ(p.at("top_p").get<double>(), 0.9);
  EXPECT_EQ(p.size(), 5u);
}

TEST(TgiBody, ZeroTemperatureIsGreedyAndTopPOfOneIsOmitted) {
  // TGI rejects temperature 0 and top_p 1; both mean "no change" from greedy decoding.
  SamplingParams s;
  s.temperature = 0.0;
  s.top_p = 1.0;
  const json p = body_of(Api::tgi, s).at("parameters");
  EXPECT_FALSE(p.contains("temperature"));
  EXPECT_FALSE(p.contains("top_p"));
  EXPECT_EQ(p.at("do_sample"), false);
}

TEST(TgiBody, ExtraBodyMergesIntoParameters) {
  SamplingParams s;
  s.extra_body = R"({"parameters":{"top_k":10,"seed":7,"stop":["\n"]}})";
  const json p = body_of(Api::tgi, s).at("parameters");
  EXPECT_EQ(p.at("max_new_tokens"), 64);
  EXPECT_EQ(p.at("top_k"), 10);
  EXPECT_EQ(p.at("seed"), 7);
  EXPECT_EQ(p.at("details"), true);
}

// ---- SGLang ------------------------------------------------------------------------------------

TEST(SglangBody, SamplingParamsAreNested) {
  SamplingParams s;
  s.max_tokens = 16;
  EXPECT_EQ(make_adapter(Api::sglang)->path(), "/generate");
  EXPECT_EQ(body_of(Api::sglang, s, "Hello"),
            json::parse(R"({"text":"Hello","sampling_params":{"max_new_tokens":16},"stream":true})"));
  s.temperature = 0.0;
  s.top_p = 0.5;
  s.ignore_eos = true;
  s.min_tokens = 8;
  EXPECT_EQ(body_of(Api::sglang, s).at("sampling_params"),
            json::parse(R"({"max_new_tokens":16,"temperature":0.0,"top_p":0.5,"ignore_eos":true,)"
                        R"("min_new_tokens":8})"));
}

// ---- llama.cpp ---------------------------------------------------------------------------------

TEST(LlamaCppBody, NativeFieldNames) {
  SamplingParams s;
  s.max_tokens = 4;
  EXPECT_EQ(make_adapter(Api::llamacpp)->path(), "/completion");
  EXPECT_EQ(body_of(Api::llamacpp, s, "Hello", "m1"),
            json::parse(R"({"model":"m1","prompt":"Hello","stream":true,"n_predict":4})"));
  s.temperature = 0.5;
  s.top_p = 0.9;
  s.ignore_eos = true;
  s.min_tokens = 2;  // llama.cpp has no minimum length
  const json b = body_of(Api::llamacpp, s, "Hello", "");
  EXPECT_FALSE(b.contains("model"));
  EXPECT_EQ(b.at("ignore_eos"), true);
  EXPECT_DOUBLE_EQ(b.at("temperature").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(b.at("top_p").get<double>(), 0.9);
  EXPECT_EQ(b.size(), 6u);
}

TEST(LlamaCppBody, ExtraBodyCanTurnOffThePromptCache) {
  SamplingParams s;
  s.extra_body = R"({"cache_prompt":false,"timings_per_token":true})";
  const json b = body_of(Api::llamacpp, s);
  EXPECT_EQ(b.at("cache_prompt"), false);
  EXPECT_EQ(b.at("timings_per_token"), true);
}

// ---- Ollama ------------------------------------------------------------------------------------

TEST(OllamaBody, GenerateAndChat) {
  SamplingParams s;
  s.max_tokens = 8;
  EXPECT_EQ(make_adapter(Api::ollama_generate)->path(), "/api/generate");
  EXPECT_EQ(make_adapter(Api::ollama_chat)->path(), "/api/chat");
  EXPECT_EQ(body_of(Api::ollama_generate, s, "Hello", "llama3.2"),
            json::parse(R"({"model":"llama3.2","prompt":"Hello","stream":true,)"
                        R"("options":{"num_predict":8}})"));
  EXPECT_EQ(body_of(Api::ollama_chat, s, "Hello", "llama3.2"),
            json::parse(R"({"model":"llama3.2","messages":[{"role":"user","content":"Hello"}],)"
                        R"("stream":true,"options":{"num_predict":8}})"));
}

TEST(OllamaBody, SamplingGoesIntoOptionsAndExtraBodyMerges) {
  SamplingParams s;
  s.temperature = 0.0;
  s.top_p = 0.8;
  s.extra_body = R"({"options":{"top_k":20,"seed":3},"keep_alive":"5m"})";
  const json b = body_of(Api::ollama_generate, s);
  const json& o = b.at("options");
  EXPECT_EQ(o.at("num_predict"), 64);
  EXPECT_EQ(o.at("temperature").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(o.at("top_p").get<double>(), 0.8);
  EXPECT_EQ(o.at("top_k"), 20);
  EXPECT_EQ(o.at("seed"), 3);
  EXPECT_EQ(b.at("keep_alive"), "5m");
}

TEST(OllamaAdapter, RejectsOtherApis) {
  EXPECT_THROW(OllamaAdapter(Api::tgi), std::invalid_argument);
  EXPECT_NO_THROW(OllamaAdapter(Api::ollama_chat));
}

// ---- Triton ------------------------------------------------------------------------------------

TEST(TritonBody, GenerateExtensionInputs) {
  SamplingParams s;
  s.max_tokens = 12;
  s.temperature = 0.2;
  s.top_p = 0.7;
  EXPECT_EQ(body_of(Api::triton, s, "Hello", "ensemble"),
            json::parse(R"({"text_input":"Hello","max_tokens":12,"stream":true,"temperature":0.2,)"
                        R"("top_p":0.7})"));
}

TEST(TritonAdapter, PathNamesTheModelEscaped) {
  EXPECT_EQ(native_adapter(Api::triton, "ensemble")->path(), "/v2/models/ensemble/generate_stream");
  EXPECT_EQ(native_adapter(Api::triton, "my model/v1")->path(),
            "/v2/models/my%20model%2Fv1/generate_stream");
  EXPECT_EQ(encode_path_segment("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(encode_path_segment("é?#%"), "%C3%A9%3F%23%25");
}

TEST(TritonAdapter, NeedsAModel) {
  EXPECT_THROW(native_adapter(Api::triton, ""), std::invalid_argument);
  EXPECT_THROW(make_adapter(Api::triton), std::invalid_argument);
}

// ---- factories ---------------------------------------------------------------------------------

TEST(MakeAdapter, FromTargetMatchesFromApi) {
  for (Api api : {Api::openai_completions, Api::openai_chat, Api::tgi, Api::sglang, Api::llamacpp,
                  Api::ollama_generate, Api::ollama_chat}) {
    TargetConfig target;
    target.api = api;
    target.model = "m";
    const auto a = make_adapter(target);
    const auto b = make_adapter(api);
    EXPECT_EQ(a->api(), api);
    EXPECT_EQ(a->path(), b->path()) << to_string(api);
    EXPECT_EQ(a->framing(), b->framing()) << to_string(api);
  }
  TargetConfig bad;
  bad.api = static_cast<Api>(250);
  EXPECT_THROW(make_adapter(bad), std::invalid_argument);
}

}  // namespace
}  // namespace splleed::protocol::test
