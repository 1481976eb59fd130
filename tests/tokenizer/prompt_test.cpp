// Exact-length prompts on every fixture tokenizer.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer/prompt.hpp"
#include "tokenizer/tokenizer.hpp"

namespace splleed::tokenizer::test {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SPLLEED_FIXTURES) / "tokenizer";

class PromptLength : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { tok_ = load_tokenizer(kDir / GetParam()); }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_P(PromptLength, ExactLengths) {
  for (const std::size_t n : {1u, 2u, 7u, 100u, 1000u}) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
      const std::string p = prompt_of_length(*tok_, n, seed);
      EXPECT_EQ(tok_->encode(p, false).size(), n) << "n=" << n << " seed=" << seed << ": " << p;
    }
  }
}

TEST_P(PromptLength, ReproducibleAndSeeded) {
  EXPECT_EQ(prompt_of_length(*tok_, 100, 42), prompt_of_length(*tok_, 100, 42));
  EXPECT_NE(prompt_of_length(*tok_, 100, 42), prompt_of_length(*tok_, 100, 43));
}

TEST_P(PromptLength, ManySeedsAndLengths) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const std::size_t n = 1 + (seed * 37) % 160;
    EXPECT_EQ(tok_->count(prompt_of_length(*tok_, n, seed)), n) << "n=" << n << " seed=" << seed;
  }
}

TEST_P(PromptLength, WithPrefix) {
  for (const std::string prefix : {"You are a helpful assistant.", "Summarize:\n", "日本語で"}) {
    const std::size_t base = tok_->count(prefix);
    for (const std::size_t n : {base, base + 1, base + 7, base + 100}) {
      const std::string p = prompt_of_length(*tok_, prefix, n, 9);
      EXPECT_EQ(p.compare(0, prefix.size(), prefix), 0) << p;
      EXPECT_EQ(tok_->count(p), n) << "prefix=" << prefix << " n=" << n << ": " << p;
    }
    if (base > 0) {
      EXPECT_THROW(prompt_of_length(*tok_, prefix, base - 1, 9), TokenizerError);
    }
  }
}

TEST_P(PromptLength, ZeroTokensIsEmpty) { EXPECT_EQ(prompt_of_length(*tok_, 0, 5), ""); }

INSTANTIATE_TEST_SUITE_P(Fixtures, PromptLength,
                         ::testing::Values("gpt2", "gpt2_prefix_space", "llama3", "qwen2",
                                           "mistral_nemo", "sp_bpe", "sp_unigram"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace splleed::tokenizer::test
