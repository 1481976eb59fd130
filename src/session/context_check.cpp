#include "session/context_check.hpp"

#include <fmt/format.h>

namespace splleed::session {

std::string check_context_length(const RunConfig& config, std::int64_t max_model_len) {
  if (config.prompt_input_tokens.empty()) return {};
  std::size_t longest = 0;
  std::int64_t longest_total = -1, longest_input = 0, longest_output = 0;
  for (std::size_t i = 0; i < config.prompts.size() && i < config.prompt_input_tokens.size(); ++i) {
    const std::int64_t input = config.prompt_input_tokens[i];
    if (input < 0) continue;  // unknown
    const std::int64_t output =
        config.prompt_max_tokens.empty() ? config.sampling.max_tokens : config.prompt_max_tokens[i];
    if (input + output > longest_total) {
      longest = i;
      longest_total = input + output;
      longest_input = input;
      longest_output = output;
    }
  }
  if (longest_total <= max_model_len) return {};
  return fmt::format(
      "prompt {} needs {} tokens ({} of prompt by the client's tokenizer + {} of output), more "
      "than the served model's context of {} tokens (max_model_len): shorten the prompts "
      "(--input-len) or the output (--output-len, --max-tokens).",
      longest, longest_total, longest_input, longest_output, max_model_len);
}

}  // namespace splleed::session
