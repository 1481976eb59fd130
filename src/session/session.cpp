#include "session/session.hpp"

#include <fmt/format.h>

#include <atomic>
#include <memory>
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
    options_.log(fmt::format("simulated engine on {}", config.target.base_url));
  }
  std::optional<launch::Engine> engine_hint =
      sim_server ? std::optional(launch::Engine::sim) : engine_for_api(config.target.api);
  std::atomic<bool> engine_died{false};  // outlives `engine`, whose death callback sets it
  std::unique_ptr<launch::EngineProcess> engine;
  if (options_.managed_engine) {
    const ManagedEngine& m = *options_.managed_engine;
    if (sim_server) throw SessionError("an embedded simulator and a launched engine exclude each other.");
    if (!config.target.base_url.empty())
      throw SessionError("a launched engine and a target URL exclude each other.");
    engine_hint = m.spec.engine;
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
