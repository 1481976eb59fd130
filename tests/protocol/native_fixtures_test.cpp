// Whole native-API streams from files: real llama.cpp captures, and fixtures written in each
// engine's wire format (tests/fixtures/protocol/<engine>/, shapes taken from the engines' sources).
#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "native_test_util.hpp"
#include "protocol/adapter.hpp"

namespace splleed::protocol::test {
namespace {

const std::string kCaptures = std::string(SPLLEED_CAPTURES) + "/llamacpp-server-b4748/";
const std::string kFixtures = std::string(SPLLEED_FIXTURES) + "/protocol/";

std::uint64_t token_sum(const RequestRecord& rec) {
  return std::accumulate(rec.tokens.begin(), rec.tokens.end(), std::uint64_t{0},
                         [](std::uint64_t n, const TokenEvent& e) { return n + e.tokens; });
}

std::vector<std::uint32_t> counts(const RequestRecord& rec) {
  std::vector<std::uint32_t> out;
  for (const TokenEvent& e : rec.tokens) out.push_back(e.tokens);
  return out;
}

struct StreamRun {
  RequestRecord rec;
  bool done = false;
  std::size_t fed = 0;
  std::size_t payloads = 0;
  std::unique_ptr<StreamParser> parser;
};

StreamRun run(Api api, const std::vector<std::string>& payloads) {
  StreamRun r;
  r.parser = native_adapter(api)->make_parser();
  r.payloads = payloads.size();
  EXPECT_GT(r.payloads, 0u);
  r.fed = feed_all(*r.parser, payloads, r.rec, r.done);
  return r;
}

StreamRun run_sse(Api api, const std::string& path) { return run(api, sse_payloads(path)); }

// ---- TGI /generate_stream ---------------------------------------------------------------------

TEST(TgiFixture, FinalEventWithDetailsEndsTheStream) {
  const StreamRun r = run_sse(Api::tgi, kFixtures + "tgi/generate_stream_eos.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 5u);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, 5u);
  EXPECT_EQ(counts(rec), std::vector<std::uint32_t>(5, 1));  // the EOS token is a token event
  EXPECT_EQ(rec.first_token, 1 * kStep);
  EXPECT_EQ(rec.last_token, 5 * kStep);
  EXPECT_EQ(rec.end, 5 * kStep);
  EXPECT_EQ(rec.output_bytes, 20u);  // " The quick brown fox"; the special "</s>" is not text
  EXPECT_EQ(rec.finish_reason, "eos_token");
  EXPECT_EQ(rec.usage.completion_tokens, 5);
  EXPECT_EQ(rec.usage.prompt_tokens, 7);
  EXPECT_EQ(rec.output_tokens(), 5);
  EXPECT_TRUE(rec.server_timings.empty());
}

TEST(TgiFixture, LengthFinishOnATextToken) {
  const StreamRun r = run_sse(Api::tgi, kFixtures + "tgi/generate_stream_length.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.rec.status, RequestStatus::ok);
  EXPECT_EQ(r.rec.tokens.size(), 3u);
  EXPECT_EQ(r.rec.output_bytes, 9u);  // "\n", "Café" (escaped é: 2 bytes), " is"
  EXPECT_EQ(r.rec.finish_reason, "length");
  EXPECT_EQ(r.rec.usage.completion_tokens, 3);
  EXPECT_EQ(r.rec.usage.prompt_tokens, 4);
}

TEST(TgiFixture, ErrorEventEndsTheStream) {
  const StreamRun r = run_sse(Api::tgi, kFixtures + "tgi/generate_stream_error.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 3u);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_EQ(r.rec.error,
            "Request failed during generation: Server error: CUDA out of memory. Tried to allocate "
            "20.00 MiB");
  EXPECT_EQ(r.rec.tokens.size(), 2u);
  EXPECT_EQ(r.rec.end, 3 * kStep);
}

TEST(TgiFixture, MalformedEventIsAProtocolError) {
  const StreamRun r = run_sse(Api::tgi, kFixtures + "tgi/generate_stream_malformed.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(r.rec.tokens.size(), 1u);
}

TEST(TgiFixture, BodyEndWithoutTheFinalEventIsAProtocolError) {
  StreamRun r = run_sse(Api::tgi, kFixtures + "tgi/generate_stream_truncated.sse");
  EXPECT_FALSE(r.done);
  r.parser->on_body_end(99 * kStep, r.rec);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
  EXPECT_NE(r.rec.error.find("final event"), std::string::npos) << r.rec.error;
  EXPECT_EQ(r.rec.end, 99 * kStep);
  EXPECT_EQ(r.rec.tokens.size(), 2u);  // what arrived is kept
}

// ---- SGLang /generate -------------------------------------------------------------------------

TEST(SglangFixture, CompletionTokenRisesGiveMultiTokenEvents) {
  const StreamRun r = run_sse(Api::sglang, kFixtures + "sglang/generate_length.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 5u);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, 4u);  // [DONE] is not an event
  EXPECT_EQ(counts(rec), (std::vector<std::uint32_t>{1, 1, 3, 1}));
  EXPECT_EQ(rec.tokens[2].received, 3 * kStep);
  EXPECT_EQ(token_sum(rec), 6u);
  EXPECT_EQ(rec.output_bytes, 25u);  // the final cumulative text
  EXPECT_EQ(rec.end, 5 * kStep);
  EXPECT_EQ(rec.finish_reason, "length");
  EXPECT_EQ(rec.usage.completion_tokens, 6);
  EXPECT_EQ(rec.usage.prompt_tokens, 10);
  EXPECT_EQ(rec.usage.cached_tokens, 8);
  EXPECT_EQ(rec.response_id, "5b4c2f0e9a1d4e7c8f3a2b1c0d9e8f7a");
  ASSERT_TRUE(rec.server_timings.total_ms.has_value());
  EXPECT_DOUBLE_EQ(*rec.server_timings.total_ms, 73.1);
}

TEST(SglangFixture, ErrorEventEndsTheStreamBeforeDone) {
  const StreamRun r = run_sse(Api::sglang, kFixtures + "sglang/generate_error.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_EQ(r.rec.error,
            "The input (40960 tokens) is longer than the model's context length (32768 tokens).");
  EXPECT_EQ(r.rec.tokens.size(), 1u);
}

TEST(SglangFixture, AbortFinishReasonIsAStreamError) {
  const StreamRun r = run_sse(Api::sglang, kFixtures + "sglang/generate_abort.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_EQ(r.rec.error, "Abort in waiting queue");
  EXPECT_EQ(r.rec.end, 2 * kStep);
}

TEST(SglangFixture, MalformedEventIsAProtocolError) {
  const StreamRun r = run_sse(Api::sglang, kFixtures + "sglang/generate_malformed.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
}

TEST(SglangFixture, MissingDoneIsOkOnlyAfterAFinishReason) {
  auto payloads = sse_payloads(kFixtures + "sglang/generate_length.sse");
  payloads.pop_back();  // [DONE]
  StreamRun finished = run(Api::sglang, payloads);
  EXPECT_FALSE(finished.done);
  finished.parser->on_body_end(50 * kStep, finished.rec);
  EXPECT_EQ(finished.rec.status, RequestStatus::ok);
  EXPECT_EQ(finished.rec.end, 50 * kStep);

  payloads.pop_back();  // the finishing event too
  StreamRun cut = run(Api::sglang, payloads);
  cut.parser->on_body_end(50 * kStep, cut.rec);
  EXPECT_EQ(cut.rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(cut.rec.tokens.size(), 3u);
}

TEST(SglangParser, TextGrowthWithoutCountsIsOneTokenPerEvent) {
  auto parser = native_adapter(Api::sglang)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"text":"ab","meta_info":{}})", 1, rec);
  parser->on_event(R"({"text":"ab","meta_info":{}})", 2, rec);  // no growth: no token
  parser->on_event(R"({"text":"abcde","meta_info":{}})", 3, rec);
  EXPECT_EQ(counts(rec), (std::vector<std::uint32_t>{1, 1}));
  EXPECT_EQ(rec.output_bytes, 5u);
  EXPECT_EQ(rec.last_token, 3);
}

TEST(SglangParser, CountRiseWithoutTextIsATokenEvent) {
  // A token whose text the detokenizer holds back (an incomplete UTF-8 sequence) still counts.
  auto parser = native_adapter(Api::sglang)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"text":"a","meta_info":{"completion_tokens":1}})", 1, rec);
  parser->on_event(R"({"text":"a","meta_info":{"completion_tokens":2}})", 2, rec);
  parser->on_event(R"({"text":"a\u00e9","meta_info":{"completion_tokens":3}})", 3, rec);
  EXPECT_EQ(counts(rec), (std::vector<std::uint32_t>{1, 1, 1}));
  EXPECT_EQ(rec.output_bytes, 3u);
}

TEST(SglangParser, StringFinishReasonIsKept) {
  auto parser = native_adapter(Api::sglang)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"text":"a","meta_info":{"completion_tokens":1,"finish_reason":"stop"}})", 1,
                   rec);
  EXPECT_EQ(rec.finish_reason, "stop");
  EXPECT_EQ(rec.status, RequestStatus::incomplete);
}

// ---- llama.cpp /completion: real captures of build b4748 --------------------------------------

TEST(LlamaCppNativeCapture, CompletionStream) {
  const StreamRun r = run_sse(Api::llamacpp, kCaptures + "completion_stream.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 5u);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, 5u);
  EXPECT_EQ(counts(rec), std::vector<std::uint32_t>(4, 1));
  EXPECT_EQ(rec.first_token, 1 * kStep);
  EXPECT_EQ(rec.last_token, 4 * kStep);
  EXPECT_EQ(rec.end, 5 * kStep);
  EXPECT_EQ(rec.output_bytes, 12u);  // ":**" "v" " Use" "irst"
  EXPECT_EQ(rec.usage.completion_tokens, 4);
  EXPECT_EQ(rec.usage.prompt_tokens, 7);
  EXPECT_FALSE(rec.usage.cached_tokens.has_value());  // b4748 has no timings.cache_n
  EXPECT_EQ(rec.finish_reason, "limit");
  const ServerTimings& t = rec.server_timings;
  EXPECT_EQ(t.prompt_n, 1);
  EXPECT_EQ(t.prompt_ms, 0.823);
  EXPECT_EQ(t.predicted_n, 4);
  EXPECT_EQ(t.predicted_ms, 1.538);
  EXPECT_FALSE(t.cache_n.has_value());
  EXPECT_FALSE(t.total_ms.has_value());
  EXPECT_TRUE(rec.response_id.empty());
}

TEST(LlamaCppNativeCapture, PerTokenTimingsLastOneWins) {
  const auto payloads = sse_payloads(kCaptures + "completion_stream_timings_per_token.sse");
  auto parser = native_adapter(Api::llamacpp)->make_parser();
  RequestRecord rec;
  parser->on_event(payloads[0], 1, rec);
  EXPECT_EQ(rec.server_timings.predicted_ms, 0.0);
  EXPECT_EQ(rec.server_timings.prompt_ms, 12.443);
  parser->on_event(payloads[1], 2, rec);
  EXPECT_EQ(rec.server_timings.predicted_ms, 4.173);
  parser->on_event(payloads[2], 3, rec);
  EXPECT_EQ(parser->on_event(payloads[3], 4, rec), EventOutcome::done);
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(rec.tokens.size(), 3u);
  EXPECT_EQ(rec.output_bytes, 13u);
  EXPECT_EQ(rec.server_timings.predicted_ms, 7.019);
  EXPECT_EQ(rec.server_timings.predicted_n, 3);
  EXPECT_EQ(rec.server_timings.prompt_n, 7);
  EXPECT_EQ(rec.usage.completion_tokens, 3);
}

TEST(LlamaCppNativeCapture, OpenAiRouteCapturesAreNotNativeEvents) {
  // The OpenAI-route chunks have no content/stop fields: the native parser sees no token and no
  // end, so pointing --api llamacpp at the wrong route fails loudly rather than silently.
  const auto payloads = sse_payloads(kCaptures + "v1_completions_stream.sse");
  auto parser = native_adapter(Api::llamacpp)->make_parser();
  RequestRecord rec;
  bool done = false;
  feed_all(*parser, payloads, rec, done);
  EXPECT_TRUE(done);  // [DONE] is not JSON
  EXPECT_EQ(rec.status, RequestStatus::protocol_error);
  EXPECT_TRUE(rec.tokens.empty());
}

TEST(LlamaCppFixture, ErrorEventEndsTheStream) {
  const StreamRun r = run_sse(Api::llamacpp, kFixtures + "llamacpp/completion_error.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_EQ(r.rec.error,
            "Input prompt is too big compared to KV size. Please try increasing KV size.");
  EXPECT_EQ(r.rec.tokens.size(), 1u);
}

TEST(LlamaCppFixture, HeldBackTokensGoToTheNextTextEvent) {
  const StreamRun r = run_sse(Api::llamacpp, kFixtures + "llamacpp/completion_stopword_holdback.sse");
  EXPECT_TRUE(r.done);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(counts(rec), (std::vector<std::uint32_t>{1, 2}));  // tokens_predicted 1 -> 3
  EXPECT_EQ(rec.usage.completion_tokens, 4);  // the stop word's own token is never streamed
  EXPECT_EQ(rec.output_tokens(), 4);
  EXPECT_EQ(rec.output_bytes, 11u);
  EXPECT_EQ(rec.finish_reason, "word");
  EXPECT_EQ(rec.usage.cached_tokens, 3);
  EXPECT_EQ(rec.server_timings.cache_n, 3);
  EXPECT_EQ(rec.server_timings.prompt_n, 2);
  EXPECT_EQ(rec.usage.prompt_tokens, 5);
}

TEST(LlamaCppParser, BodyEndWithoutStopIsAProtocolError) {
  auto payloads = sse_payloads(kCaptures + "completion_stream.sse");
  payloads.pop_back();
  StreamRun r = run(Api::llamacpp, payloads);
  EXPECT_FALSE(r.done);
  r.parser->on_body_end(9 * kStep, r.rec);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
  EXPECT_NE(r.rec.error.find("\"stop\": true"), std::string::npos) << r.rec.error;
}

TEST(LlamaCppParser, TokenIdsWithoutTextAreATokenEvent) {
  auto parser = native_adapter(Api::llamacpp)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"content":"","tokens":[7],"stop":false,"tokens_predicted":1})", 1, rec);
  parser->on_event(R"({"content":"","tokens":[],"stop":false})", 2, rec);  // nothing: no token
  EXPECT_EQ(counts(rec), std::vector<std::uint32_t>{1});
  EXPECT_EQ(rec.output_bytes, 0u);
  EXPECT_EQ(rec.events, 2u);
}

TEST(LlamaCppParser, FinalEventWithTextAddsOnlyNewTokens) {
  auto parser = native_adapter(Api::llamacpp)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"content":"a","tokens":[1],"stop":false,"tokens_predicted":1})", 1, rec);
  parser->on_event(R"({"content":"b","tokens":[2],"stop":true,"tokens_predicted":2})", 2, rec);
  EXPECT_EQ(counts(rec), (std::vector<std::uint32_t>{1, 1}));
  parser->reset();
  RequestRecord same;
  parser->on_event(R"({"content":"a","tokens":[1],"stop":false,"tokens_predicted":1})", 1, same);
  parser->on_event(R"({"content":"a","tokens":[1],"stop":true,"tokens_predicted":1})", 2, same);
  EXPECT_EQ(counts(same), std::vector<std::uint32_t>{1});  // a repeat of the total: no new event
  EXPECT_EQ(same.output_bytes, 2u);
  EXPECT_EQ(same.status, RequestStatus::ok);
}

// ---- Ollama /api/generate and /api/chat (NDJSON) ----------------------------------------------

TEST(OllamaFixture, GenerateStreamWithFinalTimings) {
  const StreamRun r = run(Api::ollama_generate, ndjson_lines(kFixtures + "ollama/generate.ndjson"));
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 5u);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, 5u);
  ASSERT_EQ(rec.tokens.size(), 3u);  // the empty response is an event, not a token
  EXPECT_EQ(rec.tokens[2].received, 4 * kStep);
  EXPECT_EQ(rec.output_bytes, 16u);
  EXPECT_EQ(rec.end, 5 * kStep);
  EXPECT_EQ(rec.finish_reason, "stop");
  EXPECT_EQ(rec.usage.completion_tokens, 5);
  EXPECT_EQ(rec.usage.prompt_tokens, 26);
  EXPECT_EQ(rec.output_tokens(), 5);
  const ServerTimings& t = rec.server_timings;
  EXPECT_DOUBLE_EQ(*t.total_ms, 648.158584);
  EXPECT_DOUBLE_EQ(*t.load_ms, 4.071084);
  EXPECT_DOUBLE_EQ(*t.prompt_ms, 39.038);
  EXPECT_DOUBLE_EQ(*t.predicted_ms, 96.918);
  EXPECT_EQ(t.prompt_n, 26);
  EXPECT_EQ(t.predicted_n, 5);
  EXPECT_FALSE(t.queue_ms.has_value());
}

TEST(OllamaFixture, ChatStreamCountsThinkingAndContent) {
  const StreamRun r = run(Api::ollama_chat, ndjson_lines(kFixtures + "ollama/chat.ndjson"));
  EXPECT_TRUE(r.done);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok);
  EXPECT_EQ(rec.tokens.size(), 4u);
  EXPECT_EQ(rec.first_token, 1 * kStep);  // thinking is generated output
  EXPECT_EQ(rec.output_bytes, 9u);
  EXPECT_EQ(rec.finish_reason, "length");
  EXPECT_EQ(rec.usage.completion_tokens, 4);
  EXPECT_DOUBLE_EQ(*rec.server_timings.predicted_ms, 80.25);
  EXPECT_DOUBLE_EQ(*rec.server_timings.load_ms, 1.5);
}

TEST(OllamaFixture, EachParserReadsOnlyItsOwnField) {
  const StreamRun chat_on_generate =
      run(Api::ollama_chat, ndjson_lines(kFixtures + "ollama/generate.ndjson"));
  EXPECT_TRUE(chat_on_generate.rec.tokens.empty());
  const StreamRun generate_on_chat =
      run(Api::ollama_generate, ndjson_lines(kFixtures + "ollama/chat.ndjson"));
  EXPECT_TRUE(generate_on_chat.rec.tokens.empty());
}

TEST(OllamaFixture, ErrorLineEndsTheStream) {
  const StreamRun r = run(Api::ollama_generate, ndjson_lines(kFixtures + "ollama/generate_error.ndjson"));
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_EQ(r.rec.error, "an error was encountered while running the model: unexpected EOF");
}

TEST(OllamaFixture, MalformedLineIsAProtocolError) {
  const StreamRun r =
      run(Api::ollama_generate, ndjson_lines(kFixtures + "ollama/generate_malformed.ndjson"));
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
}

TEST(OllamaFixture, BodyEndBeforeDoneIsAProtocolError) {
  StreamRun r = run(Api::ollama_generate, ndjson_lines(kFixtures + "ollama/generate_truncated.ndjson"));
  EXPECT_FALSE(r.done);
  r.parser->on_body_end(9 * kStep, r.rec);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
  EXPECT_NE(r.rec.error.find("\"done\": true"), std::string::npos) << r.rec.error;
  EXPECT_EQ(r.rec.tokens.size(), 2u);
}

// ---- Triton /v2/models/{model}/generate_stream ------------------------------------------------

TEST(TritonFixture, StreamEndsWithTheBody) {
  StreamRun r = run_sse(Api::triton, kFixtures + "triton/generate_stream.sse");
  EXPECT_FALSE(r.done);
  EXPECT_EQ(r.rec.status, RequestStatus::incomplete);
  r.parser->on_body_end(9 * kStep, r.rec);
  const RequestRecord& rec = r.rec;
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.events, 4u);
  ASSERT_EQ(rec.tokens.size(), 3u);  // the empty text_output is an event, not a token
  EXPECT_EQ(rec.tokens[2].received, 4 * kStep);
  EXPECT_EQ(rec.output_bytes, 16u);
  EXPECT_EQ(rec.end, 9 * kStep);
  EXPECT_FALSE(rec.usage.completion_tokens.has_value());
  EXPECT_EQ(rec.output_tokens(), 3);
}

TEST(TritonFixture, ErrorEventEndsTheStream) {
  const StreamRun r = run_sse(Api::triton, kFixtures + "triton/generate_stream_error.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.rec.status, RequestStatus::stream_error);
  EXPECT_NE(r.rec.error.find("CUDA out of memory"), std::string::npos) << r.rec.error;
  EXPECT_EQ(r.rec.tokens.size(), 1u);
}

TEST(TritonFixture, TrailingContentIsAProtocolError) {
  const StreamRun r = run_sse(Api::triton, kFixtures + "triton/generate_stream_malformed.sse");
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.fed, 2u);
  EXPECT_EQ(r.rec.status, RequestStatus::protocol_error);
}

}  // namespace
}  // namespace splleed::protocol::test
