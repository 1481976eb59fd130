// pacing: how exactly the open-loop pacer delivers a requested rate, against a reference pacer
// measured in the same invocation.
//
// For each rate R, the splleed runner (mode rate, constant arrivals, one worker unless --workers)
// sends `--seconds` worth of requests to the in-process simulator (one output token each, so the
// pacer rather than the server is what is measured); reported: delivered rate, schedule lag
// (dispatched − scheduled) p50/p99/max, requests that failed. The reference is a bare Asio
// steady_timer loop on one thread following the same absolute schedule with no I/O at all: its
// lateness is the floor this machine's timers allow. Ratios splleed/reference follow.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <boost/asio.hpp>
#include <vector>

#include "load/runner.hpp"
#include "load/schedule.hpp"
#include "sim/sim_server.hpp"
#include "stats/summary.hpp"

namespace asio = boost::asio;
using namespace splleed;

namespace {

struct Lateness {
  double delivered = 0;  // events/s over the span of the schedule
  double p50_us = 0, p99_us = 0, max_us = 0;
};

Lateness summarize_us(std::vector<double> late_ns, double span_s) {
  Lateness l;
  l.delivered = span_s > 0 ? static_cast<double>(late_ns.size() - 1) / span_s : 0;
  std::sort(late_ns.begin(), late_ns.end());
  l.p50_us = stats::percentile(late_ns, 50) / 1e3;
  l.p99_us = stats::percentile(late_ns, 99) / 1e3;
  l.max_us = late_ns.back() / 1e3;
  return l;
}

// The floor: one thread, one timer, the same absolute schedule, nothing else to do.
Lateness reference_pacer(const std::vector<Nanos>& offsets, const MonotonicClock& clock) {
  asio::io_context io{1};
  asio::steady_timer timer(io);
  std::vector<double> late;
  late.reserve(offsets.size());
  const Nanos start = clock.now() + 2 * kNanosPerMilli;
  Nanos first = 0, last = 0;
  std::size_t i = 0;
  std::function<void()> arm = [&] {
    if (i == offsets.size()) return;
    const Nanos due = start + offsets[i];
    timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
    timer.async_wait([&](const boost::system::error_code&) {
      const Nanos now = clock.now();
      // Every arrival already due goes out in this wake-up, as the runner's pacer does.
      while (i < offsets.size() && start + offsets[i] <= now) {
        late.push_back(static_cast<double>(now - (start + offsets[i])));
        if (i == 0) first = now;
        last = now;
        ++i;
      }
      arm();
    });
  };
  arm();
  io.run();
  return summarize_us(late, static_cast<double>(last - first) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pacing: open-loop rate delivery of the splleed pacer vs a bare timer loop"};
  std::vector<double> rates = {1000, 5000};
  double seconds = 3;
  int workers = 1;
  app.add_option("--rates", rates, "Requests/s to test")->delimiter(',')->capture_default_str();
  app.add_option("--seconds", seconds, "Schedule length per rate")->capture_default_str();
  app.add_option("--workers", workers, "splleed worker threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  MonotonicClock clock;
  sim::SimConfig sc;
  sc.ttft_ms = 0.05;
  sc.itl_ms = 0.05;
  sc.prefill_us_per_token = 0;
  sc.step_us_per_running = 0;
  sc.max_running = 100000;
  sc.record_send_log = false;
  sc.threads = 1;
  sim::SimServer server(sc, clock);
  const auto port = server.start();

  fmt::print("rate   | delivered ref / splleed | lag p50 us ref / splleed | lag p99 us ref / splleed (ratio) | max us ref / splleed | failed\n");
  for (double rate : rates) {
    const auto count = static_cast<std::size_t>(rate * seconds);
    load::ScheduleSpec spec;
    spec.rate = rate;
    spec.arrival = Arrival::constant;
    const auto offsets = load::arrival_times(spec, count, std::nullopt);
    const Lateness ref = reference_pacer(offsets, clock);

    RunConfig c;
    c.target.base_url = fmt::format("http://127.0.0.1:{}", port);
    c.prompts = {"x"};
    c.sampling.max_tokens = 1;
    c.load.mode = LoadMode::rate;
    c.load.request_rates = {rate};
    c.load.arrival = Arrival::constant;
    c.load.num_requests = static_cast<std::int64_t>(count);
    c.load.workers = workers;
    load::Runner runner(c, clock);
    runner.preflight();
    auto result = runner.run();
    const RunResult& run = result.runs.at(0);
    std::vector<double> lag;
    Nanos first = std::numeric_limits<Nanos>::max(), last = 0;
    std::int64_t failed = 0;
    for (const auto& r : run.requests) {
      if (r.status != RequestStatus::ok) ++failed;
      if (!r.dispatched || !r.scheduled) continue;
      lag.push_back(static_cast<double>(*r.dispatched - *r.scheduled));
      first = std::min(first, *r.dispatched);
      last = std::max(last, *r.dispatched);
    }
    const Lateness got = summarize_us(lag, static_cast<double>(last - first) / 1e9);
    fmt::print("{:>6} | {:>9.1f} / {:<9.1f}     | {:>8.1f} / {:<8.1f}       | {:>8.1f} / {:<8.1f} (x{:.2f})       | {:>7.0f} / {:<7.0f}  | {}\n",
               rate, ref.delivered, got.delivered, ref.p50_us, got.p50_us, ref.p99_us, got.p99_us,
               ref.p99_us > 0 ? got.p99_us / ref.p99_us : 0.0, ref.max_us, got.max_us, failed);
  }
  server.stop();
  return 0;
}
