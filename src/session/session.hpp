#pragma once
// One benchmark from configuration to result, as the CLI and the Python API both run it: start the
// embedded simulator when asked, validate, check the target, run every level, capture the
// environment and aggregate trials. Reporting stays with the caller.
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "launch/launch_spec.hpp"
#include "launch/supervisor.hpp"
#include "load/runner.hpp"
#include "session/engine_metrics.hpp"
#include "session/engine_profiler.hpp"
#include "sim/sim_server.hpp"
#include "splleed/clock.hpp"
#include "splleed/config.hpp"
#include "splleed/result.hpp"

namespace splleed::session {

// The configuration or the target cannot be used; nothing was sent. The message is one sentence
// naming the culprit and what to fix.
struct SessionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Prompts used against the embedded simulator when none are given.
const std::vector<std::string>& default_sim_prompts();

// An engine the session starts before the run and stops after it (managed mode,
// docs/engines.md). The run's target is the engine's URL; the model defaults to the one it serves.
struct ManagedEngine {
  launch::LaunchSpec spec;
  std::filesystem::path log_dir = ".";  // the engine's output goes to <log_dir>/<engine>-<port>.log
  std::chrono::milliseconds health_timeout{std::chrono::minutes(20)};
  std::chrono::milliseconds stop_grace{15'000};  // SIGTERM, then SIGKILL after this
  // Called once the engine serves, before anything is sent (e.g. to print where it runs).
  std::function<void(const launch::EngineProcess&)> on_ready;
};

struct SessionOptions {
  RunConfig config;
  // Benchmark an in-process simulator with this configuration (its host and port are chosen here)
  // instead of config.target.base_url.
  std::optional<sim::SimConfig> embedded_sim;
  // Progress lines (one per phase), never per request.
  std::function<void(const std::string&)> log;
  // Called on a worker thread as each sent request finishes (see load::RecordSink).
  load::RecordSink on_record;
  // Scrape the engine's metrics (and GPUs) while measuring; empty: do not.
  std::optional<ObserveOptions> observe;
  // Start this engine for the run (excludes embedded_sim and config.target.base_url).
  std::optional<ManagedEngine> managed_engine;
  // Record the machine's GPUs (NVML, else nvidia-smi) in the environment.
  bool capture_gpus = true;
  // Run the engine's own profiler around each measurement phase (vLLM, SGLang, the simulator).
  // With a launched engine an empty output_dir means <log_dir>/profile; the embedded simulator
  // needs one. An engine known to have no profiler endpoint is refused before any load.
  ProfileOptions profile;
};

// Plans a sequence of runs (sweeps, searches): given the runs so far, fills `next` (a copy of the
// session's resolved configuration: target, model and prompts already set) and returns true, or
// returns false when the plan is done.
using NextRun = std::function<bool(RunConfig& next, const std::vector<RunResult>& so_far)>;

class Session {
 public:
  Session(SessionOptions options, const Clock& clock);

  // Runs the benchmark. Throws SessionError before anything is sent when the configuration or the
  // target is unusable, or when the managed engine cannot be started (nothing is then left
  // running). When stopped, or when the managed engine dies mid-run, returns what finished with
  // result.interrupted set.
  BenchmarkResult run();

  // Runs the configurations `next` plans, one after another against the same target, and returns
  // every run in one result (result.config is the session's configuration). Each planned
  // configuration is validated: an invalid first one throws SessionError; an invalid later one
  // ends the plan with result.interrupted set, keeping every finished run.
  BenchmarkResult run_sequence(const NextRun& next);

  // The configuration as given (before the target is resolved).
  const RunConfig& config() const noexcept { return options_.config; }

  // Asks the run to stop (any thread; also before run() starts, which then stops at once).
  void stop(std::string reason);

 private:
  SessionOptions options_;
  const Clock& clock_;
  std::mutex mutex_;
  load::Runner* runner_ = nullptr;  // guarded by mutex_; set while run() is running
  std::optional<std::string> pending_stop_;
};

}  // namespace splleed::session
