#pragma once
#include <string>

// What a run takes from a built workload: its prompts, per-prompt output lengths, chat messages
// and client-side token counts, the multi-turn conversations and the identity.
#include "splleed/config.hpp"
#include "workload/workload.hpp"

namespace splleed::workload {

// Fills config.prompts, prompt_max_tokens (items without a target take sampling.max_tokens),
// prompt_messages (when any item has messages), prompt_input_tokens (when any count is known),
// conversations and think_time (multi-turn), and workload (the identity as JSON text).
void apply_to_run(const Workload& w, RunConfig& config);

// What `splleed run` and the Python API build from their options: loads the tokenizer at
// `tokenizer_path` (empty: none, and then a synthetic source counts words: spec.approximate is
// set) and builds the workload. Throws TokenizerError or WorkloadError.
Workload build_for_run(WorkloadSpec spec, const std::string& tokenizer_path);

}  // namespace splleed::workload
