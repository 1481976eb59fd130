#include "launch/supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "net/http_client.hpp"
#include "net/url.hpp"
#include "splleed/clock.hpp"

extern char** environ;

namespace splleed::launch {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace fs = std::filesystem;

std::string ExitStatus::describe() const {
  if (signal != 0) {
    const char* name = strsignal(signal);
    return fmt::format("signal {} ({})", signal, name ? name : "unknown");
  }
  return fmt::format("exit status {}", code);
}

fs::path find_executable(const std::string& program, std::string_view engine_label) {
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.empty()) {
    throw LaunchError(fmt::format("no program given for the {} engine: give --engine-binary.",
                                  engine_label));
  }
  if (program.find('/') != std::string::npos) {
    if (executable(program)) return fs::absolute(program);
    throw LaunchError(fmt::format(
        "the {} engine's program {} does not exist or is not executable: fix --engine-binary.",
        engine_label, program));
  }
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    if (executable(candidate)) return fs::absolute(candidate);
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  throw LaunchError(fmt::format(
      "cannot find {} on PATH (the {} engine's program): install it, or give its path with "
      "--engine-binary.",
      program, engine_label));
}

namespace {

asio::ip::address bind_address(const std::string& host) {
  if (host.empty() || host == "localhost") return asio::ip::make_address("127.0.0.1");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    throw LaunchError(fmt::format(
        "the engine host {} is not an IP address: give one such as 127.0.0.1 or 0.0.0.0.", host));
  }
  return addr;
}

// The address a client on this machine connects to for a server listening on `host`.
std::string connect_host(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "localhost") return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// How engines report a port they could not bind (uvicorn, Rust std, llama.cpp, Boost.Asio).
bool mentions_address_in_use(const std::string& log) {
  const std::string l = lower(log);
  for (const char* needle : {"address already in use", "address in use", "errno 98",
                             "os error 98", "couldn't bind"}) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string indent(const std::string& text) {
  if (text.empty()) return "  (the log is empty)";
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

// One health check: true when GET path answers 200.
bool health_ok(const std::string& base_url, const std::string& path) {
  MonotonicClock clock;
  asio::io_context io;
  net::ClientOptions opts;
  opts.connect_timeout = 2 * kNanosPerSecond;
  opts.read_timeout = 5 * kNanosPerSecond;
  std::string error;
  auto url = net::Url::parse(base_url, &error);
  if (!url) return false;
  net::HttpClient client(io, *url, opts, clock);
  net::SimpleResponse response;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { response = co_await client.get(path); },
      asio::detached);
  io.run();
  return response.transport.error == net::TransportError::none && response.status == 200;
}

// Spawn failed: the error code from posix_spawn.
class SpawnError : public LaunchError {
 public:
  using LaunchError::LaunchError;
};

// Thrown by wait_healthy when the engine exited and its log says the port was taken.
class PortRaceError : public LaunchError {
 public:
  using LaunchError::LaunchError;
};

}  // namespace

std::uint16_t pick_free_port(const std::string& host) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const tcp::endpoint ep(bind_address(host), 0);
  boost::system::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (ec) {
    throw LaunchError(fmt::format("cannot bind a port on {}: {}; give a local address as the "
                                  "engine host.",
                                  host, ec.message()));
  }
  return acceptor.local_endpoint().port();
}

bool port_in_use(const std::string& host, std::uint16_t port) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const tcp::endpoint ep(bind_address(host), port);
  boost::system::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (ec) return false;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor.bind(ep, ec);
  return ec == asio::error::address_in_use;
}

std::string read_log_tail(const fs::path& file, std::size_t lines) {
  // Reads at most the last 64 KiB: enough for any useful tail, bounded for huge logs.
  constexpr std::streamoff kMaxBytes = 64 * 1024;
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - kMaxBytes);
  in.seekg(start);
  std::string text(static_cast<std::size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::size_t pos = text.size();
  std::size_t found = 0;
  while (found < lines && pos > 0) {
    const auto nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    if (++found == lines) {
      ++pos;
      break;
    }
  }
  if (found < lines) pos = 0;
  return text.substr(pos);
}

EngineProcess::EngineProcess(const LaunchSpec& spec, std::uint16_t port,
                             const SupervisorOptions& options)
    : engine_(spec.engine), port_(port), options_(options) {
  const std::string label(to_string(spec.engine));
  command_ = build_command(spec, port);
  const fs::path program = find_executable(command_.argv.front(), label);
  if (model_is_local_file(spec.engine)) {
    std::error_code ec;
    if (!fs::is_regular_file(spec.model, ec)) {
      throw LaunchError(fmt::format(
          "the model file {} does not exist: give the path to a .gguf file with --model.",
          spec.model));
    }
  }
  if (port_in_use(spec.host, port)) {
    throw LaunchError(fmt::format(
        "port {} on {} is already in use: choose another engine port, or leave it unset so a "
        "free one is picked.",
        port, spec.host.empty() ? "127.0.0.1" : spec.host));
  }
  std::error_code ec;
  fs::create_directories(options_.log_dir, ec);
  if (ec) {
    throw LaunchError(fmt::format("cannot create the engine log folder {}: {}; choose another.",
                                  options_.log_dir.string(), ec.message()));
  }
  log_path_ = options_.log_dir / fmt::format("{}-{}.log", label, port);
  base_url_ = fmt::format("http://{}:{}", connect_host(spec.host), port);

  // posix_spawn rather than Boost.Process: Boost 1.81's Process v1 cannot put the child in its
  // own process group nor reset the signal mask it inherits (the CLI blocks SIGINT/SIGTERM),
  // and v2 is not stable in this Boost; posix_spawn does both in a few lines and never runs
  // code between fork and exec in this multi-threaded process.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, s);
  }
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  argv.reserve(command_.argv.size() + 1);
  for (auto& a : command_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw SpawnError(fmt::format("cannot start {}: {}; check the program and the log folder.",
                                 program.string(), std::strerror(rc)));
  }
  try {
    watcher_ = std::thread([this] { watch(); });
  } catch (...) {
    ::kill(-pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    throw;
  }
}

EngineProcess::~EngineProcess() {
  stop();
  if (watcher_.joinable()) watcher_.join();
}

void EngineProcess::watch() {
  // Wait without reaping, kill what is left of the group while the leader is a zombie (its pid,
  // hence the group id, cannot be reused until it is reaped), then reap. This catches workers
  // that ignored SIGTERM or outlived the leader.
  siginfo_t info{};
  int r;
  do {
    r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
  } while (r < 0 && errno == EINTR);
  if (r == 0) ::kill(-pid_, SIGKILL);
  std::function<void(const ExitStatus&)> callback;
  ExitStatus status;
  {
    // Reaped under the lock: stop() signals -pid_ only while holding it and seeing no status,
    // so it never signals a group id that could have been reused.
    std::lock_guard lock(mu_);
    int st = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &st, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == pid_) {
      if (WIFEXITED(st)) status.code = WEXITSTATUS(st);
      if (WIFSIGNALED(st)) status.signal = WTERMSIG(st);
    }
    status.killed_after_grace = killed_;
    status_ = status;
    exited_.store(true, std::memory_order_release);
    if (!stop_requested_) callback = std::move(callback_);
    callback_ = nullptr;
  }
  cv_.notify_all();
  if (callback) callback(status);
}

std::optional<ExitStatus> EngineProcess::exit_status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void EngineProcess::on_unexpected_exit(std::function<void(const ExitStatus&)> callback) {
  std::unique_lock lock(mu_);
  if (status_) {
    const ExitStatus status = *status_;
    const bool unexpected = !stop_requested_;
    lock.unlock();
    if (unexpected && callback) callback(status);
    return;
  }
  callback_ = std::move(callback);
}

ExitStatus EngineProcess::stop() {
  std::lock_guard serial(stop_mu_);
  std::unique_lock lock(mu_);
  if (!status_ && pid_ > 0) {
    stop_requested_ = true;
    // The whole group: an engine's forked workers must not outlive it.
    ::kill(-pid_, SIGTERM);
    if (!cv_.wait_for(lock, options_.stop_grace, [this] { return status_.has_value(); })) {
      killed_ = true;
      ::kill(-pid_, SIGKILL);
      cv_.wait(lock, [this] { return status_.has_value(); });
    }
  }
  stop_requested_ = true;
  ExitStatus status = status_.value_or(ExitStatus{});
  lock.unlock();
  if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
  return status;
}

std::string EngineProcess::log_tail() const {
  return read_log_tail(log_path_, options_.log_tail_lines);
}

void EngineProcess::fail_after_spawn(const std::string& what) {
  stop();
  throw LaunchError(what);
}

void EngineProcess::wait_healthy() {
  const auto deadline = std::chrono::steady_clock::now() + options_.health_timeout;
  const std::string label(to_string(engine_));
  for (;;) {
    if (auto status = exit_status()) {
      stop();
      const std::string tail = log_tail();
      const std::string msg = fmt::format(
          "the {} engine exited while starting ({}); last lines of its log {}:\n{}", label,
          status->describe(), log_path_.string(), indent(tail));
      if (mentions_address_in_use(tail)) throw PortRaceError(msg);
      throw LaunchError(msg);
    }
    if (options_.cancelled && options_.cancelled()) {
      fail_after_spawn(fmt::format("the launch of the {} engine was cancelled, so it was stopped",
                                   label));
    }
    if (health_ok(base_url_, command_.health_path)) return;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      fail_after_spawn(fmt::format(
          "the {} engine did not answer GET {} with 200 within {} s, so it was stopped: see its "
          "log {} (or allow more time to load); last lines:\n{}",
          label, command_.health_path,
          std::chrono::duration_cast<std::chrono::duration<double>>(options_.health_timeout)
              .count(),
          log_path_.string(), indent(log_tail())));
    }
    // Bounded polling; an exit wakes the wait at once.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(options_.poll_interval,
                                                                      deadline - now),
                 [this] { return status_.has_value(); });
  }
}

std::unique_ptr<EngineProcess> EngineProcess::launch(const LaunchSpec& spec,
                                                     const SupervisorOptions& options) {
  const bool fixed_port = spec.port != 0;
  for (int attempt = 0;; ++attempt) {
    const std::uint16_t port = fixed_port ? spec.port : pick_free_port(spec.host);
    auto process = std::make_unique<EngineProcess>(spec, port, options);
    try {
      process->wait_healthy();
      return process;
    } catch (const PortRaceError&) {
      if (fixed_port || attempt >= options.port_retries) throw;
    }
  }
}

}  // namespace splleed::launch
