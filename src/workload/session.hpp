#pragma once
// Multi-turn sessions: the chat history of each turn, built from the replies actually received,
// and TTFT summarised per turn index.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "splleed/clock.hpp"
#include "workload/lengths.hpp"
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

// One completed turn's time to first token.
struct TurnLatency {
  std::uint64_t session = 0;
  std::int32_t turn = 0;
  Nanos ttft = 0;
};

// TTFT of all sessions' turn `turn`: count, mean, p50, p90, min, max in nanoseconds.
struct TurnSummary {
  std::int32_t turn = 0;
  LengthSummary ttft;
};

// Latencies grouped by turn index, ascending turns, each group in input order. Throws
// WorkloadError when a (session, turn) pair occurs twice or a turn is negative.
std::vector<std::pair<std::int32_t, std::vector<Nanos>>> group_by_turn(
    std::span<const TurnLatency> samples);

// One summary per turn index present, ascending.
std::vector<TurnSummary> summarize_by_turn(std::span<const TurnLatency> samples);

}  // namespace splleed::workload
