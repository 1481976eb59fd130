#include "session/session.hpp"

#include <fmt/format.h>

#include <utility>

#include "metrics/trials.hpp"
#include "splleed/environment.hpp"

namespace splleed::session {

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
  if (auto err = validate(config); !err.empty()) throw SessionError(err);

  const Nanos origin = clock_.now();
  load::TargetInfo info;
  {
    load::Runner probe(config, clock_, options_.log);
    try {
      info = probe.preflight();
    } catch (const load::TargetError& e) {
      throw SessionError(e.what());
    }
    config.target.model = probe.config().target.model;
  }

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
  result.environment = capture_host_environment();
  result.environment.target_url = sim_server ? "embedded simulator" : config.target.base_url;
  result.environment.served_model = info.served_model;
  result.clock = make_clock_info(origin);
  if (observer) observer->finish(result);  // before the simulator goes: a last scrape may be due
  if (sim_server) sim_server->stop();
  metrics::aggregate_trials(result);
  return result;
}

}  // namespace splleed::session
