// From a built workload to a RunConfig: prompts, targets, messages, counts, conversations, identity.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "workload/run_config.hpp"
#include "workload/workload.hpp"

namespace splleed::workload {
namespace {

TEST(RunConfigFromWorkload, CommandLineNamesAreAccepted) {
  WorkloadSpec spec;
  set_option(spec, "--dataset", "data.jsonl");
  set_option(spec, "dataset-format", "messages");
  EXPECT_EQ(spec.path, "data.jsonl");
  EXPECT_EQ(spec.source, SourceKind::messages);
}

TEST(RunConfigFromWorkload, FillsEveryField) {
  Workload w;
  w.items = {
      {"p0", {{"system", "S"}, {"user", "p0"}}, 4, 3, 0, SessionRef{0, 0}},
      {"p1", {}, std::nullopt, std::nullopt, std::nullopt, SessionRef{0, 1}},
  };
  w.sessions = {{0, {0, 1}, "S"}};
  w.think_time = 7;
  w.identity.source = "synthetic";
  RunConfig c;
  c.sampling.max_tokens = 9;
  apply_to_run(w, c);
  EXPECT_EQ(c.prompts, (std::vector<std::string>{"p0", "p1"}));
  EXPECT_EQ(c.prompt_max_tokens, (std::vector<std::int32_t>{4, 9}));
  ASSERT_EQ(c.prompt_messages.size(), 2u);
  EXPECT_EQ(c.prompt_messages[0], (std::vector<ChatMessage>{{"system", "S"}, {"user", "p0"}}));
  EXPECT_TRUE(c.prompt_messages[1].empty());
  EXPECT_EQ(c.prompt_input_tokens, (std::vector<std::int64_t>{3, -1}));
  ASSERT_EQ(c.conversations.size(), 1u);
  EXPECT_EQ(c.conversations[0].turns, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(c.conversations[0].system_prompt, "S");
  EXPECT_EQ(c.think_time, 7);
  EXPECT_EQ(nlohmann::json::parse(c.workload).at("source"), "synthetic");
}

TEST(RunConfigFromWorkload, PlainPromptsLeaveTheOptionalFieldsEmpty) {
  Workload w;
  w.items = {{"a", {}, std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
  RunConfig c;
  c.prompt_messages = {{{"user", "stale"}}};
  apply_to_run(w, c);
  EXPECT_TRUE(c.prompt_max_tokens.empty());
  EXPECT_TRUE(c.prompt_messages.empty());
  EXPECT_TRUE(c.prompt_input_tokens.empty());
  EXPECT_TRUE(c.conversations.empty());
}

TEST(RunConfigFromWorkload, WithoutATokenizerSyntheticCountsWords) {
  WorkloadSpec spec;
  set_option(spec, "input_len", "5");
  set_option(spec, "num_prompts", "2");
  const Workload w = build_for_run(spec, "");
  EXPECT_TRUE(w.identity.approximate);
  ASSERT_EQ(w.items.size(), 2u);
  EXPECT_FALSE(w.items[0].input_tokens.has_value());

  // Other sources are not marked approximate.
  WorkloadSpec inline_spec;
  set_option(inline_spec, "prompt", "hello there");
  EXPECT_FALSE(build_for_run(inline_spec, "").identity.approximate);
}

TEST(RunConfigFromWorkload, AMissingTokenizerIsATokenizerError) {
  WorkloadSpec spec;
  set_option(spec, "input_len", "5");
  EXPECT_THROW(build_for_run(spec, "/nonexistent/tokenizer.json"), tokenizer::TokenizerError);
}

}  // namespace
}  // namespace splleed::workload
