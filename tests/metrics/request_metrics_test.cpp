#include "metrics/request_metrics.hpp"

#include <initializer_list>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace splleed::metrics {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::Optional;

constexpr Nanos ms(double v) { return from_ms(v); }
constexpr double ns(double milliseconds) { return milliseconds * 1e6; }

// A streamed request: scheduled at `t0`, sent 1 ms later, a role-only chunk at +5 ms, then token
// events given as (ms after t0, tokens); the stream ends 2 ms after the last token.
RequestRecord streamed(Nanos t0, std::initializer_list<std::pair<double, std::uint32_t>> events,
                       RequestStatus status = RequestStatus::ok) {
  RequestRecord r;
  r.status = status;
  r.scheduled = t0;
  r.dispatched = t0 + ms(1);
  r.headers = t0 + ms(3);
  r.first_event = t0 + ms(5);
  for (const auto& [at, tokens] : events) r.tokens.push_back({t0 + ms(at), tokens});
  if (!r.tokens.empty()) {
    r.first_token = r.tokens.front().received;
    r.last_token = r.tokens.back().received;
    r.end = *r.last_token + ms(2);
  } else {
    r.end = t0 + ms(6);
  }
  r.events = static_cast<std::uint32_t>(r.tokens.size()) + 2;
  return r;
}

TEST(Compute, LatenciesFromTheRightStamps) {
  // Token events at 10, 20, 50 (3 tokens), 60 ms; no usage, so 6 counted tokens.
  const RequestRecord r = streamed(ms(100), {{10, 1}, {20, 1}, {50, 3}, {60, 1}});
  const RequestMetrics m = compute(r);
  EXPECT_THAT(m.ttft, Optional(DoubleEq(ns(9))));                // first_token - dispatched
  EXPECT_THAT(m.ttft_from_schedule, Optional(DoubleEq(ns(10))));  // first_token - scheduled
  EXPECT_THAT(m.schedule_lag, Optional(DoubleEq(ns(1))));
  EXPECT_THAT(m.ttst, Optional(DoubleEq(ns(10))));         // second event - first event
  EXPECT_THAT(m.e2e, Optional(DoubleEq(ns(59))));          // last_token - dispatched
  EXPECT_THAT(m.e2e_from_schedule, Optional(DoubleEq(ns(60))));  // last_token - scheduled
  EXPECT_THAT(m.stream_end, Optional(DoubleEq(ns(61))));   // end - dispatched
  EXPECT_THAT(m.worst_stall, Optional(DoubleEq(ns(30))));  // largest event gap
  EXPECT_THAT(m.tpot, Optional(DoubleEq(ns(50.0 / 5))));   // (60 - 10) / (6 - 1)
}

TEST(Compute, RoleChunkCountsOnlyAsFirstEvent) {
  // The role-only delta at +5 ms must not start TTFT: only token-bearing events do.
  const RequestRecord r = streamed(0, {{40, 1}, {45, 1}});
  ASSERT_LT(*r.first_event, *r.first_token);
  EXPECT_THAT(compute(r).ttft, Optional(DoubleEq(ns(39))));
}

TEST(Compute, TpotUsesServerUsageWhenPresent) {
  RequestRecord r = streamed(0, {{10, 1}, {20, 1}, {50, 3}, {60, 1}});
  r.usage.completion_tokens = 11;  // e.g. several tokens per chunk the client could not see
  ASSERT_TRUE(r.output_tokens_from_usage());
  EXPECT_THAT(compute(r).tpot, Optional(DoubleEq(ns(50.0 / 10))));  // (60 - 10) / (11 - 1)
}

TEST(Compute, TpotFallsBackToCountedEventTokens) {
  const RequestRecord r = streamed(0, {{10, 2}, {30, 2}});  // 4 counted tokens
  ASSERT_FALSE(r.output_tokens_from_usage());
  EXPECT_THAT(compute(r).tpot, Optional(DoubleEq(ns(20.0 / 3))));
}

TEST(Compute, SingleTokenLeavesTwoTokenMetricsUndefined) {
  const RequestMetrics m = compute(streamed(0, {{10, 1}}));
  EXPECT_TRUE(m.ttft.has_value());
  EXPECT_TRUE(m.e2e.has_value());
  EXPECT_FALSE(m.ttst.has_value());
  EXPECT_FALSE(m.worst_stall.has_value());
  EXPECT_FALSE(m.tpot.has_value());
}

TEST(Compute, OneEventWithTwoTokensHasTpotButNoTtst) {
  // Both tokens arrived together: TPOT is defined (2 output tokens) and zero; TTST needs two
  // events.
  const RequestMetrics m = compute(streamed(0, {{10, 2}}));
  EXPECT_THAT(m.tpot, Optional(DoubleEq(0)));
  EXPECT_FALSE(m.ttst.has_value());
}

TEST(Compute, MissingStampsMakeMetricsAbsentNotZero) {
  RequestRecord r = streamed(0, {{10, 1}, {20, 1}});
  r.dispatched.reset();
  r.scheduled.reset();
  const RequestMetrics m = compute(r);
  EXPECT_FALSE(m.ttft.has_value());
  EXPECT_FALSE(m.ttft_from_schedule.has_value());
  EXPECT_FALSE(m.schedule_lag.has_value());
  EXPECT_FALSE(m.e2e.has_value());
  EXPECT_FALSE(m.stream_end.has_value());
  EXPECT_TRUE(m.ttst.has_value());
  EXPECT_TRUE(m.tpot.has_value());
}

TEST(AppendGaps, MultiTokenEventSplitsItlButNotIcl) {
  // 30 ms gap before an event carrying 3 tokens: three 10 ms ITL samples, one 30 ms ICL.
  const RequestRecord r = streamed(0, {{10, 1}, {40, 3}});
  std::vector<double> itl, icl;
  append_gaps(r, itl, icl);
  EXPECT_THAT(itl, ElementsAre(DoubleEq(ns(10)), DoubleEq(ns(10)), DoubleEq(ns(10))));
  EXPECT_THAT(icl, ElementsAre(DoubleEq(ns(30))));
}

TEST(AppendGaps, OneTokenPerEventMakesItlEqualIcl) {
  const RequestRecord r = streamed(0, {{10, 1}, {15, 1}, {27, 1}});
  std::vector<double> itl, icl;
  append_gaps(r, itl, icl);
  EXPECT_EQ(itl, icl);
  EXPECT_THAT(icl, ElementsAre(DoubleEq(ns(5)), DoubleEq(ns(12))));
}

TEST(AppendGaps, AppendsToExistingSamplesAndTreatsZeroCountAsOne) {
  std::vector<double> itl = {1.0}, icl = {2.0};
  append_gaps(streamed(0, {{10, 1}, {18, 0}}), itl, icl);
  EXPECT_THAT(itl, ElementsAre(1.0, DoubleEq(ns(8))));
  EXPECT_THAT(icl, ElementsAre(2.0, DoubleEq(ns(8))));
}

TEST(AppendGaps, NoGapsForFewerThanTwoEvents) {
  std::vector<double> itl, icl;
  append_gaps(streamed(0, {{10, 5}}), itl, icl);
  append_gaps(streamed(0, {}), itl, icl);
  EXPECT_TRUE(itl.empty());
  EXPECT_TRUE(icl.empty());
}

// ---- run summaries --------------------------------------------------------------------------

TEST(Summarize, FailedRequestsCountButAreNotInLatencies) {
  std::vector<RequestRecord> records;
  records.push_back(streamed(0, {{10, 1}, {20, 1}}));
  records.push_back(streamed(0, {{30, 1}, {50, 1}}));
  // Failed mid-stream: has stamps and token events, yet must not move any latency figure.
  records.push_back(streamed(0, {{500, 1}, {900, 1}}, RequestStatus::protocol_error));
  RequestRecord http;
  http.status = RequestStatus::http_error;
  http.http_status = 503;
  records.push_back(http);

  const RunSummary s = summarize(records, 0, ms(1000));
  EXPECT_EQ(s.requests_sent, 4);
  EXPECT_EQ(s.requests_ok, 2);
  EXPECT_EQ(s.requests_failed, 2);
  EXPECT_EQ(s.by_status[static_cast<int>(RequestStatus::ok)], 2);
  EXPECT_EQ(s.by_status[static_cast<int>(RequestStatus::protocol_error)], 1);
  EXPECT_EQ(s.by_status[static_cast<int>(RequestStatus::http_error)], 1);
  EXPECT_EQ(s[Metric::ttft].count, 2u);
  EXPECT_DOUBLE_EQ(s[Metric::ttft].min, 9);   // ms
  EXPECT_DOUBLE_EQ(s[Metric::ttft].max, 29);  // not 499
  EXPECT_EQ(s[Metric::icl].count, 2u);
  EXPECT_DOUBLE_EQ(s[Metric::icl].max, 20);
  // Only ok requests count towards throughput.
  EXPECT_DOUBLE_EQ(s.request_throughput, 2.0);
}

TEST(Summarize, WarmupIsExcludedEntirely) {
  std::vector<RequestRecord> records;
  RequestRecord warm = streamed(0, {{100, 1}, {300, 1}});
  warm.warmup = true;
  warm.usage.prompt_tokens = 1000;
  records.push_back(warm);
  RequestRecord warm_failed;
  warm_failed.warmup = true;
  warm_failed.status = RequestStatus::timeout;
  records.push_back(warm_failed);
  records.push_back(streamed(0, {{10, 1}, {20, 1}}));

  const RunSummary s = summarize(records, 0, ms(500));
  EXPECT_EQ(s.requests_sent, 1);
  EXPECT_EQ(s.requests_ok, 1);
  EXPECT_EQ(s.requests_failed, 0);
  EXPECT_EQ(s.by_status[static_cast<int>(RequestStatus::timeout)], 0);
  EXPECT_EQ(s[Metric::ttft].count, 1u);
  EXPECT_DOUBLE_EQ(s[Metric::ttft].max, 9);
  EXPECT_EQ(s.output_tokens, 2);
  EXPECT_EQ(s.prompt_tokens, 0);
}

TEST(Summarize, RampUpIsExcludedLikeWarmup) {
  std::vector<RequestRecord> records;
  RequestRecord ramp = streamed(0, {{100, 1}, {300, 1}});
  ramp.ramp_up = true;
  records.push_back(ramp);
  RequestRecord ramp_failed;
  ramp_failed.ramp_up = true;
  ramp_failed.status = RequestStatus::http_error;
  records.push_back(ramp_failed);
  records.push_back(streamed(0, {{10, 1}, {20, 1}}));

  const RunSummary s = summarize(records, 0, ms(500));
  EXPECT_EQ(s.requests_sent, 1);
  EXPECT_EQ(s.requests_failed, 0);
  EXPECT_EQ(s[Metric::ttft].count, 1u);
  EXPECT_EQ(s.output_tokens, 2);
  EXPECT_DOUBLE_EQ(s.request_throughput, 2.0);
}

TEST(Summarize, AllMetricsInMillisecondsAndPooled) {
  std::vector<RequestRecord> records;
  records.push_back(streamed(0, {{10, 1}, {20, 1}, {50, 3}, {60, 1}}));
  records.push_back(streamed(0, {{12, 1}, {14, 1}}));
  const RunSummary s = summarize(records, 0, ms(100));
  EXPECT_EQ(s[Metric::ttft].count, 2u);
  EXPECT_DOUBLE_EQ(s[Metric::ttft].mean, 10);  // (9 + 11) / 2
  EXPECT_DOUBLE_EQ(s[Metric::ttft_from_schedule].mean, 11);
  EXPECT_DOUBLE_EQ(s[Metric::schedule_lag].mean, 1);
  EXPECT_EQ(s[Metric::ttst].count, 2u);
  EXPECT_DOUBLE_EQ(s[Metric::ttst].min, 2);
  // ICL: 10, 30, 10 from the first request and 2 from the second; ITL splits the 30 in three.
  EXPECT_EQ(s[Metric::icl].count, 4u);
  EXPECT_DOUBLE_EQ(s[Metric::icl].max, 30);
  EXPECT_EQ(s[Metric::itl].count, 6u);
  EXPECT_DOUBLE_EQ(s[Metric::itl].max, 10);
  EXPECT_DOUBLE_EQ(s[Metric::itl].min, 2);
  EXPECT_EQ(s[Metric::tpot].count, 2u);
  EXPECT_DOUBLE_EQ(s[Metric::tpot].max, 10);  // (60-10)/5
  EXPECT_DOUBLE_EQ(s[Metric::tpot].min, 2);   // (14-12)/1
  EXPECT_DOUBLE_EQ(s[Metric::e2e].max, 59);
  EXPECT_DOUBLE_EQ(s[Metric::stream_end].max, 61);
  EXPECT_EQ(s[Metric::worst_stall].count, 2u);  // one per request
  EXPECT_DOUBLE_EQ(s[Metric::worst_stall].min, 2);
  EXPECT_DOUBLE_EQ(s[Metric::worst_stall].max, 30);
}

TEST(Summarize, OkRequestWithoutTokensCountsButHasNoTokenMetrics) {
  std::vector<RequestRecord> records{streamed(0, {})};
  const RunSummary s = summarize(records, 0, ms(100));
  EXPECT_EQ(s.requests_ok, 1);
  EXPECT_EQ(s[Metric::ttft].count, 0u);
  EXPECT_EQ(s[Metric::stream_end].count, 1u);
  EXPECT_DOUBLE_EQ(s.request_throughput, 10.0);  // it did complete in the window
}

TEST(Summarize, ThroughputCountsRequestsEndingInsideTheClosedWindow) {
  // Requests end at 2 ms past their last token; pick last tokens so that ends fall at
  // 99 ms (before), 100 ms (= start), 600 ms (inside), 1100 ms (= end) and 1101 ms (after).
  std::vector<RequestRecord> records;
  for (double end : {99.0, 100.0, 600.0, 1100.0, 1101.0}) {
    RequestRecord r = streamed(0, {{end - 12, 1}, {end - 2, 1}});
    r.usage.completion_tokens = 10;
    r.usage.prompt_tokens = 5;
    records.push_back(r);
  }
  const RunSummary s = summarize(records, ms(100), ms(1100));
  EXPECT_EQ(s.window_start, ms(100));
  EXPECT_EQ(s.window_end, ms(1100));
  EXPECT_DOUBLE_EQ(s.window_s, 1.0);
  EXPECT_DOUBLE_EQ(s.request_throughput, 3.0);
  EXPECT_EQ(s.output_tokens, 30);
  EXPECT_EQ(s.prompt_tokens, 15);
  EXPECT_DOUBLE_EQ(s.output_token_throughput, 30.0);
  EXPECT_DOUBLE_EQ(s.total_token_throughput, 45.0);
  EXPECT_TRUE(s.tokens_from_usage);
  // Latency populations are not windowed: all five ok requests count.
  EXPECT_EQ(s[Metric::ttft].count, 5u);
}

TEST(Summarize, TokenSourceReflectsOnlyCountedRequests) {
  std::vector<RequestRecord> records;
  RequestRecord with_usage = streamed(0, {{10, 1}, {20, 1}});
  with_usage.usage.completion_tokens = 7;
  records.push_back(with_usage);
  // Outside the window, without usage: does not affect the source.
  records.push_back(streamed(ms(5000), {{10, 1}, {20, 1}}));
  // Failed, without usage: does not affect the source either.
  records.push_back(streamed(0, {{10, 1}}, RequestStatus::stream_error));
  RunSummary s = summarize(records, 0, ms(1000));
  EXPECT_TRUE(s.tokens_from_usage);
  EXPECT_EQ(s.output_tokens, 7);

  records.push_back(streamed(0, {{10, 1}, {20, 2}}));  // counted, no usage: 3 event tokens
  s = summarize(records, 0, ms(1000));
  EXPECT_FALSE(s.tokens_from_usage);
  EXPECT_EQ(s.output_tokens, 10);
}

TEST(Summarize, EmptyWindowGivesZeroThroughput) {
  std::vector<RequestRecord> records{streamed(0, {{10, 1}, {20, 1}})};
  const RunSummary s = summarize(records, ms(22), ms(22));
  EXPECT_EQ(s.window_s, 0);
  EXPECT_EQ(s.output_tokens, 2);  // it ended exactly at the (empty) window
  EXPECT_EQ(s.request_throughput, 0);
  EXPECT_EQ(s.output_token_throughput, 0);
  EXPECT_EQ(s.total_token_throughput, 0);
}

TEST(Summarize, NoRecords) {
  const RunSummary s = summarize({}, 0, kNanosPerSecond);
  EXPECT_EQ(s.requests_sent, 0);
  for (const MetricSummary& m : s.metrics) EXPECT_EQ(m.count, 0u);
  EXPECT_EQ(s.request_throughput, 0);
}

}  // namespace
}  // namespace splleed::metrics
