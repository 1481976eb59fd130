#pragma once
// The simulated engine's scheduler: continuous batching on one io_context with steady timers.
//
// Requests wait in a FIFO queue; at most max_running are admitted, and with a KV capacity only
// while their prompt and generated tokens (plus one) fit. An admitted request's prefill takes
// ttft + prefill_per_token * tokens to compute (prompt + generated, less prefix-cache hits),
// jittered; then it produces its next token and joins the decode batch. A decode step lasts
// itl + step_per_running * admitted (jittered); at its end every request in the batch produces one
// token (with speculative decoding, accepted drafts + 1, in one event). A request whose prefill
// ends while a step is under way produces its token at that step's end, so every later gap is
// exactly one step. Before a step's tokens are produced, each producing request (in admission
// order) needs KV room for them; when there is none, the most recently admitted request is
// preempted: its KV is freed and it goes back to the front of the queue, to be prefilled again
// (prompt + generated) when admitted. A finished or cancelled request frees its slot and KV and the
// queue head is admitted. Nothing here sleeps a thread, and a steady decode step allocates nothing.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "sim/counters.hpp"
#include "sim/prefix_cache.hpp"

namespace splleed::sim {

struct EngineModel {
  double ttft_ns = 0;
  double prefill_ns_per_token = 0;
  double itl_ns = 0;
  double step_ns_per_running = 0;
  double jitter = 0;
  std::int32_t max_running = 1;
  std::int64_t kv_tokens = 0;  // 0: unlimited
  bool prefix_cache = false;
  std::int32_t spec_tokens = 0;
  double spec_acceptance = 0;
};

class Engine;

// What one emit_tokens() call produced.
struct Emitted {
  std::int32_t tokens = 0;  // tokens produced (fewer than asked when the request ended early)
  bool finished = false;    // the request wants no more tokens
};

// A generation request as the engine sees it. The engine calls emit_tokens() once per event.
class Job {
 public:
  // `max_tokens` bounds what the engine asks for; `prefix_blocks` are the prompt's chained block
  // hashes (prefix_block_hashes), used only with the prefix cache on.
  Job(boost::asio::any_io_executor ex, std::int64_t prompt_tokens, std::int32_t max_tokens,
      std::vector<std::uint64_t> prefix_blocks = {})
      : prompt_tokens_(prompt_tokens),
        max_tokens_(max_tokens),
        prefix_blocks_(std::move(prefix_blocks)),
        prefill_timer_(std::move(ex)) {}
  virtual ~Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Produce the next n >= 1 tokens as one event; fewer only when the request ends (EOS, a
  // fault). May call Engine::cancel() on this job (e.g. when the client is gone).
  virtual Emitted emit_tokens(std::int32_t n) = 0;

  bool active() const noexcept { return phase_ != Phase::created && phase_ != Phase::done; }
  std::int32_t preempted() const noexcept { return preempted_; }

  using time_point = boost::asio::steady_timer::clock_type::time_point;
  // The request's timeline, for the server timings some APIs report (steady clock): entering the
  // engine, first admission, first token (set after the first emit_tokens() returns).
  time_point arrival() const noexcept { return arrival_; }
  time_point first_admission() const noexcept { return scheduled_; }
  time_point first_token() const noexcept { return first_token_; }
  // Prompt tokens the first prefill computed (the rest were prefix-cache hits); -1 before it.
  std::int64_t first_prefill_tokens() const noexcept { return first_computed_; }

 private:
  friend class Engine;
  enum class Phase : std::uint8_t { created, queued, prefill, joining, decoding, done };
  std::int64_t prompt_tokens_;
  std::int32_t max_tokens_;
  std::vector<std::uint64_t> prefix_blocks_;
  Phase phase_ = Phase::created;
  boost::asio::steady_timer prefill_timer_;
  std::int32_t generated_ = 0;    // tokens produced so far
  std::int64_t kv_held_ = 0;      // KV tokens held while admitted
  std::int64_t computing_ = 0;    // tokens the current prefill computes
  std::int32_t step_tokens_ = 0;  // tokens to produce at the current step's end
  std::int32_t step_accepted_ = -1;  // accepted drafts of this step (-1: no draft)
  std::int32_t preempted_ = 0;
  std::int64_t first_computed_ = -1;
  std::uint32_t admission_ = 0;   // numbers admissions, so a stale prefill timer is recognised
  time_point arrival_{}, scheduled_{}, prefill_start_{}, first_token_{}, last_token_{};
  bool scheduled_once_ = false;
};

class Engine {
 public:
  Engine(boost::asio::io_context& ctx, EngineModel model, std::uint64_t seed, Counters& counters);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void submit(std::shared_ptr<Job> job);
  // Frees the job's slot (or queue place) at once. Returns false when it was no longer active.
  // Safe from inside Job::emit_tokens().
  bool cancel(Job& job);
  // Stops admitting and drops every queued and running job (their timers are cancelled).
  void shutdown();

  std::size_t queued() const noexcept { return queued_; }
  std::int32_t running() const noexcept { return static_cast<std::int32_t>(running_.size()); }
  std::int64_t kv_used() const noexcept { return kv_used_; }

 private:
  using clock = boost::asio::steady_timer::clock_type;
  void admit();
  void on_prefilled(const std::shared_ptr<Job>& job);
  void start_step(clock::time_point base);
  void on_step();
  // Tokens the job produces at this step's end (drawing speculative acceptances).
  std::int32_t plan_tokens(Job& job);
  // Makes KV room for n more tokens of the job, preempting the most recently admitted requests
  // as needed. False when the job itself was preempted.
  bool reserve(Job& job, std::int32_t n);
  void preempt(const std::shared_ptr<Job>& job);
  // Emits the job's planned tokens at `now`; true when the job left the engine (finished, or
  // cancelled meanwhile).
  bool emit(Job& job, clock::time_point now);
  // The job leaves the engine: slot and KV freed, release counters updated.
  void release(Job& job, bool finished, clock::time_point now);
  void publish();
  bool kv_limited() const noexcept { return model_.kv_tokens > 0; }
  clock::duration jittered(double ns);

  boost::asio::io_context& ctx_;
  EngineModel model_;
  Counters& counters_;
  std::mt19937_64 rng_;
  std::mt19937_64 spec_rng_;  // separate, so speculation leaves the jitter sequence unchanged
  bool stopped_ = false;
  std::deque<std::shared_ptr<Job>> queue_;  // may hold cancelled jobs, skipped when admitted
  std::size_t queued_ = 0;                  // active jobs in queue_
  std::vector<std::shared_ptr<Job>> running_;  // admitted (prefill, joining, decoding), in admission order
  std::int64_t kv_used_ = 0;
  std::vector<std::shared_ptr<Job>> batch_;    // decoding (cancelled ones are dropped lazily)
  std::vector<std::shared_ptr<Job>> joining_;  // prefilled during the current step
  boost::asio::steady_timer step_timer_;
  bool stepping_ = false;  // a decode step is under way (batch_ is not empty)
  clock::time_point step_end_{};
  PrefixCache prefix_cache_;
};

}  // namespace splleed::sim
