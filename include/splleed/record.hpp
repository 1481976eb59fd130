#pragma once
// What one request records. Field meanings follow the benchmark-semantics contract
// (docs/metrics.md): every timestamp is absolute monotonic Nanos (see clock.hpp); reports express
// them relative to the run's time zero.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "splleed/clock.hpp"

namespace splleed {

enum class RequestStatus : std::uint8_t {
  ok,              // stream completed normally
  http_error,      // non-2xx status; http_status and an excerpt of the body are kept
  stream_error,    // an error event inside a 200 stream
  timeout,         // connect or read timeout
  connect_error,   // DNS, refused, TLS handshake or certificate failure
  protocol_error,  // malformed framing or JSON, or the connection broke mid-stream
  cancelled,       // stopped by the user (Ctrl-C) while in flight
  incomplete,      // still running when the run stopped (the initial state)
};
inline constexpr int kRequestStatusCount = 8;

std::string_view to_string(RequestStatus s) noexcept;
std::optional<RequestStatus> request_status_from_string(std::string_view s) noexcept;

// One token-bearing stream event: when it was received and how many tokens it carried.
struct TokenEvent {
  Nanos received = 0;
  std::uint32_t tokens = 1;
};

// Token counts as the server reported them (`usage`); absent fields stay empty.
struct Usage {
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::optional<std::int64_t> cached_tokens;
  std::optional<std::int64_t> reasoning_tokens;
};

// The engine's state over one request's lifetime [dispatched, end], from its scraped metrics.
// A field is empty when the engine does not expose that signal.
struct RequestEngineState {
  std::optional<double> waiting_at_start;  // requests queued in the engine when it was sent
  std::optional<double> waiting_max;
  std::optional<double> running_mean;      // batch size
  std::optional<double> running_max;
  std::optional<double> kv_usage_max;      // 0..1
  std::optional<double> preemptions;       // estimated count during the request
  std::optional<double> gpu_utilization_mean;  // 0..1
};

// Timings and counts the server reported about this one request, in its own words and clock
// (llama.cpp `timings`, Ollama's final object; durations converted to milliseconds). They explain
// client-side latency (e.g. client TTFT minus load + prompt time is network and queueing) but
// never replace it. Absent fields stay empty; a server that reports nothing leaves all empty.
struct ServerTimings {
  std::optional<double> queue_ms;      // waiting before processing started
  std::optional<double> load_ms;       // model load before this request (Ollama load_duration)
  std::optional<double> prompt_ms;     // prompt processing (prefill)
  std::optional<double> predicted_ms;  // generation (decode)
  std::optional<double> total_ms;      // the whole request as the server saw it
  std::optional<std::int64_t> prompt_n;     // prompt tokens processed (not served from cache)
  std::optional<std::int64_t> predicted_n;  // tokens generated
  std::optional<std::int64_t> cache_n;      // prompt tokens served from the cache

  bool empty() const noexcept {
    return !queue_ms && !load_ms && !prompt_ms && !predicted_ms && !total_ms && !prompt_n &&
           !predicted_n && !cache_n;
  }
  bool operator==(const ServerTimings&) const = default;
};

struct RequestRecord {
  std::uint64_t index = 0;        // order of issue within its run (warm-up requests included)
  std::uint32_t prompt_index = 0; // which workload prompt was sent
  // Tokens of that prompt as the client's tokenizer counts them (beside the server's
  // usage.prompt_tokens); empty when unknown (no tokenizer, or a turn carrying reply history).
  std::optional<std::int64_t> client_prompt_tokens;
  // The output length this request asked for exactly (max_tokens with the engine told to ignore
  // end-of-sequence, on an API that honours it: protocol::output_length_ask); empty when
  // max_tokens was only a cap. Checked against what the request produced (RunResult::output_length).
  std::optional<std::int32_t> exact_output_tokens;
  // Multi-turn: the conversation and the 0-based turn this request sent; empty otherwise.
  std::optional<std::uint64_t> session;
  std::optional<std::int32_t> turn;
  bool warmup = false;            // warm-up requests are kept in the record but excluded from metrics
  bool ramp_up = false;           // scheduled during the ramp-up: reported apart from steady state
  std::string request_id;         // the X-Request-Id header splleed sent
  std::string response_id;        // the `id` field of the response, when the server sent one

  std::optional<Nanos> scheduled;    // intended send time (open loop) or when a slot freed (closed)
  std::optional<Nanos> dispatched;   // first byte of the request handed to the socket
  std::optional<Nanos> headers;      // response status line and headers complete
  std::optional<Nanos> first_event;  // first stream event of any kind
  std::optional<Nanos> first_token;  // first event that carried generated output
  std::optional<Nanos> last_token;   // last event that carried generated output
  std::optional<Nanos> end;          // stream ended ([DONE], final event, or close after a full body)

  std::vector<TokenEvent> tokens;    // one per token-bearing event, in arrival order

  RequestStatus status = RequestStatus::incomplete;
  int http_status = 0;
  std::string error;                 // human-readable cause for any status but ok
  std::string finish_reason;         // as the server said (stop, length, ...)

  Usage usage;
  ServerTimings server_timings;      // empty unless the API reports them
  std::optional<RequestEngineState> engine;  // when engine metrics were scraped
  std::uint32_t events = 0;          // stream events of any kind
  std::uint64_t output_bytes = 0;    // bytes of generated text received

  // Tokens the request produced: server usage when present, else the sum over token events.
  std::int64_t output_tokens() const noexcept;
  // Whether TPOT/ITL counts come from the server (`usage`) or from counting events.
  bool output_tokens_from_usage() const noexcept { return usage.completion_tokens.has_value(); }
};

}  // namespace splleed
