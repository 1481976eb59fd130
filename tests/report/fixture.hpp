#pragma once
// A fixed, hand-built result that exercises every field the reporters write: a key to redact,
// optional fields both set and empty, warm-up, multi-token events, usage present and absent,
// failures of several kinds, text needing CSV quoting and JSON escaping, two runs and trials.
#include <string>
#include <utility>
#include <vector>

#include "metrics/request_metrics.hpp"
#include "metrics/run_checks.hpp"
#include "splleed/result.hpp"

namespace splleed::testing {

inline constexpr Nanos kOrigin = 5'000'000'000'000;  // the run's time zero on the monotonic clock
inline constexpr const char* kSecretKey = "sk-live-DO-NOT-WRITE-0123456789";

// Stamps are given in microseconds after kOrigin so the fixture reads easily.
inline Nanos at_us(std::int64_t us) { return kOrigin + us * kNanosPerMicro; }

// A completed stream: the role chunk arrives 1 ms before the first token, [DONE] 0.5 ms after the
// last.
inline RequestRecord ok_request(std::uint64_t index, std::int64_t scheduled_us,
                                std::vector<std::pair<std::int64_t, std::uint32_t>> events_us) {
  RequestRecord r;
  r.index = index;
  r.prompt_index = static_cast<std::uint32_t>(index % 3);
  r.request_id = "splleed-" + std::to_string(index);
  r.response_id = "cmpl-" + std::to_string(1000 + index);
  r.status = RequestStatus::ok;
  r.http_status = 200;
  r.finish_reason = "length";
  r.scheduled = at_us(scheduled_us);
  r.dispatched = at_us(scheduled_us + 150);
  r.headers = at_us(scheduled_us + 2'000);
  for (const auto& [us, tokens] : events_us) r.tokens.push_back({at_us(us), tokens});
  r.first_event = r.tokens.front().received - kNanosPerMilli;
  r.first_token = r.tokens.front().received;
  r.last_token = r.tokens.back().received;
  r.end = *r.last_token + 500 * kNanosPerMicro;
  r.events = static_cast<std::uint32_t>(r.tokens.size()) + 2;  // role chunk and [DONE]
  std::uint64_t tokens = 0;
  for (const auto& e : r.tokens) tokens += e.tokens;
  r.output_bytes = tokens * 4;
  return r;
}

// A wake-up delay summary (ms) of `n` probe samples; p50 carries a supported interval so that its
// round trip is checked too.
inline MetricSummary wakeup_summary(std::size_t n, double p50, double p99) {
  MetricSummary s;
  s.count = n;
  s.mean = p50 * 1.25;
  s.std = p50 / 3;
  s.min = p50 / 4;
  s.p50 = p50;
  s.p90 = (p50 + p99) / 2;
  s.p95 = (p50 + 3 * p99) / 4;
  s.p99 = p99;
  s.p999 = p99 * 1.5;
  s.max = p99 * 2;
  s.intervals[0] = {p50 * 0.9, p50 * 1.1, true, 6};
  return s;
}

// The client kept up: quiet event loops, lightly loaded workers.
inline ClientHealth healthy_client(const MetricSummary& schedule_lag) {
  ClientHealth h;
  h.schedule_lag = schedule_lag;
  h.wakeup_delay = wakeup_summary(24, 0.05, 0.08);
  h.worker_cpu = {0.12, 0.09};
  return h;
}

inline BenchmarkResult rich_result() {
  BenchmarkResult b;
  RunConfig& c = b.config;
  c.target.base_url = "https://llm.example.com:8443/v1";
  c.target.api = Api::openai_chat;
  c.target.model = "llama-3-8b";
  c.target.api_key = kSecretKey;
  c.target.insecure = true;
  c.target.connect_timeout = 2'500 * kNanosPerMilli;
  c.target.read_timeout = 60 * kNanosPerSecond;
  c.sampling.max_tokens = 128;
  c.sampling.temperature = 0.7;
  c.sampling.ignore_eos = true;
  c.sampling.min_tokens = 16;
  c.sampling.extra_body = R"({"seed":7,"stop":["\n\n"]})";  // canonical (nlohmann dump) form
  c.load.mode = LoadMode::concurrency;
  c.load.concurrency = {1, 4};
  c.load.num_requests = 3;
  c.load.warmup = 1;
  c.load.seed = 18'446'744'073'709'551'557ULL;  // above INT64_MAX on purpose
  c.load.workers = 2;
  c.prompts = {"Hello, world", "Say \"hi\"\nthen stop", "Über naïve café"};

  Environment& e = b.environment;
  e.hostname = "bench-01";
  e.os = "Linux 6.1.0-18-amd64";
  e.cpu_model = "AMD EPYC 7543 32-Core Processor";
  e.cpu_cores = 64;
  e.splleed_version = "0.1.0";
  e.build_commit = "abc123def456";
  e.target_url = c.target.base_url;
  e.served_model = "meta-llama/Meta-Llama-3-8B-Instruct";

  b.clock.monotonic_origin_ns = kOrigin;
  b.clock.wall_start_unix_ns = 1'717'171'717'123'456'789;
  b.clock.wall_start_iso = "2024-05-31T16:08:37.123456789Z";
  b.interrupted = true;
  b.stop_reason = "SIGINT received";

  // Run 0: latency-style, one slot.
  RunResult r0;
  r0.label = "concurrency=1";
  r0.concurrency = 1;
  r0.trial = 0;
  {
    RequestRecord warm = ok_request(0, 0, {{20'000, 1}, {35'000, 1}});
    warm.warmup = true;
    r0.requests.push_back(warm);

    // Usage present; one event carries 3 tokens after a 30 ms gap.
    RequestRecord a = ok_request(1, 40'000, {{60'000, 1}, {70'000, 1}, {100'000, 3}, {110'250, 1}});
    a.usage = {12, 6, 4, std::nullopt};
    a.finish_reason = "stop";
    a.exact_output_tokens = 8;  // asked for exactly 8 tokens and stopped at 6
    r0.requests.push_back(a);

    // No usage: tokens counted from events.
    r0.requests.push_back(ok_request(2, 111'000, {{131'500, 1}, {140'000, 2}, {155'125, 1}}));

    RequestRecord failed;
    failed.index = 3;
    failed.prompt_index = 0;
    failed.request_id = "splleed-3";
    failed.status = RequestStatus::http_error;
    failed.http_status = 503;
    failed.error = R"(HTTP 503: {"error":"overloaded, retry"})";
    failed.scheduled = at_us(156'000);
    failed.dispatched = at_us(156'100);
    failed.headers = at_us(158'000);
    failed.end = at_us(158'400);
    r0.requests.push_back(failed);
  }
  r0.summary = metrics::summarize(r0.requests, at_us(40'000), at_us(160'000));
  metrics::check_run(r0);
  r0.client_health = healthy_client(r0.summary[Metric::schedule_lag]);

  // Run 1: four slots, second trial, a timeout and a request cut off by the stop.
  RunResult r1;
  r1.label = "concurrency=4";
  r1.concurrency = 4;
  r1.trial = 1;
  {
    RequestRecord a = ok_request(0, 200'000, {{215'000, 1}, {216'000, 1}, {230'000, 1}});
    a.usage = {20, 3, std::nullopt, 1};
    a.exact_output_tokens = 3;
    a.session = 0;
    a.turn = 0;
    a.client_prompt_tokens = 20;
    r1.requests.push_back(a);
    RequestRecord b2 = ok_request(1, 200'000, {{222'000, 2}, {226'000, 2}});
    b2.usage = {18, 4, 0, std::nullopt};
    b2.session = 1;
    b2.turn = 1;
    b2.client_prompt_tokens = 40;  // the client's tokenizer is not the server's
    r1.requests.push_back(b2);

    RequestRecord timeout;
    timeout.index = 2;
    timeout.prompt_index = 2;
    timeout.request_id = "splleed-r1-2";
    timeout.status = RequestStatus::timeout;
    timeout.error = "read timeout after 60000 ms\nno bytes since headers";
    timeout.scheduled = at_us(200'000);
    timeout.dispatched = at_us(200'040);
    timeout.headers = at_us(203'000);
    r1.requests.push_back(timeout);

    RequestRecord cut;
    cut.index = 3;
    cut.prompt_index = 1;
    cut.request_id = "splleed-r1-3";
    cut.status = RequestStatus::incomplete;
    cut.scheduled = at_us(200'000);
    cut.dispatched = at_us(200'060);
    cut.headers = at_us(204'000);
    cut.first_event = at_us(205'000);
    cut.first_token = at_us(209'000);
    cut.last_token = at_us(209'000);
    cut.tokens = {{at_us(209'000), 1}};
    cut.events = 2;
    cut.output_bytes = 5;
    r1.requests.push_back(cut);
  }
  r1.summary = metrics::summarize(r1.requests, at_us(200'000), at_us(240'000));
  metrics::check_run(r1);
  // The client was the bottleneck: a late event loop and a saturated worker.
  r1.client_health.schedule_lag = r1.summary[Metric::schedule_lag];
  r1.client_health.wakeup_delay = wakeup_summary(30, 1.5, 7.5);
  r1.client_health.worker_cpu = {0.95, 0.41};
  r1.client_health.client_limited = true;
  r1.client_health.verdict =
      "The client may have limited these results: its event loop woke 7.5 ms late at p99; "
      "worker 0 was busy 95% of the time.";

  b.runs.push_back(std::move(r0));
  b.runs.push_back(std::move(r1));
  return b;
}

// An open-loop benchmark with a ramp-up: one rate level whose ramp-up has its own summary.
inline BenchmarkResult open_loop_result() {
  BenchmarkResult b = rich_result();
  b.interrupted = false;
  b.stop_reason.clear();
  LoadConfig& load = b.config.load;
  load.mode = LoadMode::rate;
  load.request_rates = {2.5, 10};
  load.arrival = Arrival::gamma;
  load.burstiness = 0.5;
  load.max_concurrency = 8;
  load.ramp = RampConfig{0.5, 30 * kNanosPerMilli, RampShape::exponential};
  load.num_requests.reset();
  load.duration = 90 * kNanosPerMilli;

  RunResult run;
  run.label = "rate=2.5";
  run.mode = LoadMode::rate;
  run.concurrency = 0;
  run.request_rate = 2.5;
  RequestRecord warm = ok_request(0, 0, {{10'000, 1}, {12'000, 1}});
  warm.warmup = true;
  run.requests.push_back(warm);
  RequestRecord ramp = ok_request(1, 20'000, {{40'000, 1}, {45'000, 1}});
  ramp.ramp_up = true;
  ramp.usage = {9, 2, std::nullopt, std::nullopt};
  run.requests.push_back(ramp);
  RequestRecord steady = ok_request(2, 52'000, {{70'000, 1}, {74'000, 2}, {80'000, 1}});
  steady.usage = {11, 4, std::nullopt, std::nullopt};
  run.requests.push_back(steady);
  RequestRecord cancelled;
  cancelled.index = 3;
  cancelled.request_id = "splleed-3";
  cancelled.status = RequestStatus::cancelled;
  cancelled.error = "cancelled by the user";
  cancelled.scheduled = at_us(60'000);
  cancelled.dispatched = at_us(75'000);  // waited for a free slot (max_concurrency)
  run.requests.push_back(cancelled);

  // As the runner does: the ramp-up summary takes the ramp-up requests as its own population.
  std::vector<RequestRecord> ramp_records;
  for (const auto& r : run.requests)
    if (r.ramp_up) {
      ramp_records.push_back(r);
      ramp_records.back().ramp_up = false;
    }
  run.ramp_up = metrics::summarize(ramp_records, at_us(20'000), at_us(50'000));
  run.summary = metrics::summarize(run.requests, at_us(50'000), at_us(140'000));
  run.client_health = healthy_client(run.summary[Metric::schedule_lag]);
  run.client_health.requested_rate = 2.5;
  run.client_health.delivered_rate = 2.41;
  run.client_health.worker_cpu = {0.031};
  b.runs = {run};
  return b;
}

// Three trials of one level with SLOs and a 90% level: every trial shifts the token stamps of the
// rich result's first run a little later, so that the cross-trial intervals are not degenerate.
inline BenchmarkResult trials_result() {
  BenchmarkResult b = rich_result();
  b.interrupted = false;
  b.stop_reason.clear();
  b.config.stats.confidence = 0.9;
  b.config.stats.trials = 3;
  b.config.stats.slos = {{"ttft", 20'200 * kNanosPerMicro}, {"tpot", 11 * kNanosPerMilli}};
  const RunResult base = b.runs[0];
  b.runs.clear();
  for (std::int32_t trial = 0; trial < 3; ++trial) {
    RunResult run = base;
    run.trial = trial;
    const Nanos shift = trial * trial * 300 * kNanosPerMicro;
    for (RequestRecord& r : run.requests) {
      if (r.status != RequestStatus::ok) continue;
      for (TokenEvent& e : r.tokens) e.received += shift;
      r.first_token = r.tokens.front().received;
      r.last_token = r.tokens.back().received;
      *r.end += shift;
    }
    b.runs.push_back(std::move(run));
  }
  metrics::finalize(b);  // summaries at the configured level and SLOs, then the aggregates
  return b;
}

}  // namespace splleed::testing
