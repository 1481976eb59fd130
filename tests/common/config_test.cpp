#include <gtest/gtest.h>

#include "splleed/config.hpp"
#include "splleed/record.hpp"
#include "splleed/result.hpp"

namespace splleed {
namespace {

RunConfig valid() {
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:8000";
  c.prompts = {"hi"};
  c.load.num_requests = 10;
  return c;
}

TEST(Validate, AcceptsAMinimalConfig) { EXPECT_EQ(validate(valid()), ""); }

TEST(Validate, RejectsEachBadValueNamingTheOption) {
  struct Case {
    void (*mutate)(RunConfig&);
    const char* needle;
  };
  const Case cases[] = {
      {[](RunConfig& c) { c.target.base_url.clear(); }, "--base-url"},
      {[](RunConfig& c) { c.sampling.max_tokens = 0; }, "--max-tokens"},
      {[](RunConfig& c) { c.sampling.min_tokens = 100; }, "--min-tokens"},
      {[](RunConfig& c) { c.sampling.temperature = -1; }, "--temperature"},
      {[](RunConfig& c) { c.sampling.top_p = 0; }, "--top-p"},
      {[](RunConfig& c) { c.sampling.extra_body = "{not json"; }, "--extra-body is not valid JSON"},
      {[](RunConfig& c) { c.sampling.extra_body = "[1,2]"; }, "must be a JSON object"},
      {[](RunConfig& c) { c.load.concurrency = {4, -1}; }, "--concurrency levels must be positive (got -1)"},
      {[](RunConfig& c) { c.load.concurrency.clear(); }, "--concurrency"},
      {[](RunConfig& c) { c.load.num_requests.reset(); }, "--num-requests or --duration"},
      {[](RunConfig& c) { c.load.num_requests = 0; }, "--num-requests"},
      {[](RunConfig& c) { c.load.warmup = -2; }, "--warmup"},
      {[](RunConfig& c) { c.prompts.clear(); }, "--prompt"},
  };
  for (const auto& tc : cases) {
    auto c = valid();
    tc.mutate(c);
    auto msg = validate(c);
    EXPECT_NE(msg.find(tc.needle), std::string::npos) << "message: " << msg;
  }
}

TEST(Names, ApiRoundTripAndUnknown) {
  for (Api a : {Api::openai_completions, Api::openai_chat, Api::tgi, Api::sglang, Api::llamacpp,
                Api::ollama_generate, Api::ollama_chat, Api::triton}) {
    auto back = api_from_string(to_string(a));
    ASSERT_TRUE(back) << to_string(a);
    EXPECT_EQ(*back, a);
  }
  EXPECT_FALSE(api_from_string("openai"));
  EXPECT_FALSE(api_from_string("ollama"));
  EXPECT_FALSE(api_from_string("TGI"));  // names are case-sensitive
  EXPECT_EQ(to_string(static_cast<Api>(250)), "unknown");
  EXPECT_NE(api_names().find("openai-chat"), std::string::npos);
}

TEST(Names, NativeApiNames) {
  EXPECT_EQ(api_from_string("tgi"), Api::tgi);
  EXPECT_EQ(api_from_string("sglang"), Api::sglang);
  EXPECT_EQ(api_from_string("llamacpp"), Api::llamacpp);
  EXPECT_EQ(api_from_string("ollama-generate"), Api::ollama_generate);
  EXPECT_EQ(api_from_string("ollama-chat"), Api::ollama_chat);
  EXPECT_EQ(api_from_string("triton"), Api::triton);
  EXPECT_EQ(api_names(),
            "openai-completions, openai-chat, tgi, sglang, llamacpp, ollama-generate, ollama-chat, "
            "triton");
}

TEST(Names, StatusRoundTrip) {
  for (int i = 0; i < kRequestStatusCount; ++i) {
    auto s = static_cast<RequestStatus>(i);
    auto back = request_status_from_string(to_string(s));
    ASSERT_TRUE(back) << to_string(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(request_status_from_string("fine"));
}

TEST(Record, OutputTokensPreferUsageThenEvents) {
  RequestRecord r;
  r.tokens = {{10, 1}, {20, 3}};
  EXPECT_EQ(r.output_tokens(), 4);
  EXPECT_FALSE(r.output_tokens_from_usage());
  r.usage.completion_tokens = 7;
  EXPECT_EQ(r.output_tokens(), 7);
  EXPECT_TRUE(r.output_tokens_from_usage());
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(5);
  EXPECT_EQ(clock.now(), 5);
  clock.advance(10);
  EXPECT_EQ(clock.now(), 15);
  clock.set(3);
  EXPECT_EQ(clock.now(), 3);
}

}  // namespace
}  // namespace splleed

namespace splleed {
namespace {

TEST(Slo, ParsesUnitsAndMetrics) {
  std::string err;
  auto slos = parse_slos("ttft:500ms,tpot:50,e2e:5s,itl:250us", &err);
  ASSERT_EQ(slos.size(), 4u) << err;
  EXPECT_EQ(slos[0].metric, "ttft");
  EXPECT_EQ(slos[0].threshold, 500 * kNanosPerMilli);
  EXPECT_EQ(slos[1].threshold, 50 * kNanosPerMilli);
  EXPECT_EQ(slos[2].threshold, 5 * kNanosPerSecond);
  EXPECT_EQ(slos[3].threshold, 250 * kNanosPerMicro);
}

TEST(Slo, RejectsBadPartsNamingThem) {
  for (auto [text, needle] : std::vector<std::pair<const char*, const char*>>{
           {"ttft", "not METRIC:VALUE"},
           {"speed:5ms", "unknown metric 'speed'"},
           {"ttft:fast", "not a number"},
           {"ttft:5h", "unit 'h'"},
           {"ttft:-5ms", "must be positive"}}) {
    std::string err;
    EXPECT_TRUE(parse_slos(text, &err).empty()) << text;
    EXPECT_NE(err.find(needle), std::string::npos) << text << ": " << err;
  }
}

}  // namespace
}  // namespace splleed
