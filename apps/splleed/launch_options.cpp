#include "launch_options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "launch/launch_spec.hpp"

namespace splleed::cli {

namespace {

// The options that only mean something with --launch.
constexpr std::array<const char*, 6> kEngineFlags = {"--engine-binary", "--engine-opt",
                                                     "--engine-port", "--engine-log-dir",
                                                     "--engine-timeout", "--engine-stop-grace"};

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

}  // namespace

void add_launch_options(CLI::App& run, LaunchCli& cli) {
  run.add_option("--launch", cli.engine,
                 fmt::format("Start this engine, benchmark it, stop it: {} (--model is the model "
                             "to launch; anything after -- goes to the engine)",
                             launch::engine_names()));
  run.add_option("--engine-binary", cli.binary,
                 "Managed engine: program to run instead of the engine's default");
  run.add_option("--engine-opt", cli.options,
                 "Managed engine: typed option KEY=VALUE (the engine's flag name without dashes; "
                 "repeat for several)")
      ->allow_extra_args(false);
  run.add_option("--engine-port", cli.port, "Managed engine: port (default: a free one)");
  run.add_option("--engine-log-dir", cli.log_dir,
                 "Managed engine: folder of its log <engine>-<port>.log (default: the folder of "
                 "--json, else the current one)");
  run.add_option("--engine-timeout", cli.timeout_s,
                 "Managed engine: seconds to wait until it serves")
      ->capture_default_str();
  run.add_option("--engine-stop-grace", cli.stop_grace_s,
                 "Managed engine: seconds between SIGTERM and SIGKILL when stopping it")
      ->capture_default_str();
  run.add_option("engine-args", cli.args,
                 "Managed engine: arguments after -- are passed to the engine verbatim");
}

std::optional<session::ManagedEngine> make_managed_engine(const LaunchCli& cli, const CLI::App& run,
                                                          RunConfig& config, bool use_sim,
                                                          const std::string& json_path,
                                                          std::string* error) {
  error->clear();
  if (cli.engine.empty()) {
    for (const char* flag : kEngineFlags) {
      if (run.count(flag) > 0) {
        *error = fmt::format("{} needs --launch (the engine to start).", flag);
        return std::nullopt;
      }
    }
    if (!cli.args.empty()) {
      *error = fmt::format("unexpected argument '{}': arguments after -- go to an engine that "
                           "--launch starts.",
                           cli.args.front());
      return std::nullopt;
    }
    return std::nullopt;
  }
  const auto engine = launch::parse_engine(cli.engine);
  if (!engine) {
    *error = fmt::format("unknown --launch '{}'; choose one of: {}.", cli.engine,
                         launch::engine_names());
    return std::nullopt;
  }
  if (use_sim) {
    *error = "--launch and --sim exclude each other (--launch sim runs the simulator as a process).";
    return std::nullopt;
  }
  if (!config.target.base_url.empty()) {
    *error = "--launch and --base-url exclude each other: the launched engine is the target.";
    return std::nullopt;
  }
  if (!(cli.timeout_s > 0)) {
    *error = fmt::format("--engine-timeout must be positive (got {}).", cli.timeout_s);
    return std::nullopt;
  }
  if (!(cli.stop_grace_s >= 0)) {
    *error = fmt::format("--engine-stop-grace must not be negative (got {}).", cli.stop_grace_s);
    return std::nullopt;
  }
  session::ManagedEngine m;
  m.spec.engine = *engine;
  m.spec.binary = cli.binary;
  if (m.spec.binary.empty() && *engine == launch::Engine::sim) {
    // The simulator is this very program (`splleed sim`).
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) m.spec.binary = self.string();
  }
  m.spec.port = cli.port;
  m.spec.extra_args = cli.args;
  m.spec.model = std::move(config.target.model);
  config.target.model.clear();
  if (m.spec.model.empty()) {
    if (*engine == launch::Engine::sim) {
      m.spec.model = "splleed-sim";
    } else {
      *error = fmt::format("--launch {} needs --model (the model to launch).", cli.engine);
      return std::nullopt;
    }
  }
  for (const std::string& opt : cli.options) {
    const auto eq = opt.find('=');
    const std::string_view key = std::string_view(opt).substr(0, eq);
    const std::string_view value =
        eq == std::string::npos ? std::string_view() : std::string_view(opt).substr(eq + 1);
    try {
      launch::set_option(m.spec, key, value);
    } catch (const launch::LaunchError& e) {
      *error = e.what();
      return std::nullopt;
    }
  }
  if (!cli.log_dir.empty()) {
    m.log_dir = cli.log_dir;
  } else if (!json_path.empty()) {
    const std::filesystem::path parent = std::filesystem::path(json_path).parent_path();
    m.log_dir = parent.empty() ? std::filesystem::path(".") : parent;
  }
  m.health_timeout = to_ms(cli.timeout_s);
  m.stop_grace = to_ms(cli.stop_grace_s);
  return m;
}

}  // namespace splleed::cli
