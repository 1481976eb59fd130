// Fields that appear only for the plans that use them: warm-up by time, trace replay, per-prompt
// output lengths. They round-trip, and files without them read back with the defaults.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/reporters.hpp"

namespace splleed::report {
namespace {

TEST(PlanJson, TraceWarmupAndPerPromptLengthsRoundTrip) {
  BenchmarkResult r;
  r.config.target.base_url = "http://127.0.0.1:1";
  r.config.load.mode = LoadMode::rate;
  r.config.load.warmup_duration = 1500 * kNanosPerMilli;
  r.config.load.busy_poll = 50'000;
  r.config.load.trace = TraceReplay{"trace.jsonl", 0.5, {0, 250'000, 3 * kNanosPerSecond}};
  r.config.prompts = {"a", "b", "c"};
  r.config.prompt_max_tokens = {5, 6, 7};
  const auto j = to_json(r);
  EXPECT_EQ(j["config"]["load"]["warmup_duration_s"], 1.5);
  EXPECT_EQ(j["config"]["load"]["busy_poll_us"], 50.0);
  EXPECT_EQ(j["config"]["load"]["trace"]["times_ms"][1], 0.25);
  const BenchmarkResult back = from_json(j);
  EXPECT_EQ(back.config.load.warmup_duration, r.config.load.warmup_duration);
  EXPECT_EQ(back.config.load.busy_poll, 50'000);
  ASSERT_TRUE(back.config.load.trace);
  EXPECT_EQ(back.config.load.trace->source, "trace.jsonl");
  EXPECT_EQ(back.config.load.trace->time_scale, 0.5);
  EXPECT_EQ(back.config.load.trace->times, r.config.load.trace->times);
  EXPECT_EQ(back.config.prompt_max_tokens, r.config.prompt_max_tokens);
}

TEST(PlanJson, AbsentWhenUnused) {
  BenchmarkResult r;
  r.config.prompts = {"a"};
  const auto j = to_json(r);
  EXPECT_FALSE(j["config"]["load"].contains("warmup_duration_s"));
  EXPECT_FALSE(j["config"]["load"].contains("busy_poll_us"));
  EXPECT_FALSE(j["config"]["load"].contains("trace"));
  EXPECT_FALSE(j["config"].contains("prompt_max_tokens"));
  EXPECT_FALSE(j.contains("sweep"));
  EXPECT_FALSE(j.contains("slo_search"));
  const BenchmarkResult back = from_json(j);
  EXPECT_FALSE(back.config.load.warmup_duration);
  EXPECT_EQ(back.config.load.busy_poll, 0);
  EXPECT_FALSE(back.config.load.trace);
  EXPECT_TRUE(back.config.prompt_max_tokens.empty());
}

TEST(PlanJson, SearchProbeWithNothingMeasuredIsNull) {
  BenchmarkResult r;
  SloSearchResult s;
  s.variable = "request_rate";
  s.probes.push_back({"rate=4", 4, false, {std::numeric_limits<double>::infinity(), 12.5}, 3});
  s.verdict = "v";
  r.slo_search = s;
  const auto j = to_json(r);
  EXPECT_TRUE(j["slo_search"]["probes"][0]["observed_ms"][0].is_null());
  EXPECT_TRUE(j["slo_search"]["answer"].is_null());
  const BenchmarkResult back = from_json(j);
  ASSERT_TRUE(back.slo_search);
  EXPECT_TRUE(std::isinf(back.slo_search->probes[0].observed_ms[0]));
  EXPECT_EQ(back.slo_search->probes[0].observed_ms[1], 12.5);
  EXPECT_EQ(back.slo_search->probes[0].failed_requests, 3);
  EXPECT_FALSE(back.slo_search->answer);
}

}  // namespace
}  // namespace splleed::report
