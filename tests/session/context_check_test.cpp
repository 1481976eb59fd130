// Requests longer than the served model's context fail the run before anything is sent.
#include <atomic>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "session/context_check.hpp"
#include "session/session.hpp"

namespace splleed::session {
namespace {

using ::testing::HasSubstr;

RunConfig three_prompts() {
  RunConfig c;
  c.prompts = {"a", "b", "c"};
  c.prompt_input_tokens = {50, 90, -1};
  c.sampling.max_tokens = 10;
  return c;
}

TEST(ContextCheck, NamesTheLongestRequestAndTheLimit) {
  const RunConfig c = three_prompts();
  EXPECT_EQ(check_context_length(c, 100), "");
  EXPECT_EQ(check_context_length(c, 99),
            "prompt 1 needs 100 tokens (90 of prompt by the client's tokenizer + 10 of output), "
            "more than the served model's context of 99 tokens (max_model_len): shorten the "
            "prompts (--input-len) or the output (--output-len, --max-tokens).");
}

TEST(ContextCheck, PerPromptOutputLengthsCount) {
  RunConfig c = three_prompts();
  c.prompt_max_tokens = {60, 5, 1000};  // prompt 2's length is unknown: not checked
  EXPECT_THAT(check_context_length(c, 100), HasSubstr("prompt 0 needs 110 tokens"));
  EXPECT_EQ(check_context_length(c, 110), "");
}

TEST(ContextCheck, NothingToCheckWithoutClientCounts) {
  RunConfig c;
  c.prompts = {"a"};
  c.sampling.max_tokens = 1'000'000;
  EXPECT_EQ(check_context_length(c, 10), "");
}

TEST(ContextCheck, TheSessionFailsBeforeAnyRequestIsSent) {
  SessionOptions o;
  o.config.prompts = {"short", "a much longer prompt"};
  o.config.prompt_input_tokens = {2, 30};
  o.config.sampling.max_tokens = 40;
  o.config.load.num_requests = 4;
  o.config.load.warmup = 2;
  sim::SimConfig sim;
  sim.kv_tokens = 64;  // the simulator lists it as max_model_len
  sim.ttft_ms = 1;
  sim.itl_ms = 0.1;
  o.embedded_sim = sim;
  o.capture_gpus = false;
  std::atomic<int> sent{0};
  o.on_record = [&sent](const RequestRecord&) { ++sent; };
  MonotonicClock clock;
  Session session(o, clock);
  try {
    (void)session.run();
    FAIL() << "the run went ahead";
  } catch (const SessionError& e) {
    EXPECT_THAT(e.what(), HasSubstr("prompt 1 needs 70 tokens"));
    EXPECT_THAT(e.what(), HasSubstr("context of 64 tokens"));
  }
  EXPECT_EQ(sent.load(), 0);

  // Within the limit the same run goes ahead, and the environment records the limit.
  o.config.sampling.max_tokens = 30;
  Session fits(o, clock);
  const BenchmarkResult r = fits.run();
  EXPECT_EQ(r.environment.engine.max_model_len, 64);
  EXPECT_GT(sent.load(), 0);
}

}  // namespace
}  // namespace splleed::session
