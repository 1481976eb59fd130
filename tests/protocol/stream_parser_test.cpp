// Behaviours common to the completions and chat stream parsers, run over both.
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/adapter.hpp"
#include "protocol/json_event_parser.hpp"
#include "protocol/openai.hpp"
#include "protocol_test_util.hpp"

namespace splleed::protocol::test {
namespace {

template <class T>
class StreamParserTest : public ::testing::Test {
 protected:
  EventOutcome feed(std::string_view payload, Nanos t) { return parser->on_event(payload, t, rec); }
  std::uint64_t token_sum() const {
    std::uint64_t n = 0;
    for (const auto& e : rec.tokens) n += e.tokens;
    return n;
  }

  std::unique_ptr<ProtocolAdapter> adapter = make_adapter(T::kApi);
  std::unique_ptr<StreamParser> parser = adapter->make_parser();
  RequestRecord rec;
};
TYPED_TEST_SUITE(StreamParserTest, OpenAiApis, ApiNames);

TYPED_TEST(StreamParserTest, TokenEventsCarryTimesCountsAndBytes) {
  EXPECT_EQ(this->feed(TypeParam::opening(), 100), EventOutcome::more);
  EXPECT_EQ(this->feed(TypeParam::chunk(q("Hello")), 200), EventOutcome::more);
  EXPECT_EQ(this->feed(TypeParam::chunk(q(", world")), 350), EventOutcome::more);
  EXPECT_EQ(this->feed(TypeParam::chunk(q("!"), "", q("stop")), 500), EventOutcome::more);
  EXPECT_EQ(this->feed("[DONE]", 600), EventOutcome::done);

  const RequestRecord& r = this->rec;
  EXPECT_EQ(r.status, RequestStatus::ok);
  EXPECT_EQ(r.events, 4u);  // [DONE] is not a stream event
  EXPECT_EQ(r.first_event, 100);
  EXPECT_EQ(r.first_token, 200);
  EXPECT_EQ(r.last_token, 500);
  EXPECT_EQ(r.end, 600);
  ASSERT_EQ(r.tokens.size(), 3u);
  EXPECT_EQ(r.tokens[0].received, 200);
  EXPECT_EQ(r.tokens[1].received, 350);
  EXPECT_EQ(r.tokens[2].received, 500);
  EXPECT_EQ(this->token_sum(), 3u);
  EXPECT_EQ(r.output_bytes, 13u);
  EXPECT_TRUE(r.error.empty());
}

TYPED_TEST(StreamParserTest, EmptyNullAndFinishOnlyChunksAreNotTokens) {
  this->feed(TypeParam::opening(), 1);
  this->feed(TypeParam::chunk(q("")), 2);
  this->feed(TypeParam::chunk("null"), 3);
  this->feed(TypeParam::chunk(q(""), "", q("stop")), 4);
  EXPECT_EQ(this->rec.events, 4u);
  EXPECT_EQ(this->rec.first_event, 1);
  EXPECT_TRUE(this->rec.tokens.empty());
  EXPECT_FALSE(this->rec.first_token.has_value());
  EXPECT_FALSE(this->rec.last_token.has_value());
  EXPECT_EQ(this->rec.output_bytes, 0u);
  EXPECT_EQ(this->rec.finish_reason, "stop");
}

TYPED_TEST(StreamParserTest, DoneMatchesExactlyAfterTrimmingWhitespace) {
  // Text, not the end.
  EXPECT_EQ(this->feed(TypeParam::chunk(q("[DONE]"), "", q("stop")), 1), EventOutcome::more);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->feed(" \t[DONE]\r\n", 2), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::ok);
  EXPECT_EQ(this->rec.end, 2);
}

// A reply that never said why it ended was cut short by the server (llama-cpp-python does this
// when another request interrupts it): never ok, whether [DONE] or the body's end closes it.
TYPED_TEST(StreamParserTest, AStreamWithoutAFinishReasonIsCutShort) {
  this->feed(TypeParam::opening(), 1);
  this->feed(TypeParam::chunk(q("a")), 2);
  EXPECT_EQ(this->feed("[DONE]", 3), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_THAT(this->rec.error, ::testing::HasSubstr("without a finish_reason"));
  EXPECT_EQ(this->rec.end, 3);
  EXPECT_EQ(this->rec.tokens.size(), 1u);  // what arrived is kept

  this->parser->reset();
  RequestRecord no_done;
  this->parser->on_event(TypeParam::chunk(q("a")), 10, no_done);
  this->parser->on_body_end(11, no_done);
  EXPECT_EQ(no_done.status, RequestStatus::stream_error);
  EXPECT_EQ(no_done.end, 11);

  this->parser->reset();
  RequestRecord finished;
  this->parser->on_event(TypeParam::chunk(q("a")), 20, finished);
  this->parser->on_event(TypeParam::chunk(q(""), "", q("length")), 21, finished);
  this->parser->on_body_end(22, finished);  // no [DONE]: still ok
  EXPECT_EQ(finished.status, RequestStatus::ok);
}

TYPED_TEST(StreamParserTest, DoneWithTrailingBytesIsMalformed) {
  EXPECT_EQ(this->feed("[DONE] now", 7), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(this->rec.end, 7);
}

TYPED_TEST(StreamParserTest, DoneKeepsAStatusSetElsewhere) {
  this->rec.status = RequestStatus::cancelled;
  EXPECT_EQ(this->feed("[DONE]", 5), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::cancelled);
}

TYPED_TEST(StreamParserTest, WhitespaceOnlyPayloadIsIgnored) {
  EXPECT_EQ(this->feed("  \n", 1), EventOutcome::more);
  EXPECT_EQ(this->rec.events, 0u);
  EXPECT_FALSE(this->rec.first_event.has_value());
}

TYPED_TEST(StreamParserTest, UsageOnlyChunkFillsUsageWithoutTokens) {
  this->feed(TypeParam::chunk(q("a")), 1);
  this->feed(R"({"id":"x","choices":[],"usage":{"prompt_tokens":12,"total_tokens":15,)"
             R"("completion_tokens":3,"prompt_tokens_details":{"cached_tokens":8},)"
             R"("completion_tokens_details":{"reasoning_tokens":2}}})",
             2);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->rec.last_token, 1);
  EXPECT_EQ(this->rec.usage.prompt_tokens, 12);
  EXPECT_EQ(this->rec.usage.completion_tokens, 3);
  EXPECT_EQ(this->rec.usage.cached_tokens, 8);
  EXPECT_EQ(this->rec.usage.reasoning_tokens, 2);
  EXPECT_EQ(this->rec.output_tokens(), 3);
}

TYPED_TEST(StreamParserTest, NullUsageAndNullDetailsLeaveFieldsEmpty) {
  this->feed(TypeParam::chunk(q("a"), ",\"usage\":null"), 1);
  this->feed(R"({"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":null,)"
             R"("prompt_tokens_details":null,"completion_tokens_details":null}})",
             2);
  EXPECT_EQ(this->rec.usage.prompt_tokens, 4);
  EXPECT_FALSE(this->rec.usage.completion_tokens.has_value());
  EXPECT_FALSE(this->rec.usage.cached_tokens.has_value());
  EXPECT_FALSE(this->rec.usage.reasoning_tokens.has_value());
}

TYPED_TEST(StreamParserTest, LastUsageWins) {
  this->feed(TypeParam::chunk(q(""), usage_member(2, 7)), 1);
  this->feed(R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}})", 2);
  EXPECT_EQ(this->rec.usage.prompt_tokens, 9);
  EXPECT_EQ(this->rec.usage.completion_tokens, 4);
}

TYPED_TEST(StreamParserTest, CumulativeUsageGivesPerEventCounts) {
  this->feed(TypeParam::opening(), 1);
  this->feed(TypeParam::chunk(q("a"), usage_member(1)), 2);
  this->feed(TypeParam::chunk(q("bcd"), usage_member(4)), 3);  // three tokens in one chunk
  this->feed(TypeParam::chunk(q("e"), usage_member(4)), 4);    // no increase: still one token
  this->feed(TypeParam::chunk(q(""), usage_member(6)), 5);     // tokens without text...
  this->feed(TypeParam::chunk(q("f"), usage_member(7)), 6);    // ...go to the next token event
  ASSERT_EQ(this->rec.tokens.size(), 4u);
  EXPECT_EQ(this->rec.tokens[0].tokens, 1u);
  EXPECT_EQ(this->rec.tokens[1].tokens, 3u);
  EXPECT_EQ(this->rec.tokens[2].tokens, 1u);
  EXPECT_EQ(this->rec.tokens[3].tokens, 2u);
  EXPECT_EQ(this->rec.usage.completion_tokens, 7);
}

TYPED_TEST(StreamParserTest, FirstChunkCanCarrySeveralTokens) {
  // Speculative decoding: the first text chunk already holds accepted draft tokens.
  this->feed(TypeParam::chunk(q("ab"), usage_member(2)), 1);
  ASSERT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->rec.tokens[0].tokens, 2u);
  EXPECT_EQ(this->rec.first_token, 1);
}

TYPED_TEST(StreamParserTest, FallingCumulativeUsageStillCountsOneTokenPerEvent) {
  // A server whose counter goes backwards (or restarts) never yields a zero or negative count.
  this->feed(TypeParam::chunk(q("a"), usage_member(5)), 1);
  this->feed(TypeParam::chunk(q("b"), usage_member(2)), 2);
  this->feed(TypeParam::chunk(q("c"), usage_member(0)), 3);
  ASSERT_EQ(this->rec.tokens.size(), 3u);
  EXPECT_EQ(this->rec.tokens[0].tokens, 5u);
  EXPECT_EQ(this->rec.tokens[1].tokens, 1u);
  EXPECT_EQ(this->rec.tokens[2].tokens, 1u);
  EXPECT_EQ(this->rec.usage.completion_tokens, 0);  // the last report wins, as documented
}

TYPED_TEST(StreamParserTest, FinalUsageOnATextChunkDoesNotInflateItsCount) {
  // Usage seen only on the last text chunk is a total, not a per-event count: that event gets
  // the tokens not yet attributed.
  this->feed(TypeParam::chunk(q("a")), 1);
  this->feed(TypeParam::chunk(q("b")), 2);
  this->feed(TypeParam::chunk(q("c"), usage_member(3)), 3);
  ASSERT_EQ(this->rec.tokens.size(), 3u);
  EXPECT_EQ(this->rec.tokens[2].tokens, 1u);
  EXPECT_EQ(this->token_sum(), 3u);
}

TYPED_TEST(StreamParserTest, ResponseIdIsTakenFromTheFirstEventOnly) {
  this->feed(TypeParam::chunk(q("a"), "", "null"), 1);
  const std::string first = this->rec.response_id;
  EXPECT_FALSE(first.empty());
  this->feed(R"({"id":"other","choices":[]})", 2);
  EXPECT_EQ(this->rec.response_id, first);
}

TYPED_TEST(StreamParserTest, ErrorObjectInsideTheStreamIsAStreamError) {
  this->feed(TypeParam::chunk(q("a")), 1);
  EXPECT_EQ(this->feed(R"({"error":{"object":"error","message":"engine died","type":"InternalServerError","code":500}})", 2),
            EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.error, "engine died");
  EXPECT_EQ(this->rec.end, 2);
  EXPECT_EQ(this->rec.events, 2u);
  // Later events (here the [DONE] vLLM sends after an error) change nothing.
  EXPECT_EQ(this->feed("[DONE]", 3), EventOutcome::done);
  EXPECT_EQ(this->feed(TypeParam::chunk(q("b")), 4), EventOutcome::done);
  this->parser->on_body_end(5, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.end, 2);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
}

TYPED_TEST(StreamParserTest, ErrorStringIsAStreamError) {
  EXPECT_EQ(this->feed(R"({"error":"model overloaded"})", 3), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.error, "model overloaded");
}

TYPED_TEST(StreamParserTest, TopLevelErrorObjectIsAStreamError) {
  EXPECT_EQ(this->feed(R"({"message":"bad things","object":"error","type":"BadRequestError","code":400})", 3),
            EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.error, "bad things");
}

TYPED_TEST(StreamParserTest, ErrorWithoutMessageFallsBackToTypeThenAFixedText) {
  this->feed(R"({"error":{"type":"server_error","code":500}})", 1);
  EXPECT_EQ(this->rec.error, "server_error");
  this->parser->reset();
  RequestRecord other;
  this->parser->on_event(R"({"error":{"code":500}})", 1, other);
  EXPECT_EQ(other.status, RequestStatus::stream_error);
  EXPECT_EQ(other.error, "error event without a message");
}

TYPED_TEST(StreamParserTest, NullErrorIsNotAnError) {
  EXPECT_EQ(this->feed(TypeParam::chunk(q("a"), ",\"error\":null"), 1), EventOutcome::more);
  EXPECT_EQ(this->rec.status, RequestStatus::incomplete);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
}

TYPED_TEST(StreamParserTest, LongErrorIsTruncatedOnACodePointBoundary) {
  std::string msg;
  for (int i = 0; i < 200; ++i) msg += "\xc3\xa9";  // "é", 2 bytes each
  msg = "x" + msg;                                   // odd offset: 300 falls inside a character
  this->feed("{\"error\":{\"message\":\"" + msg + "\"}}", 1);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_LE(this->rec.error.size(), 300u);
  EXPECT_GE(this->rec.error.size(), 298u);
  EXPECT_EQ(this->rec.error, msg.substr(0, this->rec.error.size()));
  EXPECT_NE(static_cast<unsigned char>(this->rec.error.back()), 0xc3);  // no dangling lead byte
}

TYPED_TEST(StreamParserTest, MalformedJsonIsAProtocolErrorQuotingThePayload) {
  this->feed(TypeParam::chunk(q("a")), 1);
  const std::string bad = R"({"choices":[{"index":0,"text":"unterminated)";
  EXPECT_EQ(this->feed(bad, 2), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(this->rec.end, 2);
  EXPECT_NE(this->rec.error.find("malformed JSON"), std::string::npos) << this->rec.error;
  EXPECT_NE(this->rec.error.find(bad), std::string::npos) << this->rec.error;
  EXPECT_EQ(this->rec.events, 2u);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
}

TYPED_TEST(StreamParserTest, MalformedPayloadExcerptIsCutToEightyBytes) {
  const std::string bad = "{\"x\": " + std::string(200, 'z');
  this->feed(bad, 1);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_NE(this->rec.error.find(bad.substr(0, 80) + "..."), std::string::npos) << this->rec.error;
  EXPECT_EQ(this->rec.error.find(bad.substr(0, 81)), std::string::npos);
}

TYPED_TEST(StreamParserTest, NonObjectAndTrailingContentAreProtocolErrors) {
  for (const std::string bad : {"42", "[1,2]", "\"text\"", "{\"a\":1}{\"b\":2}", "not json"}) {
    this->parser->reset();
    RequestRecord r;
    EXPECT_EQ(this->parser->on_event(bad, 1, r), EventOutcome::done) << bad;
    EXPECT_EQ(r.status, RequestStatus::protocol_error) << bad;
    EXPECT_NE(r.error.find(bad), std::string::npos) << r.error;
  }
}

TYPED_TEST(StreamParserTest, MissingDoneIsToleratedAtBodyEnd) {
  this->feed(TypeParam::chunk(q("a")), 1);
  this->feed(TypeParam::chunk(q(""), usage_member(1), q("stop")), 2);
  this->parser->on_body_end(9, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::ok);
  EXPECT_EQ(this->rec.end, 9);
  EXPECT_EQ(this->rec.finish_reason, "stop");
}

TYPED_TEST(StreamParserTest, BodyEndWithNoEventsIsAProtocolError) {
  this->parser->on_body_end(9, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(this->rec.error, "the stream ended with no events");
  EXPECT_EQ(this->rec.end, 9);
}

TYPED_TEST(StreamParserTest, BodyEndAfterDoneChangesNothing) {
  this->feed(TypeParam::chunk(q("a"), "", q("length")), 1);
  this->feed("[DONE]", 2);
  this->parser->on_body_end(9, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::ok);
  EXPECT_EQ(this->rec.end, 2);
}

TYPED_TEST(StreamParserTest, OnlyChoiceIndexZeroIsCounted) {
  const std::string two = TypeParam::chunk(q("bb"), "", "null", 1);  // index 1 only
  this->feed(two, 1);
  EXPECT_TRUE(this->rec.tokens.empty());
  EXPECT_EQ(this->rec.events, 1u);
  this->feed(TypeParam::chunk(q("a"), "", "null", 0), 2);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->rec.output_bytes, 1u);
}

TYPED_TEST(StreamParserTest, EscapedTextCountsDecodedBytes) {
  this->feed(TypeParam::chunk(R"("a\n\u00e9\"")"), 1);  // a, newline, é (2 bytes), quote
  EXPECT_EQ(this->rec.output_bytes, 5u);
}

TYPED_TEST(StreamParserTest, UnknownFieldsAreIgnored) {
  const std::string extra =
      R"(,"timings":{"prompt_n":1,"nested":[{"a":[1,2,{"b":null}]}]},"system_fingerprint":"fp",)"
      R"("choices_extra":[],"prompt_logprobs":null)";
  this->feed(TypeParam::chunk(q("ok"), extra), 1);
  EXPECT_EQ(this->rec.status, RequestStatus::incomplete);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
}

TYPED_TEST(StreamParserTest, WrongTypesInKnownFieldsAreIgnored) {
  const char* odd[] = {
      R"({"id":7,"choices":{"index":0},"usage":[1]})",
      R"({"choices":[1,"x",null,{"index":"0","finish_reason":5,"text":5,"delta":"x"}]})",
      R"({"choices":[],"usage":{"prompt_tokens":"5","completion_tokens":2.5,"prompt_tokens_details":[]}})",
      R"({"object":5,"message":null})",
  };
  for (const char* payload : odd) {
    EXPECT_EQ(this->feed(payload, 1), EventOutcome::more) << payload;
  }
  EXPECT_EQ(this->rec.status, RequestStatus::incomplete) << this->rec.error;
  EXPECT_EQ(this->rec.events, 4u);
  EXPECT_TRUE(this->rec.tokens.empty());
  EXPECT_TRUE(this->rec.response_id.empty());
  EXPECT_TRUE(this->rec.finish_reason.empty());
  EXPECT_FALSE(this->rec.usage.prompt_tokens.has_value());
  EXPECT_FALSE(this->rec.usage.completion_tokens.has_value());
  this->parser->on_body_end(2, this->rec);
  // A finish_reason of the wrong type is no finish_reason: the reply counts as cut short.
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
}

TYPED_TEST(StreamParserTest, FieldOrderDoesNotMatter) {
  // usage and id before choices, index after the text.
  const std::string chunk = TypeParam::kApi == Api::openai_chat
      ? R"({"usage":{"completion_tokens":2},"id":"first","choices":[{"delta":{"content":"xy"},"finish_reason":null,"index":0}]})"
      : R"({"usage":{"completion_tokens":2},"id":"first","choices":[{"text":"xy","finish_reason":null,"index":0}]})";
  this->feed(chunk, 1);
  ASSERT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->rec.tokens[0].tokens, 2u);
  EXPECT_EQ(this->rec.response_id, "first");
}

TYPED_TEST(StreamParserTest, ResetStartsAFreshStream) {
  this->feed(TypeParam::chunk(q("a"), usage_member(5)), 1);
  this->feed("[DONE]", 2);
  this->parser->reset();
  RequestRecord next;
  EXPECT_EQ(this->parser->on_event(TypeParam::chunk(q("b"), usage_member(1), q("stop")), 10, next),
            EventOutcome::more);
  ASSERT_EQ(next.tokens.size(), 1u);
  EXPECT_EQ(next.tokens[0].tokens, 1u);  // nothing carried over from the previous stream
  this->parser->on_body_end(11, next);
  EXPECT_EQ(next.status, RequestStatus::ok);
}

TYPED_TEST(StreamParserTest, LargePayloadGrowsTheBufferOnce) {
  auto* p = dynamic_cast<OpenAiStreamParser*>(this->parser.get());
  ASSERT_NE(p, nullptr);
  // The buffer belongs to the thread, and earlier tests may have grown it: three times its size.
  const std::string big(3 * p->capacity(), 'x');
  this->feed(TypeParam::chunk(q(big)), 1);
  EXPECT_EQ(this->rec.output_bytes, big.size());
  const std::size_t grown = p->capacity();
  EXPECT_GT(grown, big.size());
  this->feed(TypeParam::chunk(q("small")), 2);
  this->feed(TypeParam::chunk(q(big)), 3);
  EXPECT_EQ(p->capacity(), grown);
  EXPECT_EQ(this->rec.tokens.size(), 3u);
}

// Parsers on one thread share its simdjson parser and payload buffer: streams whose events
// interleave, one of them with a payload that grows the buffer, each get their own results.
TYPED_TEST(StreamParserTest, InterleavedStreamsOnOneThreadKeepTheirOwnResults) {
  auto other = this->adapter->make_parser();
  RequestRecord rec2;
  const std::string big(4 * JsonEventParser::kInitialCapacity, 'b');
  EXPECT_EQ(this->feed(TypeParam::chunk(q("one")), 1), EventOutcome::more);
  EXPECT_EQ(other->on_event(TypeParam::chunk(q(big), ",\"usage\":{\"completion_tokens\":3}"), 2, rec2),
            EventOutcome::more);
  EXPECT_EQ(this->feed(TypeParam::chunk(q("two")), 3), EventOutcome::more);
  EXPECT_EQ(other->on_event("{\"choices\": [", 4, rec2), EventOutcome::done);
  EXPECT_EQ(this->feed("[DONE]", 5), EventOutcome::done);

  EXPECT_EQ(this->rec.status, RequestStatus::ok);
  ASSERT_EQ(this->rec.tokens.size(), 2u);
  EXPECT_EQ(this->rec.tokens[1].received, 3);
  EXPECT_EQ(this->rec.output_bytes, 6u);
  EXPECT_EQ(this->token_sum(), 2u);
  EXPECT_EQ(rec2.status, RequestStatus::protocol_error);
  ASSERT_EQ(rec2.tokens.size(), 1u);
  EXPECT_EQ(rec2.tokens[0].tokens, 3u);
  EXPECT_EQ(rec2.output_bytes, big.size());
}

// Each thread has its own parser and buffer: streams parsed on two threads at once do not meet.
TYPED_TEST(StreamParserTest, StreamsOnTwoThreadsAtOnceKeepTheirOwnResults) {
  constexpr int kEvents = 2000;
  auto run = [&](std::string_view word, RequestRecord& out) {
    auto p = this->adapter->make_parser();
    out.tokens.reserve(kEvents);
    const std::string payload = TypeParam::chunk(q(word));
    for (int i = 0; i < kEvents; ++i) p->on_event(payload, i, out);
    p->on_event("[DONE]", kEvents, out);
  };
  RequestRecord a, b;
  std::thread other([&] { run("a much longer piece of text", b); });
  run("short", a);
  other.join();
  EXPECT_EQ(a.status, RequestStatus::ok);
  EXPECT_EQ(b.status, RequestStatus::ok);
  EXPECT_EQ(a.tokens.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(b.tokens.size(), static_cast<std::size_t>(kEvents));
  EXPECT_EQ(a.output_bytes, 5u * kEvents);
  EXPECT_EQ(b.output_bytes, 27u * kEvents);
}

// ---- shape-specific ---------------------------------------------------------------------------

TEST(ChatStreamParser, RoleOnlyDeltaIsAnEventNotAToken) {
  auto parser = make_adapter(Api::openai_chat)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]})", 5,
                   rec);
  EXPECT_EQ(rec.first_event, 5);
  EXPECT_FALSE(rec.first_token.has_value());
  EXPECT_TRUE(rec.tokens.empty());
}

TEST(ChatStreamParser, ReasoningDeltasAreTokensCountedOnce) {
  auto parser = make_adapter(Api::openai_chat)->make_parser();
  RequestRecord rec;
  parser->on_event(R"({"choices":[{"index":0,"delta":{"reasoning_content":"abc"}}]})", 1, rec);
  parser->on_event(R"({"choices":[{"index":0,"delta":{"reasoning":"de"}}]})", 2, rec);
  parser->on_event(R"({"choices":[{"index":0,"delta":{"reasoning_content":"f","reasoning":"f"}}]})", 3,
                   rec);
  parser->on_event(R"({"choices":[{"index":0,"delta":{"content":"gh","reasoning_content":null}}]})", 4,
                   rec);
  ASSERT_EQ(rec.tokens.size(), 4u);
  EXPECT_EQ(rec.first_token, 1);
  EXPECT_EQ(rec.output_bytes, 3u + 2u + 1u + 2u);
}

TEST(ChatStreamParser, ToolCallOnlyDeltaIsNotAToken) {
  auto parser = make_adapter(Api::openai_chat)->make_parser();
  RequestRecord rec;
  parser->on_event(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]})",
      1, rec);
  EXPECT_TRUE(rec.tokens.empty());
  EXPECT_EQ(rec.events, 1u);
}

TEST(StreamParserShapes, EachParserReadsOnlyItsOwnField) {
  RequestRecord a, b;
  auto completions = make_adapter(Api::openai_completions)->make_parser();
  auto chat = make_adapter(Api::openai_chat)->make_parser();
  completions->on_event(R"({"choices":[{"index":0,"delta":{"content":"x"}}]})", 1, a);
  chat->on_event(R"({"choices":[{"index":0,"text":"x"}]})", 1, b);
  EXPECT_TRUE(a.tokens.empty());
  EXPECT_TRUE(b.tokens.empty());
}

}  // namespace
}  // namespace splleed::protocol::test
