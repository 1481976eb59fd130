#pragma once
// What a benchmark run is asked to do. Validated by `validate()` before anything is sent.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splleed/clock.hpp"

namespace splleed {

enum class Api : std::uint8_t { openai_completions, openai_chat };
std::string_view to_string(Api api) noexcept;
std::optional<Api> api_from_string(std::string_view s) noexcept;
// Every API name accepted by api_from_string, for help text and error messages.
std::string api_names();

struct SamplingParams {
  std::int32_t max_tokens = 64;
  std::optional<double> temperature;
  std::optional<double> top_p;
  bool ignore_eos = false;
  std::optional<std::int32_t> min_tokens;
  // A JSON object (as text) merged into every request body; its keys win. Empty: none.
  std::string extra_body;
};

struct TargetConfig {
  std::string base_url;  // scheme://host[:port][/path]
  Api api = Api::openai_completions;
  std::string model;     // empty: first model of /v1/models
  // Secret: sent as `Authorization: Bearer`, never written to results, reports or logs.
  std::string api_key;
  bool insecure = false;  // skip TLS certificate verification (must be asked for explicitly)
  Nanos connect_timeout = 10 * kNanosPerSecond;
  Nanos read_timeout = 120 * kNanosPerSecond;  // longest silence tolerated between reads
};

enum class LoadMode : std::uint8_t {
  latency,      // one request at a time
  concurrency,  // closed loop: each level keeps N requests in flight
};
std::string_view to_string(LoadMode m) noexcept;

struct LoadConfig {
  LoadMode mode = LoadMode::concurrency;
  std::vector<std::int32_t> concurrency = {1};  // levels, each run in turn (latency mode: {1})
  std::optional<std::int64_t> num_requests;     // measured requests per level (warm-up excluded)
  std::optional<Nanos> duration;                // measurement time per level
  std::int32_t warmup = 0;                      // warm-up requests per level, excluded from metrics
  std::uint64_t seed = 0;                       // drives every random choice
  std::int32_t workers = 0;                     // event-loop threads; 0 = hardware cores
};

struct RunConfig {
  TargetConfig target;
  SamplingParams sampling;
  LoadConfig load;
  std::vector<std::string> prompts;  // requests cycle through these (seeded order)
};

// Empty when valid; otherwise one sentence naming the offending option and value.
std::string validate(const RunConfig& config);

}  // namespace splleed
