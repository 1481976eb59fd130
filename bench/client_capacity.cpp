// client_capacity: how much streaming load the splleed client sustains, and how late it sees each
// token, against a minimal reference loop measured in the same invocation.
//
// For each level N (concurrent streams) a fresh simulator process (`splleed sim`, with a send log)
// serves N streams; first the splleed runner (one worker thread) reads them, then the reference
// loop does (one thread, raw socket reads, SSE framing only, one timestamp per read). Reported per
// client: token events/s, client CPU per token event, receive delay (client receive time minus
// the simulator's time just before it wrote that event: both read CLOCK_MONOTONIC on one machine)
// p50/p99, and client memory growth per stream; then splleed/reference ratios.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "load/runner.hpp"

namespace asio = boost::asio;
using splleed::Nanos;

namespace {

struct Sim {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::string send_log;
};

void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// Starts `splleed sim` on a free port and waits for its "serving ... on http://host:port" line.
Sim start_sim(const std::string& bin, int max_running, double itl_ms, const std::string& log) {
  int pipefd[2];
  if (pipe(pipefd) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], STDERR_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    std::string mr = std::to_string(max_running), itl = fmt::format("{}", itl_ms);
    execl(bin.c_str(), bin.c_str(), "sim", "--port", "0", "--max-running", mr.c_str(),
          "--ttft-ms", "5", "--itl-ms", itl.c_str(), "--step-us-per-running", "0",
          "--prefill-us-per-token", "0", "--send-log", log.c_str(), (char*)nullptr);
    _exit(127);
  }
  close(pipefd[1]);
  FILE* err = fdopen(pipefd[0], "r");
  char line[512];
  Sim sim{pid, 0, log};
  while (fgets(line, sizeof line, err)) {
    std::string s(line);
    auto at = s.find("http://");
    if (at != std::string::npos) {
      auto colon = s.find(':', at + 7);
      sim.port = static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1)));
      break;
    }
  }
  fclose(err);
  if (sim.port == 0) throw std::runtime_error("the simulator did not start");
  return sim;
}

// Stops the simulator and loads its send log: (request id, seq) -> time just before the write.
std::unordered_map<std::string, std::vector<Nanos>> stop_sim(const Sim& sim) {
  kill(sim.pid, SIGTERM);
  int status = 0;
  waitpid(sim.pid, &status, 0);
  std::unordered_map<std::string, std::vector<Nanos>> out;
  std::ifstream in(sim.send_log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string id;
    std::uint32_t seq = 0;
    Nanos before = 0, after = 0;
    ls >> id >> seq >> before >> after;
    auto& v = out[id];
    if (v.size() <= seq) v.resize(seq + 1, -1);
    v[seq] = before;
  }
  return out;
}

// The process's CPU time so far: user and kernel (system) seconds.
struct Cpu {
  double user = 0, sys = 0;
  double total() const { return user + sys; }
  Cpu operator-(const Cpu& o) const { return {user - o.user, sys - o.sys}; }
};

Cpu cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return {seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

struct Measure {
  std::int64_t events = 0;
  double wall_s = 0, cpu_s = 0, user_s = 0;
  double delay_p50_us = 0, delay_p99_us = 0;
  double kib_per_stream = 0;
  std::int64_t unmatched = 0;
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  auto lo = static_cast<std::size_t>(rank);
  auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

// Token event i of a request matches the simulator's event i (completions: no role chunk).
void add_delays(const std::unordered_map<std::string, std::vector<Nanos>>& sent,
                const std::string& id, const std::vector<Nanos>& received,
                std::vector<double>& delays, std::int64_t& unmatched) {
  auto it = sent.find(id);
  for (std::size_t i = 0; i < received.size(); ++i) {
    if (it == sent.end() || i >= it->second.size() || it->second[i] < 0) {
      ++unmatched;
      continue;
    }
    delays.push_back(static_cast<double>(received[i] - it->second[i]) / 1e3);
  }
}

Measure run_splleed(const std::string& bin, int streams, int per_stream, int tokens, double itl,
                    Nanos busy_poll) {
  Sim sim = start_sim(bin, streams, itl, "/tmp/splleed-bench-sendlog-a.txt");
  splleed::RunConfig c;
  c.target.base_url = fmt::format("http://127.0.0.1:{}", sim.port);
  c.target.model = "splleed-sim";
  c.prompts = {"benchmark prompt"};
  c.sampling.max_tokens = tokens;
  c.sampling.ignore_eos = true;
  c.load.concurrency = {streams};
  c.load.num_requests = static_cast<std::int64_t>(streams) * per_stream;
  c.load.workers = 1;
  c.load.busy_poll = busy_poll;
  splleed::MonotonicClock clock;
  splleed::load::Runner runner(c, clock);
  long rss0 = rss_kib();
  const Cpu cpu0 = cpu_seconds();
  Nanos t0 = clock.now();
  auto result = runner.run();
  Nanos t1 = clock.now();
  const Cpu cpu = cpu_seconds() - cpu0;
  long rss1 = rss_kib();
  auto sent = stop_sim(sim);

  Measure m;
  m.wall_s = static_cast<double>(t1 - t0) / 1e9;
  m.cpu_s = cpu.total();
  m.user_s = cpu.user;
  m.kib_per_stream = static_cast<double>(rss1 - rss0) / streams;
  std::vector<double> delays;
  std::vector<Nanos> times;
  for (const auto& r : result.runs.at(0).requests) {
    times.clear();
    for (const auto& e : r.tokens) times.push_back(e.received);
    m.events += static_cast<std::int64_t>(times.size());
    add_delays(sent, r.request_id, times, delays, m.unmatched);
  }
  m.delay_p50_us = pct(delays, 50);
  m.delay_p99_us = pct(delays, 99);
  return m;
}

// The reference: one thread, one connection per stream, raw reads, one timestamp per read, SSE
// frames found by their blank line, nothing parsed. It is the floor a streaming client can reach.
class ReferenceConnection {
 public:
  ReferenceConnection(asio::io_context& io, asio::ip::tcp::endpoint ep, int id, int requests,
                      int tokens)
      : socket_(io), ep_(ep), id_(id), remaining_(requests), tokens_(tokens) {
    buf_.resize(16 * 1024);
  }
  void start() {
    socket_.async_connect(ep_, [this](boost::system::error_code ec) {
      if (!ec) {
        socket_.set_option(asio::ip::tcp::no_delay(true));
        send();
      }
    });
  }
  std::vector<std::pair<std::string, std::vector<Nanos>>> results;

 private:
  void send() {
    if (remaining_-- == 0) {
      socket_.close();
      return;
    }
    std::string id = fmt::format("ref-{}-{}", id_, remaining_);
    std::string body = fmt::format(
        R"({{"model":"splleed-sim","prompt":"benchmark prompt","max_tokens":{},"ignore_eos":true,"stream":true}})",
        tokens_);
    request_ = fmt::format(
        "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-Request-Id: {}\r\nContent-Length: {}\r\n\r\n{}",
        id, body.size(), body);
    results.emplace_back(id, std::vector<Nanos>{});
    results.back().second.reserve(static_cast<std::size_t>(tokens_) + 4);
    tail_.clear();
    done_seen_ = false;
    asio::async_write(socket_, asio::buffer(request_),
                      [this](boost::system::error_code ec, std::size_t) {
                        if (!ec) read();
                      });
  }
  void read() {
    socket_.async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec,
                                                        std::size_t n) {
      if (ec) return;
      Nanos t = splleed::MonotonicClock::read();
      std::string_view bytes(buf_.data(), n);
      // Framing only: an event ends at "\n\n"; the first frames are the token events.
      tail_.append(bytes);
      std::size_t pos = 0, end;
      while ((end = tail_.find("\n\n", pos)) != std::string::npos) {
        std::string_view frame(tail_.data() + pos, end - pos);
        if (frame.find("[DONE]") != std::string_view::npos) {
          done_seen_ = true;
        } else if (static_cast<int>(results.back().second.size()) < tokens_) {
          results.back().second.push_back(t);
        }
        pos = end + 2;
      }
      tail_.erase(0, pos);
      if (done_seen_ && tail_.find("0\r\n\r\n") != std::string::npos) {
        send();
      } else {
        read();
      }
    });
  }
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::endpoint ep_;
  int id_, remaining_, tokens_;
  std::vector<char> buf_;
  std::string request_, tail_;
  bool done_seen_ = false;
};

Measure run_reference(const std::string& bin, int streams, int per_stream, int tokens, double itl) {
  Sim sim = start_sim(bin, streams, itl, "/tmp/splleed-bench-sendlog-b.txt");
  asio::io_context io(1);
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), sim.port);
  long rss0 = rss_kib();
  std::vector<std::unique_ptr<ReferenceConnection>> conns;
  for (int i = 0; i < streams; ++i) {
    conns.push_back(std::make_unique<ReferenceConnection>(io, ep, i, per_stream, tokens));
  }
  const Cpu cpu0 = cpu_seconds();
  Nanos t0 = splleed::MonotonicClock::read();
  for (auto& c : conns) c->start();
  io.run();
  Nanos t1 = splleed::MonotonicClock::read();
  const Cpu cpu = cpu_seconds() - cpu0;
  long rss1 = rss_kib();
  auto sent = stop_sim(sim);
  Measure m;
  m.wall_s = static_cast<double>(t1 - t0) / 1e9;
  m.cpu_s = cpu.total();
  m.user_s = cpu.user;
  m.kib_per_stream = static_cast<double>(rss1 - rss0) / streams;
  std::vector<double> delays;
  for (auto& c : conns) {
    for (auto& [id, times] : c->results) {
      m.events += static_cast<std::int64_t>(times.size());
      add_delays(sent, id, times, delays, m.unmatched);
    }
  }
  m.delay_p50_us = pct(delays, 50);
  m.delay_p99_us = pct(delays, 99);
  return m;
}

// `memory`: whether the memory growth means anything (the first run of a level: later runs reuse
// what the process already grew, so theirs is printed as "-").
void print_row(const char* who, int streams, const Measure& m, bool memory = true) {
  const double per_event_us = 1e6 / static_cast<double>(m.events);
  const std::string kib = memory ? fmt::format("{:.1f}", m.kib_per_stream) : "-";
  fmt::print("{:>8} {:>9} {:>12.0f} {:>14.2f} {:>10.2f} {:>12.1f} {:>12.1f} {:>12} {:>10}\n",
             streams, who, m.events / m.wall_s, m.cpu_s * per_event_us, m.user_s * per_event_us,
             m.delay_p50_us, m.delay_p99_us, kib, m.unmatched);
}

// splleed's figures against the reference's measured just before, one entry per run.
struct Ratios {
  std::vector<double> cpu, p50_over, p99;
  void add(const Measure& ref, const Measure& m) {
    cpu.push_back((m.cpu_s / static_cast<double>(m.events)) /
                  (ref.cpu_s / static_cast<double>(ref.events)));
    p50_over.push_back(m.delay_p50_us - ref.delay_p50_us);
    p99.push_back(m.delay_p99_us / ref.delay_p99_us);
  }
};

void print_ratios(const char* label, int streams, const Ratios& r, std::size_t i, double itl_ms) {
  fmt::print("{:>8} {:>9} cpu/event x{:.2f}  delay p50 {:+.1f} us  delay p99 x{:.2f}  (itl {} ms)\n",
             streams, label, r.cpu[i], r.p50_over[i], r.p99[i], itl_ms);
}

void print_median(const char* label, int streams, const Ratios& r, double itl_ms) {
  Ratios sorted = r;  // pct() sorts in place
  Ratios median;
  median.cpu = {pct(sorted.cpu, 50)};
  median.p50_over = {pct(sorted.p50_over, 50)};
  median.p99 = {pct(sorted.p99, 50)};
  print_ratios(label, streams, median, 0, itl_ms);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"client_capacity: splleed's streaming client against a minimal reference loop"};
  std::vector<int> levels = {1, 100, 1000, 5000};
  int tokens = 64, min_events = 5000;
  double target_rate = 40000;
  std::string bin = SPLLEED_BIN;
  app.add_option("--levels", levels, "Concurrent streams per level")->delimiter(',');
  app.add_option("--tokens", tokens, "Tokens per request")->capture_default_str();
  app.add_option("--min-events", min_events,
                 "Token events per client and level at least (sets requests per stream)")
      ->capture_default_str();
  app.add_option("--target-rate", target_rate,
                 "Token events/s the simulator is paced to (sets its ITL)")
      ->capture_default_str();
  app.add_option("--splleed", bin, "Path of the splleed binary")->capture_default_str();
  double busy_poll_us = 0;
  app.add_option("--busy-poll-us", busy_poll_us,
                 "Also measure splleed's precision mode with this poll time (0: not measured)")
      ->capture_default_str();
  int repeat = 1;
  app.add_option("--repeat", repeat,
                 "Measure each level this many times, the clients taking turns, and also print the "
                 "median of the ratios: the VM's drift between runs then weighs on both clients")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::string only;
  app.add_option("--only", only, "Run one client alone, e.g. under a profiler (no ratios)")
      ->check(CLI::IsMember({"splleed", "reference"}));
  CLI11_PARSE(app, argc, argv);
  raise_fd_limit();

  fmt::print("{:>8} {:>9} {:>12} {:>14} {:>10} {:>12} {:>12} {:>12} {:>10}\n", "streams", "client",
             "events/s", "cpu_us/event", "(of it user)", "delay_p50us", "delay_p99us", "KiB/stream",
             "unmatched");
  for (int n : levels) {
    // ITL chosen so that the simulator produces about target_rate events/s (1 ms at least), and
    // enough requests per stream that fixed start-up costs do not dominate the per-event figures.
    double itl_ms = std::max(1.0, n / target_rate * 1e3);
    int per_stream = std::max(2, (min_events + n * tokens - 1) / (n * tokens));
    if (only == "reference") {
      print_row("reference", n, run_reference(bin, n, per_stream, tokens, itl_ms));
      continue;
    }
    if (only == "splleed") {
      print_row("splleed", n, run_splleed(bin, n, per_stream, tokens, itl_ms, 0));
      continue;
    }
    Ratios mine, precise;
    for (int r = 0; r < repeat; ++r) {
      auto ref = run_reference(bin, n, per_stream, tokens, itl_ms);
      auto spl = run_splleed(bin, n, per_stream, tokens, itl_ms, 0);
      print_row("reference", n, ref, r == 0);
      print_row("splleed", n, spl, r == 0);
      mine.add(ref, spl);
      print_ratios("ratio", n, mine, mine.cpu.size() - 1, itl_ms);
      if (busy_poll_us > 0) {
        // Precision mode: the same run with a worker that polls before it sleeps.
        auto p = run_splleed(bin, n, per_stream, tokens, itl_ms,
                             static_cast<Nanos>(busy_poll_us * 1e3));
        print_row("precision", n, p, r == 0);
        precise.add(ref, p);
        print_ratios("ratio", n, precise, precise.cpu.size() - 1, itl_ms);
      }
    }
    if (repeat > 1) {
      print_median("median", n, mine, itl_ms);
      if (busy_poll_us > 0) print_median("median", n, precise, itl_ms);
    }
  }
  return 0;
}
