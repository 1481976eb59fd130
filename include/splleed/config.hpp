#pragma once
// What a benchmark run is asked to do. Validated by `validate()` before anything is sent.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splleed/clock.hpp"

namespace splleed {

// Wire APIs (docs/design/protocol.md). The OpenAI ones work with most servers; the others are the
// engines' native streaming endpoints, which report per-event token counts or server timings.
enum class Api : std::uint8_t {
  openai_completions,  // POST /v1/completions
  openai_chat,         // POST /v1/chat/completions
  tgi,                 // TGI POST /generate_stream
  sglang,              // SGLang POST /generate
  llamacpp,            // llama.cpp POST /completion
  ollama_generate,     // Ollama POST /api/generate (NDJSON)
  ollama_chat,         // Ollama POST /api/chat (NDJSON)
  triton,              // Triton POST /v2/models/{model}/generate_stream
};
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
  rate,         // open loop: requests leave at scheduled times, whatever is in flight
};
std::string_view to_string(LoadMode m) noexcept;
std::optional<LoadMode> load_mode_from_string(std::string_view s) noexcept;

// Open-loop inter-arrival shape (see load/schedule.hpp).
enum class Arrival : std::uint8_t { constant, poisson, gamma };
std::string_view to_string(Arrival a) noexcept;
std::optional<Arrival> arrival_from_string(std::string_view s) noexcept;

enum class RampShape : std::uint8_t { linear, exponential };
std::string_view to_string(RampShape r) noexcept;

// Rate climbs from start_rate to the level's rate over `duration`; requests scheduled in that time
// form the ramp-up phase (reported, excluded from the steady-state summary).
struct RampConfig {
  double start_rate = 1;
  Nanos duration = 0;
  RampShape shape = RampShape::linear;
};

// Trace replay (mode rate, one level): request i leaves at the phase start + times[i] and sends
// prompt i. Read from a file by load/trace.hpp.
struct TraceReplay {
  std::string source;          // the file it came from, as given (recorded in results)
  double time_scale = 1;       // each timestamp was multiplied by this (< 1 replays faster)
  std::vector<Nanos> times;    // intended send offsets from the first entry, nondecreasing
};

struct LoadConfig {
  LoadMode mode = LoadMode::concurrency;
  std::vector<std::int32_t> concurrency = {1};  // levels, each run in turn (latency mode: {1})
  std::optional<std::int64_t> num_requests;     // measured requests per level (warm-up excluded)
  std::optional<Nanos> duration;                // measurement time per level
  std::int32_t warmup = 0;                      // warm-up requests per level, excluded from metrics
  std::optional<Nanos> warmup_duration;         // or: warm up for this long (exclusive with a count)
  std::uint64_t seed = 0;                       // drives every random choice
  std::int32_t workers = 0;                     // event-loop threads; 0 = hardware cores
  // Precision mode: with nothing ready, a worker polls for this long before it blocks, so reads
  // are seen without the kernel's wake-up latency, at the cost of CPU. 0 = off (block at once).
  Nanos busy_poll = 0;

  // Open loop (mode rate): one level per rate.
  std::vector<double> request_rates;            // requests/s
  Arrival arrival = Arrival::poisson;
  double burstiness = 1;                        // gamma shape (1 = Poisson)
  std::optional<std::int32_t> max_concurrency;  // excess requests wait in the client (recorded)
  std::optional<RampConfig> ramp;
  std::optional<TraceReplay> trace;             // replaces request_rates and the arrival process
};

// One service-level objective: a request meets it when its value of `metric` (a key such as
// "ttft", "tpot", "e2e", "itl" as in docs/metrics.md) is at most `threshold`.
struct SloTarget {
  std::string metric;
  Nanos threshold = 0;
};
// Parses "ttft:500ms,tpot:50ms,e2e:5s" (units ns, us, ms, s; default ms). Empty result and
// *error set on failure, naming the bad part.
std::vector<SloTarget> parse_slos(std::string_view text, std::string* error);

// Parses --warmup: a count ("20") or a duration ("30s", "500ms", "2m"). Sets load.warmup or
// load.warmup_duration (clearing the other); returns false with *error naming the value otherwise.
bool parse_warmup(std::string_view text, LoadConfig& load, std::string* error);

struct StatsConfig {
  double confidence = 0.95;      // level of every interval
  std::int32_t trials = 1;       // independent runs per load level
  std::vector<SloTarget> slos;   // goodput is computed when not empty
};

// One chat message (an OpenAI `messages` element) sent on chat APIs.
struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
  bool operator==(const ChatMessage&) const = default;
};

// A multi-turn conversation: its turns are sent one after another, each once the previous reply
// has ended plus `RunConfig::think_time`, with the history (earlier user messages and the replies
// actually received) as chat messages.
struct ConversationPlan {
  std::uint64_t id = 0;
  std::vector<std::uint32_t> turns;  // prompt index of each turn, in order
  std::string system_prompt;         // sent first when not empty
  bool operator==(const ConversationPlan&) const = default;
};

struct RunConfig {
  TargetConfig target;
  SamplingParams sampling;
  LoadConfig load;
  std::vector<std::string> prompts;  // requests cycle through these (seeded order)
  // Per-prompt output length: empty, or one max_tokens per prompt (overrides sampling.max_tokens).
  std::vector<std::int32_t> prompt_max_tokens;
  // Per-prompt chat messages for chat APIs: empty, or one list per prompt (an empty list sends the
  // prompt as one user message).
  std::vector<std::vector<ChatMessage>> prompt_messages;
  // Per-prompt input token counts known to the client (a tokenizer): empty, or one per prompt
  // (-1: unknown).
  std::vector<std::int64_t> prompt_input_tokens;
  // Multi-turn: when not empty, requests send whole conversations (see ConversationPlan).
  std::vector<ConversationPlan> conversations;
  Nanos think_time = 0;
  // What names the workload (its source, file hash, options, length summaries) as a JSON object
  // in text; empty when the prompts came from --prompt or a trace without workload options.
  std::string workload;
  StatsConfig stats;
};

// Empty when valid; otherwise one sentence naming the offending option and value.
std::string validate(const RunConfig& config);

}  // namespace splleed
