#pragma once
// Drives a benchmark: for each load level, a warm-up phase then a measurement phase, each run by
// worker threads that share nothing (each owns an io_context, an HttpClient and its records).
// Records merge when a phase ends.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "splleed/clock.hpp"
#include "splleed/config.hpp"
#include "splleed/result.hpp"

namespace splleed::load {

// What the runner learned about the target before sending load.
struct TargetInfo {
  std::string served_model;  // first id from /v1/models, or empty
};

// Thrown when the target cannot be used at all (unreachable, TLS failure, no model): the message
// is one sentence naming the target and what to fix.
struct TargetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct PhasePlan;

// Called on the thread that runs the benchmark, between phases (never during one), so they may
// block: the next phase waits for them. `before` runs after a level's warm-up, just before its
// measurement phase is planned; `after` gets the finished run, just before the next level starts
// (also when the run was stopped mid-phase).
struct MeasurementHooks {
  std::function<void(const RunResult& run)> before;
  std::function<void(RunResult& run)> after;
};

// Receives each sent request's record as it finishes (warm-up ones too: see record.warmup), on the
// worker thread that ran it, before the next request on that worker starts. Must be thread-safe
// and quick (copy and hand off); it is never called per token.
using RecordSink = std::function<void(const RequestRecord&)>;

class Runner {
 public:
  // `log` receives progress lines (one per phase), never called per request.
  Runner(RunConfig config, const Clock& clock, std::function<void(const std::string&)> log = {});
  ~Runner();

  // Checks the target (GET /v1/models) and fills the model when none was given.
  // Throws TargetError when the target is unreachable.
  TargetInfo preflight();

  // Runs every level in turn. Returns everything that finished; when stopped, in-flight requests
  // are kept with status `incomplete` and result.interrupted is set.
  BenchmarkResult run();

  // Asks a running benchmark to stop (any thread, not from a signal handler). Idempotent.
  void stop(std::string reason);
  bool stopped() const noexcept { return stop_requested_.load(); }

  const RunConfig& config() const noexcept { return config_; }

  // Set before run().
  void set_record_sink(RecordSink sink) { record_sink_ = std::move(sink); }
  void set_measurement_hooks(MeasurementHooks hooks) { hooks_ = std::move(hooks); }

  // What one phase produced: its records and the client's own health figures.
  struct PhaseOutput {
    std::vector<RequestRecord> records;
    std::vector<double> wakeup_delays_ns;
    std::vector<Nanos> worker_cpu_ns;  // per worker thread
    Nanos wall_ns = 0;
  };

 private:
  PhaseOutput run_phase(PhasePlan& plan);

  RunConfig config_;
  const Clock& clock_;
  std::function<void(const std::string&)> log_;
  RecordSink record_sink_;
  MeasurementHooks hooks_;
  std::atomic<bool> stop_requested_{false};
  std::mutex stop_mutex_;
  std::string stop_reason_;
  std::vector<std::function<void()>> active_stoppers_;  // guarded by stop_mutex_
};

// Client health of one measurement phase: schedule lag, event-loop wake-up delay, worker CPU, and
// (open loop) the delivered rate, with a verdict sentence when the client may have been the limit.
ClientHealth assess_client_health(const Runner::PhaseOutput& phase,
                                  const std::vector<RequestRecord>& records,
                                  std::optional<double> requested_rate,
                                  std::optional<std::int32_t> max_concurrency = std::nullopt);

// The X-Request-Id of a request, and its record's request_id: UUID-shaped (8-4-4-4-12 hex digits,
// version 4 and variant bits set) because some servers reject anything else (llama-cpp-python
// validates it as a UUID), yet readable: RRRRRRRR-000W-4000-8000-IIIIIIIIIIII holds the run number
// (levels times trials in plan order), W = 1 for warm-up, and the request's index in its run.
std::string request_id(std::uint32_t run_number, bool warmup, std::uint64_t index);
std::string request_id_prefix(std::uint32_t run_number, bool warmup);  // all but the index

// The order in which prompts are used: a seeded permutation of [0, n), cycled. Platform-independent
// (the standard shuffle and distributions are implementation-defined, so this one is spelled out).
std::vector<std::uint32_t> prompt_order(std::size_t n, std::uint64_t seed);

}  // namespace splleed::load
