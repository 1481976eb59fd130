// Warm-up by duration, trace replay and per-prompt output lengths: parsing and validation.
#include <gtest/gtest.h>

#include "splleed/config.hpp"

namespace splleed {
namespace {

RunConfig trace_config() {
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:8000";
  c.load.mode = LoadMode::rate;
  c.load.trace = TraceReplay{"t.jsonl", 1.0, {0, 10, 20}};
  c.prompts = {"a", "b", "c"};
  return c;
}

TEST(Warmup, CountOrDuration) {
  LoadConfig load;
  std::string err;
  ASSERT_TRUE(parse_warmup("20", load, &err)) << err;
  EXPECT_EQ(load.warmup, 20);
  EXPECT_FALSE(load.warmup_duration);
  ASSERT_TRUE(parse_warmup("30s", load, &err)) << err;
  EXPECT_EQ(load.warmup, 0);
  EXPECT_EQ(load.warmup_duration, 30 * kNanosPerSecond);
  ASSERT_TRUE(parse_warmup("250ms", load, &err));
  EXPECT_EQ(load.warmup_duration, 250 * kNanosPerMilli);
  ASSERT_TRUE(parse_warmup("2m", load, &err));
  EXPECT_EQ(load.warmup_duration, 120 * kNanosPerSecond);
  ASSERT_TRUE(parse_warmup("0", load, &err));
  EXPECT_EQ(load.warmup, 0);
  EXPECT_FALSE(load.warmup_duration);
  for (const char* bad : {"", "x", "-1", "1.5", "10h", "0s", "-3s"}) {
    EXPECT_FALSE(parse_warmup(bad, load, &err)) << bad;
    EXPECT_NE(err.find("--warmup '" + std::string(bad) + "'"), std::string::npos) << err;
  }
}

TEST(Warmup, CountAndDurationExcludeEachOther) {
  RunConfig c = trace_config();
  c.load.trace.reset();
  c.load.mode = LoadMode::concurrency;
  c.load.num_requests = 5;
  c.load.warmup_duration = kNanosPerSecond;
  EXPECT_EQ(validate(c), "");
  c.load.warmup = 3;
  EXPECT_NE(validate(c).find("not both"), std::string::npos);
}

TEST(Trace, ValidOnItsOwnWithoutABound) { EXPECT_EQ(validate(trace_config()), ""); }

TEST(Trace, RejectsEachInconsistency) {
  struct Case {
    void (*mutate)(RunConfig&);
    const char* needle;
  };
  const Case cases[] = {
      {[](RunConfig& c) { c.load.mode = LoadMode::concurrency; }, "--mode rate"},
      {[](RunConfig& c) { c.load.request_rates = {5}; }, "--request-rate"},
      {[](RunConfig& c) { c.load.ramp = RampConfig{1, kNanosPerSecond}; }, "--ramp-up"},
      {[](RunConfig& c) { c.load.trace->times.clear(); c.prompts.clear(); }, "has no requests"},
      {[](RunConfig& c) { c.load.trace->time_scale = 0; }, "--time-scale"},
      {[](RunConfig& c) { c.load.trace->times = {0, 20, 10}; }, "out of order"},
      {[](RunConfig& c) { c.prompts.pop_back(); }, "one prompt per request"},
      {[](RunConfig& c) { c.load.warmup = 3; }, "none would be measured"},
      {[](RunConfig& c) { c.load.warmup_duration = kNanosPerSecond; }, "count of the trace"},
      {[](RunConfig& c) { c.prompt_max_tokens = {1, 2}; }, "one per prompt"},
      {[](RunConfig& c) { c.prompt_max_tokens = {1, 0, 2}; }, "at least 1 (got 0)"},
  };
  for (const auto& tc : cases) {
    auto c = trace_config();
    tc.mutate(c);
    auto msg = validate(c);
    EXPECT_NE(msg.find(tc.needle), std::string::npos) << "want '" << tc.needle << "', got: " << msg;
  }
}

}  // namespace
}  // namespace splleed
