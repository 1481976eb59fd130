#pragma once
// Asking an engine for an exact output length, and checking what it produced.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace splleed::workload {

// What to put in a request body so that the engine generates `n` tokens.
struct OutputLengthControl {
  // An RFC 7386 merge patch for the body (nested where the API nests its sampling parameters).
  nlohmann::json patch;
  // True when the engine is asked to ignore end-of-sequence, so that it produces exactly n tokens
  // (stop strings and the context window can still end it early).
  bool exact = false;
  std::string note;  // why exactness cannot be asked for, when !exact
};

// `api` is one of: openai, vllm, openai-completions, openai-chat (vLLM's OpenAI-compatible fields:
// max_tokens, min_tokens, ignore_eos; SGLang's OpenAI routes accept the same); tgi
// (parameters.max_new_tokens); llamacpp (n_predict, ignore_eos); sglang (native
// sampling_params.max_new_tokens, min_new_tokens, ignore_eos); ollama, ollama-generate,
// ollama-chat (options.num_predict). Throws std::invalid_argument for another name or n < 1.
OutputLengthControl output_length_fields(std::string_view api, std::int32_t n);

// One request's requested and produced output token counts (produced unknown when the server
// reported no count and none was counted).
struct OutputLengthSample {
  std::int32_t requested = 0;
  std::optional<std::int64_t> produced;
};

struct OutputLengthReport {
  std::int64_t requests = 0;  // samples given
  std::int64_t unknown = 0;   // without a produced count
  std::int64_t exact = 0;
  std::int64_t shorter = 0;   // produced < requested
  std::int64_t longer = 0;    // produced > requested
  std::int64_t worst_short = 0;  // largest requested - produced (0 when none short)
  std::int64_t worst_long = 0;   // largest produced - requested (0 when none long)
  std::optional<std::size_t> worst_short_index;  // sample index of the worst of each kind
  std::optional<std::size_t> worst_long_index;
  double mean_abs_diff = 0;      // over samples with a count
  std::int64_t requested_total = 0;  // over samples with a count
  std::int64_t produced_total = 0;
};

OutputLengthReport check_output_lengths(std::span<const OutputLengthSample> samples);
nlohmann::json to_json(const OutputLengthReport& r);
// One sentence for a report: "all 200 requests produced the requested length", or
// "12 of 200 requests ended short (worst: 91 tokens short, request 17); 3 had no token count".
std::string describe(const OutputLengthReport& r);

}  // namespace splleed::workload
