#include "sim/engine.hpp"

#include <algorithm>
#include <cmath>

namespace splleed::sim {

namespace asio = boost::asio;

namespace {
// U[0, 1) from 53 random bits: the same sequence on every standard library (unlike
// std::uniform_real_distribution, whose algorithm is unspecified).
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Prefix-cache capacity when the KV cache is unlimited: 2^16 blocks (about a million tokens).
constexpr std::size_t kUnlimitedCacheBlocks = std::size_t{1} << 16;

template <class Duration>
double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
template <class Duration>
std::uint64_t nanos(Duration d) {
  return static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
}

// Removes one entry pointing at `job` (order kept); false when there is none.
bool erase_job(std::vector<std::shared_ptr<Job>>& v, const Job& job) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& p) { return p.get() == &job; });
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}
}  // namespace

Engine::Engine(asio::io_context& ctx, EngineModel model, std::uint64_t seed, Counters& counters)
    : ctx_(ctx),
      model_(model),
      counters_(counters),
      rng_(seed),
      spec_rng_(seed ^ 0x6a09e667f3bcc909ull),
      step_timer_(ctx),
      prefix_cache_(!model.prefix_cache ? 0
                    : model.kv_tokens > 0
                        ? static_cast<std::size_t>(model.kv_tokens / kPrefixBlockTokens)
                        : kUnlimitedCacheBlocks) {
  const auto slots = static_cast<std::size_t>(std::max(model_.max_running, 1));
  batch_.reserve(slots);
  joining_.reserve(slots);
  running_.reserve(slots);
}

Engine::clock::duration Engine::jittered(double ns) {
  if (model_.jitter > 0) ns *= 1.0 + model_.jitter * (2.0 * unit(rng_) - 1.0);
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::nanoseconds(std::max<std::int64_t>(0, std::llround(ns))));
}

void Engine::publish() {
  counters_.running_now.set(running_.size());
  counters_.waiting_now.set(queued_);
  counters_.kv_used_tokens.set(static_cast<std::uint64_t>(kv_used_));
  counters_.max_kv_used_tokens.raise_to(static_cast<std::uint64_t>(kv_used_));
}

void Engine::submit(std::shared_ptr<Job> job) {
  if (stopped_) return;
  job->phase_ = Job::Phase::queued;
  job->arrival_ = clock::now();
  queue_.push_back(std::move(job));
  ++queued_;
  counters_.max_queue_length.raise_to(queued_);
  admit();
  publish();
}

void Engine::admit() {
  while (!stopped_ && static_cast<std::int32_t>(running_.size()) < model_.max_running &&
         !queue_.empty()) {
    Job& head = *queue_.front();
    if (head.phase_ != Job::Phase::queued) {  // cancelled while waiting
      queue_.pop_front();
      continue;
    }
    // The KV of its prompt and output so far, and room for its next token. FIFO: when the head
    // does not fit, it waits for room and nothing overtakes it (vLLM's waiting queue does so too).
    const std::int64_t need = head.prompt_tokens_ + head.generated_;
    if (kv_limited() && kv_used_ + need + 1 > model_.kv_tokens) break;
    std::shared_ptr<Job> job = std::move(queue_.front());
    queue_.pop_front();
    --queued_;
    const auto now = clock::now();
    if (!job->scheduled_once_) {
      job->scheduled_once_ = true;
      job->scheduled_ = now;
    }
    job->kv_held_ = need;
    kv_used_ += need;
    std::int64_t hit = 0;
    if (model_.prefix_cache) {
      // As vLLM: queries and hits in tokens; the last prompt token is always computed.
      counters_.prefix_queries.add(static_cast<std::uint64_t>(job->prompt_tokens_));
      const auto blocks = static_cast<std::int64_t>(prefix_cache_.match(job->prefix_blocks_));
      hit = std::clamp<std::int64_t>(blocks * kPrefixBlockTokens, 0, job->prompt_tokens_ - 1);
      counters_.prefix_hits.add(static_cast<std::uint64_t>(hit));
    }
    job->computing_ = need - hit;
    if (job->first_computed_ < 0) job->first_computed_ = job->computing_;
    job->prefill_start_ = now;
    job->phase_ = Job::Phase::prefill;
    const std::uint32_t admission = ++job->admission_;
    running_.push_back(job);
    counters_.max_running.raise_to(running_.size());
    job->prefill_timer_.expires_after(jittered(
        model_.ttft_ns + model_.prefill_ns_per_token * static_cast<double>(job->computing_)));
    Job& j = *job;
    j.prefill_timer_.async_wait([this, admission, job = std::move(job)](boost::system::error_code ec) {
      // A handler already queued when the job was preempted belongs to an earlier admission.
      if (!ec && job->admission_ == admission) on_prefilled(job);
    });
  }
}

bool Engine::cancel(Job& job) {
  switch (job.phase_) {
    case Job::Phase::queued:
      --queued_;  // the queue entry is skipped when it reaches the head
      job.phase_ = Job::Phase::done;
      publish();
      return true;
    case Job::Phase::prefill:
      job.prefill_timer_.cancel();
      [[fallthrough]];
    case Job::Phase::joining:
    case Job::Phase::decoding:
      // batch_/joining_ drop done jobs at the next step; freeing the slot cannot wait for it.
      release(job, false, clock::now());
      admit();  // starts timers only, so it is safe inside a step
      publish();
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
  for (auto& job : running_) drop(job);
  queue_.clear();
  running_.clear();
  batch_.clear();
  joining_.clear();
  queued_ = 0;
  kv_used_ = 0;
  stepping_ = false;
  publish();
}

void Engine::release(Job& job, bool finished, clock::time_point now) {
  erase_job(running_, job);
  kv_used_ -= job.kv_held_;
  job.kv_held_ = 0;
  job.phase_ = Job::Phase::done;
  if (job.generated_ > 0) {
    counters_.released_tokens.add(static_cast<std::uint64_t>(job.generated_));
    counters_.released_decode_ns.add(nanos(job.last_token_ - job.first_token_));
  }
  if (!finished) return;
  // Per-request phases, as vLLM records them for finished requests.
  counters_.e2e.observe(seconds(now - job.arrival_));
  counters_.queue.observe(seconds(job.scheduled_ - job.arrival_));
  counters_.prefill.observe(seconds(job.first_token_ - job.scheduled_));
  counters_.decode.observe(seconds(job.last_token_ - job.first_token_));
  counters_.inference.observe(seconds(job.last_token_ - job.scheduled_));
}

bool Engine::reserve(Job& job, std::int32_t n) {
  if (kv_limited()) {
    while (kv_used_ + n > model_.kv_tokens) {
      // `job` is admitted, so running_ holds it and the loop ends with it at the latest. A job
      // never preempts one admitted before it, so the oldest always progresses (its prompt and
      // max_tokens fit the capacity alone).
      std::shared_ptr<Job> victim = running_.back();
      preempt(victim);
      if (victim.get() == &job) return false;
    }
  }
  job.kv_held_ += n;
  kv_used_ += n;
  counters_.max_kv_used_tokens.raise_to(static_cast<std::uint64_t>(kv_used_));
  return true;
}

void Engine::preempt(const std::shared_ptr<Job>& victim) {
  Job& v = *victim;
  if (v.phase_ == Job::Phase::prefill) v.prefill_timer_.cancel();
  if (v.phase_ == Job::Phase::decoding) erase_job(batch_, v);
  if (v.phase_ == Job::Phase::joining) erase_job(joining_, v);
  erase_job(running_, v);
  kv_used_ -= v.kv_held_;
  v.kv_held_ = 0;
  v.phase_ = Job::Phase::queued;
  ++v.preempted_;
  queue_.push_front(victim);
  ++queued_;
  counters_.max_queue_length.raise_to(queued_);
  counters_.preemptions.add();
}

std::int32_t Engine::plan_tokens(Job& job) {
  job.step_accepted_ = -1;
  if (job.phase_ != Job::Phase::decoding || model_.spec_tokens <= 0) return 1;
  // Drafts are accepted in turn until the first rejection; the target model's own token follows.
  std::int32_t accepted = 0;
  while (accepted < model_.spec_tokens && unit(spec_rng_) < model_.spec_acceptance) ++accepted;
  job.step_accepted_ = accepted;
  return std::min(accepted + 1, job.max_tokens_ - job.generated_);
}

bool Engine::emit(Job& job, clock::time_point now) {
  if (job.step_accepted_ >= 0) {
    counters_.spec_drafts.add();
    counters_.spec_draft_tokens.add(static_cast<std::uint64_t>(model_.spec_tokens));
    counters_.spec_accepted.add(static_cast<std::uint64_t>(job.step_accepted_));
    for (std::int32_t p = 0; p < job.step_accepted_; ++p) counters_.spec_accepted_per_pos[static_cast<std::size_t>(p)].add();
  }
  const bool first = job.generated_ == 0;
  const Emitted out = job.emit_tokens(job.step_tokens_);
  if (job.phase_ == Job::Phase::done) return true;  // cancelled from inside emit_tokens
  if (first) {
    job.first_token_ = now;
    counters_.ttft.observe(seconds(now - job.arrival_));
    counters_.prompt_tokens.add(static_cast<std::uint64_t>(job.prompt_tokens_));
  } else {
    counters_.itl.observe(seconds(now - job.last_token_));
  }
  job.last_token_ = now;
  job.generated_ += out.tokens;
  if (!out.finished) return false;
  release(job, true, now);
  return true;
}

void Engine::on_prefilled(const std::shared_ptr<Job>& job) {
  if (stopped_ || job->phase_ != Job::Phase::prefill) return;
  const auto now = clock::now();
  counters_.prompt_tokens_computed.add(static_cast<std::uint64_t>(job->computing_));
  counters_.prefill_ns.add(nanos(now - job->prefill_start_));
  counters_.decode_calls.add();
  counters_.busy_slots.add(running_.size());
  counters_.iteration_tokens.observe(static_cast<double>(job->computing_));
  if (model_.prefix_cache) prefix_cache_.insert(job->prefix_blocks_);
  job->step_tokens_ = 1;
  job->step_accepted_ = -1;
  if (stepping_) {
    job->phase_ = Job::Phase::joining;
    joining_.push_back(job);
    return;
  }
  // No step under way (the batch is empty): the token goes now and starts the step clock.
  job->phase_ = Job::Phase::decoding;
  if (!reserve(*job, 1)) {  // preempted itself: it waits in the queue for room
    publish();
    return;
  }
  if (emit(*job, now)) {
    admit();
    publish();
    return;
  }
  batch_.push_back(job);
  start_step(clock::now());
  publish();
}

void Engine::start_step(clock::time_point base) {
  auto end = base + jittered(model_.itl_ns + model_.step_ns_per_running *
                                                 static_cast<double>(running_.size()));
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
  const auto now = clock::now();
  counters_.decode_steps.add();
  counters_.decode_calls.add();
  counters_.busy_slots.add(running_.size());
  // Plan every producing job's tokens and make KV room for them, in admission order: preemption
  // takes the most recently admitted first, so when a job preempts itself every later one is gone.
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Job& job = *running_[i];
    if (job.phase_ != Job::Phase::decoding && job.phase_ != Job::Phase::joining) continue;
    job.step_tokens_ = plan_tokens(job);
    if (!reserve(job, job.step_tokens_)) break;
  }
  // Every job in the batch emits its tokens; kept jobs are compacted in place (no allocation).
  std::int64_t step_tokens = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < batch_.size(); ++i) {
    Job& job = *batch_[i];
    if (job.phase_ != Job::Phase::decoding) continue;
    step_tokens += job.step_tokens_;
    if (emit(job, now)) continue;
    if (kept != i) batch_[kept] = std::move(batch_[i]);
    ++kept;
  }
  batch_.resize(kept);
  for (auto& job : joining_) {
    if (job->phase_ != Job::Phase::joining) continue;
    job->phase_ = Job::Phase::decoding;
    ++step_tokens;
    if (!emit(*job, now)) batch_.push_back(std::move(job));
  }
  joining_.clear();
  if (step_tokens > 0) counters_.iteration_tokens.observe(static_cast<double>(step_tokens));
  admit();
  if (!batch_.empty()) start_step(step_end_);
  publish();
}

}  // namespace splleed::sim
