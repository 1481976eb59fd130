// `splleed run`'s workload options in process: what each flag sets, and one clear sentence naming
// the flag for every bad value.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "workload_options.hpp"

namespace splleed::cli {
namespace {

using nlohmann::json;

struct Applied {
  bool ok = false;
  std::string error;
  RunConfig config;
  std::vector<std::string> notes;
};

Applied apply(std::vector<std::string> args, RunConfig config = {}, bool trace = false) {
  CLI::App app;
  WorkloadCli w;
  add_workload_options(app, w);
  app.add_option("--prompt", config.prompts);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last to first
  app.parse(args);
  Applied out;
  out.ok = apply_workload_options(
      w, config, trace, [&out](const std::string& line) { out.notes.push_back(line); }, &out.error);
  out.config = std::move(config);
  return out;
}

void expect_error(const std::vector<std::string>& args, const std::string& starts_with) {
  const Applied a = apply(args);
  EXPECT_FALSE(a.ok) << starts_with;
  EXPECT_EQ(a.error.rfind(starts_with, 0), 0u) << a.error;
  EXPECT_EQ(a.error.find('\n'), std::string::npos) << a.error;
  EXPECT_EQ(a.error.back(), '.') << a.error;
}

TEST(WorkloadOptions, NoneGivenLeavesTheConfigAlone) {
  RunConfig c;
  c.prompts = {"hello"};
  const Applied a = apply({}, c);
  EXPECT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.config.prompts, std::vector<std::string>{"hello"});
  EXPECT_TRUE(a.config.workload.empty());
}

TEST(WorkloadOptions, BadValuesNameTheFlag) {
  expect_error({"--input-len", "uniform:1:x"}, "--input-len: ");
  expect_error({"--output-len", "lognormal:5"}, "--output-len: ");
  expect_error({"--num-prompts", "0"}, "--num-prompts: ");
  expect_error({"--num-prompts", "many"}, "--num-prompts: ");
  expect_error({"--prefix-groups", "x", "--input-len", "4"}, "--prefix-groups: ");
  expect_error({"--prefix-len", "-3"}, "--prefix-len: ");
  expect_error({"--prefix-zipf", "-1"}, "--prefix-zipf: ");
  expect_error({"--turns", "0"}, "--turns: ");
  expect_error({"--think-time", "2parsecs"}, "--think-time: ");
  expect_error({"--dataset-format", "csv"}, "--dataset-format: ");
  expect_error({"--workload", "bogus=1"}, "--workload bogus=1: unknown workload option");
  expect_error({"--workload", "max_output_len=0"}, "--workload max_output_len=0: ");
  expect_error({"--workload", "novalue"}, "--workload 'novalue': expected KEY=VALUE");
  expect_error({"--workload", "seed=3"}, "--workload seed: ");
  expect_error({"--tokenizer", "/nonexistent/tokenizer.json", "--input-len", "8"}, "--tokenizer: ");
  // Errors found while building name the option the command line knows.
  expect_error({"--dataset-format", "text"}, "--dataset: ");
  expect_error({"--prefix-groups", "2", "--prefix-len", "4", "--dataset-format", "text",
                "--dataset", "/nonexistent.txt"},
               "--prefix-groups: ");
}

TEST(WorkloadOptions, TraceExcludesWorkloadOptions) {
  const Applied a = apply({"--dataset", "x.jsonl"}, {}, /*trace=*/true);
  EXPECT_FALSE(a.ok);
  EXPECT_NE(a.error.find("--trace"), std::string::npos) << a.error;
}

TEST(WorkloadOptions, SyntheticWithoutTokenizerIsApproximateAndSeededByTheRun) {
  RunConfig c;
  c.load.seed = 42;
  c.sampling.max_tokens = 9;
  const Applied a = apply({"--dataset-format", "synthetic", "--input-len", "12", "--num-prompts",
                           "5", "--shuffle"},
                          c);
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.config.prompts.size(), 5u);
  EXPECT_TRUE(a.config.prompt_max_tokens.empty());  // no output target: --max-tokens applies
  EXPECT_TRUE(a.config.prompt_input_tokens.empty());
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("approximate"), std::string::npos);
  const json id = json::parse(a.config.workload);
  EXPECT_EQ(id.at("source"), "synthetic");
  EXPECT_EQ(id.at("approximate"), true);
  EXPECT_EQ(id.at("seed"), 42);
  EXPECT_NE(id.at("options").get<std::string>().find("input_len=fixed:12"), std::string::npos)
      << id.at("options");
}

TEST(WorkloadOptions, InlinePromptsTakeTheOutputLength) {
  const Applied a = apply({"--prompt", "one", "--prompt", "two", "--output-len", "5"});
  ASSERT_TRUE(a.ok) << a.error;
  EXPECT_EQ(a.config.prompts, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(a.config.prompt_max_tokens, (std::vector<std::int32_t>{5, 5}));
  EXPECT_EQ(json::parse(a.config.workload).at("source"), "inline");
  EXPECT_TRUE(a.notes.empty());
}

TEST(WorkloadOptions, MultiTurnNeedsAChatApi) {
  const Applied a = apply({"--input-len", "3", "--turns", "2"});
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.error.rfind("--turns: ", 0), 0u) << a.error;
  EXPECT_NE(a.error.find("--api openai-chat"), std::string::npos) << a.error;
}

TEST(WorkloadOptions, MultiTurnBecomesConversations) {
  RunConfig chat;
  chat.target.api = Api::openai_chat;
  const Applied a = apply({"--input-len", "3", "--turns", "3", "--think-time", "250ms",
                           "--num-prompts", "2", "--output-len", "4"},
                          chat);
  ASSERT_TRUE(a.ok) << a.error;
  ASSERT_EQ(a.config.conversations.size(), 2u);
  EXPECT_EQ(a.config.prompts.size(), 6u);
  for (const auto& conv : a.config.conversations) EXPECT_EQ(conv.turns.size(), 3u);
  EXPECT_EQ(a.config.think_time, 250 * kNanosPerMilli);
}

TEST(WorkloadOptions, CliMessagesSpellOptionsAsTheCommandLineDoes) {
  EXPECT_EQ(cli_message("--num_prompts: bad"), "--num-prompts: bad");
  EXPECT_EQ(cli_message("--file: the text source reads a file"),
            "--dataset: the text source reads a file");
  EXPECT_EQ(cli_message("--source: unknown"), "--dataset-format: unknown");
  EXPECT_EQ(cli_message("--min_len: bad", "--workload min_len=x"), "--workload min_len=x: bad");
  EXPECT_EQ(cli_message("data.txt:3: bad"), "data.txt:3: bad");
}

}  // namespace
}  // namespace splleed::cli
