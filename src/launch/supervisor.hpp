#pragma once
// Managed mode, part 2: starts an engine process, waits until it serves, watches it, stops it.
//
// Contract:
// - Nothing is left running on any path: a failed launch stops what it started before throwing,
//   and ~EngineProcess() stops the engine. The engine runs in its own process group and stop()
//   signals the whole group, so workers an engine forks (vLLM, SGLang, TGI shards) go with it.
//   Not covered: splleed itself being SIGKILLed (the engine then outlives it).
// - Bad input fails before anything is spawned, with one sentence naming what to fix (missing
//   program, model file that does not exist, fixed port already in use). A launch that fails
//   after spawning (the engine exits while starting, or never answers its health check in time)
//   throws LaunchError naming the exit status or the timeout, the log file, and its last lines.
// - The engine's stdout and stderr go, unbuffered by us, to <log_dir>/<engine>-<port>.log.
// - The engine starts with an empty signal mask and default signal dispositions, whatever the
//   calling thread blocks (the CLI blocks SIGINT/SIGTERM in all threads to sigwait them), and in
//   its own process group, so a terminal's Ctrl-C reaches splleed only; splleed stops it.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "launch/launch_spec.hpp"

namespace splleed::launch {

struct SupervisorOptions {
  std::filesystem::path log_dir = ".";
  std::chrono::milliseconds health_timeout{std::chrono::minutes(20)};  // large models load slowly
  std::chrono::milliseconds poll_interval{250};  // between health checks
  std::chrono::milliseconds stop_grace{15'000};  // SIGTERM, then SIGKILL after this
  // Extra attempts with a new free port when a picked port was taken meanwhile (see
  // pick_free_port); not used when the spec fixes the port.
  int port_retries = 3;
  std::size_t log_tail_lines = 20;  // lines of the log quoted in error messages
  // Polled between health checks; when it returns true the engine is stopped and the launch
  // throws LaunchError (e.g. Ctrl-C while a large model loads). Empty: never cancelled.
  std::function<bool()> cancelled;
};

struct ExitStatus {
  int code = -1;    // exit code when the process exited normally, else -1
  int signal = 0;   // terminating signal, else 0
  bool killed_after_grace = false;  // stop() had to send SIGKILL
  // "exit status 3" or "signal 9 (Killed)".
  std::string describe() const;
};

// Absolute path of an executable: `program` itself when it contains '/', else the first match on
// $PATH. Throws LaunchError naming the program when there is none.
std::filesystem::path find_executable(const std::string& program, std::string_view engine_label);

// A port on `host` that nothing listens on right now: binds port 0, reads the port the kernel
// chose, and closes. Racy by nature: another process may take the port before the engine binds
// it; the engine then exits with "address already in use" and EngineProcess::launch retries with
// a new port (SupervisorOptions::port_retries).
std::uint16_t pick_free_port(const std::string& host);

// Whether something on this host already has `port` bound (a listening socket; TIME_WAIT
// leftovers do not count, as engines bind with SO_REUSEADDR).
bool port_in_use(const std::string& host, std::uint16_t port);

// The last `lines` lines of a text file (fewer when it is shorter; empty when it is missing).
std::string read_log_tail(const std::filesystem::path& file, std::size_t lines);

class EngineProcess {
 public:
  // Validates the spec, spawns the engine and waits until its health check answers 200; retries
  // on a lost port race. Throws LaunchError (nothing left running) on failure.
  static std::unique_ptr<EngineProcess> launch(const LaunchSpec& spec,
                                               const SupervisorOptions& options);

  // Spawns without waiting for health (launch() = this + wait_healthy()). Throws LaunchError for
  // bad input or when the program cannot be started.
  EngineProcess(const LaunchSpec& spec, std::uint16_t port, const SupervisorOptions& options);
  ~EngineProcess();
  EngineProcess(const EngineProcess&) = delete;
  EngineProcess& operator=(const EngineProcess&) = delete;

  // Polls the health path until it answers 200. Throws LaunchError when the engine exits first or
  // the timeout passes; the engine is stopped before the throw.
  void wait_healthy();

  pid_t pid() const noexcept { return pid_; }
  std::uint16_t port() const noexcept { return port_; }
  // http://host:port, with a wildcard listen address replaced by loopback.
  const std::string& base_url() const noexcept { return base_url_; }
  const std::filesystem::path& log_path() const noexcept { return log_path_; }
  const EngineCommand& command() const noexcept { return command_; }
  Engine engine() const noexcept { return engine_; }

  // False once the process has exited (for any reason). Cheap; safe from any thread.
  bool running() const noexcept { return !exited_.load(std::memory_order_acquire); }
  std::optional<ExitStatus> exit_status() const;

  // Called once, on an internal thread, if the engine exits without stop() having been called
  // (it died mid-run). Called at once on the caller's thread if that already happened.
  // The callback must not call stop() or destroy this object.
  void on_unexpected_exit(std::function<void(const ExitStatus&)> callback);

  // SIGTERM to the process group, SIGKILL after the grace period; waits for the exit and
  // returns its status. Idempotent; safe from any thread.
  ExitStatus stop();

  std::string log_tail() const;

 private:
  void watch();
  [[noreturn]] void fail_after_spawn(const std::string& what);

  Engine engine_;
  std::uint16_t port_;
  SupervisorOptions options_;
  EngineCommand command_;
  std::string base_url_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> exited_{false};
  std::optional<ExitStatus> status_;  // guarded by mu_
  bool stop_requested_ = false;       // guarded by mu_
  bool killed_ = false;               // guarded by mu_
  std::function<void(const ExitStatus&)> callback_;  // guarded by mu_
  std::mutex stop_mu_;  // serialises stop()
  std::thread watcher_;
};

}  // namespace splleed::launch
