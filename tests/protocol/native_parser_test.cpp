// Behaviour every native stream parser shares: malformed input, in-band errors, the stream's end,
// reuse across requests. Engine-specific cases are in native_fixtures_test.cpp.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/json_event_parser.hpp"
#include "native_test_util.hpp"

namespace splleed::protocol::test {
namespace {

template <class T>
class NativeParserTest : public ::testing::Test {
 protected:
  EventOutcome feed(const std::string& payload, Nanos t) { return parser->on_event(payload, t, rec); }
  // Ends the stream the API's way: its terminal event, or the body's end when it has none.
  void end(int i, Nanos t) {
    if (const auto last = T::terminal(i)) {
      EXPECT_EQ(feed(*last, t), EventOutcome::done);
    } else {
      parser->on_body_end(t, rec);
    }
  }
  std::unique_ptr<StreamParser> parser = native_adapter(T::kApi)->make_parser();
  RequestRecord rec;
};
TYPED_TEST_SUITE(NativeParserTest, NativeApis, NativeNames);

TYPED_TEST(NativeParserTest, TokenEventsThenTheEnd) {
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(this->feed(TypeParam::token(i, "ab"), i * 10), EventOutcome::more);
  this->end(3, 40);
  EXPECT_EQ(this->rec.status, RequestStatus::ok) << this->rec.error;
  constexpr int kTokens = 3 + TypeParam::kTerminalTokens;
  ASSERT_EQ(this->rec.tokens.size(), static_cast<std::size_t>(kTokens));
  for (const TokenEvent& e : this->rec.tokens) EXPECT_EQ(e.tokens, 1u);
  EXPECT_EQ(this->rec.first_event, 10);
  EXPECT_EQ(this->rec.first_token, 10);
  EXPECT_EQ(this->rec.last_token, TypeParam::kTerminalTokens > 0 ? 40 : 30);
  EXPECT_EQ(this->rec.end, 40);
  EXPECT_EQ(this->rec.output_bytes, 6u);
  EXPECT_EQ(this->rec.output_tokens(), kTokens);
  EXPECT_TRUE(this->rec.error.empty());
}

TYPED_TEST(NativeParserTest, InBandErrorIsAStreamError) {
  this->feed(TypeParam::token(1), 1);
  EXPECT_EQ(this->feed(TypeParam::error(), 2), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.error, "boom");
  EXPECT_EQ(this->rec.end, 2);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
  EXPECT_EQ(this->rec.events, 2u);
}

TYPED_TEST(NativeParserTest, EventsAfterTheEndAreIgnored) {
  this->feed(TypeParam::error(), 1);
  EXPECT_EQ(this->feed(TypeParam::token(1), 2), EventOutcome::done);
  this->parser->on_body_end(3, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_EQ(this->rec.end, 1);
  EXPECT_TRUE(this->rec.tokens.empty());
  EXPECT_EQ(this->rec.events, 1u);
}

TYPED_TEST(NativeParserTest, MalformedJsonIsAProtocolErrorQuotingThePayload) {
  this->feed(TypeParam::token(1), 1);
  std::string bad = TypeParam::token(2);
  bad.resize(bad.size() - 3);  // cut inside the object
  EXPECT_EQ(this->feed(bad, 2), EventOutcome::done);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_NE(this->rec.error.find("malformed JSON"), std::string::npos) << this->rec.error;
  EXPECT_NE(this->rec.error.find(bad.substr(0, 60)), std::string::npos) << this->rec.error;
  EXPECT_EQ(this->rec.end, 2);
  EXPECT_EQ(this->rec.tokens.size(), 1u);
}

TYPED_TEST(NativeParserTest, NonObjectAndTrailingContentAreProtocolErrors) {
  for (const std::string bad : {"42", "[1,2]", "\"text\"", "{\"a\":1}{\"b\":2}", "not json", "null"}) {
    this->parser->reset();
    RequestRecord r;
    EXPECT_EQ(this->parser->on_event(bad, 1, r), EventOutcome::done) << bad;
    EXPECT_EQ(r.status, RequestStatus::protocol_error) << bad;
    EXPECT_NE(r.error.find(bad), std::string::npos) << r.error;
  }
}

TYPED_TEST(NativeParserTest, BlankPayloadsAreIgnored) {
  EXPECT_EQ(this->feed("", 1), EventOutcome::more);
  EXPECT_EQ(this->feed(" \r\n", 2), EventOutcome::more);
  EXPECT_EQ(this->rec.events, 0u);
  EXPECT_FALSE(this->rec.first_event.has_value());
}

TYPED_TEST(NativeParserTest, BodyEndWithNoEventsIsAProtocolError) {
  this->parser->on_body_end(9, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::protocol_error);
  EXPECT_EQ(this->rec.error, "the stream ended with no events");
  EXPECT_EQ(this->rec.end, 9);
}

TYPED_TEST(NativeParserTest, BodyEndKeepsAStatusDecidedElsewhere) {
  this->feed(TypeParam::token(1), 1);
  this->rec.status = RequestStatus::cancelled;
  this->parser->on_body_end(9, this->rec);
  EXPECT_EQ(this->rec.status, RequestStatus::cancelled);
  EXPECT_EQ(this->rec.end, 9);
}

TYPED_TEST(NativeParserTest, UnknownFieldsAndWrongTypesAreSkipped) {
  const std::vector<std::string> odd = {
      R"({"unknown":{"nested":[1,{"a":null}]},"token":5,"details":"x","text":7,"meta_info":[],)"
      R"("content":null,"tokens":{},"stop":"yes","response":1,"message":"x","done":"no",)"
      R"("text_output":false,"generated_text":3,"timings":[],"eval_count":"5"})",
  };
  for (const std::string& payload : odd) {
    EXPECT_EQ(this->feed(payload, 1), EventOutcome::more) << payload;
  }
  EXPECT_EQ(this->rec.status, RequestStatus::incomplete) << this->rec.error;
  EXPECT_TRUE(this->rec.tokens.empty());
  EXPECT_EQ(this->rec.events, 1u);
  EXPECT_FALSE(this->rec.usage.completion_tokens.has_value());
}

TYPED_TEST(NativeParserTest, NullErrorIsNotAnError) {
  EXPECT_EQ(this->feed(R"({"error":null})", 1), EventOutcome::more);
  EXPECT_EQ(this->rec.status, RequestStatus::incomplete);
}

TYPED_TEST(NativeParserTest, ResetStartsAFreshStream) {
  this->feed(TypeParam::token(1), 1);
  this->feed(TypeParam::token(2), 2);
  this->end(2, 3);
  this->parser->reset();
  RequestRecord next;
  EXPECT_EQ(this->parser->on_event(TypeParam::token(1, "abc"), 10, next), EventOutcome::more);
  ASSERT_EQ(next.tokens.size(), 1u);
  EXPECT_EQ(next.tokens[0].tokens, 1u);
  EXPECT_EQ(next.output_bytes, 3u);  // nothing carried over (cumulative text starts again)
  EXPECT_EQ(next.status, RequestStatus::incomplete);
}

TYPED_TEST(NativeParserTest, LargePayloadGrowsTheBufferOnce) {
  auto* p = dynamic_cast<JsonEventParser*>(this->parser.get());
  ASSERT_NE(p, nullptr);
  // The buffer belongs to the thread, and earlier tests may have grown it: three times its size.
  const std::string big(3 * p->capacity(), 'y');
  this->feed(TypeParam::token(1, big), 1);
  const std::size_t grown = p->capacity();
  EXPECT_GT(grown, big.size());
  EXPECT_EQ(this->rec.output_bytes, big.size());
  this->feed(TypeParam::token(2, "s"), 2);
  EXPECT_EQ(p->capacity(), grown);
}

TYPED_TEST(NativeParserTest, LongErrorIsTruncatedOnACodePointBoundary) {
  std::string msg = "x";
  for (int i = 0; i < 200; ++i) msg += "\xc3\xa9";  // "é": 300 falls inside a character
  std::string payload = TypeParam::error();
  payload.replace(payload.find("boom"), 4, msg);
  this->feed(payload, 1);
  EXPECT_EQ(this->rec.status, RequestStatus::stream_error);
  EXPECT_LE(this->rec.error.size(), 300u);
  EXPECT_GE(this->rec.error.size(), 298u);
  EXPECT_EQ(this->rec.error, msg.substr(0, this->rec.error.size()));
}

}  // namespace
}  // namespace splleed::protocol::test
