#pragma once
// Checks over a run's steady-state requests that explain its figures rather than measure latency:
// did each request produce the output length it asked for, how TTFT grows turn by turn in
// multi-turn sessions, and whether the server's token counts agree with the client's.
// See docs/metrics.md ("Checks beside the figures").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splleed/record.hpp"
#include "splleed/result.hpp"

namespace splleed::metrics {

// Mismatches and disagreements kept as examples per check.
inline constexpr std::size_t kCheckExamples = 5;

// Whether a request enters the checks: ok, neither warm-up nor ramp-up (the summary's population).
bool checked(const RequestRecord& r) noexcept;

// Requests with RequestRecord::exact_output_tokens against RequestRecord::output_tokens().
// Empty when no checked request asked for an exact length.
std::optional<OutputLengthCheck> check_output_length(const std::vector<RequestRecord>& records);

// One summary per turn index present among the checked requests that carry a turn, ascending.
// Empty for runs without multi-turn sessions.
std::vector<TurnSummary> summarize_by_turn(const std::vector<RequestRecord>& records);

// The client's prompt count and the server's usage.prompt_tokens disagree when they differ by more
// than max(8, 5% of the client's count): special tokens and a chat template the server adds
// account for a few tokens.
bool prompt_counts_disagree(std::int64_t client, std::int64_t server) noexcept;
// The tokens counted from stream events and usage.completion_tokens disagree when they differ by
// more than max(1, 5% of the server's count): an event that carries several tokens while the API
// does not say so (or a final token sent without text) accounts for a few.
bool output_counts_disagree(std::int64_t counted, std::int64_t server) noexcept;

// Per request: "prompt", "output", both or neither, where that request's counts disagree.
std::vector<std::string> token_count_disagreements(const RequestRecord& r);

TokenCountCheck check_token_counts(const std::vector<RequestRecord>& records);

// Fills run.output_length, run.by_turn and run.token_counts from run.requests.
void check_run(RunResult& run);

}  // namespace splleed::metrics
