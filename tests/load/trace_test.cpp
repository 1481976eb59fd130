#include "load/trace.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace splleed::load {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TraceTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("splleed_trace_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

std::size_t words(const std::string& s) {
  if (s.empty()) return 0;
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), ' ')) + 1;
}

TEST_F(TraceTest, MooncakeFieldsAreAcceptedAsTheyAre) {
  auto path = write(
      R"({"timestamp": 1000, "input_length": 600, "output_length": 52, "hash_ids": [46, 47]})"
      "\n"
      R"({"timestamp": 1500, "input_length": 700, "output_length": 10, "hash_ids": [46, 48]})"
      "\n");
  auto w = read_trace(path, 1.0, 64);
  EXPECT_THAT(w.replay.times, ElementsAre(0, 500 * kNanosPerMilli));
  EXPECT_THAT(w.max_tokens, ElementsAre(52, 10));
  EXPECT_EQ(w.synthesized_prompts, 2);
  ASSERT_EQ(w.prompts.size(), 2u);
  EXPECT_EQ(words(w.prompts[0]), 600u);
  EXPECT_EQ(words(w.prompts[1]), 700u);
  // Hash id 46 names the same first 512-token block in both requests; the second blocks differ.
  const std::string block0 = filler_text(512, 0x9e3779b97f4a7c15ULL ^ 46);
  EXPECT_EQ(w.prompts[0].substr(0, block0.size()), block0);
  EXPECT_EQ(w.prompts[1].substr(0, block0.size()), block0);
  EXPECT_NE(w.prompts[0].substr(block0.size(), 40), w.prompts[1].substr(block0.size(), 40));
}

TEST_F(TraceTest, SortsByTimestampScalesTimeAndKeepsPromptText) {
  auto path = write(
      R"({"timestamp": 300, "prompt": "third"})"
      "\n\n"
      R"({"timestamp": 100, "prompt": "first", "output_length": 7, "extra": true})"
      "\n"
      R"({"timestamp": 200.5, "prompt": "second"})"
      "\n");
  auto w = read_trace(path, 0.5, 64);
  EXPECT_THAT(w.prompts, ElementsAre("first", "second", "third"));
  EXPECT_THAT(w.replay.times, ElementsAre(0, 50'250'000, 100 * kNanosPerMilli));
  EXPECT_THAT(w.max_tokens, ElementsAre(7, 64, 64));  // the default fills entries without one
  EXPECT_EQ(w.synthesized_prompts, 0);
  EXPECT_EQ(w.replay.time_scale, 0.5);
  EXPECT_EQ(w.replay.source, path);
}

TEST_F(TraceTest, WithoutOutputLengthsNoPerPromptLimits) {
  auto w = read_trace(write(R"({"timestamp": 0, "prompt": "a"})"), 1.0, 64);
  EXPECT_TRUE(w.max_tokens.empty());
}

TEST_F(TraceTest, BadLinesNameTheFileAndLine) {
  auto expect_error = [&](const std::string& text, const std::string& what) {
    auto path = write(text);
    try {
      read_trace(path, 1.0, 64);
      ADD_FAILURE() << "no error for " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(path)) << text;
      EXPECT_THAT(e.what(), HasSubstr(what)) << text;
    }
  };
  expect_error("{\"timestamp\": 1, \"prompt\": \"a\"}\nnot json\n", ":2: not a JSON object");
  expect_error(R"({"prompt": "a"})", ":1: 'timestamp'");
  expect_error(R"({"timestamp": -5, "prompt": "a"})", "non-negative");
  expect_error(R"({"timestamp": 1})", "needs 'prompt' (text) or 'input_length'");
  expect_error(R"({"timestamp": 1, "input_length": 0})", "'input_length' must be a positive");
  expect_error(R"({"timestamp": 1, "prompt": "a", "output_length": "x"})", "'output_length'");
  expect_error("\n\n", "has no requests");
}

TEST(TraceFile, MissingFileIsNamed) {
  EXPECT_THROW(
      {
        try {
          read_trace("/nonexistent/trace.jsonl", 1.0, 64);
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("/nonexistent/trace.jsonl"));
          throw;
        }
      },
      std::runtime_error);
}

TEST(FillerText, DeterministicAndSized) {
  EXPECT_EQ(filler_text(50, 7), filler_text(50, 7));
  EXPECT_NE(filler_text(50, 7), filler_text(50, 8));
  EXPECT_EQ(words(filler_text(50, 7)), 50u);
  EXPECT_EQ(filler_text(0, 7), "");
}

}  // namespace
}  // namespace splleed::load
