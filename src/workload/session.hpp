#pragma once
// Multi-turn sessions: the chat history of each turn, built from the replies actually received.
// (TTFT per turn index is summarised from the request records: metrics::summarize_by_turn.)
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workload/workload.hpp"

namespace splleed::workload {

// The messages for turn k = user_messages.size() - 1: the system prompt (when not empty), then
// user 0, assistant reply 0, ..., user k. Needs replies.size() == k (the replies received so far);
// throws WorkloadError otherwise.
std::vector<Message> build_chat_messages(std::string_view system_prompt,
                                         std::span<const std::string> user_messages,
                                         std::span<const std::string> replies);

// The same for a session of a built workload: turn `turn` of `session`, with the replies to its
// earlier turns. Throws WorkloadError for a turn out of range or a wrong number of replies.
std::vector<Message> build_turn_messages(const Workload& w, const Session& session,
                                         std::size_t turn, std::span<const std::string> replies);

}  // namespace splleed::workload
