#pragma once
// Managed mode on the command line: `splleed run --launch ENGINE --model M ... -- ENGINE ARGS`
// starts the engine, benchmarks it and stops it (docs/engines.md).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "session/session.hpp"
#include "splleed/config.hpp"

namespace CLI {
class App;
}

namespace splleed::cli {

struct LaunchCli {
  std::string engine;                     // --launch
  std::string binary;                     // --engine-binary
  std::vector<std::string> options;       // --engine-opt KEY=VALUE, repeatable
  std::uint16_t port = 0;                 // --engine-port (0: a free one)
  std::string log_dir;                    // --engine-log-dir (default: --json's folder, else .)
  double timeout_s = 1200;                // --engine-timeout
  double stop_grace_s = 15;               // --engine-stop-grace
  std::vector<std::string> args;          // everything after `--`, verbatim
};

// Adds the managed-mode options to `run`.
void add_launch_options(CLI::App& run, LaunchCli& cli);

// The engine to launch, from the parsed options. Without --launch: nullopt, and *error stays empty
// unless an engine option was given anyway. With --launch: moves --model into the launch spec
// (config.target.model is then left empty, so the run uses the model the engine serves). On bad
// input returns nullopt with *error set to one sentence naming the option.
std::optional<session::ManagedEngine> make_managed_engine(const LaunchCli& cli, const CLI::App& run,
                                                          RunConfig& config, bool use_sim,
                                                          const std::string& json_path,
                                                          std::string* error);

}  // namespace splleed::cli
