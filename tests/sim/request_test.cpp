// Pure parts of the simulator: option validation, request parsing, the wire shapes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "sim/prefix_cache.hpp"
#include "sim/request.hpp"
#include "sim/sim_server.hpp"
#include "sim/wire.hpp"

namespace splleed::sim {
namespace {

using nlohmann::json;

TEST(SimValidate, DefaultsAreValid) { EXPECT_EQ(validate(SimConfig{}), ""); }

TEST(SimValidate, EachBadOptionIsNamedByItsFlag) {
  struct Case {
    void (*mutate)(SimConfig&);
    const char* flag;
  };
  const Case cases[] = {
      {[](SimConfig& c) { c.ttft_ms = -1; }, "--ttft-ms"},
      {[](SimConfig& c) { c.prefill_us_per_token = -0.5; }, "--prefill-us-per-token"},
      {[](SimConfig& c) { c.itl_ms = std::numeric_limits<double>::quiet_NaN(); }, "--itl-ms"},
      {[](SimConfig& c) { c.step_us_per_running = -3; }, "--step-us-per-running"},
      {[](SimConfig& c) { c.jitter = 1; }, "--jitter"},
      {[](SimConfig& c) { c.eos_probability = 1.5; }, "--eos-probability"},
      {[](SimConfig& c) { c.max_running = 0; }, "--max-running"},
      {[](SimConfig& c) { c.threads = 0; }, "--threads"},
      {[](SimConfig& c) { c.model.clear(); }, "--model"},
      {[](SimConfig& c) { c.host.clear(); }, "--host"},
      {[](SimConfig& c) { c.kv_tokens = -5; }, "--kv-tokens"},
      {[](SimConfig& c) { c.spec_tokens = -1; }, "--spec-tokens"},
      {[](SimConfig& c) { c.spec_acceptance = -0.1; }, "--spec-acceptance"},
      {[](SimConfig& c) { c.metrics_style = "sglang"; }, "--metrics-style"},
  };
  for (const auto& k : cases) {
    SimConfig c;
    k.mutate(c);
    std::string err = validate(c);
    EXPECT_EQ(err.rfind(k.flag, 0), 0u) << k.flag << ": " << err;
    EXPECT_EQ(err.back(), '.') << err;
  }
  SimConfig c;
  c.max_running = -2;
  EXPECT_EQ(validate(c), "--max-running must be at least 1 (got -2).");
  c = SimConfig{};
  c.jitter = 0.5;
  c.eos_probability = 1;
  c.itl_ms = 0;
  EXPECT_EQ(validate(c), "") << "zero-length steps and certain EOS are allowed";
}

TEST(SimTokenizer, OneTokenPerFourBytesRoundedUp) {
  EXPECT_EQ(prompt_tokens_for_bytes(0), 0);
  EXPECT_EQ(prompt_tokens_for_bytes(1), 1);
  EXPECT_EQ(prompt_tokens_for_bytes(4), 1);
  EXPECT_EQ(prompt_tokens_for_bytes(5), 2);
  EXPECT_EQ(prompt_tokens_for_bytes(400), 100);
}

class SimParse : public ::testing::Test {
 protected:
  std::variant<GenerationRequest, RequestError> parse(const std::string& body,
                                                      Endpoint e = Endpoint::completions) {
    return parse_generation_request(parser, body, e);
  }
  GenerationRequest ok(const std::string& body, Endpoint e = Endpoint::completions) {
    auto r = parse(body, e);
    if (auto* err = std::get_if<RequestError>(&r)) ADD_FAILURE() << body << ": " << err->message;
    return std::get_if<GenerationRequest>(&r) ? std::get<GenerationRequest>(r) : GenerationRequest{};
  }
  std::string error(const std::string& body, Endpoint e = Endpoint::completions) {
    auto r = parse(body, e);
    auto* err = std::get_if<RequestError>(&r);
    if (!err) {
      ADD_FAILURE() << body << " was accepted";
      return {};
    }
    EXPECT_EQ(err->status, 400);
    EXPECT_EQ(err->type, "invalid_request_error");
    return err->message;
  }
  simdjson::dom::parser parser;
};

TEST_F(SimParse, CompletionDefaultsAndFields) {
  auto r = ok(R"({"prompt":"hello world"})");
  EXPECT_EQ(r.prompt_tokens, 3);
  EXPECT_EQ(r.max_tokens, kDefaultMaxTokens);
  EXPECT_EQ(r.min_tokens, 0);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.include_usage);
  EXPECT_FALSE(r.ignore_eos);
  EXPECT_EQ(r.fault, Fault::none);
  EXPECT_EQ(r.model, "");

  r = ok(R"({"model":"m","prompt":"abcd","max_tokens":7,"min_tokens":2,"stream":true,
             "ignore_eos":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},
             "sim_fault":"stall","temperature":0.5})");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.prompt_tokens, 1);
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.min_tokens, 2);
  EXPECT_TRUE(r.stream && r.ignore_eos && r.include_usage && r.continuous_usage);
  EXPECT_EQ(r.fault, Fault::stall);

  r = ok(R"({"prompt":"x","max_tokens":null,"stream_options":null})");
  EXPECT_EQ(r.max_tokens, kDefaultMaxTokens) << "null means not given";
}

TEST_F(SimParse, PromptForms) {
  EXPECT_EQ(ok(R"({"prompt":[1,2,3,4,5]})").prompt_tokens, 5);
  EXPECT_EQ(ok(R"({"prompt":[[1,2,3]]})").prompt_tokens, 3);
  EXPECT_EQ(ok(R"({"prompt":["123456789"]})").prompt_tokens, 3);
  EXPECT_EQ(ok(R"({"prompt":""})").prompt_tokens, 0);
  EXPECT_NE(error(R"({"prompt":["a","b"]})").find("one prompt"), std::string::npos);
  error(R"({"prompt":[]})");
  error(R"({"prompt":[1,"a"]})");
  error(R"({"prompt":5})");
  EXPECT_EQ(error(R"({"max_tokens":3})"), "'prompt' is required.");
}

TEST_F(SimParse, ChatMessagesConcatenateContents) {
  auto r = ok(R"({"messages":[{"role":"system","content":"abcdef"},
                               {"role":"user","content":[{"type":"text","text":"gh"},
                                                         {"type":"image_url","image_url":{"url":"x"}}]},
                               {"role":"assistant","content":null}],
                  "max_completion_tokens":9})",
              Endpoint::chat);
  EXPECT_EQ(r.prompt_tokens, 2);  // 8 bytes
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_EQ(r.endpoint, Endpoint::chat);
  EXPECT_EQ(ok(R"({"messages":[{"role":"user","content":"a"}],"max_tokens":4,"max_completion_tokens":9})",
               Endpoint::chat)
                .max_tokens,
            4);
  EXPECT_EQ(error(R"({"prompt":"x"})", Endpoint::chat), "'messages' is required.");
  error(R"({"messages":[]})", Endpoint::chat);
  error(R"({"messages":["hi"]})", Endpoint::chat);
  error(R"({"messages":[{"content":5}]})", Endpoint::chat);
}

TEST_F(SimParse, BadBodiesAndValues) {
  EXPECT_NE(error("{not json").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(error("[1]"), "the request body must be a JSON object.");
  EXPECT_EQ(error(R"({"prompt":"x","max_tokens":0})"), "max_tokens must be at least 1, got 0.");
  EXPECT_EQ(error(R"({"prompt":"x","max_tokens":1.5})"), "'max_tokens' must be an integer.");
  EXPECT_NE(error(R"({"prompt":"x","max_tokens":4,"min_tokens":5})").find("min_tokens"),
            std::string::npos);
  EXPECT_EQ(error(R"({"prompt":"x","stream":"yes"})"), "'stream' must be true or false.");
  EXPECT_EQ(error(R"({"prompt":"x","n":2})"), "the simulator supports n = 1 only.");
  auto msg = error(R"({"prompt":"x","sim_fault":"explode"})");
  EXPECT_NE(msg.find("unknown sim_fault 'explode'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no_done"), std::string::npos) << msg;
}

TEST(SimFaults, NamesRoundTrip) {
  for (auto f : {Fault::none, Fault::http_500, Fault::http_429, Fault::error_event, Fault::reset,
                 Fault::malformed, Fault::stall, Fault::no_done})
    EXPECT_EQ(fault_from_string(to_string(f)), f);
  EXPECT_FALSE(fault_from_string("HTTP_500"));
  EXPECT_TRUE(is_mid_stream(Fault::reset));
  EXPECT_FALSE(is_mid_stream(Fault::no_done));
}

json event_json(const fmt::memory_buffer& b) {
  std::string s(b.data(), b.size());
  EXPECT_EQ(s.rfind("data: ", 0), 0u);
  EXPECT_EQ(s.substr(s.size() - 2), "\n\n");
  return json::parse(s.substr(6, s.size() - 8));
}

TEST(SimWire, CompletionChunkIsVllmShaped) {
  fmt::memory_buffer b;
  ChunkContext c{Endpoint::completions, "cmpl-7", 1700000000, "m\\\"x"};
  append_token_event(b, c, " river", "", nullptr);
  auto j = event_json(b);
  EXPECT_EQ(j["id"], "cmpl-7");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "m\"x");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 0);
  EXPECT_EQ(j["choices"][0]["text"], " river");
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
  EXPECT_FALSE(j.contains("usage"));

  b.clear();
  UsageCounts u{3, 2};
  append_token_event(b, c, " x", "length", &u);
  j = event_json(b);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 3}, {"total_tokens", 5}, {"completion_tokens", 2}}));
}

TEST(SimWire, ChatChunksRoleUsageDoneAndFraming) {
  fmt::memory_buffer b;
  ChunkContext c{Endpoint::chat, "chatcmpl-1", 5, "m"};
  append_role_event(b, c, nullptr);
  auto j = event_json(b);
  EXPECT_EQ(j["object"], "chat.completion.chunk");
  EXPECT_EQ(j["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());

  b.clear();
  append_token_event(b, c, " a", "stop", nullptr);
  j = event_json(b);
  EXPECT_EQ(j["choices"][0]["delta"], json({{"content", " a"}}));
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");

  b.clear();
  append_usage_event(b, c, UsageCounts{4, 6});
  j = event_json(b);
  EXPECT_TRUE(j["choices"].is_array() && j["choices"].empty());
  EXPECT_EQ(j["usage"]["total_tokens"], 10);

  b.clear();
  append_done_event(b);
  EXPECT_EQ(std::string(b.data(), b.size()), "data: [DONE]\n\n");

  fmt::memory_buffer f;
  append_http_chunk(f, std::string(26, 'x'));
  EXPECT_EQ(std::string(f.data(), f.size()), "1a\r\n" + std::string(26, 'x') + "\r\n");
}

TEST(SimWire, WholeBodiesAndErrors) {
  ChunkContext c{Endpoint::chat, "chatcmpl-1", 5, "m"};
  auto j = json::parse(completion_body(c, " a b", "length", UsageCounts{2, 2}));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], " a b");
  EXPECT_EQ(j["usage"]["completion_tokens"], 2);
  c.endpoint = Endpoint::completions;
  j = json::parse(completion_body(c, "q\"", "stop", UsageCounts{1, 1}));
  EXPECT_EQ(j["choices"][0]["text"], "q\"");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");

  j = json::parse(error_body("bad \"thing\"", "invalid_request_error", 400));
  EXPECT_EQ(j["error"]["message"], "bad \"thing\"");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  j = json::parse(models_body("splleed-sim", 9));
  EXPECT_EQ(j["object"], "list");
  EXPECT_EQ(j["data"][0]["id"], "splleed-sim");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_FALSE(j["data"][0].contains("max_model_len"));
  j = json::parse(models_body("splleed-sim", 9, 2048));
  EXPECT_EQ(j["data"][0]["max_model_len"], 2048);
  EXPECT_EQ(json_escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
}

TEST(SimTokenize, CountsFourBytesATokenAsVllmAnswers) {
  auto r = tokenize_reply(R"({"model":"splleed-sim","prompt":"hello world!!"})", "splleed-sim", 0);
  EXPECT_EQ(r.status, 200);
  json j = json::parse(r.body);
  EXPECT_EQ(j["count"], 4);  // 13 bytes
  EXPECT_EQ(j["tokens"].size(), 4u);
  EXPECT_TRUE(j["max_model_len"].is_null());
  EXPECT_TRUE(j["token_strs"].is_null());
  // The same bytes are the same token; the model may be left out.
  r = tokenize_reply(R"({"prompt":"abcdabcdx"})", "splleed-sim", 2048);
  j = json::parse(r.body);
  EXPECT_EQ(j["tokens"][0], j["tokens"][1]);
  EXPECT_NE(j["tokens"][0], j["tokens"][2]);
  EXPECT_EQ(j["max_model_len"], 2048);
  // Chat messages: every content counted together, as the generation endpoints do.
  r = tokenize_reply(
      R"({"messages":[{"role":"system","content":"abc"},{"role":"user","content":"defgh"}]})",
      "splleed-sim", 0);
  EXPECT_EQ(json::parse(r.body)["count"], 2);
  EXPECT_EQ(json::parse(tokenize_reply(R"({"prompt":""})", "m", 0).body)["count"], 0);
}

TEST(SimTokenize, AnswersTgiAndLlamaCppBodiesInTheirShapes) {
  auto r = tokenize_reply(R"({"inputs":"hello world!!","add_special_tokens":false})", "m", 0);
  ASSERT_EQ(r.status, 200);
  json j = json::parse(r.body);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[1]["text"], "o wo");
  EXPECT_EQ(j[1]["start"], 4);
  EXPECT_EQ(j[3]["stop"], 13);
  // llama.cpp's body; the model field is not checked there.
  r = tokenize_reply(R"({"content":"hello world!!","add_special":false,"model":"x"})", "m", 0);
  ASSERT_EQ(r.status, 200);
  j = json::parse(r.body);
  EXPECT_EQ(j["tokens"].size(), 4u);
  EXPECT_FALSE(j.contains("count"));
  // The same text gives the same ids in every shape.
  EXPECT_EQ(j["tokens"][1], json::parse(tokenize_reply(R"({"inputs":"hello world!!"})", "m", 0).body)[1]["id"]);
  // A piece that cuts a UTF-8 sequence still makes valid JSON.
  r = tokenize_reply(R"({"inputs":"abc\u00e9"})", "m", 0);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).size(), 2u);
}

TEST(SimTokenize, BadRequestsGetVllmsErrors) {
  EXPECT_EQ(tokenize_reply(R"({"model":"other","prompt":"x"})", "splleed-sim", 0).status, 404);
  EXPECT_EQ(tokenize_reply(R"({"model":"splleed-sim"})", "splleed-sim", 0).status, 400);
  EXPECT_EQ(tokenize_reply("not json", "splleed-sim", 0).status, 400);
}

TEST(SimParsePrefix, BlockHashesOnlyWhenAskedAndAlikeAcrossPromptShapes) {
  simdjson::dom::parser parser;
  const std::string text(130, 'w');  // 33 tokens: 2 full blocks of 16
  const std::string completion = json({{"prompt", text}}).dump();
  auto plain = std::get<GenerationRequest>(parse_generation_request(parser, completion, Endpoint::completions));
  EXPECT_TRUE(plain.prefix_blocks.empty());
  auto hashed =
      std::get<GenerationRequest>(parse_generation_request(parser, completion, Endpoint::completions, true));
  EXPECT_EQ(hashed.prompt_tokens, 33);
  EXPECT_EQ(hashed.prefix_blocks, prefix_block_hashes(text));
  ASSERT_EQ(hashed.prefix_blocks.size(), 2u);
  // Chat: the concatenated contents, across messages and text parts.
  const std::string chat = json({{"messages",
                                  {{{"role", "system"}, {"content", text.substr(0, 100)}},
                                   {{"role", "user"},
                                    {"content", {{{"type", "text"}, {"text", text.substr(100)}}}}}}}})
                               .dump();
  auto c = std::get<GenerationRequest>(parse_generation_request(parser, chat, Endpoint::chat, true));
  EXPECT_EQ(c.prefix_blocks, hashed.prefix_blocks);
  // Token ids: 16 ids a block.
  std::vector<std::int64_t> ids(40, 3);
  auto t = std::get<GenerationRequest>(
      parse_generation_request(parser, json({{"prompt", ids}}).dump(), Endpoint::completions, true));
  EXPECT_EQ(t.prefix_blocks, prefix_block_hashes(ids));
  EXPECT_EQ(t.prefix_blocks.size(), 2u);
}

}  // namespace
}  // namespace splleed::sim
