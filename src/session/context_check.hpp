#pragma once
// Whether every request fits the served model's context, checked before any load is sent.
#include <cstdint>
#include <string>

#include "splleed/config.hpp"

namespace splleed::session {

// Empty when every prompt whose token count the client knows (RunConfig::prompt_input_tokens),
// plus the most output tokens its requests ask for, fits in `max_model_len`; otherwise one
// sentence naming the longest request and the limit. Prompts of unknown length are not checked
// (without a tokenizer the engine's own answer remains the check), nor is the reply history that
// later turns of a multi-turn conversation add.
std::string check_context_length(const RunConfig& config, std::int64_t max_model_len);

}  // namespace splleed::session
