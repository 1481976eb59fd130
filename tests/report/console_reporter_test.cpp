#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string console(const BenchmarkResult& r) {
  std::ostringstream out;
  write_console(r, out);
  return out.str();
}

// A single run whose summary is set by hand.
BenchmarkResult one_run(const RunSummary& s) {
  BenchmarkResult r;
  RunResult run;
  run.label = "concurrency=2";
  run.summary = s;
  r.runs.push_back(run);
  return r;
}

TEST(Console, InterruptionIsTheFirstLine) {
  EXPECT_THAT(console(testing::rich_result()),
              StartsWith("Run interrupted (SIGINT received): "));
  BenchmarkResult quiet = testing::rich_result();
  quiet.interrupted = false;
  EXPECT_THAT(console(quiet), StartsWith("concurrency=1 (trial 0): 2/3 requests ok"));
}

TEST(Console, NoFailuresSaysNone) {
  RunSummary s;
  s.requests_sent = s.requests_ok = 3;
  s.by_status[0] = 3;
  EXPECT_THAT(console(one_run(s)), HasSubstr("failures:                 none\n"));
}

TEST(Console, FailuresListOnlyNonZeroKindsInStatusOrder) {
  RunSummary s;
  s.by_status[static_cast<int>(RequestStatus::timeout)] = 1;
  s.by_status[static_cast<int>(RequestStatus::http_error)] = 2;
  EXPECT_THAT(console(one_run(s)),
              HasSubstr("failures:                 2 http_error, 1 timeout\n"));
}

TEST(Console, EmptyMetricsAreSkippedButTtftStays) {
  RunSummary s;
  s[Metric::tpot] = {.count = 1, .mean = 4.5, .p50 = 4.5, .max = 4.5};
  const std::string text = console(one_run(s));
  EXPECT_THAT(text, HasSubstr("  TTFT      0  0.00"));
  EXPECT_THAT(text, HasSubstr("  TPOT      1  4.50"));
  EXPECT_THAT(text, Not(HasSubstr("ITL")));
  EXPECT_THAT(text, Not(HasSubstr("E2E")));
  EXPECT_THAT(text, Not(HasSubstr("Stream end")));  // files only
  EXPECT_THAT(text, Not(HasSubstr("(trial")));       // single trial: no trial noise
}

TEST(Console, ColumnsWidenForLargeValues) {
  RunSummary s;
  s[Metric::ttft] = {.count = 12345, .mean = 1.0, .max = 123456.789};
  s[Metric::e2e] = {.count = 2, .mean = 3.0, .max = 7.0};
  const std::string text = console(one_run(s));
  EXPECT_THAT(text, HasSubstr("  (ms)  count  mean   p50   p90   p99        max\n"));
  EXPECT_THAT(text, HasSubstr("  TTFT  12345  1.00  0.00  0.00  0.00  123456.79\n"));
  EXPECT_THAT(text, HasSubstr("  E2E       2  3.00  0.00  0.00  0.00       7.00\n"));
}

TEST(Console, TokenSourceAndThroughputLines) {
  RunSummary s;
  s.request_throughput = 1.5;
  s.output_token_throughput = 1234.567;
  s.total_token_throughput = 2000;
  s.tokens_from_usage = false;
  const std::string text = console(one_run(s));
  EXPECT_THAT(text, HasSubstr("request throughput:       1.50 req/s\n"));
  EXPECT_THAT(text, HasSubstr("output token throughput:  1234.57 tok/s\n"));
  EXPECT_THAT(text, HasSubstr("total token throughput:   2000.00 tok/s\n"));
  EXPECT_THAT(text, HasSubstr("token counts from:        counted events\n"));
}

TEST(Console, LimitedRunCarriesTheVerdictDirectlyUnderItsHeading) {
  BenchmarkResult r = testing::rich_result();
  r.interrupted = false;
  const std::string text = console(r);
  const std::string& verdict = r.runs[1].client_health.verdict;
  EXPECT_THAT(text, HasSubstr("concurrency=4 (trial 1): 2/4 requests ok, window 0.040 s\n  ! " +
                              verdict + "\n  (ms) "));
  // Only the limited run has a verdict line.
  EXPECT_EQ(text.find("  ! The client"), text.rfind("  ! The client"));
  EXPECT_THAT(text, HasSubstr("concurrency=1 (trial 0): 2/3 requests ok, window 0.120 s\n  (ms) "));
}

TEST(Console, ChecksSpeakUpOnlyWhenSomethingIsOff) {
  const std::string text = console(testing::rich_result());
  // Run 0: the one request that asked for exactly 8 tokens produced 6.
  EXPECT_THAT(text, HasSubstr("  failures:                 1 http_error\n"
                              "  ! 1 of 1 requests produced fewer tokens than asked; e.g. request "
                              "1: 6 of 8 (stopped early despite the exact length asked: "));
  // Run 1: its requests produced what they asked; one prompt count disagrees; two turns.
  EXPECT_THAT(text, HasSubstr("  ! server and client token counts disagree: prompt in 1 of 2 "
                              "(client tokenizer vs usage.prompt_tokens); TPOT and throughput use "
                              "server usage\n"
                              "  TTFT by turn (ms)  count"));
  EXPECT_THAT(text, HasSubstr("  turn 0                 1  14.85  14.85  14.85  14.85       20.0\n"));
  EXPECT_THAT(text, Not(HasSubstr("more tokens than asked")));
  EXPECT_EQ(text.find("TTFT by turn"), text.rfind("TTFT by turn"));  // run 0 has no turns

  // Nothing to say: no line.
  BenchmarkResult quiet = testing::rich_result();
  for (RunResult& run : quiet.runs) {
    run.output_length.reset();
    run.token_counts = TokenCountCheck{};
    run.by_turn.clear();
  }
  EXPECT_THAT(console(quiet), Not(HasSubstr("than asked")));
  EXPECT_THAT(console(quiet), Not(HasSubstr("disagree")));
}

TEST(Console, LimitedWithoutASentenceStillWarns) {
  RunSummary s;
  BenchmarkResult r = one_run(s);
  r.runs[0].client_health.client_limited = true;
  EXPECT_THAT(console(r), HasSubstr(": 0/0 requests ok, window 0.000 s\n"
                                    "  ! The client may have limited these results.\n  (ms)"));
}

TEST(Console, HealthLineFollowsTheThroughputs) {
  const std::string text = console(testing::rich_result());
  EXPECT_THAT(text, HasSubstr("total token throughput:   183.33 tok/s\n"
                              "  client:                   schedule lag p99 0.15 ms, loop wake-up "
                              "p99 0.08 ms, worker CPU 12% 9%\n"));
  EXPECT_THAT(text, HasSubstr("loop wake-up p99 7.50 ms, worker CPU 95% 41%\n"));
  EXPECT_THAT(text, Not(HasSubstr("delivered")));  // closed loop: no rate was asked
}

TEST(Console, OpenLoopHealthLineStatesTheDeliveredRateOnce) {
  const std::string text = console(testing::open_loop_result());
  EXPECT_THAT(text, HasSubstr("  client:                   delivered 2.4 of 2.5 req/s, "
                              "schedule lag p99 "));
  // The ramp-up block has no health line of its own.
  EXPECT_EQ(text.find("  client:"), text.rfind("  client:"));
  EXPECT_LT(text.find("  client:"), text.find("ramp-up (not in the figures above)"));
}

TEST(Console, HealthWithoutSamplesSaysNotAvailable) {
  RunSummary s;
  EXPECT_THAT(console(one_run(s)),
              HasSubstr("  client:                   schedule lag n/a, loop wake-up n/a, "
                        "worker CPU n/a\n"));
}

}  // namespace
}  // namespace splleed::report
