#pragma once
// The simulated engine: a streaming HTTP/1.1 server whose timing follows a small
// continuous-batching model (docs/design/simulator.md). It is the embedded benchmark target
// (`splleed run --sim`, `splleed sim`) and the ground truth of the end-to-end tests: its send log
// says when each stream event was handed to the kernel, on the same clock the client reads.
//
// Endpoints: POST /v1/completions, POST /v1/chat/completions (stream true or false),
// GET /v1/models, GET /health, GET /metrics (Prometheus text, vLLM's or llama.cpp's names), with
// vLLM's shapes; and the native streaming APIs of TGI (POST /generate_stream), SGLang
// (POST /generate), llama.cpp (POST /completion), Ollama (POST /api/generate, /api/chat, NDJSON)
// and Triton (POST /v2/models/{model}/generate_stream, GET .../ready). The request field
// "sim_fault" injects failures.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "splleed/clock.hpp"

namespace splleed::sim {

struct SimConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;              // 0: pick a free port
  double ttft_ms = 40;                 // base time from admission to first token
  double prefill_us_per_token = 20;    // added to TTFT per prompt token
  double itl_ms = 8;                   // base decode step
  double step_us_per_running = 50;     // added to each decode step per running request
  double jitter = 0;                   // each step/TTFT scaled by (1 + U(-jitter, +jitter)), seeded
  std::int32_t max_running = 16;       // at most this many decode together; the rest wait FIFO
  // KV cache capacity in tokens (0: unlimited). A running request holds its prompt and generated
  // tokens; when admitting or growing would exceed it, the most recently admitted request is
  // preempted (its KV freed, requeued first, its prompt and output prefilled again later).
  // Requests whose prompt_tokens + max_tokens exceed it are refused with 400.
  std::int64_t kv_tokens = 0;
  // Prefix cache: full 16-token blocks of prompts already prefilled skip their prefill cost.
  bool prefix_cache = false;
  // Speculative decoding: each decode step drafts spec_tokens tokens per request, each accepted
  // in turn with probability spec_acceptance until the first rejection; a step then emits
  // accepted + 1 tokens in one event (as vLLM streams one chunk per engine step).
  std::int32_t spec_tokens = 0;
  double spec_acceptance = 0;
  // GET /metrics names and format: "vllm" (v1 engine) or "llamacpp" (llama-server --metrics).
  std::string metrics_style = "vllm";
  double eos_probability = 0;          // chance per token after min_tokens to end (unless ignore_eos)
  std::uint64_t seed = 0;              // drives jitter, token text and EOS draws
  std::string model = "splleed-sim";   // the one model served
  std::string send_log_path;           // when set, the send log is written there at stop()
  // Where POST /start_profile writes when its body names no output_dir (sim/profiler.hpp).
  std::string profile_dir;
  // Each thread runs an independent engine replica (its own max_running slots, queue and decode
  // loop), like data-parallel replicas behind one port; connections are dealt to replicas round
  // robin. One thread serves well over 50,000 token events per second.
  std::int32_t threads = 1;
  // Keep the send log in memory (24 bytes per event plus each request id). A long-lived server
  // that nobody reads the log of can turn this off; send_log() is then empty.
  bool record_send_log = true;
};

// Empty when valid; otherwise one sentence naming the offending option by its CLI flag
// (--ttft-ms, --itl-ms, --max-running, ...) and value.
std::string validate(const SimConfig& config);

// One stream event as written: `before_write` is the clock just before the first write attempt,
// `after_write` just after its last byte was accepted by the kernel. `seq` numbers every event
// of a request from 0: for streams each SSE event (a chat stream's role-only chunk is seq 0; the
// usage chunk and `data: [DONE]` are events too); a non-streaming response is one event.
// Events whose write never completed (connection lost, server stopped) are left out.
struct SendLogEntry {
  std::string request_id;  // the request's X-Request-Id, or the response id when it had none
  std::uint32_t seq = 0;
  Nanos before_write = 0;
  Nanos after_write = 0;
};

// Counters since start(), summed over replicas (maxima are the largest of any one replica).
struct SimStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests_received = 0;       // HTTP requests parsed, any endpoint
  std::uint64_t generations_started = 0;     // completion/chat requests queued in the engine
  std::uint64_t generations_finished = 0;    // ... whose response ended (normally or by a fault)
  std::uint64_t generations_cancelled = 0;   // ... whose client went away first
  std::uint64_t faults_injected = 0;         // requests that got their sim_fault
  std::uint64_t tokens_generated = 0;        // tokens produced, streaming or not, EOS included
  std::uint64_t token_events = 0;            // SSE events that carried generated text
  std::uint64_t events = 0;                  // SSE events of any kind
  std::uint64_t writes_blocked = 0;          // events that met a full socket and went async
  std::uint64_t decode_steps = 0;
  std::uint64_t max_queue_length = 0;        // longest wait queue seen
  std::uint64_t max_running = 0;             // most requests admitted at once
  std::uint64_t preemptions = 0;             // running requests sent back to the queue
  std::uint64_t max_kv_used_tokens = 0;      // most KV tokens held at once (largest replica)
  std::uint64_t prefix_cache_queries = 0;    // prompt tokens looked up in the prefix cache
  std::uint64_t prefix_cache_hits = 0;       // ... and found there
  std::uint64_t spec_drafts = 0;             // speculative drafts (one per request per step)
  std::uint64_t spec_draft_tokens = 0;       // draft tokens proposed
  std::uint64_t spec_accepted_tokens = 0;    // draft tokens accepted
};

class SimServer {
 public:
  // The clock stamps the send log (pass a MonotonicClock to compare with a client's times).
  SimServer(SimConfig config, const Clock& clock);
  ~SimServer();  // stops (errors writing the send log are swallowed here; call stop() to see them)
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds and listens, then serves on its own thread(s). Returns the port. Throws
  // std::runtime_error with one sentence when it cannot listen (e.g. the port is in use), and
  // std::logic_error when called twice.
  std::uint16_t start();
  // Idempotent. Closes the listener and every connection (stalled streams included), joins the
  // threads and writes send_log_path; throws std::runtime_error if that file cannot be written.
  void stop();

  std::uint16_t port() const;                  // 0 before start()
  std::vector<SendLogEntry> send_log() const;  // snapshot, ordered by before_write; any thread
  SimStats stats() const;                      // any thread; cheap (relaxed atomic reads)

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace splleed::sim
