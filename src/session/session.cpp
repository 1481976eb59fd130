#include "session/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "metrics/trials.hpp"
#include "session/context_check.hpp"
#include "session/environment_capture.hpp"
#include "splleed/environment.hpp"
#include "splleed/version.hpp"

namespace splleed::session {

namespace {

// Starts the managed engine; LaunchError (nothing left running) becomes a SessionError.
std::unique_ptr<launch::EngineProcess> start_engine(const ManagedEngine& m,
                                                    std::function<bool()> cancelled) {
  launch::SupervisorOptions so;
  so.cancelled = std::move(cancelled);
  so.log_dir = m.log_dir;
  so.health_timeout = m.health_timeout;
  so.stop_grace = m.stop_grace;
  try {
    return launch::EngineProcess::launch(m.spec, so);
  } catch (const launch::LaunchError& e) {
    throw SessionError(e.what());
  } catch (const std::exception& e) {
    throw SessionError(fmt::format("cannot start the {} engine: {}", launch::to_string(m.spec.engine),
                                   e.what()));
  }
}

// The trace folder for a profile written on this machine: absolute, created.
std::string make_profile_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(dir, ec);
  if (!ec) std::filesystem::create_directories(abs, ec);
  if (ec) {
    throw SessionError(
        fmt::format("cannot create the profile folder {}: {}.", dir.string(), ec.message()));
  }
  return abs.string();
}

constexpr std::string_view kNoProfiler =
    "--profile needs an engine with a profiler endpoint (vLLM, SGLang or splleed's simulator); "
    "{} has none.";

// --profile with a launched engine: the trace folder defaults to <log dir>/profile, and vLLM is
// told it through --profiler-config unless the engine arguments already configure its profiler.
void prepare_launched_profile(ManagedEngine& m, ProfileOptions& p) {
  using launch::Engine;
  const Engine e = m.spec.engine;
  if (e != Engine::vllm && e != Engine::sglang && e != Engine::sim) {
    throw SessionError(fmt::format(fmt::runtime(kNoProfiler), launch::to_string(e)));
  }
  p.output_dir = make_profile_dir(p.output_dir.empty() ? m.log_dir / "profile"
                                                       : std::filesystem::path(p.output_dir));
  p.engine_takes_output_dir = true;
  if (e != Engine::vllm) return;  // SGLang and the simulator take output_dir in the request
  auto& args = m.spec.extra_args;
  const bool configured = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a.starts_with("--profiler-config");
  });
  if (configured) {
    p.engine_takes_output_dir = false;  // the user's own profiler settings decide
    return;
  }
  args.push_back("--profiler-config");
  args.push_back(
      nlohmann::json{{"profiler", "torch"}, {"torch_profiler_dir", p.output_dir}}.dump());
}

// Runs the profiler over a measurement phase: at once and to its end, or (with a window) on its
// own thread from `from` to `to` after the phase began, so that the phase itself never waits.
class ProfileTimer {
 public:
  ~ProfileTimer() { cancel(); }

  void begin(EngineProfiler& profiler, Nanos from, Nanos to,
             std::function<void(const ProfileWindow&)> on_start) {
    window_ = {};
    if (from == 0 && to == 0) {
      window_ = profiler.start();
      on_start(window_);
      return;
    }
    phase_over_ = false;
    thread_ = std::thread([this, &profiler, from, to, on_start = std::move(on_start)] {
      const auto t0 = std::chrono::steady_clock::now();
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, t0 + std::chrono::nanoseconds(from), [this] { return phase_over_; }))
        return;  // the phase ended before the window began
      lock.unlock();
      ProfileWindow w = profiler.start();
      on_start(w);
      lock.lock();
      window_ = w;
      if (!window_.started || to == 0) return;
      if (cv_.wait_until(lock, t0 + std::chrono::nanoseconds(to), [this] { return phase_over_; }))
        return;  // end() stops it
      lock.unlock();
      profiler.stop(w);
      lock.lock();
      window_ = w;
    });
  }

  // After the phase: stops a profiler still running and returns the window.
  ProfileWindow end(EngineProfiler& profiler) {
    cancel();
    if (window_.started && !window_.stop_requested) profiler.stop(window_);
    if (!window_.start_requested && window_.error.empty()) {
      window_.error = "the measurement phase ended before the profile window began";
    }
    return std::exchange(window_, {});
  }

 private:
  void cancel() {
    {
      std::lock_guard lock(mu_);
      phase_over_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool phase_over_ = false;  // guarded by mu_
  ProfileWindow window_;     // guarded by mu_ while the thread runs
  std::thread thread_;
};

std::string indented(const std::string& text) {
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

}  // namespace

const std::vector<std::string>& default_sim_prompts() {
  static const std::vector<std::string> prompts = {
      "Explain quantum computing in simple terms.",
      "Write a short poem about the sea.",
      "What are the main causes of inflation?",
      "Summarise the plot of Hamlet in three sentences.",
  };
  return prompts;
}

Session::Session(SessionOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  if (!options_.log) options_.log = [](const std::string&) {};
}

void Session::stop(std::string reason) {
  std::lock_guard lock(mutex_);
  if (runner_) {
    runner_->stop(std::move(reason));
  } else if (!pending_stop_) {
    pending_stop_ = std::move(reason);
  }
}

BenchmarkResult Session::run() {
  bool first = true;
  return run_sequence([&first](RunConfig&, const std::vector<RunResult>&) {
    return std::exchange(first, false);
  });
}

BenchmarkResult Session::run_sequence(const NextRun& next) {
  RunConfig config = options_.config;
  std::optional<sim::SimServer> sim_server;
  if (options_.embedded_sim) {
    sim::SimConfig sc = *options_.embedded_sim;
    sc.port = 0;
    sc.host = "127.0.0.1";
    if (auto err = sim::validate(sc); !err.empty()) throw SessionError(err);
    if (!config.target.base_url.empty())
      throw SessionError("an embedded simulator and a target URL exclude each other.");
    sim_server.emplace(sc, clock_);
    try {
      auto port = sim_server->start();
      config.target.base_url = fmt::format("http://127.0.0.1:{}", port);
    } catch (const std::exception& e) {
      throw SessionError(fmt::format("cannot start the simulated engine: {}", e.what()));
    }
    if (config.prompts.empty()) config.prompts = default_sim_prompts();
    // Triton's paths name the model: the simulator's, unless given.
    if (config.target.api == Api::triton && config.target.model.empty()) config.target.model = sc.model;
    options_.log(fmt::format("simulated engine on {}", config.target.base_url));
  }
  ProfileOptions profile = options_.profile;
  if (profile.enabled && sim_server) {
    if (profile.output_dir.empty()) {
      throw SessionError("--profile with the embedded simulator needs --profile-dir (or --json, "
                         "whose folder then gets profile/).");
    }
    profile.output_dir = make_profile_dir(profile.output_dir);
    profile.engine_takes_output_dir = true;
  }
  std::optional<launch::Engine> engine_hint =
      sim_server ? std::optional(launch::Engine::sim) : engine_for_api(config.target.api);
  std::atomic<bool> engine_died{false};  // outlives `engine`, whose death callback sets it
  std::unique_ptr<launch::EngineProcess> engine;
  if (options_.managed_engine) {
    ManagedEngine m = *options_.managed_engine;
    if (sim_server) throw SessionError("an embedded simulator and a launched engine exclude each other.");
    if (!config.target.base_url.empty())
      throw SessionError("a launched engine and a target URL exclude each other.");
    engine_hint = m.spec.engine;
    if (profile.enabled) prepare_launched_profile(m, profile);
    if (m.spec.engine == launch::Engine::sim && config.prompts.empty())
      config.prompts = default_sim_prompts();
    // Everything but the URL is checked before an engine that may take minutes to load starts.
    RunConfig check = config;
    check.target.base_url = "http://127.0.0.1:1";
    if (auto err = validate(check); !err.empty()) throw SessionError(err);
    try {
      engine = start_engine(m, [this] {
        std::lock_guard lock(mutex_);
        return pending_stop_.has_value();
      });
    } catch (const SessionError&) {
      std::lock_guard lock(mutex_);
      if (pending_stop_)
        throw SessionError(fmt::format("{} while the {} engine was starting; it was stopped.",
                                       *pending_stop_, launch::to_string(m.spec.engine)));
      throw;
    }
    config.target.base_url = engine->base_url();
    options_.log(fmt::format("{} engine serving on {} (log {})", launch::to_string(m.spec.engine),
                             engine->base_url(), engine->log_path().string()));
    engine->on_unexpected_exit([this, &engine_died, e = engine.get()](const launch::ExitStatus& st) {
      engine_died.store(true);
      stop(fmt::format("engine {} exited ({}) mid-run; last lines of {}:\n{}",
                       launch::to_string(e->engine()), st.describe(), e->log_path().string(),
                       indented(e->log_tail())));
    });
    if (m.on_ready) m.on_ready(*engine);
  }
  if (auto err = validate(config); !err.empty()) throw SessionError(err);

  const Nanos origin = clock_.now();
  load::TargetInfo info;
  {
    load::Runner probe(config, clock_, options_.log);
    try {
      info = probe.preflight();
    } catch (const load::TargetError& e) {
      if (engine_died.load()) {
        std::lock_guard lock(mutex_);
        if (pending_stop_) throw SessionError(*pending_stop_);
      }
      throw SessionError(e.what());
    }
    config.target.model = probe.config().target.model;
  }
  // Read before any load, so the requests the info takes never overlap a measurement.
  EngineIdentity identity = capture_engine_identity(config.target.base_url, engine_hint);
  if (sim_server && identity.version.empty()) identity.version = kVersion;
  if (profile.enabled && !engine && !sim_server) {
    // Connect mode: refuse engines known to have no profiler; only SGLang and the simulator are
    // known to write where output_dir says (vLLM's folder is fixed when it starts).
    const std::string& e = identity.engine;
    if (!e.empty() && e != "vllm" && e != "sglang" && e != "sim") {
      throw SessionError(fmt::format(fmt::runtime(kNoProfiler), e));
    }
    profile.engine_takes_output_dir = !profile.output_dir.empty() && (e == "sglang" || e == "sim");
  }
  // A request longer than the context would only come back as an HTTP 400, run after run.
  if (identity.max_model_len) {
    if (auto err = check_context_length(config, *identity.max_model_len); !err.empty())
      throw SessionError(err);
  }
  Environment machine = capture_host_environment();
  if (options_.capture_gpus) capture_gpus(machine);

  BenchmarkResult result;
  result.config = config;
  std::optional<EngineObserver> observer;
  if (options_.observe && options_.observe->enabled) {
    try {
      observer.emplace(*options_.observe, config.target, clock_);
    } catch (const std::exception& e) {
      throw SessionError(e.what());
    }
    observer->start();
  }
  std::optional<EngineProfiler> profiler;
  if (profile.enabled) profiler.emplace(profile, config.target, clock_);
  ProfileTimer profile_timer;
  load::MeasurementHooks profile_hooks;
  if (profiler) {
    profile_hooks.before = [&](const RunResult& run) {
      profile_timer.begin(*profiler, profile.window_from, profile.window_to,
                          [this, label = run.label](const ProfileWindow& w) {
                            if (!w.error.empty()) {
                              options_.log(fmt::format(
                                  "{}: the engine's profiler did not start: {}", label, w.error));
                            }
                          });
    };
    profile_hooks.after = [&](RunResult& run) {
      ProfileWindow w = profile_timer.end(*profiler);
      if (w.stopped) {
        options_.log(fmt::format("{}: profile trace: {}", run.label, w.trace_location));
      } else if (w.started) {
        options_.log(fmt::format("{}: the engine's profiler did not stop: {}", run.label, w.error));
      }
      if (w.started) {
        const Nanos until = w.stop_requested.value_or(clock_.now());
        for (const RequestRecord& r : run.requests) {
          if (!r.warmup && r.dispatched && *r.dispatched >= *w.started && *r.dispatched <= until)
            ++w.requests_inside;
        }
      }
      run.profile = std::move(w);
    };
  }
  RunConfig planned = config;
  while (next(planned, result.runs)) {
    if (auto err = validate(planned); !err.empty()) {
      // Nothing sent yet: the configuration is at fault. Later, a plan that derived an unusable
      // next step (e.g. a rate of 0 after every request failed) ends, keeping what finished.
      if (result.runs.empty()) throw SessionError(err);
      result.interrupted = true;
      result.stop_reason = "the plan could not continue: " + err;
      break;
    }
    load::Runner runner(planned, clock_, options_.log);
    if (options_.on_record) runner.set_record_sink(options_.on_record);
    if (profiler) runner.set_measurement_hooks(profile_hooks);
    {
      std::lock_guard lock(mutex_);
      runner_ = &runner;
      if (pending_stop_) runner.stop(*pending_stop_);
    }
    BenchmarkResult part = runner.run();
    {
      std::lock_guard lock(mutex_);
      runner_ = nullptr;
    }
    for (auto& run : part.runs) result.runs.push_back(std::move(run));
    if (part.interrupted) {
      result.interrupted = true;
      result.stop_reason = part.stop_reason;
      break;
    }
    planned = config;
  }
  result.environment = std::move(machine);
  result.environment.target_url = sim_server ? "embedded simulator" : config.target.base_url;
  result.environment.served_model = info.served_model;
  result.environment.engine = std::move(identity);
  result.clock = make_clock_info(origin);
  if (observer) observer->finish(result);  // before the engine goes: a last scrape may be due
  if (engine) {
    const launch::ExitStatus status = engine->stop();
    result.launched_engine =
        describe_launched(*engine, status, engine_died.load(), {config.target.api_key});
    if (status.killed_after_grace)
      options_.log("the engine did not stop on SIGTERM within the grace period and was killed");
  }
  if (sim_server) sim_server->stop();
  metrics::aggregate_trials(result);
  return result;
}

}  // namespace splleed::session
