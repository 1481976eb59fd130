// The checks beside a run's figures: exact output lengths, TTFT per turn, token counts side by side.
#include "metrics/run_checks.hpp"

#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace splleed::metrics {
namespace {

using ::testing::ElementsAre;

// An ok request sent at `sent_ms` whose first token came `ttft_ms` later, with `events` one-token
// events and the given usage.
RequestRecord request(std::uint64_t index, double sent_ms, double ttft_ms, std::uint32_t events,
                      std::optional<std::int64_t> prompt_usage = std::nullopt,
                      std::optional<std::int64_t> completion_usage = std::nullopt) {
  RequestRecord r;
  r.index = index;
  r.status = RequestStatus::ok;
  r.dispatched = from_ms(sent_ms);
  r.first_token = from_ms(sent_ms + ttft_ms);
  for (std::uint32_t i = 0; i < events; ++i) r.tokens.push_back({*r.first_token + from_ms(i), 1});
  r.last_token = r.tokens.empty() ? r.first_token : std::optional(r.tokens.back().received);
  r.end = r.last_token;
  r.usage.prompt_tokens = prompt_usage;
  r.usage.completion_tokens = completion_usage;
  return r;
}

TEST(OutputLengthCheck, CountsShorterLongerAndExactAmongRequestsThatAskedExactly) {
  std::vector<RequestRecord> rs;
  rs.push_back(request(0, 0, 1, 8, 10, 8));   // exact
  rs.push_back(request(1, 0, 1, 5, 10, 5));   // 3 short
  rs.push_back(request(2, 0, 1, 9));          // 1 long, counted from events
  rs.push_back(request(3, 0, 1, 2, 10, 2));   // a cap only: not checked
  for (std::size_t i = 0; i < 3; ++i) rs[i].exact_output_tokens = 8;
  RequestRecord failed = request(4, 0, 1, 1);
  failed.status = RequestStatus::timeout;  // failed requests are not checked
  failed.exact_output_tokens = 8;
  rs.push_back(failed);
  RequestRecord warm = request(5, 0, 1, 1);
  warm.warmup = true;  // nor warm-up
  warm.exact_output_tokens = 8;
  rs.push_back(warm);

  const auto c = check_output_length(rs);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->checked, 3);
  EXPECT_EQ(c->exact, 1);
  EXPECT_EQ(c->shorter, 1);
  EXPECT_EQ(c->longer, 1);
  EXPECT_THAT(c->examples,
              ElementsAre(OutputLengthExample{1, 8, 5}, OutputLengthExample{2, 8, 9}));
}

TEST(OutputLengthCheck, AbsentWhenNoRequestAskedAnExactLength) {
  std::vector<RequestRecord> rs = {request(0, 0, 1, 4)};
  EXPECT_FALSE(check_output_length(rs));
  EXPECT_FALSE(check_output_length({}));
}

TEST(OutputLengthCheck, KeepsAFewExamples) {
  std::vector<RequestRecord> rs;
  for (std::uint64_t i = 0; i < 20; ++i) {
    rs.push_back(request(i, 0, 1, 1));
    rs.back().exact_output_tokens = 4;
  }
  const auto c = check_output_length(rs);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->shorter, 20);
  EXPECT_EQ(c->examples.size(), kCheckExamples);
  EXPECT_EQ(c->examples.front().index, 0u);
}

TEST(TurnSummaries, OnePerTurnIndexWithTtftAndInputTokens) {
  std::vector<RequestRecord> rs;
  const auto turn = [&rs](std::uint64_t session, std::int32_t t, double ttft_ms,
                          std::optional<std::int64_t> prompt) {
    rs.push_back(request(rs.size(), 0, ttft_ms, 2, prompt, 2));
    rs.back().session = session;
    rs.back().turn = t;
  };
  turn(0, 0, 10, 100);
  turn(1, 0, 30, 100);
  turn(0, 1, 40, 300);
  turn(1, 1, 60, std::nullopt);
  turn(0, 2, 5, std::nullopt);
  rs.back().client_prompt_tokens = 50;  // the client's count stands in for missing usage
  RequestRecord failed = request(9, 0, 1000, 0);
  failed.status = RequestStatus::http_error;
  failed.turn = 1;
  rs.push_back(failed);

  const auto s = summarize_by_turn(rs);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].turn, 0);
  EXPECT_EQ(s[0].requests, 2);
  EXPECT_DOUBLE_EQ(s[0].ttft_mean_ms, 20);
  EXPECT_DOUBLE_EQ(s[0].ttft_p50_ms, 20);
  EXPECT_DOUBLE_EQ(s[0].ttft_p90_ms, 28);
  EXPECT_DOUBLE_EQ(s[0].ttft_p99_ms, 29.8);
  EXPECT_EQ(s[0].input_tokens_mean, 100.0);
  EXPECT_EQ(s[1].requests, 2);  // the failed turn is not counted
  EXPECT_DOUBLE_EQ(s[1].ttft_mean_ms, 50);
  EXPECT_EQ(s[1].input_tokens_mean, 300.0);
  EXPECT_EQ(s[2].turn, 2);
  EXPECT_EQ(s[2].input_tokens_mean, 50.0);
}

TEST(TurnSummaries, EmptyWithoutTurns) {
  std::vector<RequestRecord> rs = {request(0, 0, 1, 2)};
  EXPECT_TRUE(summarize_by_turn(rs).empty());
}

TEST(TokenCounts, TolerancesForPromptAndOutputCounts) {
  EXPECT_FALSE(prompt_counts_disagree(100, 108));  // a chat template's few tokens
  EXPECT_TRUE(prompt_counts_disagree(100, 109));
  EXPECT_FALSE(prompt_counts_disagree(1000, 1050));  // 5% of long prompts
  EXPECT_TRUE(prompt_counts_disagree(1000, 949));
  EXPECT_FALSE(output_counts_disagree(9, 10));  // one token without an event
  EXPECT_TRUE(output_counts_disagree(8, 10));
  EXPECT_FALSE(output_counts_disagree(190, 200));
  EXPECT_TRUE(output_counts_disagree(189, 200));
}

TEST(TokenCounts, ComparesEachSourceAndNamesTheOneBehindTpot) {
  std::vector<RequestRecord> rs;
  rs.push_back(request(0, 0, 1, 10, 20, 10));  // all agree
  rs.back().client_prompt_tokens = 20;
  rs.push_back(request(1, 0, 1, 4, 20, 12));   // events count 4 of 12: multi-token events
  rs.back().client_prompt_tokens = 60;         // and another tokenizer
  rs.push_back(request(2, 0, 1, 5));           // no usage: nothing to compare

  EXPECT_TRUE(token_count_disagreements(rs[0]).empty());
  EXPECT_THAT(token_count_disagreements(rs[1]), ElementsAre("prompt", "output"));
  EXPECT_TRUE(token_count_disagreements(rs[2]).empty());

  const TokenCountCheck c = check_token_counts(rs);
  EXPECT_EQ(c.tpot_source, "mixed");
  EXPECT_EQ(c.prompt_compared, 2);
  EXPECT_EQ(c.prompt_disagree, 1);
  EXPECT_EQ(c.output_compared, 2);
  EXPECT_EQ(c.output_disagree, 1);
  EXPECT_THAT(c.examples, ElementsAre(TokenCountExample{1, "prompt", 60, 20},
                                      TokenCountExample{1, "output", 4, 12}));

  rs.pop_back();
  EXPECT_EQ(check_token_counts(rs).tpot_source, "usage");
  EXPECT_EQ(check_token_counts({request(0, 0, 1, 3)}).tpot_source, "events");
  EXPECT_EQ(check_token_counts({}).tpot_source, "none");
}

TEST(CheckRun, FillsEveryCheckFromTheRecords) {
  RunResult run;
  run.requests.push_back(request(0, 0, 1, 3, 5, 3));
  run.requests.back().exact_output_tokens = 4;
  run.requests.back().turn = 0;
  check_run(run);
  ASSERT_TRUE(run.output_length);
  EXPECT_EQ(run.output_length->shorter, 1);
  ASSERT_EQ(run.by_turn.size(), 1u);
  EXPECT_EQ(run.token_counts.tpot_source, "usage");
}

}  // namespace
}  // namespace splleed::metrics
