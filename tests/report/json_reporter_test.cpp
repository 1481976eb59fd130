#include <algorithm>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::rich_result;

void expect_same(const MetricSummary& a, const MetricSummary& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.std, b.std);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.p50, b.p50);
  EXPECT_EQ(a.p90, b.p90);
  EXPECT_EQ(a.p95, b.p95);
  EXPECT_EQ(a.p99, b.p99);
  EXPECT_EQ(a.p999, b.p999);
  EXPECT_EQ(a.max, b.max);
  for (std::size_t i = 0; i < a.intervals.size(); ++i) {
    SCOPED_TRACE("interval " + std::to_string(i));
    EXPECT_EQ(a.intervals[i].supported, b.intervals[i].supported);
    EXPECT_EQ(a.intervals[i].lo, b.intervals[i].lo);
    EXPECT_EQ(a.intervals[i].hi, b.intervals[i].hi);
    EXPECT_EQ(a.intervals[i].min_samples, b.intervals[i].min_samples);
  }
}

void expect_same(const TrialEstimate& a, const TrialEstimate& b) {
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_EQ(a.cv, b.cv);
  EXPECT_EQ(a.has_interval, b.has_interval);
}

void expect_same(const TrialAggregate& a, const TrialAggregate& b) {
  SCOPED_TRACE("aggregate " + a.label);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.trials, b.trials);
  EXPECT_EQ(a.confidence, b.confidence);
  for (std::size_t m = 0; m < a.metrics.size(); ++m)
    for (std::size_t k = 0; k < a.metrics[m].size(); ++k) expect_same(a.metrics[m][k], b.metrics[m][k]);
  expect_same(a.request_throughput, b.request_throughput);
  expect_same(a.output_token_throughput, b.output_token_throughput);
  expect_same(a.total_token_throughput, b.total_token_throughput);
  ASSERT_EQ(a.goodput.has_value(), b.goodput.has_value());
  if (a.goodput) expect_same(*a.goodput, *b.goodput);
  ASSERT_EQ(a.good_fraction.has_value(), b.good_fraction.has_value());
  if (a.good_fraction) expect_same(*a.good_fraction, *b.good_fraction);
}

void expect_same(const RequestRecord& a, const RequestRecord& b) {
  SCOPED_TRACE("request " + a.request_id);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.prompt_index, b.prompt_index);
  EXPECT_EQ(a.client_prompt_tokens, b.client_prompt_tokens);
  EXPECT_EQ(a.exact_output_tokens, b.exact_output_tokens);
  EXPECT_EQ(a.session, b.session);
  EXPECT_EQ(a.turn, b.turn);
  EXPECT_EQ(a.warmup, b.warmup);
  EXPECT_EQ(a.ramp_up, b.ramp_up);
  EXPECT_EQ(a.request_id, b.request_id);
  EXPECT_EQ(a.response_id, b.response_id);
  EXPECT_EQ(a.scheduled, b.scheduled);
  EXPECT_EQ(a.dispatched, b.dispatched);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.first_event, b.first_event);
  EXPECT_EQ(a.first_token, b.first_token);
  EXPECT_EQ(a.last_token, b.last_token);
  EXPECT_EQ(a.end, b.end);
  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (std::size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_EQ(a.tokens[i].received, b.tokens[i].received) << i;
    EXPECT_EQ(a.tokens[i].tokens, b.tokens[i].tokens) << i;
  }
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.http_status, b.http_status);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.finish_reason, b.finish_reason);
  EXPECT_EQ(a.usage.prompt_tokens, b.usage.prompt_tokens);
  EXPECT_EQ(a.usage.completion_tokens, b.usage.completion_tokens);
  EXPECT_EQ(a.usage.cached_tokens, b.usage.cached_tokens);
  EXPECT_EQ(a.usage.reasoning_tokens, b.usage.reasoning_tokens);
  EXPECT_EQ(a.server_timings, b.server_timings);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.output_bytes, b.output_bytes);
}

void expect_same(const RunSummary& s, const RunSummary& t) {
  for (int i = 0; i < kMetricCount; ++i)
    expect_same(s.metrics[i], t.metrics[i], std::string(to_string(static_cast<Metric>(i))));
  EXPECT_EQ(s.window_start, t.window_start);
  EXPECT_EQ(s.window_end, t.window_end);
  EXPECT_EQ(s.window_s, t.window_s);
  EXPECT_EQ(s.requests_sent, t.requests_sent);
  EXPECT_EQ(s.requests_ok, t.requests_ok);
  EXPECT_EQ(s.requests_failed, t.requests_failed);
  EXPECT_EQ(s.by_status, t.by_status);
  EXPECT_EQ(s.output_tokens, t.output_tokens);
  EXPECT_EQ(s.prompt_tokens, t.prompt_tokens);
  EXPECT_EQ(s.request_throughput, t.request_throughput);
  EXPECT_EQ(s.output_token_throughput, t.output_token_throughput);
  EXPECT_EQ(s.total_token_throughput, t.total_token_throughput);
  EXPECT_EQ(s.tokens_from_usage, t.tokens_from_usage);
  EXPECT_EQ(s.confidence, t.confidence);
  EXPECT_EQ(s.requests_good, t.requests_good);
  EXPECT_EQ(s.goodput, t.goodput);
  EXPECT_EQ(s.good_fraction, t.good_fraction);
}

void expect_same(const ClientHealth& a, const ClientHealth& b) {
  SCOPED_TRACE("client health");
  EXPECT_EQ(a.requested_rate, b.requested_rate);
  EXPECT_EQ(a.delivered_rate, b.delivered_rate);
  expect_same(a.schedule_lag, b.schedule_lag, "schedule_lag");
  expect_same(a.wakeup_delay, b.wakeup_delay, "wakeup_delay");
  EXPECT_EQ(a.worker_cpu, b.worker_cpu);
  EXPECT_EQ(a.client_limited, b.client_limited);
  EXPECT_EQ(a.verdict, b.verdict);
}

void expect_same(const RunResult& a, const RunResult& b) {
  SCOPED_TRACE("run " + a.label);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.concurrency, b.concurrency);
  EXPECT_EQ(a.request_rate, b.request_rate);
  EXPECT_EQ(a.trial, b.trial);
  expect_same(a.summary, b.summary);
  ASSERT_EQ(a.ramp_up.has_value(), b.ramp_up.has_value());
  if (a.ramp_up) {
    SCOPED_TRACE("ramp-up");
    expect_same(*a.ramp_up, *b.ramp_up);
  }
  expect_same(a.client_health, b.client_health);
  EXPECT_EQ(a.output_length, b.output_length);
  EXPECT_EQ(a.by_turn, b.by_turn);
  EXPECT_EQ(a.token_counts, b.token_counts);
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (std::size_t i = 0; i < a.requests.size(); ++i) expect_same(a.requests[i], b.requests[i]);
}

TEST(JsonRoundTrip, SerializationIsAFixedPoint) {
  const json once = to_json(rich_result());
  EXPECT_EQ(to_json(from_json(once)), once);
}

TEST(JsonRoundTrip, ThroughTextToo) {
  std::ostringstream out;
  write_json(rich_result(), out);
  const json parsed = json::parse(out.str());
  EXPECT_EQ(parsed, to_json(rich_result()));
  EXPECT_EQ(to_json(from_json(parsed)), parsed);
}

// Field-by-field equality of a result and its JSON round trip.
void expect_round_trip(const BenchmarkResult& a) {
  const BenchmarkResult b = from_json(to_json(a));

  const RunConfig& c = a.config;
  const RunConfig& d = b.config;
  EXPECT_EQ(c.target.base_url, d.target.base_url);
  EXPECT_EQ(c.target.api, d.target.api);
  EXPECT_EQ(c.target.model, d.target.model);
  EXPECT_EQ(d.target.api_key, "<redacted>");  // the key itself is never stored
  EXPECT_EQ(c.target.insecure, d.target.insecure);
  EXPECT_EQ(c.target.connect_timeout, d.target.connect_timeout);
  EXPECT_EQ(c.target.read_timeout, d.target.read_timeout);
  EXPECT_EQ(c.sampling.max_tokens, d.sampling.max_tokens);
  EXPECT_EQ(c.sampling.temperature, d.sampling.temperature);
  EXPECT_EQ(c.sampling.top_p, d.sampling.top_p);
  EXPECT_EQ(c.sampling.ignore_eos, d.sampling.ignore_eos);
  EXPECT_EQ(c.sampling.min_tokens, d.sampling.min_tokens);
  EXPECT_EQ(c.sampling.extra_body, d.sampling.extra_body);
  EXPECT_EQ(c.load.mode, d.load.mode);
  EXPECT_EQ(c.load.concurrency, d.load.concurrency);
  EXPECT_EQ(c.load.num_requests, d.load.num_requests);
  EXPECT_EQ(c.load.duration, d.load.duration);
  EXPECT_EQ(c.load.warmup, d.load.warmup);
  EXPECT_EQ(c.load.seed, d.load.seed);
  EXPECT_EQ(c.load.workers, d.load.workers);
  EXPECT_EQ(c.load.request_rates, d.load.request_rates);
  EXPECT_EQ(c.load.arrival, d.load.arrival);
  EXPECT_EQ(c.load.burstiness, d.load.burstiness);
  EXPECT_EQ(c.load.max_concurrency, d.load.max_concurrency);
  ASSERT_EQ(c.load.ramp.has_value(), d.load.ramp.has_value());
  if (c.load.ramp) {
    EXPECT_EQ(c.load.ramp->start_rate, d.load.ramp->start_rate);
    EXPECT_EQ(c.load.ramp->duration, d.load.ramp->duration);
    EXPECT_EQ(c.load.ramp->shape, d.load.ramp->shape);
  }
  EXPECT_EQ(c.prompts, d.prompts);
  EXPECT_EQ(c.stats.confidence, d.stats.confidence);
  EXPECT_EQ(c.stats.trials, d.stats.trials);
  ASSERT_EQ(c.stats.slos.size(), d.stats.slos.size());
  for (std::size_t i = 0; i < c.stats.slos.size(); ++i) {
    EXPECT_EQ(c.stats.slos[i].metric, d.stats.slos[i].metric);
    EXPECT_EQ(c.stats.slos[i].threshold, d.stats.slos[i].threshold);
  }

  const Environment& e = a.environment;
  const Environment& f = b.environment;
  EXPECT_EQ(e.hostname, f.hostname);
  EXPECT_EQ(e.os, f.os);
  EXPECT_EQ(e.cpu_model, f.cpu_model);
  EXPECT_EQ(e.cpu_cores, f.cpu_cores);
  EXPECT_EQ(e.splleed_version, f.splleed_version);
  EXPECT_EQ(e.build_commit, f.build_commit);
  EXPECT_EQ(e.target_url, f.target_url);
  EXPECT_EQ(e.served_model, f.served_model);

  EXPECT_EQ(a.clock.monotonic_origin_ns, b.clock.monotonic_origin_ns);
  EXPECT_EQ(a.clock.wall_start_unix_ns, b.clock.wall_start_unix_ns);
  EXPECT_EQ(a.clock.wall_start_iso, b.clock.wall_start_iso);
  EXPECT_EQ(a.interrupted, b.interrupted);
  EXPECT_EQ(a.stop_reason, b.stop_reason);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) expect_same(a.runs[i], b.runs[i]);
  ASSERT_EQ(a.aggregates.size(), b.aggregates.size());
  for (std::size_t i = 0; i < a.aggregates.size(); ++i) expect_same(a.aggregates[i], b.aggregates[i]);
}

TEST(JsonRoundTrip, EveryFieldSurvives) { expect_round_trip(rich_result()); }

TEST(JsonRoundTrip, EngineGpusAndLaunchedEngineSurvive) {
  BenchmarkResult a = rich_result();
  Environment& e = a.environment;
  e.memory_total_bytes = 68'719'476'736ULL;
  e.engine.engine = "vllm";
  e.engine.version = "0.6.3";
  e.engine.served_model = "m";
  e.engine.max_model_len = 8192;
  e.engine.raw_json = R"({"/version":{"version":"0.6.3"},"/v1/models":"not json"})";
  e.gpu_source = "nvml";
  e.gpus = {{"NVIDIA H200", "GPU-1", 150'000'000'000ULL, "550.54.15"}, {"NVIDIA H200", "GPU-2", std::nullopt, ""}};
  e.cuda_driver_version = "12.4";
  LaunchedEngine l;
  l.engine = "vllm";
  l.argv = {"vllm", "serve", "m", "--api-key", "<redacted>"};
  l.base_url = "http://127.0.0.1:41234";
  l.log_path = "logs/vllm-41234.log";
  l.exit_status = "signal 9 (Killed)";
  l.exit_signal = 9;
  l.killed_after_grace = true;
  l.exited_during_run = true;
  a.launched_engine = l;

  const auto once = to_json(a);
  EXPECT_EQ(once["environment"]["engine"]["raw"]["/version"]["version"], "0.6.3");
  EXPECT_EQ(once["environment"]["engine"]["raw"]["/v1/models"], "not json");
  EXPECT_EQ(to_json(from_json(once)), once);
  const BenchmarkResult b = from_json(once);
  const Environment& f = b.environment;
  EXPECT_EQ(f.memory_total_bytes, e.memory_total_bytes);
  EXPECT_EQ(f.engine.engine, "vllm");
  EXPECT_EQ(f.engine.version, "0.6.3");
  EXPECT_EQ(f.engine.max_model_len, 8192);
  EXPECT_EQ(f.gpu_source, "nvml");
  ASSERT_EQ(f.gpus.size(), 2u);
  EXPECT_EQ(f.gpus[0].uuid, "GPU-1");
  EXPECT_EQ(f.gpus[0].memory_total_bytes, 150'000'000'000ULL);
  EXPECT_FALSE(f.gpus[1].memory_total_bytes.has_value());
  EXPECT_EQ(f.cuda_driver_version, "12.4");
  ASSERT_TRUE(b.launched_engine.has_value());
  EXPECT_EQ(b.launched_engine->argv, l.argv);
  EXPECT_EQ(b.launched_engine->exit_signal, 9);
  EXPECT_FALSE(b.launched_engine->exit_code.has_value());
  EXPECT_TRUE(b.launched_engine->killed_after_grace);
  EXPECT_TRUE(b.launched_engine->exited_during_run);
}

TEST(JsonRoundTrip, FilesWithoutEngineAndGpuFieldsStillRead) {
  auto j = to_json(rich_result());
  for (const char* key : {"memory_total_bytes", "engine", "gpu_source", "gpus", "cuda_driver_version"})
    j["environment"].erase(key);
  const BenchmarkResult b = from_json(j);
  EXPECT_TRUE(b.environment.gpus.empty());
  EXPECT_EQ(b.environment.engine.engine, "");
  EXPECT_FALSE(b.launched_engine.has_value());
}

TEST(JsonRoundTrip, TrialsIntervalsAndGoodput) {
  const BenchmarkResult a = testing::trials_result();
  ASSERT_EQ(a.aggregates.size(), 1U);
  ASSERT_TRUE(a.runs[0].summary.goodput.has_value());
  expect_round_trip(a);
  const json once = to_json(a);
  EXPECT_EQ(to_json(from_json(once)), once);
  EXPECT_EQ(once["config"]["stats"]["slos"][0]["metric"], "ttft");
  EXPECT_EQ(once["config"]["stats"]["slos"][0]["threshold_ms"], 20.2);
  EXPECT_EQ(once["runs"][0]["summary"]["confidence"], 0.9);
  // Two samples are too few for any interval: lo/hi null, the sample size needed stated.
  const json& ci = once["runs"][0]["summary"]["metrics"]["ttft"]["intervals"]["p50"];
  EXPECT_TRUE(ci["lo"].is_null());
  EXPECT_TRUE(ci["hi"].is_null());
  EXPECT_EQ(ci["min_samples"], 5);  // 1 - 2 * 0.5^n >= 0.9 from n = 5
  EXPECT_EQ(once["aggregates"][0]["trials"], 3);
  EXPECT_TRUE(once["aggregates"][0]["metrics"]["ttft"]["mean"]["has_interval"]);
}

TEST(JsonRoundTrip, SupportedIntervalsSurvive) {
  BenchmarkResult a = rich_result();
  a.runs[0].summary[Metric::ttft].intervals[0] = {19.5, 21.25, true, 6};
  expect_round_trip(a);
  const json j = to_json(a);
  EXPECT_EQ(j["runs"][0]["summary"]["metrics"]["ttft"]["intervals"]["p50"]["lo"], 19.5);
}

TEST(JsonRoundTrip, FilesWithoutStatisticsFieldsStillRead) {
  json j = to_json(rich_result());
  j["config"].erase("stats");
  j.erase("aggregates");
  for (auto& run : j["runs"]) {
    run["summary"].erase("confidence");
    run["summary"].erase("goodput");
    for (auto& [key, metric] : run["summary"]["metrics"].items()) metric.erase("intervals");
  }
  const BenchmarkResult b = from_json(j);
  EXPECT_EQ(b.config.stats.confidence, 0.95);
  EXPECT_TRUE(b.aggregates.empty());
  EXPECT_FALSE(b.runs[0].summary.goodput.has_value());
  EXPECT_FALSE(b.runs[0].summary[Metric::ttft].intervals[0].supported);
}

TEST(JsonRoundTrip, OpenLoopWithRampUp) {
  const BenchmarkResult a = testing::open_loop_result();
  ASSERT_TRUE(a.runs[0].ramp_up.has_value());
  expect_round_trip(a);
  const json once = to_json(a);
  EXPECT_EQ(to_json(from_json(once)), once);
  EXPECT_EQ(once["runs"][0]["request_rate"], 2.5);
  EXPECT_EQ(once["runs"][0]["ramp_up"]["requests"]["sent"], 1);
  EXPECT_EQ(once["runs"][0]["requests"][1]["ramp_up"], true);
  EXPECT_EQ(once["config"]["load"]["ramp"]["shape"], "exponential");
  EXPECT_TRUE(to_json(rich_result())["runs"][0]["ramp_up"].is_null());
}

TEST(JsonRoundTrip, ClientHealthSurvives) {
  BenchmarkResult a = rich_result();
  ASSERT_TRUE(a.runs[1].client_health.client_limited);
  // Doubles without a short decimal form, to prove the trip is exact.
  a.runs[0].client_health.worker_cpu = {1.0 / 3.0, 0.1 + 0.2, 0.0};
  a.runs[1].client_health.wakeup_delay.p99 = 7.000000000000001;
  expect_round_trip(a);
  expect_round_trip(testing::open_loop_result());
  const json once = to_json(a);
  EXPECT_EQ(to_json(from_json(once)), once);
}

TEST(JsonRoundTrip, ServerTimingsSurviveAndAreOmittedWhenAbsent) {
  BenchmarkResult a = rich_result();
  ASSERT_GE(a.runs[0].requests.size(), 2U);
  ServerTimings& full = a.runs[0].requests[0].server_timings;
  full.queue_ms = 0.5;
  full.load_ms = 1.0 / 3.0;  // no short decimal form: the trip must be exact
  full.prompt_ms = 12.443;
  full.predicted_ms = 7.019;
  full.total_ms = 25.0;
  full.prompt_n = 7;
  full.predicted_n = 3;
  full.cache_n = 2;
  a.runs[0].requests[1].server_timings.predicted_n = 4;  // one field only
  expect_round_trip(a);
  const json once = to_json(a);
  EXPECT_EQ(to_json(from_json(once)), once);
  const json& requests = once["runs"][0]["requests"];
  EXPECT_EQ(requests[0]["server_timings"]["prompt_ms"], 12.443);
  EXPECT_EQ(requests[0]["server_timings"]["cache_n"], 2);
  EXPECT_EQ(requests[1]["server_timings"], json({{"predicted_n", 4}}));
  for (std::size_t i = 2; i < requests.size(); ++i) {
    EXPECT_FALSE(requests[i].contains("server_timings")) << i;
  }
  // The object sits between usage and events.
  std::ostringstream text;
  write_json(a, text);
  const std::string s = text.str();
  const auto usage = s.find("\"usage\"");
  const auto timings = s.find("\"server_timings\"");
  ASSERT_NE(timings, std::string::npos);
  EXPECT_LT(usage, timings);
  EXPECT_LT(timings, s.find("\"events\"", timings));
}

TEST(JsonSchema, TtftOutsideTheServerIsClientTtftMinusItsQueueLoadAndPromptTime) {
  BenchmarkResult a = rich_result();
  RequestRecord& r = a.runs[0].requests[0];
  ASSERT_TRUE(r.dispatched && r.first_token);
  r.first_token = *r.dispatched + 20 * kNanosPerMilli;
  r.server_timings.queue_ms = 1.5;
  r.server_timings.prompt_ms = 12.0;
  a.runs[0].requests[1].server_timings.predicted_ms = 3.0;  // no prompt time: no figure
  const json once = to_json(a);
  const json& requests = once["runs"][0]["requests"];
  EXPECT_DOUBLE_EQ(requests[0]["ttft_outside_server_ms"].get<double>(), 6.5);
  EXPECT_FALSE(requests[1].contains("ttft_outside_server_ms"));
  EXPECT_EQ(to_json(from_json(once)), once);  // derived: ignored when read, written again
}

TEST(JsonRoundTrip, EngineRunSummarySurvivesAndIsOmittedWhenAbsent) {
  BenchmarkResult a = rich_result();
  EngineRunSummary e;
  e.window_start = a.clock.monotonic_origin_ns + 5 * kNanosPerMilli;
  e.window_end = a.clock.monotonic_origin_ns + 2 * kNanosPerSecond;
  e.signals = {{"waiting_requests", 3.25}, {"kv_cache_usage", 1.0 / 3.0}};
  e.latencies.push_back({"ttft", 40, 0.0625, 0.05, 0.1, std::nullopt});
  e.latencies.push_back({"itl", 900, std::nullopt, 0.008, 0.02, 0.04});
  e.ttft_gap_mean_ms = -0.75;
  a.runs[0].engine = e;
  const json once = to_json(a);
  ASSERT_TRUE(once["runs"][0].contains("engine"));
  EXPECT_EQ(once["runs"][0]["engine"]["window_start_ns"], 5 * kNanosPerMilli);
  EXPECT_TRUE(once["runs"][0]["engine"]["latencies"]["ttft"]["p99_s"].is_null());
  const BenchmarkResult b = from_json(once);
  ASSERT_TRUE(b.runs[0].engine);
  const EngineRunSummary& f = *b.runs[0].engine;
  EXPECT_EQ(f.window_start, e.window_start);
  EXPECT_EQ(f.window_end, e.window_end);
  // Keys of a JSON object: read back in name order.
  auto sorted = e.signals;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(f.signals, sorted);
  ASSERT_EQ(f.latencies.size(), 2u);
  EXPECT_EQ(f.latencies[0].name, "itl");
  EXPECT_EQ(f.latencies[0].count, 900);
  EXPECT_EQ(f.latencies[0].p99_s, 0.04);
  EXPECT_FALSE(f.latencies[0].mean_s);
  EXPECT_EQ(f.latencies[1].name, "ttft");
  EXPECT_FALSE(f.latencies[1].p99_s);
  EXPECT_EQ(f.ttft_gap_mean_ms, -0.75);
  EXPECT_EQ(to_json(b), once);
  for (std::size_t i = 1; i < a.runs.size(); ++i) EXPECT_FALSE(once["runs"][i].contains("engine"));

  // The console shows the engine's percentiles and the gap under the run.
  std::ostringstream console;
  write_console(a, console);
  EXPECT_EQ(console.str().find("ttft p50"), std::string::npos);  // no p99: not shown
  EXPECT_NE(console.str().find("itl p50 8.00 / p99 40.00 ms (n=900)"), std::string::npos);
  EXPECT_NE(console.str().find("client TTFT mean minus the engine's: -0.75 ms"), std::string::npos);
}

TEST(JsonRoundTrip, ProfileWindowSurvivesAndIsOmittedWhenAbsent) {
  BenchmarkResult a = rich_result();
  const Nanos o = a.clock.monotonic_origin_ns;
  ProfileWindow ok;
  ok.start_requested = o + 1 * kNanosPerMilli;
  ok.started = o + 3 * kNanosPerMilli;
  ok.stop_requested = o + 2 * kNanosPerSecond;
  ok.stopped = o + 5 * kNanosPerSecond;
  ok.trace_location = "/results/profile";
  ok.requests_inside = 12;
  a.runs[0].profile = ok;
  ProfileWindow refused;
  refused.start_requested = o + 7;
  refused.trace_location = "where the engine's own settings put it";
  refused.error = "POST /start_profile answered HTTP 404";
  a.runs[1].profile = refused;
  const json once = to_json(a);
  EXPECT_EQ(once["runs"][0]["profile"]["started_ns"], 3 * kNanosPerMilli);
  EXPECT_EQ(once["runs"][0]["profile"]["error"], "");
  EXPECT_TRUE(once["runs"][1]["profile"]["started_ns"].is_null());
  const BenchmarkResult b = from_json(once);
  ASSERT_TRUE(b.runs[0].profile && b.runs[1].profile);
  EXPECT_EQ(b.runs[0].profile->started, ok.started);
  EXPECT_EQ(b.runs[0].profile->stopped, ok.stopped);
  EXPECT_EQ(b.runs[0].profile->trace_location, ok.trace_location);
  EXPECT_EQ(b.runs[0].profile->requests_inside, 12);
  EXPECT_EQ(b.runs[1].profile->start_requested, refused.start_requested);
  EXPECT_FALSE(b.runs[1].profile->stopped);
  EXPECT_EQ(b.runs[1].profile->error, refused.error);
  EXPECT_EQ(to_json(b), once);
  for (std::size_t i = 2; i < a.runs.size(); ++i) EXPECT_FALSE(once["runs"][i].contains("profile"));

  std::ostringstream console;
  write_console(a, console);
  EXPECT_NE(console.str().find("engine profile: 5.0 s, 12 measured requests sent inside; trace: "
                               "/results/profile"),
            std::string::npos);
  EXPECT_NE(console.str().find("engine profile: failed: POST /start_profile answered HTTP 404"),
            std::string::npos);
}

TEST(JsonRoundTrip, ServerTimingsNullOrMissingFieldsReadAsAbsent) {
  json j = to_json(rich_result());
  j["runs"][0]["requests"][0]["server_timings"] = {{"prompt_ms", nullptr}, {"prompt_n", 5}};
  const BenchmarkResult b = from_json(j);
  const ServerTimings& t = b.runs[0].requests[0].server_timings;
  EXPECT_FALSE(t.prompt_ms.has_value());
  EXPECT_EQ(t.prompt_n, 5);
  EXPECT_FALSE(t.total_ms.has_value());
  j["runs"][0]["requests"][0]["server_timings"] = {{"prompt_n", 1.5}};
  EXPECT_THROW(from_json(j), std::runtime_error);
}

TEST(JsonSchema, ChecksBesideTheFigures) {
  const json j = to_json(rich_result());
  const json& r0 = j.at("runs").at(0);
  EXPECT_EQ(r0.at("output_length"),
            (json{{"checked", 1}, {"exact", 0}, {"shorter", 1}, {"longer", 0},
                  {"examples", json::array({json{{"index", 1}, {"requested", 8}, {"produced", 6}}})}}));
  EXPECT_FALSE(r0.contains("by_turn"));
  // One request with usage, one without; events and usage agree where both exist.
  EXPECT_EQ(r0.at("token_counts"), (json{{"tpot_source", "mixed"},
                                         {"prompt", {{"compared", 0}, {"disagree", 0}}},
                                         {"output", {{"compared", 1}, {"disagree", 0}}},
                                         {"examples", json::array()}}));
  EXPECT_EQ(r0.at("requests").at(1).at("exact_output_tokens"), 8);
  EXPECT_FALSE(r0.at("requests").at(2).contains("exact_output_tokens"));
  EXPECT_FALSE(r0.at("requests").at(1).contains("token_counts_disagree"));

  const json& r1 = j.at("runs").at(1);
  EXPECT_EQ(r1.at("output_length").at("exact"), 1);
  EXPECT_EQ(r1.at("token_counts"),
            (json{{"tpot_source", "usage"},
                  {"prompt", {{"compared", 2}, {"disagree", 1}}},
                  {"output", {{"compared", 2}, {"disagree", 0}}},
                  {"examples", json::array({json{{"index", 1}, {"kind", "prompt"}, {"client", 40},
                                                 {"server", 18}}})}}));
  EXPECT_EQ(r1.at("requests").at(1).at("token_counts_disagree"), json::array({"prompt"}));
  EXPECT_FALSE(r1.at("requests").at(0).contains("token_counts_disagree"));
  const json& turns = r1.at("by_turn");
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[0].at("turn"), 0);
  EXPECT_EQ(turns[0].at("requests"), 1);
  EXPECT_EQ(turns[0].at("input_tokens_mean"), 20.0);
  // TTFT of turn 0's one request: dispatched at 200.15 ms, first token at 215 ms.
  EXPECT_NEAR(turns[0].at("ttft").at("p99").get<double>(), 14.85, 1e-9);
  EXPECT_EQ(turns[1].at("turn"), 1);
  EXPECT_EQ(turns[1].at("input_tokens_mean"), 18.0);
}

TEST(JsonRoundTrip, FilesWithoutTheChecksStillRead) {
  json j = to_json(rich_result());
  for (json& run : j.at("runs")) {
    run.erase("token_counts");
    run.erase("output_length");
    run.erase("by_turn");
    for (json& r : run.at("requests")) r.erase("exact_output_tokens");
  }
  const BenchmarkResult back = from_json(j);
  for (const RunResult& run : back.runs) {
    EXPECT_FALSE(run.output_length);
    EXPECT_TRUE(run.by_turn.empty());
    EXPECT_EQ(run.token_counts, TokenCountCheck{});
    for (const RequestRecord& r : run.requests) EXPECT_FALSE(r.exact_output_tokens);
  }
}

TEST(JsonRoundTrip, BadCheckFieldsNameTheirPath) {
  json j = to_json(rich_result());
  j["runs"][0]["token_counts"]["tpot_source"] = "guess";
  try {
    (void)from_json(j);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("runs[0].token_counts.tpot_source"));
  }
  j = to_json(rich_result());
  j["runs"][1]["by_turn"][0]["ttft"].erase("p90");
  try {
    (void)from_json(j);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("runs[1].by_turn[0].ttft.p90"));
  }
}

TEST(JsonSchema, ClientHealthFields) {
  const json closed = to_json(rich_result());
  const json& healthy = closed["runs"][0]["client_health"];
  EXPECT_TRUE(healthy["requested_rate"].is_null());  // closed loop: no rate was asked
  EXPECT_EQ(healthy["delivered_rate"], 0);
  EXPECT_EQ(healthy["schedule_lag"], closed["runs"][0]["summary"]["metrics"]["schedule_lag"]);
  EXPECT_EQ(healthy["wakeup_delay"]["count"], 24);
  EXPECT_EQ(healthy["wakeup_delay"]["p99"], 0.08);
  EXPECT_EQ(healthy["wakeup_delay"]["intervals"]["p50"]["min_samples"], 6);
  EXPECT_EQ(healthy["worker_cpu"], json::array({0.12, 0.09}));
  EXPECT_EQ(healthy["client_limited"], false);
  EXPECT_EQ(healthy["verdict"], "");
  const json& limited = closed["runs"][1]["client_health"];
  EXPECT_EQ(limited["client_limited"], true);
  EXPECT_THAT(limited["verdict"].get<std::string>(),
              ::testing::StartsWith("The client may have limited these results: "));
  EXPECT_TRUE(closed["definitions"].contains("client_health"));

  const json open = to_json(testing::open_loop_result());
  EXPECT_EQ(open["runs"][0]["client_health"]["requested_rate"], 2.5);
  EXPECT_EQ(open["runs"][0]["client_health"]["delivered_rate"], 2.41);

  // Schema order: after the summaries, before the (long) request list.
  std::ostringstream out;
  write_json(rich_result(), out);
  const std::string text = out.str();
  const auto health = text.find("\"client_health\":{\"requested_rate\":null,\"delivered_rate\":0.0,");
  ASSERT_NE(health, std::string::npos);
  EXPECT_LT(text.find("\"ramp_up\":null"), health);
  EXPECT_LT(health, text.find("\"requests\":[{"));
}

TEST(JsonRoundTrip, FilesWithoutClientHealthStillRead) {
  json j = to_json(rich_result());
  for (auto& run : j["runs"]) run.erase("client_health");
  const BenchmarkResult b = from_json(j);
  const ClientHealth& h = b.runs[1].client_health;
  EXPECT_FALSE(h.client_limited);
  EXPECT_TRUE(h.verdict.empty());
  EXPECT_TRUE(h.worker_cpu.empty());
  EXPECT_EQ(h.wakeup_delay.count, 0U);
  EXPECT_EQ(h.requested_rate, 0);
}

TEST(JsonRoundTrip, OptionalConfigFieldsTheOtherWayRound) {
  BenchmarkResult a = rich_result();
  a.config.target.api_key.clear();
  a.config.sampling.temperature.reset();
  a.config.sampling.top_p = 0.95;
  a.config.sampling.min_tokens.reset();
  a.config.sampling.extra_body.clear();
  a.config.load.mode = LoadMode::latency;
  a.config.load.num_requests.reset();
  a.config.load.duration = 90 * kNanosPerSecond + 123'456'789;
  a.config.target.connect_timeout = 1'234'567;  // not a whole number of milliseconds
  const json j = to_json(a);
  EXPECT_FALSE(j["config"]["target"].contains("api_key"));
  EXPECT_TRUE(j["config"]["sampling"]["extra_body"].is_null());
  EXPECT_TRUE(j["config"]["load"]["num_requests"].is_null());
  EXPECT_DOUBLE_EQ(j["config"]["load"]["duration_s"].get<double>(), 90.123456789);

  const BenchmarkResult b = from_json(j);
  EXPECT_TRUE(b.config.target.api_key.empty());
  EXPECT_FALSE(b.config.sampling.temperature.has_value());
  EXPECT_EQ(b.config.sampling.top_p, 0.95);
  EXPECT_FALSE(b.config.sampling.min_tokens.has_value());
  EXPECT_TRUE(b.config.sampling.extra_body.empty());
  EXPECT_EQ(b.config.load.mode, LoadMode::latency);
  EXPECT_FALSE(b.config.load.num_requests.has_value());
  EXPECT_EQ(b.config.load.duration, a.config.load.duration);
  EXPECT_EQ(b.config.target.connect_timeout, 1'234'567);
  EXPECT_EQ(to_json(b), j);
}

TEST(JsonSchema, TimesAreRelativeToTheOrigin) {
  const BenchmarkResult a = rich_result();
  const json j = to_json(a);
  const json& run = j["runs"][0];
  EXPECT_EQ(run["summary"]["window"]["start_ns"], 40'000'000);
  EXPECT_EQ(run["summary"]["window"]["end_ns"], 160'000'000);
  EXPECT_EQ(run["summary"]["window"]["seconds"], 0.12);
  const json& req = run["requests"][1];
  EXPECT_EQ(req["scheduled_ns"], 40'000'000);
  EXPECT_EQ(req["dispatched_ns"], 40'150'000);
  EXPECT_EQ(req["token_events"][2], json::array({100'000'000, 3}));
  EXPECT_EQ(req["usage"]["prompt_tokens"], 12);
  EXPECT_TRUE(req["usage"]["reasoning_tokens"].is_null());
  EXPECT_EQ(req["output_tokens"], 6);
  EXPECT_TRUE(run["requests"][3]["first_token_ns"].is_null());
}

TEST(JsonSchema, SummaryCarriesEveryMetricStatusAndDefinition) {
  const json j = to_json(rich_result());
  const json& summary = j["runs"][0]["summary"];
  for (int i = 0; i < kMetricCount; ++i) {
    const std::string key(to_string(static_cast<Metric>(i)));
    EXPECT_TRUE(summary["metrics"].contains(key)) << key;
    EXPECT_TRUE(j["definitions"].contains(key)) << key;
    for (const char* stat :
         {"count", "mean", "std", "min", "p50", "p90", "p95", "p99", "p999", "max"})
      EXPECT_TRUE(summary["metrics"][key].contains(stat)) << key << "." << stat;
  }
  for (int i = 0; i < kRequestStatusCount; ++i)
    EXPECT_TRUE(summary["requests"]["by_status"].contains(
        std::string(to_string(static_cast<RequestStatus>(i)))));
  EXPECT_EQ(summary["requests"]["by_status"]["http_error"], 1);
  EXPECT_EQ(summary["tokens"]["source"], "events");
  EXPECT_EQ(j["runs"][1]["summary"]["tokens"]["source"], "usage");
  EXPECT_EQ(j["schema_version"], 1);
}

TEST(JsonSchema, FileKeepsSchemaOrderAndFullPrecision) {
  std::ostringstream out;
  write_json(rich_result(), out);
  const std::string text = out.str();
  EXPECT_EQ(text.rfind("{\"schema_version\":1,\"splleed_version\":", 0), 0u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_THAT(text, HasSubstr("\"p95\":20.325000000000003"));  // shortest round-trip text
}

// A decimal comma and digit grouping, set both globally and on the stream, must not leak into any
// output (installed system locales vary, so the facet is built here).
struct CommaDecimal : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

TEST(Locale, NoWriterDependsOnIt) {
  using Writer = void (*)(const BenchmarkResult&, std::ostream&);
  const BenchmarkResult r = rich_result();
  for (Writer write : {Writer{write_json}, Writer{write_console}, Writer{write_csv_summary},
                       Writer{write_csv_requests}}) {
    std::ostringstream plain;
    write(r, plain);
    const std::locale comma(std::locale::classic(), new CommaDecimal);
    const std::locale previous = std::locale::global(comma);
    std::ostringstream localized;
    localized.imbue(comma);
    write(r, localized);
    std::locale::global(previous);
    EXPECT_EQ(localized.str(), plain.str());
  }
}

TEST(JsonSchema, InvalidUtf8IsReplacedNotFatal) {
  BenchmarkResult a = rich_result();
  a.runs[0].requests[3].error = "body excerpt cut mid-character: \xC3";
  std::ostringstream out;
  ASSERT_NO_THROW(write_json(a, out));
  EXPECT_NO_THROW(std::ignore = json::parse(out.str()));
}

TEST(ApiKey, NeverWritten) {
  BenchmarkResult a = rich_result();
  std::ostringstream json_out, console, summary, requests;
  write_json(a, json_out);
  write_console(a, console);
  write_csv_summary(a, summary);
  write_csv_requests(a, requests);
  for (const std::string& text : {json_out.str(), console.str(), summary.str(), requests.str()})
    EXPECT_THAT(text, ::testing::Not(HasSubstr(testing::kSecretKey)));
  EXPECT_EQ(to_json(a)["config"]["target"]["api_key"], "<redacted>");
}

TEST(ApiKey, ReadingAFileNeverYieldsAKey) {
  json j = to_json(rich_result());
  j["config"]["target"]["api_key"] = "sk-smuggled-in";  // a hand-edited file
  EXPECT_EQ(from_json(j).config.target.api_key, "<redacted>");
  EXPECT_EQ(to_json(from_json(j))["config"]["target"]["api_key"], "<redacted>");
}

// Each malformed input must name the field at fault.
void expect_error(const json& j, const std::string& field) {
  try {
    std::ignore = from_json(j);
    ADD_FAILURE() << "no error for " << field;
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(field));
  }
}

TEST(FromJsonErrors, NameTheField) {
  const json good = to_json(rich_result());

  expect_error(json::array(), "document");
  {
    json j = good;
    j.erase("runs");
    expect_error(j, "runs: missing field");
  }
  {
    json j = good;
    j["schema_version"] = 2;
    expect_error(j, "schema_version: unsupported version 2");
  }
  {
    json j = good;
    j["config"]["target"]["api"] = "grpc";
    expect_error(j, "config.target.api: unknown API 'grpc'");
  }
  {
    json j = good;
    j["config"]["sampling"]["max_tokens"] = "many";
    expect_error(j, "config.sampling.max_tokens: expected an integer");
  }
  {
    json j = good;
    j["config"]["load"]["concurrency"][1] = -1.5;
    expect_error(j, "config.load.concurrency[1]: expected an integer");
  }
  {
    json j = good;
    j["config"]["load"]["mode"] = "open";
    expect_error(j, "config.load.mode: unknown load mode 'open'");
  }
  {
    json j = good;
    j["config"]["load"]["arrival"] = "bursty";
    expect_error(j, "config.load.arrival: unknown arrival 'bursty'");
  }
  {
    json j = good;
    j["config"]["load"]["ramp"] = {{"start_rate", 1}, {"duration_s", 2}, {"shape", "cubic"}};
    expect_error(j, "config.load.ramp.shape: unknown ramp shape 'cubic'");
  }
  {
    json j = good;
    j["runs"][0]["ramp_up"] = json::object();
    expect_error(j, "runs[0].ramp_up.metrics: missing field");
  }
  {
    json j = good;
    j["config"]["load"]["seed"] = -1;
    expect_error(j, "config.load.seed: expected a non-negative integer");
  }
  {
    json j = good;
    j["runs"][1]["requests"][2]["status"] = "exploded";
    expect_error(j, "runs[1].requests[2].status: unknown request status 'exploded'");
  }
  {
    json j = good;
    j["runs"][0]["requests"][1]["token_events"][3] = json::array({1});
    expect_error(j, "runs[0].requests[1].token_events[3]: expected [received_ns, tokens]");
  }
  {
    json j = good;
    j["runs"][0]["requests"][1]["token_events"][0][1] = 5'000'000'000LL;
    expect_error(j, "runs[0].requests[1].token_events[0][1]: integer out of range");
  }
  {
    json j = good;
    j["runs"][0]["summary"]["metrics"].erase("tpot");
    expect_error(j, "runs[0].summary.metrics.tpot: missing field");
  }
  {
    json j = good;
    j["runs"][0]["summary"]["metrics"]["ttft"]["p99"] = nullptr;
    expect_error(j, "runs[0].summary.metrics.ttft.p99: expected a number");
  }
  {
    json j = good;
    j["runs"][0]["summary"]["tokens"]["source"] = "tokenizer";
    expect_error(j, "runs[0].summary.tokens.source");
  }
  {
    json j = good;
    j["runs"][0]["summary"]["requests"]["by_status"].erase("cancelled");
    expect_error(j, "runs[0].summary.requests.by_status.cancelled: missing field");
  }
  {
    json j = good;
    j["runs"][0]["requests"][0]["usage"]["cached_tokens"] = true;
    expect_error(j, "runs[0].requests[0].usage.cached_tokens: expected an integer");
  }
  {
    json j = good;
    j["runs"][0]["requests"][0]["warmup"] = 1;
    expect_error(j, "runs[0].requests[0].warmup: expected true or false");
  }
  {
    json j = good;
    j["clock"]["wall_start"] = 5;
    expect_error(j, "clock.wall_start: expected a string");
  }
  {
    json j = good;
    j["runs"][1] = "run";
    expect_error(j, "runs[1]: expected an object");
  }
  {
    json j = good;
    j["runs"][1]["client_health"]["worker_cpu"][1] = "busy";
    expect_error(j, "runs[1].client_health.worker_cpu[1]: expected a number");
  }
  {
    json j = good;
    j["runs"][0]["client_health"]["wakeup_delay"].erase("p99");
    expect_error(j, "runs[0].client_health.wakeup_delay.p99: missing field");
  }
  {
    json j = good;
    j["runs"][0]["client_health"]["client_limited"] = "no";
    expect_error(j, "runs[0].client_health.client_limited: expected true or false");
  }
}

}  // namespace
}  // namespace splleed::report
