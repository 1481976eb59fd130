// Chat history for a turn.
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

}  // namespace
}  // namespace splleed::workload::test
