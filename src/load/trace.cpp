#include "load/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <numeric>
#include <optional>
#include <stdexcept>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <nlohmann/json.hpp>

namespace splleed::load {

namespace {

// Common words that BPE vocabularies hold as single tokens (with their leading space).
constexpr std::array<std::string_view, 64> kWords = {
    "the",   "of",    "and",   "to",    "in",    "is",    "that",  "for",   "it",    "as",
    "was",   "with",  "be",    "by",    "on",    "not",   "he",    "this",  "are",   "or",
    "his",   "from",  "at",    "which", "but",   "have",  "an",    "had",   "they",  "you",
    "were",  "their", "one",   "all",   "we",    "can",   "her",   "has",   "there", "been",
    "if",    "more",  "when",  "will",  "would", "who",   "so",    "no",    "time",  "some",
    "new",   "people", "year", "work",  "way",   "day",   "man",   "world", "life",  "part",
    "house", "water", "long",  "place"};

struct Entry {
  double timestamp_ms = 0;
  std::string prompt;
  std::optional<std::int32_t> output_length;
  bool synthesized = false;
};

}  // namespace

std::string filler_text(std::int64_t tokens, std::uint64_t seed) {
  boost::random::mt19937_64 rng(seed);
  boost::random::uniform_int_distribution<std::size_t> pick(0, kWords.size() - 1);
  std::string out;
  out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(tokens, 0)) * 6);
  for (std::int64_t i = 0; i < tokens; ++i) {
    if (!out.empty()) out += ' ';
    out += kWords[pick(rng)];
  }
  return out;
}

TraceWorkload read_trace(const std::string& path, double time_scale,
                         std::int32_t default_max_tokens) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open the trace {}.", path));
  std::vector<Entry> entries;
  std::string line;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(fmt::format("{}:{}: {}", path, line_no, what));
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) fail("not a JSON object");
    Entry e;
    if (!j.contains("timestamp") || !j["timestamp"].is_number())
      fail("'timestamp' (milliseconds) is missing or not a number");
    e.timestamp_ms = j["timestamp"].get<double>();
    if (!std::isfinite(e.timestamp_ms) || e.timestamp_ms < 0)
      fail("'timestamp' must be a non-negative number of milliseconds");
    if (j.contains("prompt")) {
      if (!j["prompt"].is_string()) fail("'prompt' must be a string");
      e.prompt = j["prompt"].get<std::string>();
    } else if (j.contains("input_length")) {
      if (!j["input_length"].is_number_integer() || j["input_length"].get<std::int64_t>() < 1)
        fail("'input_length' must be a positive integer");
      const auto tokens = j["input_length"].get<std::int64_t>();
      e.synthesized = true;
      if (j.contains("hash_ids") && j["hash_ids"].is_array() && !j["hash_ids"].empty()) {
        // One block of text per hash id, so that equal ids give equal prefixes.
        std::int64_t left = tokens;
        for (const auto& id : j["hash_ids"]) {
          if (left <= 0) break;
          if (!id.is_number_integer()) fail("'hash_ids' must hold integers");
          const std::int64_t n = std::min(left, kTraceBlockTokens);
          if (!e.prompt.empty()) e.prompt += ' ';
          e.prompt += filler_text(n, 0x9e3779b97f4a7c15ULL ^ id.get<std::uint64_t>());
          left -= n;
        }
        if (left > 0) e.prompt += ' ' + filler_text(left, line_no);
      } else {
        e.prompt = filler_text(tokens, line_no);
      }
    } else {
      fail("each entry needs 'prompt' (text) or 'input_length' (tokens)");
    }
    if (j.contains("output_length")) {
      const auto& o = j["output_length"];
      if (!o.is_number_integer() || o.get<std::int64_t>() < 1 ||
          o.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max())
        fail("'output_length' must be a positive integer");
      e.output_length = static_cast<std::int32_t>(o.get<std::int64_t>());
    }
    entries.push_back(std::move(e));
  }
  if (entries.empty()) throw std::runtime_error(fmt::format("the trace {} has no requests", path));
  if (!(time_scale > 0)) throw std::runtime_error("--time-scale must be positive");

  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.timestamp_ms < b.timestamp_ms; });
  TraceWorkload w;
  w.replay.source = path;
  w.replay.time_scale = time_scale;
  const double origin = entries.front().timestamp_ms;
  const bool any_length = std::any_of(entries.begin(), entries.end(),
                                      [](const Entry& e) { return e.output_length.has_value(); });
  for (auto& e : entries) {
    w.replay.times.push_back(
        static_cast<Nanos>(std::llround((e.timestamp_ms - origin) * time_scale * 1e6)));
    w.prompts.push_back(std::move(e.prompt));
    if (any_length) w.max_tokens.push_back(e.output_length.value_or(default_max_tokens));
    if (e.synthesized) ++w.synthesized_prompts;
  }
  return w;
}

}  // namespace splleed::load
