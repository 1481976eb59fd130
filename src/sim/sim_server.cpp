#include "sim/sim_server.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <cstdio>
#include <future>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <pthread.h>
#include <signal.h>

#include <fmt/format.h>

#include "sim/metrics.hpp"
#include "sim/profiler.hpp"
#include "sim/server.hpp"

namespace splleed::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string number(double v) { return fmt::format("{}", v); }

// "--flag must be ... (got v)." for a double option outside [lo, hi] (hi_open: v < hi).
std::string check_range(std::string_view flag, double v, double lo, double hi, bool hi_open,
                        std::string_view wanted) {
  if (std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi)) return {};
  return fmt::format("{} must be {} (got {}).", flag, wanted, number(v));
}

constexpr std::int32_t kMaxThreads = 256;
constexpr int kAcceptBurst = 256;

// Blocks every signal in the calling thread for its lifetime.
class SignalsBlocked {
 public:
  SignalsBlocked() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_{};
};

}  // namespace

std::string validate(const SimConfig& c) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (c.host.empty()) return "--host must not be empty (e.g. 127.0.0.1).";
  for (auto err : {check_range("--ttft-ms", c.ttft_ms, 0, inf, true, "a finite number >= 0"),
                   check_range("--prefill-us-per-token", c.prefill_us_per_token, 0, inf, true,
                               "a finite number >= 0"),
                   check_range("--itl-ms", c.itl_ms, 0, inf, true, "a finite number >= 0"),
                   check_range("--step-us-per-running", c.step_us_per_running, 0, inf, true,
                               "a finite number >= 0"),
                   check_range("--jitter", c.jitter, 0, 1, true, "in [0, 1)"),
                   check_range("--eos-probability", c.eos_probability, 0, 1, false, "in [0, 1]"),
                   check_range("--spec-acceptance", c.spec_acceptance, 0, 1, false, "in [0, 1]")})
    if (!err.empty()) return err;
  if (c.max_running < 1)
    return fmt::format("--max-running must be at least 1 (got {}).", c.max_running);
  if (c.threads < 1 || c.threads > kMaxThreads)
    return fmt::format("--threads must be between 1 and {} (got {}).", kMaxThreads, c.threads);
  if (c.model.empty()) return "--model must not be empty.";
  if (c.kv_tokens < 0) return fmt::format("--kv-tokens must be 0 (unlimited) or more (got {}).", c.kv_tokens);
  if (c.spec_tokens < 0 || c.spec_tokens > kMaxSpecTokens)
    return fmt::format("--spec-tokens must be between 0 and {} (got {}).", kMaxSpecTokens, c.spec_tokens);
  if (c.metrics_style != "vllm" && c.metrics_style != "llamacpp")
    return fmt::format("--metrics-style must be vllm or llamacpp (got '{}').", c.metrics_style);
  return {};
}

class SimServer::Impl {
 public:
  Impl(SimConfig config, const Clock& clock) : config_(std::move(config)), clock_(clock) {
    const auto n = static_cast<std::size_t>(std::clamp(config_.threads, 1, kMaxThreads));
    std::vector<const Counters*> replicas;
    for (std::size_t i = 0; i < n; ++i) {
      shards_.push_back(std::make_unique<Shard>(config_, clock_, i));
      replicas.push_back(&shards_.back()->counters);
    }
    exporter_.emplace(config_.metrics_style == "llamacpp" ? MetricsStyle::llamacpp : MetricsStyle::vllm,
                      config_.model, config_.kv_tokens, config_.spec_tokens, std::move(replicas),
                      config_.max_running);
    for (auto& shard : shards_) shard->exporter = &*exporter_;
    profiler_.emplace(config_.profile_dir, [this] { return stats(); }, clock_);
    for (auto& shard : shards_) shard->profiler = &*profiler_;
  }

  ~Impl() {
    try {
      stop();
    } catch (const std::exception&) {  // only the send log file can fail; stop() reports it
    }
  }

  std::uint16_t start() {
    std::lock_guard lock(mu_);
    if (state_ != State::idle) throw std::logic_error("SimServer::start() may be called only once.");
    if (auto err = validate(config_); !err.empty()) throw std::runtime_error(err);
    const std::string where = fmt::format("{}:{}", config_.host, config_.port);
    auto fail = [&](std::string_view what, const boost::system::error_code& ec) {
      return std::runtime_error(
          fmt::format("cannot listen on {}: {}{}.", where, what, ec ? ec.message() : ""));
    };

    asio::io_context& ctx0 = shards_[0]->ctx;
    boost::system::error_code ec;
    tcp::endpoint endpoint;
    auto address = asio::ip::make_address(config_.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, config_.port);
    } else {
      tcp::resolver resolver(ctx0);
      auto results = resolver.resolve(config_.host, std::to_string(config_.port), ec);
      if (ec || results.empty()) throw fail("cannot resolve the host: ", ec);
      endpoint = results.begin()->endpoint();
    }
    acceptor_.emplace(ctx0);
    acceptor_->open(endpoint.protocol(), ec);
    if (ec) throw fail("", ec);
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    acceptor_->bind(endpoint, ec);
    if (ec) throw fail("", ec);
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw fail("", ec);
    acceptor_->non_blocking(true, ec);
    if (ec) throw fail("", ec);
    port_ = acceptor_->local_endpoint().port();
    retry_timer_.emplace(ctx0);
    accept_next();

    for (auto& shard : shards_) guards_.push_back(asio::make_work_guard(shard->ctx));
    state_ = State::running;
    try {
      // The replica threads take no process signals (SIGINT, SIGTERM, ...): those belong to the
      // application, which may install its signal handling after starting the server. Threads
      // inherit the creating thread's mask, so block everything around their creation.
      SignalsBlocked blocked;
      for (auto& shard : shards_) {
        threads_.emplace_back([s = shard.get()] { run(*s); });
        // Named before start() returns; visible in top -H and profilers.
        pthread_setname_np(threads_.back().native_handle(), "splleed-sim");
      }
    } catch (const std::system_error& e) {
      shut_down();
      throw std::runtime_error(std::string("cannot start the server threads: ") + e.what() + ".");
    }
    return port_;
  }

  void stop() {
    std::lock_guard lock(mu_);
    if (state_ != State::running) {
      state_ = State::stopped;
      return;
    }
    shut_down();
    if (!config_.send_log_path.empty()) write_send_log(config_.send_log_path, collect_log());
  }

  // With mu_ held and state_ running: closes everything and joins the threads that were started.
  void shut_down() {
    state_ = State::stopped;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      asio::post(shards_[i]->ctx, [this, i] {
        if (i == 0) {
          boost::system::error_code ec;
          acceptor_->close(ec);
          retry_timer_->cancel();
        }
        shards_[i]->shutdown();
      });
    }
    // Every socket and timer is closed or cancelled, so each run() returns once the aborted
    // handlers have run.
    guards_.clear();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::uint16_t port() const {
    std::lock_guard lock(mu_);
    return port_;
  }

  std::vector<SendLogEntry> send_log() const {
    std::lock_guard lock(mu_);
    if (state_ != State::running) return collect_log();
    // Each replica copies its own log on its own thread: the token path takes no lock.
    std::vector<std::vector<SendLogEntry>> parts(shards_.size());
    std::vector<std::future<void>> done;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      auto task = std::make_shared<std::packaged_task<void()>>(
          [this, i, &parts] { shards_[i]->log.append_to(parts[i]); });
      done.push_back(task->get_future());
      asio::post(shards_[i]->ctx, [task] { (*task)(); });
    }
    for (auto& f : done) f.get();
    std::vector<SendLogEntry> all;
    for (auto& p : parts) all.insert(all.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
    order(all);
    return all;
  }

  SimStats stats() const {
    SimStats s;
    for (const auto& shard : shards_) shard->counters.add_to(s);
    return s;
  }

 private:
  enum class State { idle, running, stopped };

  static void run(Shard& shard) {
    for (;;) {
      try {
        shard.ctx.run();
        return;
      } catch (const std::exception& e) {  // a handler failed: report it and keep serving
        std::fprintf(stderr, "splleed sim: %s\n", e.what());
      }
    }
  }

  // Stable: one request's events keep their write order.
  static void order(std::vector<SendLogEntry>& v) {
    std::stable_sort(v.begin(), v.end(), [](const SendLogEntry& a, const SendLogEntry& b) {
      return a.before_write < b.before_write;
    });
  }

  std::vector<SendLogEntry> collect_log() const {  // threads not running
    std::vector<SendLogEntry> all;
    for (const auto& shard : shards_) shard->log.append_to(all);
    order(all);
    return all;
  }

  void accept_next() {
    Shard& target = *shards_[next_shard_++ % shards_.size()];
    acceptor_->async_accept(target.ctx, [this, &target](boost::system::error_code ec, tcp::socket s) {
      if (!acceptor_->is_open()) return;
      if (ec) {
        // Out of descriptors or similar: wait a little rather than spin on the failing accept.
        retry_timer_->expires_after(std::chrono::milliseconds(20));
        retry_timer_->async_wait([this](boost::system::error_code e) {
          if (!e && acceptor_->is_open()) accept_next();
        });
        return;
      }
      hand_over(target, std::move(s));
      // Take whatever else is waiting in the backlog now: one accept per reactor round would let
      // connections in far too slowly while long decode steps run.
      for (int i = 0; i < kAcceptBurst; ++i) {
        Shard& next = *shards_[next_shard_ % shards_.size()];
        tcp::socket more(next.ctx);
        acceptor_->accept(more, ec);  // the acceptor is non-blocking: would_block ends the burst
        if (ec) break;  // a real error shows again on the async accept, which handles it
        ++next_shard_;
        hand_over(next, std::move(more));
      }
      accept_next();
    });
  }

  static void hand_over(Shard& target, tcp::socket s) {
    asio::post(target.ctx, [&target, sock = std::move(s)]() mutable {
      target.add_connection(std::move(sock));
    });
  }

  SimConfig config_;
  const Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::optional<MetricsExporter> exporter_;
  std::optional<SimProfiler> profiler_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<asio::steady_timer> retry_timer_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::size_t next_shard_ = 0;
  std::uint16_t port_ = 0;
  State state_ = State::idle;
  mutable std::mutex mu_;
};

SimServer::SimServer(SimConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}
SimServer::~SimServer() = default;
std::uint16_t SimServer::start() { return impl_->start(); }
void SimServer::stop() { impl_->stop(); }
std::uint16_t SimServer::port() const { return impl_->port(); }
std::vector<SendLogEntry> SimServer::send_log() const { return impl_->send_log(); }
SimStats SimServer::stats() const { return impl_->stats(); }

}  // namespace splleed::sim
