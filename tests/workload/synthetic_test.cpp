// Synthetic prompts: exact token lengths, seeding, shared prefixes with Zipf skew, sessions.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/fixtures.hpp"
#include "workload/session.hpp"
#include "workload/workload.hpp"

namespace splleed::workload::test {
namespace {

using ::testing::HasSubstr;

WorkloadSpec synthetic(const char* input_len, std::int64_t n, std::uint64_t seed = 1) {
  WorkloadSpec s;
  set_option(s, "source", "synthetic");
  set_option(s, "input_len", input_len);
  s.num_prompts = n;
  s.seed = seed;
  return s;
}

class SyntheticExact : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { tok_ = fixture_tokenizer(GetParam()); }
  std::unique_ptr<tokenizer::Tokenizer> tok_;
};

TEST_P(SyntheticExact, EveryPromptHasTheDrawnLength) {
  WorkloadSpec s = synthetic("uniform:1:300", 40);
  set_option(s, "output_len", "normal:100:20");
  const Workload w = build_workload(s, tok_.get());
  ASSERT_EQ(w.items.size(), 40u);
  std::set<std::string> distinct;
  for (const auto& item : w.items) {
    ASSERT_TRUE(item.input_tokens.has_value());
    EXPECT_EQ(static_cast<std::int64_t>(tok_->count(item.prompt)), *item.input_tokens);
    EXPECT_GE(*item.input_tokens, 1);
    EXPECT_LE(*item.input_tokens, 300);
    ASSERT_TRUE(item.max_tokens.has_value());
    EXPECT_GE(*item.max_tokens, 1);
    distinct.insert(item.prompt);
  }
  EXPECT_EQ(distinct.size(), w.items.size());
  ASSERT_TRUE(w.identity.input_tokens && w.identity.output_tokens);
  EXPECT_EQ(w.identity.input_tokens->count, 40);
  EXPECT_FALSE(w.identity.approximate);
  EXPECT_TRUE(w.identity.sha256.empty());
}

TEST_P(SyntheticExact, FixedLengthIsExact) {
  const Workload w = build_workload(synthetic("fixed:128", 10), tok_.get());
  for (const auto& item : w.items) EXPECT_EQ(tok_->count(item.prompt), 128u);
  EXPECT_EQ(w.identity.input_tokens->min, 128);
  EXPECT_EQ(w.identity.input_tokens->max, 128);
}

TEST_P(SyntheticExact, SharedPrefixKeptByteForByteWithExactTotal) {
  WorkloadSpec s = synthetic("uniform:5:60", 30);
  set_option(s, "prefix_groups", "3");
  set_option(s, "prefix_len", "50");
  const Workload w = build_workload(s, tok_.get());
  std::map<std::int32_t, std::string> prefix_of;
  for (std::size_t i = 0; i < w.items.size(); ++i) {
    const auto& item = w.items[i];
    ASSERT_TRUE(item.prefix_group.has_value());
    EXPECT_EQ(*item.prefix_group, static_cast<std::int32_t>(i % 3));  // taken in turn
    ASSERT_EQ(item.messages.size(), 2u);
    const std::string& prefix = item.messages[0].content;
    EXPECT_EQ(item.messages[0].role, "system");
    EXPECT_EQ(tok_->count(prefix), 50u);
    EXPECT_EQ(item.prompt.compare(0, prefix.size(), prefix), 0);
    const auto [it, fresh] = prefix_of.emplace(*item.prefix_group, prefix);
    if (!fresh) {
      EXPECT_EQ(it->second, prefix);
    }
    EXPECT_GE(*item.input_tokens, 55);
    EXPECT_LE(*item.input_tokens, 110);
    EXPECT_EQ(static_cast<std::int64_t>(tok_->count(item.prompt)), *item.input_tokens);
  }
  ASSERT_EQ(prefix_of.size(), 3u);
  EXPECT_NE(prefix_of[0], prefix_of[1]);
  EXPECT_NE(prefix_of[1], prefix_of[2]);
  EXPECT_NE(prefix_of[0], prefix_of[2]);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SyntheticExact, ::testing::Values("gpt2", "llama3"));

TEST(Synthetic, SameSeedSameWorkloadOtherSeedOther) {
  const auto tok = fixture_tokenizer("gpt2");
  WorkloadSpec s = synthetic("uniform:10:50", 20, 7);
  set_option(s, "output_len", "uniform:1:100");
  const Workload a = build_workload(s, tok.get());
  const Workload b = build_workload(s, tok.get());
  EXPECT_EQ(a.prompts(), b.prompts());
  EXPECT_EQ(a.max_tokens(0), b.max_tokens(0));
  s.seed = 8;
  const Workload c = build_workload(s, tok.get());
  EXPECT_NE(a.prompts(), c.prompts());
  EXPECT_NE(a.max_tokens(0), c.max_tokens(0));
}

TEST(Synthetic, NeedsATokenizerUnlessApproximate) {
  WorkloadSpec s = synthetic("20", 3);
  try {
    build_workload(s, nullptr);
    FAIL() << "no error";
  } catch (const WorkloadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tokenizer"));
    EXPECT_THAT(e.what(), HasSubstr("--approximate"));
  }
  set_option(s, "approximate", "");
  const Workload w = build_workload(s, nullptr);
  EXPECT_TRUE(w.identity.approximate);
  EXPECT_FALSE(w.identity.input_tokens.has_value());  // words are not tokens
  for (const auto& item : w.items) {
    std::size_t words = 0;
    bool in = false;
    for (const char ch : item.prompt) {
      const bool sp = ch == ' ';
      if (!sp && !in) ++words;
      in = !sp;
    }
    EXPECT_EQ(words, 20u) << item.prompt;
  }
}

TEST(Synthetic, NeedsAnInputLength) {
  WorkloadSpec s;
  s.source = SourceKind::synthetic;
  const auto tok = fixture_tokenizer("gpt2");
  EXPECT_THROW(build_workload(s, tok.get()), WorkloadError);
}

// With weights 1/(g+1)^s the expected share of group g falls with g; with 4000 draws over 4
// groups at s = 1.2 (expected shares 0.53, 0.23, 0.14, 0.10) the ordering holds by many standard
// deviations (the smallest gap, 0.04 * 4000 = 160, against sd < 30).
TEST(Synthetic, ZipfSkewFavoursLowGroups) {
  WorkloadSpec s = synthetic("1", 4000, 3);
  set_option(s, "prefix_groups", "4");
  set_option(s, "prefix_len", "2");
  set_option(s, "prefix_zipf", "1.2");
  set_option(s, "approximate", "true");
  const Workload w = build_workload(s, nullptr);
  std::vector<int> counts(4, 0);
  for (const auto& item : w.items) ++counts[static_cast<std::size_t>(*item.prefix_group)];
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[2]);
  EXPECT_GT(counts[2], counts[3]);
  EXPECT_GT(counts[3], 0);
  // Expected share of group 0: 1 / sum_g (g+1)^-1.2 = 0.532; sd of the count is sqrt(4000 p q).
  const double h = 1 + std::pow(2.0, -1.2) + std::pow(3.0, -1.2) + std::pow(4.0, -1.2);
  const double p0 = 1 / h;
  EXPECT_NEAR(counts[0], 4000 * p0, 5 * std::sqrt(4000 * p0 * (1 - p0)));
}

TEST(Synthetic, MultiTurnSessions) {
  const auto tok = fixture_tokenizer("gpt2");
  WorkloadSpec s = synthetic("uniform:5:20", 3);
  set_option(s, "turns", "4");
  set_option(s, "think_time", "1.5s");
  set_option(s, "prefix_groups", "2");
  set_option(s, "prefix_len", "12");
  const Workload w = build_workload(s, tok.get());
  EXPECT_EQ(w.think_time, 1'500'000'000);
  ASSERT_EQ(w.sessions.size(), 3u);
  ASSERT_EQ(w.items.size(), 12u);
  for (const Session& sess : w.sessions) {
    ASSERT_EQ(sess.items.size(), 4u);
    EXPECT_EQ(tok->count(sess.system_prompt), 12u);
    for (std::size_t t = 0; t < 4; ++t) {
      const WorkloadItem& item = w.items[sess.items[t]];
      EXPECT_EQ(item.session, (SessionRef{sess.id, static_cast<std::int32_t>(t)}));
      ASSERT_EQ(item.messages.size(), 1u);
      EXPECT_EQ(item.messages[0].role, "user");
    }
    // Turn 2 with the replies to turns 0 and 1: system, u0, a0, u1, a1, u2.
    const std::vector<std::string> replies = {"first reply", "second reply"};
    const auto m = build_turn_messages(w, sess, 2, replies);
    ASSERT_EQ(m.size(), 6u);
    EXPECT_EQ(m[0], (Message{"system", sess.system_prompt}));
    EXPECT_EQ(m[2], (Message{"assistant", "first reply"}));
    EXPECT_EQ(m[5].content, w.items[sess.items[2]].messages[0].content);
  }
}

}  // namespace
}  // namespace splleed::workload::test
