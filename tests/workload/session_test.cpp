// Chat history for a turn, and TTFT per turn index.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/session.hpp"

namespace splleed::workload::test {
namespace {

TEST(ChatMessages, InterleavesUsersAndReplies) {
  const std::vector<std::string> users = {"u0", "u1", "u2"};
  const std::vector<std::string> replies = {"a0", "a1"};
  EXPECT_EQ(build_chat_messages("sys", users, replies),
            (std::vector<Message>{{"system", "sys"}, {"user", "u0"}, {"assistant", "a0"},
                                  {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}}));
  const std::vector<std::string> first = {"u0"};
  EXPECT_EQ(build_chat_messages("", first, {}), (std::vector<Message>{{"user", "u0"}}));
}

TEST(ChatMessages, WrongNumberOfRepliesIsAnError) {
  const std::vector<std::string> users = {"u0", "u1"};
  const std::vector<std::string> none;
  const std::vector<std::string> two = {"a0", "a1"};
  EXPECT_THROW(build_chat_messages("", users, none), WorkloadError);
  EXPECT_THROW(build_chat_messages("", users, two), WorkloadError);
  EXPECT_THROW(build_chat_messages("", none, none), WorkloadError);
}

TEST(ChatMessages, TurnOutOfRange) {
  Workload w;
  w.items.push_back(WorkloadItem{"hello", {{"user", "hello"}}, {}, {}, {}, SessionRef{0, 0}});
  w.sessions.push_back(Session{0, {0}, ""});
  EXPECT_EQ(build_turn_messages(w, w.sessions[0], 0, {}),
            (std::vector<Message>{{"user", "hello"}}));
  EXPECT_THROW(build_turn_messages(w, w.sessions[0], 1, {}), WorkloadError);
}

TEST(TurnSummary, GroupsBySessionTurnAndSummarises) {
  const std::vector<TurnLatency> samples = {
      {0, 0, 100}, {0, 1, 40}, {1, 0, 300}, {1, 1, 60}, {2, 0, 200}, {0, 2, 10}};
  const auto groups = group_by_turn(samples);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].first, 0);
  EXPECT_EQ(groups[0].second, (std::vector<Nanos>{100, 300, 200}));
  EXPECT_EQ(groups[1].second, (std::vector<Nanos>{40, 60}));
  const auto s = summarize_by_turn(samples);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].turn, 0);
  EXPECT_EQ(s[0].ttft.count, 3);
  EXPECT_DOUBLE_EQ(s[0].ttft.mean, 200);
  EXPECT_DOUBLE_EQ(s[0].ttft.p50, 200);
  EXPECT_EQ(s[0].ttft.max, 300);
  EXPECT_DOUBLE_EQ(s[1].ttft.mean, 50);
  EXPECT_EQ(s[2].turn, 2);
  EXPECT_EQ(s[2].ttft.count, 1);
}

TEST(TurnSummary, DuplicateOrNegativeTurnIsAnError) {
  const std::vector<TurnLatency> dup = {{3, 1, 5}, {3, 1, 6}};
  EXPECT_THROW(group_by_turn(dup), WorkloadError);
  const std::vector<TurnLatency> neg = {{3, -1, 5}};
  EXPECT_THROW(summarize_by_turn(neg), WorkloadError);
  EXPECT_TRUE(summarize_by_turn({}).empty());
}

}  // namespace
}  // namespace splleed::workload::test
