#pragma once
// Trace replay input: a JSONL file, one request per line, in the format of the Mooncake traces
// and of hand-written ones:
//   {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, ...]}
//   {"timestamp": 30535, "prompt": "Summarise ...", "output_length": 120}
// `timestamp` is in milliseconds (any origin); `prompt` (text) or `input_length` (tokens) gives the
// prompt; `output_length` (optional) sets that request's max_tokens; `hash_ids` (optional) names
// the trace's 512-token prompt blocks, so that requests sharing a block share that prefix text.
// Unknown fields are ignored.
#include <cstdint>
#include <string>
#include <vector>

#include "splleed/config.hpp"

namespace splleed::load {

// Tokens per `hash_ids` block in Mooncake traces.
inline constexpr std::int64_t kTraceBlockTokens = 512;

struct TraceWorkload {
  TraceReplay replay;                     // times scaled, relative to the first entry
  std::vector<std::string> prompts;       // one per entry
  std::vector<std::int32_t> max_tokens;   // one per entry when any entry had output_length, else empty
  std::int64_t synthesized_prompts = 0;   // entries whose prompt was built from input_length
};

// Reads a trace. Throws std::runtime_error naming the file, the line and the problem. Entries are
// sorted by timestamp (stable). Prompts built from `input_length` are deterministic text of about
// that many tokens (one common English word per token, the usual rate for BPE tokenizers); blocks
// named by the same hash id get the same text. `default_max_tokens` fills entries without
// output_length when others have one.
TraceWorkload read_trace(const std::string& path, double time_scale, std::int32_t default_max_tokens);

// About `tokens` tokens of deterministic text, the same for the same seed.
std::string filler_text(std::int64_t tokens, std::uint64_t seed);

}  // namespace splleed::load
