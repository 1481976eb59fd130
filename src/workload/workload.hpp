#pragma once
// Workloads: the prompts a run sends, with their output-length targets, shared-prefix groups and
// multi-turn session structure, plus an identity that names the data exactly. A pure layer: no
// network, no clock; everything random is seeded. See docs/design/workload.md and docs/workloads.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "splleed/clock.hpp"
#include "tokenizer/tokenizer.hpp"
#include "workload/error.hpp"
#include "workload/lengths.hpp"

namespace splleed::workload {

// One chat message (OpenAI `messages` element).
struct Message {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
  bool operator==(const Message&) const = default;
};

// Where an item sits in a multi-turn session.
struct SessionRef {
  std::uint64_t session = 0;
  std::int32_t turn = 0;  // 0-based
  bool operator==(const SessionRef&) const = default;
};

struct WorkloadItem {
  // The text sent on completion-style APIs. For chat sources: the last user message's content.
  std::string prompt;
  // Chat sources and shared-prefix items: the messages to send on chat APIs (empty: send `prompt`
  // as one user message). Multi-turn items hold only their own turn's user message (after the
  // group's system prompt, if any): the history is added at run time by build_chat_messages().
  std::vector<Message> messages;
  std::optional<std::int32_t> max_tokens;    // output-length target; none: the run's default
  // Tokens of `prompt` (known with a tokenizer); chat-file entries: of all their messages'
  // contents. Special tokens and chat templates the server adds are not counted.
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int32_t> prefix_group;  // shared-prefix group index
  std::optional<SessionRef> session;         // multi-turn position
};

// One multi-turn session: the indices of its items in Workload::items, in turn order.
struct Session {
  std::uint64_t id = 0;
  std::vector<std::size_t> items;
  std::string system_prompt;  // the group's prefix in shared-prefix sessions; else empty
};

// What names a workload in a result: enough to know that two runs sent the same data.
struct WorkloadIdentity {
  std::string source;       // "inline", "text", "jsonl", "messages", "sharegpt", "synthetic"
  std::string path;         // the source file as given; empty for inline and synthetic
  std::string sha256;       // of the source file's bytes; of the inline prompts otherwise; empty
                            // for synthetic data (the options and seed name it)
  std::uint64_t seed = 0;
  std::string options;      // the workload options in canonical `key=value` form
  bool approximate = false; // synthetic lengths are words, not tokens (no tokenizer given)
  std::int64_t entries_read = 0;               // entries in the file (lines, array elements)
  std::map<std::string, std::int64_t> skipped; // entries not used, by reason
  // Distribution of actual input token counts (null without a tokenizer) and of the output-length
  // targets (null when no item has one).
  std::optional<LengthSummary> input_tokens;
  std::optional<LengthSummary> output_tokens;
};
nlohmann::json to_json(const WorkloadIdentity& id);

struct Workload {
  std::vector<WorkloadItem> items;
  std::vector<Session> sessions;  // multi-turn only; empty otherwise
  Nanos think_time = 0;           // multi-turn: pause between a reply and the next turn
  WorkloadIdentity identity;

  // What the runner takes: RunConfig::prompts ...
  std::vector<std::string> prompts() const;
  // ... and RunConfig::prompt_max_tokens: empty when no item has a target, else one per item
  // (`fallback` for items without one).
  std::vector<std::int32_t> max_tokens(std::int32_t fallback) const;
};

enum class SourceKind : std::uint8_t {
  automatic,  // inline when prompts are given; else by file extension (.jsonl: jsonl, .json:
              // sharegpt, other: text); else synthetic
  inline_prompts,
  text,       // one prompt per line, blank lines skipped
  jsonl,      // one JSON object per line; the prompt at `prompt_field` ("a.b" for nested fields)
  messages,   // one {"messages": [...]} object per line (OpenAI chat format)
  sharegpt,   // a JSON array of {"conversations": [{"from": ..., "value": ...}, ...]}
  synthetic,  // prompts of exact token lengths drawn from input_len / output_len
};
std::string_view to_string(SourceKind k) noexcept;

// ShareGPT sampling filters, with vLLM's benchmark defaults (vllm/benchmarks/datasets.py,
// is_valid_sequence): an entry is skipped when its prompt or reply is shorter than min_len, its
// prompt longer than max_prompt_len, or prompt + reply longer than max_total_len. The reply's
// minimum is not checked when output_len overrides the targets.
struct ShareGptFilter {
  std::int32_t min_len = 4;
  std::int32_t max_prompt_len = 1024;
  std::int32_t max_total_len = 2048;
  std::optional<std::int32_t> max_output_len;  // splleed's own: skip replies longer than this
};

struct WorkloadSpec {
  SourceKind source = SourceKind::automatic;
  std::vector<std::string> prompts;  // inline
  std::filesystem::path path;        // text, jsonl, messages, sharegpt
  std::string prompt_field = "prompt";
  std::string output_field;          // jsonl: optional integer field holding the output target
  // Items to produce: file sources keep the first N usable entries (after the optional shuffle);
  // synthetic sources make N (default 1000); with turns > 1 it counts sessions.
  std::optional<std::int64_t> num_prompts;
  bool shuffle = false;              // seeded shuffle of file entries before taking N
  std::uint64_t seed = 0;
  std::optional<LengthDistribution> input_len;   // synthetic: prompt (suffix) length
  std::optional<LengthDistribution> output_len;  // every source: output target (overrides files')
  ShareGptFilter sharegpt;
  // Shared prefix (synthetic): G system prompts of P tokens; each item = its group's prefix + a
  // unique suffix of input_len tokens. Groups are taken in turn, or drawn from a Zipf law with
  // exponent prefix_zipf (P(group g) proportional to 1 / (g + 1)^s).
  std::int32_t prefix_groups = 0;
  std::int32_t prefix_len = 0;
  std::optional<double> prefix_zipf;
  // Multi-turn sessions (synthetic, sharegpt): turns per session, pause between turns.
  std::int32_t turns = 1;
  Nanos think_time = 0;
  // Synthetic without a tokenizer: lengths count words instead of tokens, and say so.
  bool approximate = false;
};

// Sets one option from its command-line form. Keys (dashes and underscores alike, a leading "--"
// ignored): source (or dataset_format), prompt (appends one inline prompt), file (or dataset), prompt_field, output_field,
// num_prompts, shuffle, seed, input_len, output_len, min_len, max_prompt_len, max_total_len,
// max_output_len, prefix_groups, prefix_len, prefix_zipf, turns, think_time (e.g. "2s", "500ms";
// a bare number is seconds), approximate. Throws WorkloadError naming the option and value.
void set_option(WorkloadSpec& spec, std::string_view key, std::string_view value);

// The options in canonical "key=value" form, space-separated (inline prompts are counted, not
// listed). Recorded in the identity.
std::string describe(const WorkloadSpec& spec);

// Builds the workload. `tok` (may be null) counts tokens and makes exact-length prompts; synthetic
// sources need it unless spec.approximate. Throws WorkloadError (file:line: field: problem) for
// bad options, unreadable or malformed files, and sources that yield no item.
Workload build_workload(const WorkloadSpec& spec, const tokenizer::Tokenizer* tok);

}  // namespace splleed::workload
