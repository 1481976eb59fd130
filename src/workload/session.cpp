#include "workload/session.hpp"


#include <fmt/format.h>

namespace splleed::workload {

std::vector<Message> build_chat_messages(std::string_view system_prompt,
                                         std::span<const std::string> user_messages,
                                         std::span<const std::string> replies) {
  if (user_messages.empty()) throw WorkloadError("chat history: no user message");
  if (replies.size() + 1 != user_messages.size()) {
    throw WorkloadError(fmt::format("chat history: turn {} needs {} replies, got {}",
                                    user_messages.size() - 1, user_messages.size() - 1,
                                    replies.size()));
  }
  std::vector<Message> m;
  m.reserve(2 * user_messages.size());
  if (!system_prompt.empty()) m.push_back(Message{"system", std::string(system_prompt)});
  for (std::size_t i = 0; i < user_messages.size(); ++i) {
    m.push_back(Message{"user", user_messages[i]});
    if (i < replies.size()) m.push_back(Message{"assistant", replies[i]});
  }
  return m;
}

std::vector<Message> build_turn_messages(const Workload& w, const Session& session,
                                         std::size_t turn, std::span<const std::string> replies) {
  if (turn >= session.items.size()) {
    throw WorkloadError(fmt::format("session {}: turn {} out of range ({} turns)", session.id, turn,
                                    session.items.size()));
  }
  std::vector<std::string> users;
  users.reserve(turn + 1);
  for (std::size_t t = 0; t <= turn; ++t) {
    const std::size_t index = session.items[t];
    if (index >= w.items.size()) {
      throw WorkloadError(fmt::format("session {}: item {} out of range", session.id, index));
    }
    const WorkloadItem& item = w.items[index];
    // A turn's own user message (multi-turn items carry exactly one); the prompt otherwise.
    users.push_back(item.messages.empty() ? item.prompt : item.messages.back().content);
  }
  return build_chat_messages(session.system_prompt, users, replies);
}

}  // namespace splleed::workload
