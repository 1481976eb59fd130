#include "sim/engine.hpp"

#include <algorithm>
#include <cmath>

namespace splleed::sim {

namespace asio = boost::asio;

namespace {
// U[0, 1) from 53 random bits: the same sequence on every standard library (unlike
// std::uniform_real_distribution, whose algorithm is unspecified).
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
}  // namespace

Engine::Engine(asio::io_context& ctx, EngineModel model, std::uint64_t seed, Counters& counters)
    : ctx_(ctx), model_(model), counters_(counters), rng_(seed), step_timer_(ctx) {
  batch_.reserve(static_cast<std::size_t>(std::max(model_.max_running, 1)));
  joining_.reserve(static_cast<std::size_t>(std::max(model_.max_running, 1)));
}

Engine::clock::duration Engine::jittered(double ns) {
  if (model_.jitter > 0) ns *= 1.0 + model_.jitter * (2.0 * unit(rng_) - 1.0);
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::nanoseconds(std::max<std::int64_t>(0, std::llround(ns))));
}

void Engine::submit(std::shared_ptr<Job> job) {
  if (stopped_) return;
  job->phase_ = Job::Phase::queued;
  queue_.push_back(std::move(job));
  ++queued_;
  counters_.max_queue_length.raise_to(queued_);
  admit();
}

void Engine::admit() {
  while (!stopped_ && running_ < model_.max_running && !queue_.empty()) {
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    if (job->phase_ != Job::Phase::queued) continue;  // cancelled while waiting
    --queued_;
    ++running_;
    counters_.max_running.raise_to(static_cast<std::uint64_t>(running_));
    job->phase_ = Job::Phase::prefill;
    job->prefill_timer_.expires_after(jittered(
        model_.ttft_ns + model_.prefill_ns_per_token * static_cast<double>(job->prompt_tokens_)));
    Job& j = *job;
    j.prefill_timer_.async_wait([this, job = std::move(job)](boost::system::error_code ec) {
      if (!ec) on_prefilled(job);
    });
  }
}

bool Engine::cancel(Job& job) {
  switch (job.phase_) {
    case Job::Phase::queued:
      --queued_;  // the queue entry is skipped when it reaches the head
      job.phase_ = Job::Phase::done;
      return true;
    case Job::Phase::prefill:
      job.prefill_timer_.cancel();
      [[fallthrough]];
    case Job::Phase::joining:
    case Job::Phase::decoding:
      // batch_/joining_ drop done jobs at the next step; freeing the slot cannot wait for it.
      job.phase_ = Job::Phase::done;
      --running_;
      admit();  // starts timers only, so it is safe inside a step
      return true;
    case Job::Phase::created:
    case Job::Phase::done:
      return false;
  }
  return false;
}

void Engine::shutdown() {
  stopped_ = true;
  step_timer_.cancel();
  auto drop = [](std::shared_ptr<Job>& job) {
    job->prefill_timer_.cancel();
    job->phase_ = Job::Phase::done;
  };
  for (auto& job : queue_) drop(job);
  for (auto& job : batch_) drop(job);
  for (auto& job : joining_) drop(job);
  queue_.clear();
  batch_.clear();
  joining_.clear();
  queued_ = 0;
  running_ = 0;
  stepping_ = false;
}

bool Engine::emit(Job& job) {
  bool finished = job.emit_token();
  if (job.phase_ == Job::Phase::done) return true;  // cancelled from inside emit_token
  if (!finished) return false;
  job.phase_ = Job::Phase::done;
  --running_;
  return true;
}

void Engine::on_prefilled(const std::shared_ptr<Job>& job) {
  if (stopped_ || job->phase_ != Job::Phase::prefill) return;
  if (stepping_) {
    job->phase_ = Job::Phase::joining;
    joining_.push_back(job);
    return;
  }
  // No step under way (the batch is empty): the first token goes now and starts the step clock.
  job->phase_ = Job::Phase::decoding;
  if (emit(*job)) {
    admit();
    return;
  }
  batch_.push_back(job);
  start_step(clock::now());
}

void Engine::start_step(clock::time_point base) {
  auto end = base + jittered(model_.itl_ns +
                             model_.step_ns_per_running * static_cast<double>(running_));
  // Steps follow each other from their scheduled ends, so the mean step is exact; a server that
  // fell behind starts afresh from now instead of bursting to catch up.
  step_end_ = std::max(end, clock::now());
  stepping_ = true;
  step_timer_.expires_at(step_end_);
  step_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_step();
  });
}

void Engine::on_step() {
  if (stopped_) return;
  stepping_ = false;
  counters_.decode_steps.add();
  // Every job in the batch emits one token; kept jobs are compacted in place (no allocation).
  std::size_t kept = 0;
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    Job& job = *batch_[i];
    if (job.phase_ != Job::Phase::decoding || emit(job)) continue;
    if (kept != i) batch_[kept] = std::move(batch_[i]);
    ++kept;
  }
  batch_.resize(kept);
  for (auto& job : joining_) {
    if (job->phase_ != Job::Phase::joining) continue;
    job->phase_ = Job::Phase::decoding;
    if (!emit(*job)) batch_.push_back(std::move(job));
  }
  joining_.clear();
  admit();
  if (!batch_.empty()) start_step(step_end_);
}

}  // namespace splleed::sim
