// Exact agreement with the reference implementations (Hugging Face `tokenizers`, Python
// `sentencepiece`) on the tricky-string corpus in tests/fixtures/tokenizer/*/expected.json.
// The fixtures and their references come from tests/fixtures/tokenizer/generate.py.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.hpp"

namespace splleed::tokenizer::test {
namespace {

const std::filesystem::path kDir = std::filesystem::path(SPLLEED_FIXTURES) / "tokenizer";

nlohmann::json expected_of(const std::string& name) {
  std::ifstream in(kDir / name / "expected.json");
  return nlohmann::json::parse(in);
}

class Reference : public ::testing::TestWithParam<const char*> {};

TEST_P(Reference, MatchesReferenceIds) {
  const auto tok = load_tokenizer(kDir / GetParam());
  const auto expected = expected_of(GetParam());
  ASSERT_GE(expected.at("cases").size(), 30u);
  EXPECT_EQ(tok->vocab_size(), expected.at("vocab_size").get<std::size_t>());
  for (const auto& c : expected.at("cases")) {
    const auto text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<std::int32_t>>();
    SCOPED_TRACE(testing::Message() << GetParam() << ": " << testing::PrintToString(text));
    EXPECT_EQ(tok->encode(text, false), ids);
    EXPECT_EQ(tok->encode(text, true), c.at("ids_special").get<std::vector<std::int32_t>>());
    EXPECT_EQ(tok->count(text), ids.size());
    EXPECT_EQ(tok->decode(ids), c.at("decoded").get<std::string>());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Reference,
                         ::testing::Values("gpt2", "gpt2_prefix_space", "llama3", "qwen2",
                                           "mistral_nemo", "split_removed",
                                           "split_merged_with_previous", "split_merged_with_next",
                                           "split_contiguous_inverted", "sp_bpe", "sp_unigram"),
                         [](const auto& p) { return std::string(p.param); });

}  // namespace
}  // namespace splleed::tokenizer::test
