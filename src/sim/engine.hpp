#pragma once
// The simulated engine's scheduler: continuous batching on one io_context with steady timers.
//
// Requests wait in a FIFO queue; at most max_running are admitted. An admitted request's prefill
// takes ttft + prefill_per_token * prompt_tokens (jittered); then it produces its first token and
// joins the decode batch. A decode step lasts itl + step_per_running * admitted (jittered); at the
// end of each step every request in the batch produces one token. A request whose prefill ends
// while a step is under way produces its first token at that step's end, so every later gap is
// exactly one step. A finished or cancelled request frees its slot and the queue head is admitted.
// Nothing here sleeps a thread, and a steady decode step allocates nothing.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "sim/counters.hpp"

namespace splleed::sim {

struct EngineModel {
  double ttft_ns = 0;
  double prefill_ns_per_token = 0;
  double itl_ns = 0;
  double step_ns_per_running = 0;
  double jitter = 0;
  std::int32_t max_running = 1;
};

class Engine;

// A generation request as the engine sees it. The engine calls emit_token() once per token.
class Job {
 public:
  Job(boost::asio::any_io_executor ex, std::int64_t prompt_tokens)
      : prompt_tokens_(prompt_tokens), prefill_timer_(std::move(ex)) {}
  virtual ~Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  // Produce the next token. Returns true when the request wants no more tokens. May call
  // Engine::cancel() on this job (e.g. when the client is gone).
  virtual bool emit_token() = 0;

  bool active() const noexcept { return phase_ != Phase::created && phase_ != Phase::done; }

 private:
  friend class Engine;
  enum class Phase : std::uint8_t { created, queued, prefill, joining, decoding, done };
  std::int64_t prompt_tokens_;
  Phase phase_ = Phase::created;
  boost::asio::steady_timer prefill_timer_;
};

class Engine {
 public:
  Engine(boost::asio::io_context& ctx, EngineModel model, std::uint64_t seed, Counters& counters);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void submit(std::shared_ptr<Job> job);
  // Frees the job's slot (or queue place) at once. Returns false when it was no longer active.
  // Safe from inside Job::emit_token().
  bool cancel(Job& job);
  // Stops admitting and drops every queued and running job (their timers are cancelled).
  void shutdown();

  std::size_t queued() const noexcept { return queued_; }
  std::int32_t running() const noexcept { return running_; }

 private:
  using clock = boost::asio::steady_timer::clock_type;
  void admit();
  void on_prefilled(const std::shared_ptr<Job>& job);
  void start_step(clock::time_point base);
  void on_step();
  // Emits one token; true when the job left the engine (finished or cancelled meanwhile).
  bool emit(Job& job);
  clock::duration jittered(double ns);

  boost::asio::io_context& ctx_;
  EngineModel model_;
  Counters& counters_;
  std::mt19937_64 rng_;
  bool stopped_ = false;
  std::deque<std::shared_ptr<Job>> queue_;  // may hold cancelled jobs, skipped when admitted
  std::size_t queued_ = 0;                  // active jobs in queue_
  std::int32_t running_ = 0;                // admitted: in prefill, joining or decoding
  std::vector<std::shared_ptr<Job>> batch_;    // decoding (cancelled ones are dropped lazily)
  std::vector<std::shared_ptr<Job>> joining_;  // prefilled during the current step
  boost::asio::steady_timer step_timer_;
  bool stepping_ = false;  // a decode step is under way (batch_ is not empty)
  clock::time_point step_end_{};
};

}  // namespace splleed::sim
