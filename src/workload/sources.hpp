#pragma once
// Readers for workload files. Each returns the usable entries in file order and throws
// WorkloadError naming file:line (or file: entry N for JSON documents) and the field at fault.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "workload/workload.hpp"

namespace splleed::workload {

struct SourceEntry {
  std::string prompt;
  std::vector<Message> messages;              // messages source only
  std::optional<std::int64_t> output_len;     // jsonl with output_field
  std::size_t line = 0;                       // 1-based line in the file
};

struct SourceRead {
  std::vector<SourceEntry> entries;
  std::int64_t entries_read = 0;
  std::map<std::string, std::int64_t> skipped;
};

// One prompt per line; '\r' before '\n' dropped; lines that are empty or all whitespace skipped.
SourceRead read_text(const std::filesystem::path& path);

// One JSON object per line (blank lines skipped). The prompt is the string at `prompt_field`, a
// dot-separated path into nested objects; `output_field` (optional, same syntax) an integer >= 1.
SourceRead read_jsonl(const std::filesystem::path& path, const std::string& prompt_field,
                      const std::string& output_field);

// One {"messages": [{"role": ..., "content": ...}, ...]} per line. content is a string or an array
// of parts whose "text" parts are concatenated. The prompt is the last user message's content.
SourceRead read_messages(const std::filesystem::path& path);

// A ShareGPT conversation: its human turns, each with the reply that followed.
struct Conversation {
  std::size_t index = 0;  // position in the file's array
  std::vector<std::pair<std::string, std::string>> exchanges;  // (human, reply)
};
struct ShareGptRead {
  std::vector<Conversation> conversations;
  std::int64_t entries_read = 0;
  std::map<std::string, std::int64_t> skipped;
};
// The file is a JSON array. Entries without "conversations" or with fewer than two turns are
// skipped (as vLLM does); turns are paired as a human turn ("human"/"user") immediately followed
// by a model turn ("gpt"/"assistant"/"chatgpt"/"bard"/"bing"); other turns are passed over.
ShareGptRead read_sharegpt(const std::filesystem::path& path);

}  // namespace splleed::workload
