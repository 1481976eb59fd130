// Whole streams from files: real llama.cpp captures and hand-written vLLM-format fixtures.
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/adapter.hpp"
#include "protocol_test_util.hpp"

namespace splleed::protocol::test {
namespace {

const std::string kCaptures = std::string(SPLLEED_CAPTURES) + "/llamacpp-server-b4748/";
const std::string kFixtures = std::string(SPLLEED_FIXTURES) + "/protocol/";

std::uint64_t token_sum(const RequestRecord& rec) {
  return std::accumulate(rec.tokens.begin(), rec.tokens.end(), std::uint64_t{0},
                         [](std::uint64_t n, const TokenEvent& e) { return n + e.tokens; });
}

// ---- llama.cpp b4748 captures -----------------------------------------------------------------

struct Capture {
  const char* file;
  Api api;
  std::uint32_t events;        // JSON events before [DONE]
  std::size_t token_events;    // events with non-empty text
  std::uint64_t output_bytes;
  std::int64_t prompt_tokens, completion_tokens;
  const char* finish_reason;
  const char* response_id;
};

// Expected values read off the files (see the README next to them: usage arrives in the final
// content chunk, chat sends no role-only delta, the stop-word stream has empty-text chunks).
const Capture kCaptureTable[] = {
    {"v1_completions_stream.sse", Api::openai_completions, 7, 6, 25, 7, 6, "length",
     "chatcmpl-Qgm4im99v4WbNPVozjcKYEhgICeELtRu"},
    {"v1_completions_stream_include_usage.sse", Api::openai_completions, 5, 4, 12, 7, 4, "length",
     "chatcmpl-nYbLxzUSZhChEHnAGhyemEfVITa1WAML"},
    {"v1_completions_stream_include_usage_false.sse", Api::openai_completions, 3, 2, 7, 7, 2,
     "length", "chatcmpl-EPe2rkI585tL05RZskDNpDTAKodYytia"},
    {"v1_completions_stream_stopword.sse", Api::openai_completions, 24, 21, 76, 7, 23, "stop",
     "chatcmpl-Y7nZodWzZnJIOVnociMvdiBxj2EsNt3B"},
    {"v1_chat_stream.sse", Api::openai_chat, 6, 5, 19, 17, 5, "length",
     "chatcmpl-VPLt388UPUQ4DzNOG60PcstXOZ9QDUq4"},
    {"v1_chat_stream_eos_stop.sse", Api::openai_chat, 2, 0, 0, 17, 1, "stop",
     "chatcmpl-oGVFRobah5aGBa6ZGnL6yL84kA2Acwo0"},
};

class LlamaCppCapture : public ::testing::TestWithParam<Capture> {};

TEST_P(LlamaCppCapture, ParsesAsCaptured) {
  const Capture& c = GetParam();
  const auto payloads = sse_payloads(kCaptures + c.file);
  ASSERT_EQ(payloads.size(), c.events + 1u);  // plus [DONE]
  auto parser = make_adapter(c.api)->make_parser();
  RequestRecord rec;
  bool done = false;
  EXPECT_EQ(feed_all(*parser, payloads, rec, done), payloads.size());
  EXPECT_TRUE(done);
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, c.events);
  EXPECT_EQ(rec.first_event, kStep);
  EXPECT_EQ(rec.end, static_cast<Nanos>(payloads.size()) * kStep);
  ASSERT_EQ(rec.tokens.size(), c.token_events);
  EXPECT_EQ(token_sum(rec), c.token_events);  // no per-event usage: one token per event
  if (c.token_events > 0) {
    EXPECT_EQ(rec.first_token, kStep);  // llama.cpp's first chunk already carries text
    EXPECT_EQ(rec.last_token, rec.tokens.back().received);
  } else {
    EXPECT_FALSE(rec.first_token.has_value());
  }
  EXPECT_EQ(rec.output_bytes, c.output_bytes);
  EXPECT_EQ(rec.usage.prompt_tokens, c.prompt_tokens);
  EXPECT_EQ(rec.usage.completion_tokens, c.completion_tokens);
  EXPECT_FALSE(rec.usage.cached_tokens.has_value());
  EXPECT_EQ(rec.output_tokens(), c.completion_tokens);
  EXPECT_EQ(rec.finish_reason, c.finish_reason);
  EXPECT_EQ(rec.response_id, c.response_id);
}

INSTANTIATE_TEST_SUITE_P(Captures, LlamaCppCapture, ::testing::ValuesIn(kCaptureTable),
                         [](const ::testing::TestParamInfo<Capture>& p) {
                           std::string name = p.param.file;
                           name = name.substr(0, name.find('.'));
                           return name;
                         });

TEST(LlamaCppCapture, StopwordStreamEmptyTextChunksAreSkipped) {
  // Two chunks of this capture carry "" between text chunks: they are events, not tokens.
  const auto payloads = sse_payloads(kCaptures + "v1_completions_stream_stopword.sse");
  auto parser = make_adapter(Api::openai_completions)->make_parser();
  RequestRecord rec;
  bool done = false;
  feed_all(*parser, payloads, rec, done);
  ASSERT_EQ(rec.tokens.size(), 21u);
  EXPECT_EQ(rec.tokens[14].received, 15 * kStep);  // "our"
  EXPECT_EQ(rec.tokens[15].received, 17 * kStep);  // "ongort" after the empty 16th event
}

// ---- hand-written vLLM-format fixtures, both APIs ---------------------------------------------

template <class T>
class VllmFixture : public ::testing::Test {
 protected:
  RequestRecord run(std::string_view name, bool& done, std::size_t& fed) {
    payloads = sse_payloads(kFixtures + std::string(T::kFixturePrefix) + "_" + std::string(name) +
                            ".sse");
    EXPECT_FALSE(payloads.empty());
    RequestRecord rec;
    fed = feed_all(*parser, payloads, rec, done);
    return rec;
  }
  std::unique_ptr<StreamParser> parser = make_adapter(T::kApi)->make_parser();
  std::vector<std::string> payloads;
};
TYPED_TEST_SUITE(VllmFixture, OpenAiApis, ApiNames);

TYPED_TEST(VllmFixture, BasicStreamWithUsageOnlyFinalChunk) {
  bool done = false;
  std::size_t fed = 0;
  const RequestRecord rec = this->run("basic", done, fed);
  EXPECT_TRUE(done);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(rec.events, 7u);
  EXPECT_EQ(rec.first_event, 1 * kStep);  // opening chunk (chat: role-only delta)
  EXPECT_EQ(rec.first_token, 2 * kStep);
  EXPECT_EQ(rec.last_token, 5 * kStep);   // the 4th event had empty text
  ASSERT_EQ(rec.tokens.size(), 3u);
  EXPECT_EQ(rec.tokens[2].received, 5 * kStep);
  EXPECT_EQ(token_sum(rec), 3u);
  EXPECT_EQ(rec.output_bytes, 12u);
  EXPECT_EQ(rec.end, 8 * kStep);
  EXPECT_EQ(rec.finish_reason, "length");
  EXPECT_EQ(rec.usage.prompt_tokens, 12);
  EXPECT_EQ(rec.usage.completion_tokens, 3);
  EXPECT_EQ(rec.usage.cached_tokens, 8);
  EXPECT_FALSE(rec.usage.reasoning_tokens.has_value());
  EXPECT_NE(rec.response_id.find("b7a1"), std::string::npos);
}

TYPED_TEST(VllmFixture, ContinuousUsageStatsGiveAMultiTokenEvent) {
  bool done = false;
  std::size_t fed = 0;
  const RequestRecord rec = this->run("continuous_usage", done, fed);
  EXPECT_TRUE(done);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  ASSERT_EQ(rec.tokens.size(), 4u);
  EXPECT_EQ(rec.tokens[0].tokens, 1u);
  EXPECT_EQ(rec.tokens[1].tokens, 1u);
  EXPECT_EQ(rec.tokens[2].tokens, 3u);  // " brown fox": completion_tokens 2 -> 5
  EXPECT_EQ(rec.tokens[3].tokens, 1u);
  EXPECT_EQ(rec.tokens[2].received, 4 * kStep);
  EXPECT_EQ(token_sum(rec), 6u);
  EXPECT_EQ(rec.usage.completion_tokens, 6);
  EXPECT_EQ(rec.usage.prompt_tokens, 10);
  EXPECT_EQ(rec.output_tokens(), 6);
}

TYPED_TEST(VllmFixture, ErrorEventEndsTheStream) {
  bool done = false;
  std::size_t fed = 0;
  const RequestRecord rec = this->run("error", done, fed);
  EXPECT_TRUE(done);
  EXPECT_EQ(fed, 3u);  // stopped at the error, before [DONE]
  EXPECT_EQ(rec.status, RequestStatus::stream_error);
  EXPECT_EQ(rec.error, "The engine died unexpectedly: CUDA out of memory");
  EXPECT_EQ(rec.end, 3 * kStep);
  EXPECT_EQ(rec.tokens.size(), 1u);
  EXPECT_EQ(rec.events, 3u);
}

TYPED_TEST(VllmFixture, MalformedJsonEndsTheStream) {
  bool done = false;
  std::size_t fed = 0;
  const RequestRecord rec = this->run("malformed", done, fed);
  EXPECT_TRUE(done);
  EXPECT_EQ(fed, 3u);
  EXPECT_EQ(rec.status, RequestStatus::protocol_error);
  EXPECT_NE(rec.error.find("malformed JSON"), std::string::npos) << rec.error;
  EXPECT_NE(rec.error.find(this->payloads[2].substr(0, 80)), std::string::npos) << rec.error;
  EXPECT_EQ(rec.end, 3 * kStep);
  EXPECT_EQ(rec.tokens.size(), 1u);
}

TYPED_TEST(VllmFixture, MissingDoneIsOkAtBodyEnd) {
  bool done = false;
  std::size_t fed = 0;
  RequestRecord rec = this->run("missing_done", done, fed);
  EXPECT_FALSE(done);
  EXPECT_EQ(rec.status, RequestStatus::incomplete);
  this->parser->on_body_end(99 * kStep, rec);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(rec.end, 99 * kStep);
  EXPECT_EQ(rec.tokens.size(), 2u);
  EXPECT_EQ(rec.last_token, 3 * kStep);
  EXPECT_EQ(rec.finish_reason, "stop");
  EXPECT_EQ(rec.usage.completion_tokens, 2);
}

TEST(VllmChatFixture, ReasoningContentDeltasAreTokens) {
  const auto payloads = sse_payloads(kFixtures + "vllm_chat_reasoning.sse");
  auto parser = make_adapter(Api::openai_chat)->make_parser();
  RequestRecord rec;
  bool done = false;
  feed_all(*parser, payloads, rec, done);
  EXPECT_TRUE(done);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  ASSERT_EQ(rec.tokens.size(), 5u);  // 4 reasoning deltas + 1 content delta
  EXPECT_EQ(rec.first_token, 2 * kStep);
  EXPECT_EQ(rec.last_token, 6 * kStep);
  EXPECT_EQ(rec.output_bytes, 19u);  // "Let" " me" " think" "." "Answer"; "." sent twice counts once
  EXPECT_EQ(rec.usage.completion_tokens, 6);
  EXPECT_EQ(rec.usage.reasoning_tokens, 4);
  EXPECT_FALSE(rec.usage.cached_tokens.has_value());
  EXPECT_EQ(rec.finish_reason, "stop");
}

}  // namespace
}  // namespace splleed::protocol::test
