// The lossless results file (docs/results-format.md). Keys are written in schema order
// (ordered_json) so that a file reads top-down; to_json returns the same document as
// nlohmann::json.
#include <array>
#include <cmath>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "metrics/request_metrics.hpp"
#include "metrics/run_checks.hpp"
#include "report/definitions.hpp"
#include "report/reporters.hpp"

namespace splleed::report {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Written in place of a configured API key; the key itself never leaves the process.
constexpr std::string_view kRedacted = "<redacted>";

template <class T>
ordered_json nullable(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json relative(const std::optional<Nanos>& t, Nanos origin) {
  return t ? ordered_json(*t - origin) : ordered_json(nullptr);
}

// extra_body is JSON text; it is written as the object it denotes. Text that does not parse as an
// object (validate() rejects it, but reporters accept any result) is kept verbatim as a string.
ordered_json extra_body_json(const std::string& text) {
  if (text.empty()) return nullptr;
  auto parsed = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return text;
  return parsed;
}

ordered_json config_json(const RunConfig& c) {
  ordered_json target;
  target["base_url"] = c.target.base_url;
  target["api"] = to_string(c.target.api);
  target["model"] = c.target.model;
  if (!c.target.api_key.empty()) target["api_key"] = kRedacted;
  target["insecure"] = c.target.insecure;
  target["connect_timeout_ms"] = to_ms(c.target.connect_timeout);
  target["read_timeout_ms"] = to_ms(c.target.read_timeout);

  ordered_json sampling;
  sampling["max_tokens"] = c.sampling.max_tokens;
  sampling["temperature"] = nullable(c.sampling.temperature);
  sampling["top_p"] = nullable(c.sampling.top_p);
  sampling["ignore_eos"] = c.sampling.ignore_eos;
  sampling["min_tokens"] = nullable(c.sampling.min_tokens);
  sampling["extra_body"] = extra_body_json(c.sampling.extra_body);

  ordered_json load;
  load["mode"] = to_string(c.load.mode);
  load["concurrency"] = c.load.concurrency;
  load["num_requests"] = nullable(c.load.num_requests);
  load["duration_s"] = c.load.duration ? ordered_json(static_cast<double>(*c.load.duration) / 1e9)
                                       : ordered_json(nullptr);
  load["warmup"] = c.load.warmup;
  if (c.load.warmup_duration)  // absent unless asked for, like every later addition
    load["warmup_duration_s"] = static_cast<double>(*c.load.warmup_duration) / 1e9;
  load["seed"] = c.load.seed;
  load["workers"] = c.load.workers;
  if (c.load.busy_poll > 0) load["busy_poll_us"] = static_cast<double>(c.load.busy_poll) / 1e3;
  load["request_rates"] = c.load.request_rates;
  load["arrival"] = to_string(c.load.arrival);
  load["burstiness"] = c.load.burstiness;
  load["max_concurrency"] = nullable(c.load.max_concurrency);
  if (c.load.ramp) {
    load["ramp"] = {{"start_rate", c.load.ramp->start_rate},
                    {"duration_s", static_cast<double>(c.load.ramp->duration) / 1e9},
                    {"shape", to_string(c.load.ramp->shape)}};
  } else {
    load["ramp"] = nullptr;
  }
  if (c.load.trace) {
    ordered_json times = ordered_json::array();
    for (Nanos t : c.load.trace->times) times.push_back(static_cast<double>(t) / 1e6);
    load["trace"] = {{"source", c.load.trace->source},
                     {"time_scale", c.load.trace->time_scale},
                     {"times_ms", std::move(times)}};
  }

  ordered_json slos = ordered_json::array();
  for (const SloTarget& slo : c.stats.slos)
    slos.push_back({{"metric", slo.metric}, {"threshold_ms", to_ms(slo.threshold)}});
  ordered_json stats;
  stats["confidence"] = c.stats.confidence;
  stats["trials"] = c.stats.trials;
  stats["slos"] = std::move(slos);

  ordered_json out;
  out["target"] = std::move(target);
  out["sampling"] = std::move(sampling);
  out["load"] = std::move(load);
  out["prompts"] = c.prompts;
  if (!c.prompt_max_tokens.empty()) out["prompt_max_tokens"] = c.prompt_max_tokens;
  if (!c.prompt_messages.empty()) {
    ordered_json all = ordered_json::array();
    for (const auto& list : c.prompt_messages) {
      ordered_json messages = ordered_json::array();
      for (const ChatMessage& m : list) messages.push_back({{"role", m.role}, {"content", m.content}});
      all.push_back(std::move(messages));
    }
    out["prompt_messages"] = std::move(all);
  }
  if (!c.prompt_input_tokens.empty()) {
    ordered_json counts = ordered_json::array();
    for (auto n : c.prompt_input_tokens) counts.push_back(n < 0 ? ordered_json(nullptr) : ordered_json(n));
    out["prompt_input_tokens"] = std::move(counts);
  }
  if (!c.conversations.empty()) {
    ordered_json all = ordered_json::array();
    for (const ConversationPlan& conv : c.conversations)
      all.push_back({{"id", conv.id}, {"turns", conv.turns}, {"system_prompt", conv.system_prompt}});
    out["conversations"] = std::move(all);
    out["think_time_s"] = static_cast<double>(c.think_time) / 1e9;
  }
  if (!c.workload.empty()) {
    auto identity = ordered_json::parse(c.workload, nullptr, /*allow_exceptions=*/false);
    out["workload"] = identity.is_discarded() ? ordered_json(c.workload) : std::move(identity);
  }
  out["stats"] = std::move(stats);
  return out;
}

ordered_json environment_json(const Environment& e) {
  ordered_json out;
  out["hostname"] = e.hostname;
  out["os"] = e.os;
  out["cpu_model"] = e.cpu_model;
  out["cpu_cores"] = e.cpu_cores;
  out["splleed_version"] = e.splleed_version;
  out["build_commit"] = e.build_commit;
  out["memory_total_bytes"] = nullable(e.memory_total_bytes);
  out["target_url"] = e.target_url;
  out["served_model"] = e.served_model;
  ordered_json engine;
  engine["engine"] = e.engine.engine;
  engine["version"] = e.engine.version;
  engine["served_model"] = e.engine.served_model;
  engine["max_model_len"] = nullable(e.engine.max_model_len);
  auto raw = ordered_json::parse(e.engine.raw_json, nullptr, /*allow_exceptions=*/false);
  engine["raw"] = raw.is_object() ? std::move(raw) : ordered_json::object();
  out["engine"] = std::move(engine);
  out["gpu_source"] = e.gpu_source;
  ordered_json gpus = ordered_json::array();
  for (const GpuInfo& g : e.gpus) {
    gpus.push_back({{"name", g.name},
                    {"uuid", g.uuid},
                    {"memory_total_bytes", nullable(g.memory_total_bytes)},
                    {"driver_version", g.driver_version}});
  }
  out["gpus"] = std::move(gpus);
  out["cuda_driver_version"] = e.cuda_driver_version;
  return out;
}

ordered_json launched_engine_json(const LaunchedEngine& l) {
  ordered_json out;
  out["engine"] = l.engine;
  out["argv"] = l.argv;
  out["base_url"] = l.base_url;
  out["log_path"] = l.log_path;
  out["exit_status"] = l.exit_status;
  out["exit_code"] = nullable(l.exit_code);
  out["exit_signal"] = nullable(l.exit_signal);
  out["killed_after_grace"] = l.killed_after_grace;
  out["exited_during_run"] = l.exited_during_run;
  return out;
}

ordered_json definitions_json() {
  ordered_json out;
  for (int i = 0; i < kMetricCount; ++i) {
    const auto m = static_cast<Metric>(i);
    out[std::string(to_string(m))] = definition(m);
  }
  for (const auto& [key, text] : general_definitions()) out[std::string(key)] = text;
  return out;
}

// JSON keys of MetricSummary::intervals, in kIntervalPercentiles order.
constexpr std::array<std::string_view, 5> kIntervalKeys = {"p50", "p90", "p95", "p99", "p999"};

ordered_json metric_json(const MetricSummary& s) {
  ordered_json out{{"count", s.count}, {"mean", s.mean}, {"std", s.std},   {"min", s.min},
                   {"p50", s.p50},     {"p90", s.p90},   {"p95", s.p95},   {"p99", s.p99},
                   {"p999", s.p999},   {"max", s.max}};
  ordered_json intervals;
  for (std::size_t i = 0; i < kIntervalKeys.size(); ++i) {
    const PercentileInterval& ci = s.intervals[i];
    intervals[std::string(kIntervalKeys[i])] = {
        {"lo", ci.supported ? ordered_json(ci.lo) : ordered_json(nullptr)},
        {"hi", ci.supported ? ordered_json(ci.hi) : ordered_json(nullptr)},
        {"min_samples", ci.min_samples}};
  }
  out["intervals"] = std::move(intervals);
  return out;
}

ordered_json estimate_json(const TrialEstimate& e) {
  return ordered_json{{"n", e.n},   {"mean", e.mean}, {"lo", e.lo},
                      {"hi", e.hi}, {"cv", e.cv},     {"has_interval", e.has_interval}};
}

ordered_json aggregate_json(const TrialAggregate& a) {
  ordered_json metrics;
  for (int i = 0; i < kMetricCount; ++i) {
    ordered_json m;
    for (std::size_t k = 0; k < TrialAggregate::kStats.size(); ++k)
      m[std::string(TrialAggregate::kStats[k])] =
          estimate_json(a.metrics[static_cast<std::size_t>(i)][k]);
    metrics[std::string(to_string(static_cast<Metric>(i)))] = std::move(m);
  }
  ordered_json out;
  out["label"] = a.label;
  out["trials"] = a.trials;
  out["confidence"] = a.confidence;
  out["metrics"] = std::move(metrics);
  out["throughput"] = {{"requests_per_s", estimate_json(a.request_throughput)},
                       {"output_tokens_per_s", estimate_json(a.output_token_throughput)},
                       {"total_tokens_per_s", estimate_json(a.total_token_throughput)}};
  out["goodput"] = a.goodput ? estimate_json(*a.goodput) : ordered_json(nullptr);
  out["good_fraction"] = a.good_fraction ? estimate_json(*a.good_fraction) : ordered_json(nullptr);
  return out;
}

ordered_json summary_json(const RunSummary& s, Nanos origin) {
  ordered_json metrics;
  for (int i = 0; i < kMetricCount; ++i) {
    const auto m = static_cast<Metric>(i);
    metrics[std::string(to_string(m))] = metric_json(s[m]);
  }
  ordered_json by_status;
  for (int i = 0; i < kRequestStatusCount; ++i)
    by_status[std::string(to_string(static_cast<RequestStatus>(i)))] =
        s.by_status[static_cast<std::size_t>(i)];

  ordered_json out;
  out["metrics"] = std::move(metrics);
  out["window"] = {{"start_ns", s.window_start - origin},
                   {"end_ns", s.window_end - origin},
                   {"seconds", s.window_s}};
  out["requests"] = {{"sent", s.requests_sent},
                     {"ok", s.requests_ok},
                     {"failed", s.requests_failed},
                     {"by_status", std::move(by_status)}};
  out["throughput"] = {{"requests_per_s", s.request_throughput},
                       {"output_tokens_per_s", s.output_token_throughput},
                       {"total_tokens_per_s", s.total_token_throughput}};
  out["tokens"] = {{"output", s.output_tokens},
                   {"prompt", s.prompt_tokens},
                   {"source", s.tokens_from_usage ? "usage" : "events"}};
  out["confidence"] = s.confidence;
  if (s.requests_good) {
    out["goodput"] = {{"requests_good", *s.requests_good},
                      {"requests_per_s", s.goodput.value_or(0)},
                      {"good_fraction", s.good_fraction.value_or(0)}};
  } else {
    out["goodput"] = nullptr;
  }
  return out;
}

// requested_rate is null when no rate was asked (closed loop); 0 is never a valid target, so the
// null reads back as 0 without loss.
ordered_json health_json(const ClientHealth& h) {
  ordered_json out;
  out["requested_rate"] =
      h.requested_rate != 0 ? ordered_json(h.requested_rate) : ordered_json(nullptr);
  out["delivered_rate"] = h.delivered_rate;
  out["schedule_lag"] = metric_json(h.schedule_lag);
  out["wakeup_delay"] = metric_json(h.wakeup_delay);
  out["worker_cpu"] = h.worker_cpu;
  out["client_limited"] = h.client_limited;
  out["verdict"] = h.verdict;
  return out;
}

ordered_json request_json(const RequestRecord& r, Nanos origin) {
  ordered_json out;
  out["index"] = r.index;
  out["prompt_index"] = r.prompt_index;
  // Absent unless known, like every later addition.
  if (r.client_prompt_tokens) out["client_prompt_tokens"] = *r.client_prompt_tokens;
  if (r.exact_output_tokens) out["exact_output_tokens"] = *r.exact_output_tokens;
  if (r.session) out["session"] = *r.session;
  if (r.turn) out["turn"] = *r.turn;
  out["warmup"] = r.warmup;
  out["ramp_up"] = r.ramp_up;
  out["request_id"] = r.request_id;
  out["response_id"] = r.response_id;
  out["status"] = to_string(r.status);
  out["http_status"] = r.http_status;
  out["error"] = r.error;
  out["finish_reason"] = r.finish_reason;
  out["scheduled_ns"] = relative(r.scheduled, origin);
  out["dispatched_ns"] = relative(r.dispatched, origin);
  out["headers_ns"] = relative(r.headers, origin);
  out["first_event_ns"] = relative(r.first_event, origin);
  out["first_token_ns"] = relative(r.first_token, origin);
  out["last_token_ns"] = relative(r.last_token, origin);
  out["end_ns"] = relative(r.end, origin);
  ordered_json events = ordered_json::array();
  for (const TokenEvent& e : r.tokens) events.push_back({e.received - origin, e.tokens});
  out["token_events"] = std::move(events);
  out["usage"] = {{"prompt_tokens", nullable(r.usage.prompt_tokens)},
                  {"completion_tokens", nullable(r.usage.completion_tokens)},
                  {"cached_tokens", nullable(r.usage.cached_tokens)},
                  {"reasoning_tokens", nullable(r.usage.reasoning_tokens)}};
  // Only the fields the server reported; the whole object is omitted when it reported none.
  if (!r.server_timings.empty()) {
    const ServerTimings& t = r.server_timings;
    ordered_json timings = ordered_json::object();
    auto put = [&timings](const char* key, const auto& v) {
      if (v) timings[key] = *v;
    };
    put("queue_ms", t.queue_ms);
    put("load_ms", t.load_ms);
    put("prompt_ms", t.prompt_ms);
    put("predicted_ms", t.predicted_ms);
    put("total_ms", t.total_ms);
    put("prompt_n", t.prompt_n);
    put("predicted_n", t.predicted_n);
    put("cache_n", t.cache_n);
    out["server_timings"] = std::move(timings);
    // Derived (from_json ignores it): client TTFT minus the server's queue + load + prompt time.
    if (const auto gap = metrics::ttft_outside_server(r)) out["ttft_outside_server_ms"] = *gap / 1e6;
  }
  out["events"] = r.events;
  out["output_bytes"] = r.output_bytes;
  out["output_tokens"] = r.output_tokens();  // derived; from_json ignores it
  // Derived (from_json ignores it): which of the server's counts disagree with the client's.
  if (auto disagree = metrics::token_count_disagreements(r); !disagree.empty())
    out["token_counts_disagree"] = std::move(disagree);
  if (r.engine) {  // present only when engine metrics were scraped
    const RequestEngineState& e = *r.engine;
    out["engine"] = {{"waiting_at_start", nullable(e.waiting_at_start)},
                     {"waiting_max", nullable(e.waiting_max)},
                     {"running_mean", nullable(e.running_mean)},
                     {"running_max", nullable(e.running_max)},
                     {"kv_usage_max", nullable(e.kv_usage_max)},
                     {"preemptions", nullable(e.preemptions)},
                     {"gpu_utilization_mean", nullable(e.gpu_utilization_mean)}};
  }
  return out;
}

ordered_json output_length_json(const OutputLengthCheck& c) {
  ordered_json examples = ordered_json::array();
  for (const OutputLengthExample& e : c.examples)
    examples.push_back({{"index", e.index}, {"requested", e.requested}, {"produced", e.produced}});
  return {{"checked", c.checked},
          {"exact", c.exact},
          {"shorter", c.shorter},
          {"longer", c.longer},
          {"examples", std::move(examples)}};
}

ordered_json by_turn_json(const std::vector<TurnSummary>& turns) {
  ordered_json out = ordered_json::array();
  for (const TurnSummary& t : turns)
    out.push_back({{"turn", t.turn},
                   {"requests", t.requests},
                   {"ttft", {{"mean", t.ttft_mean_ms},
                             {"p50", t.ttft_p50_ms},
                             {"p90", t.ttft_p90_ms},
                             {"p99", t.ttft_p99_ms}}},
                   {"input_tokens_mean", nullable(t.input_tokens_mean)}});
  return out;
}

ordered_json token_counts_json(const TokenCountCheck& c) {
  ordered_json examples = ordered_json::array();
  for (const TokenCountExample& e : c.examples)
    examples.push_back(
        {{"index", e.index}, {"kind", e.kind}, {"client", e.client}, {"server", e.server}});
  return {{"tpot_source", c.tpot_source},
          {"prompt", {{"compared", c.prompt_compared}, {"disagree", c.prompt_disagree}}},
          {"output", {{"compared", c.output_compared}, {"disagree", c.output_disagree}}},
          {"examples", std::move(examples)}};
}

ordered_json why_json(const std::vector<WhyFinding>& why) {
  ordered_json out = ordered_json::array();
  for (const WhyFinding& w : why)
    out.push_back({{"group", w.group}, {"requests", w.requests}, {"sentences", w.sentences}});
  return out;
}

ordered_json profile_json(const ProfileWindow& w, Nanos origin) {
  ordered_json out;
  out["start_requested_ns"] = relative(w.start_requested, origin);
  out["started_ns"] = relative(w.started, origin);
  out["stop_requested_ns"] = relative(w.stop_requested, origin);
  out["stopped_ns"] = relative(w.stopped, origin);
  out["trace_location"] = w.trace_location;
  out["requests_inside"] = w.requests_inside;
  out["error"] = w.error;
  return out;
}

ordered_json engine_run_json(const EngineRunSummary& e, Nanos origin) {
  ordered_json out;
  out["window_start_ns"] = e.window_start - origin;
  out["window_end_ns"] = e.window_end - origin;
  ordered_json signals = ordered_json::object();
  for (const auto& [name, v] : e.signals) signals[name] = v;
  out["signals"] = std::move(signals);
  ordered_json latencies = ordered_json::object();
  for (const EngineLatency& l : e.latencies)
    latencies[l.name] = {{"count", l.count}, {"mean_s", nullable(l.mean_s)},
                         {"p50_s", nullable(l.p50_s)}, {"p90_s", nullable(l.p90_s)},
                         {"p99_s", nullable(l.p99_s)}};
  out["latencies"] = std::move(latencies);
  out["ttft_gap_mean_ms"] = nullable(e.ttft_gap_mean_ms);
  return out;
}

ordered_json engine_json(const EngineObservation& e, Nanos origin) {
  ordered_json out;
  out["metrics_url"] = e.metrics_url;
  out["engine"] = e.engine;
  out["variant"] = e.variant;
  out["interval_s"] = e.interval_s;
  out["scrapes_ok"] = e.scrapes_ok;
  out["scrapes_failed"] = e.scrapes_failed;
  out["failures"] = e.failures;
  ordered_json timeline = ordered_json::object();
  for (const SignalSeries& s : e.timeline) {
    ordered_json points = ordered_json::array();
    for (const auto& [t, v] : s.points) points.push_back({t - origin, v});
    timeline[s.signal] = std::move(points);
  }
  out["timeline"] = std::move(timeline);
  out["unmapped"] = e.unmapped;
  out["gpu"] = e.gpu;
  return out;
}

ordered_json sweep_json(const SweepResult& s) {
  ordered_json out;
  out["synchronous_rate"] = s.synchronous_rate;
  out["max_rate"] = s.max_rate;
  out["max_concurrency"] = s.max_concurrency;
  out["rates"] = s.rates;
  return out;
}

// Infinite observations (a metric no request could show) are written as null.
ordered_json finite_or_null(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }

ordered_json search_json(const SloSearchResult& s) {
  ordered_json out;
  out["variable"] = s.variable;
  out["percentile"] = s.percentile;
  out["tolerance"] = s.tolerance;
  out["lower_bound"] = s.lower_bound;
  out["upper_bound"] = s.upper_bound;
  ordered_json probes = ordered_json::array();
  for (const SloProbe& p : s.probes) {
    ordered_json observed = ordered_json::array();
    for (double v : p.observed_ms) observed.push_back(finite_or_null(v));
    probes.push_back({{"label", p.label},
                      {"value", p.value},
                      {"passed", p.passed},
                      {"observed_ms", std::move(observed)},
                      {"failed_requests", p.failed_requests}});
  }
  out["probes"] = std::move(probes);
  out["answer"] = nullable(s.answer);
  out["verdict"] = s.verdict;
  return out;
}

ordered_json build(const BenchmarkResult& result) {
  const Nanos origin = result.clock.monotonic_origin_ns;
  ordered_json out;
  out["schema_version"] = BenchmarkResult::kSchemaVersion;
  out["splleed_version"] = result.environment.splleed_version;
  out["config"] = config_json(result.config);
  out["environment"] = environment_json(result.environment);
  out["clock"] = {{"monotonic_origin_ns", origin},
                  {"wall_start_unix_ns", result.clock.wall_start_unix_ns},
                  {"wall_start", result.clock.wall_start_iso}};
  out["interrupted"] = result.interrupted;
  out["stop_reason"] = result.stop_reason;
  out["definitions"] = definitions_json();
  ordered_json runs = ordered_json::array();
  for (const RunResult& run : result.runs) {
    ordered_json r;
    r["label"] = run.label;
    r["mode"] = to_string(run.mode);
    r["concurrency"] = run.concurrency;
    r["request_rate"] = nullable(run.request_rate);
    r["trial"] = run.trial;
    r["summary"] = summary_json(run.summary, origin);
    r["ramp_up"] = run.ramp_up ? summary_json(*run.ramp_up, origin) : ordered_json(nullptr);
    r["client_health"] = health_json(run.client_health);
    r["token_counts"] = token_counts_json(run.token_counts);
    // Present only for runs that have them.
    if (run.output_length) r["output_length"] = output_length_json(*run.output_length);
    if (!run.by_turn.empty()) r["by_turn"] = by_turn_json(run.by_turn);
    if (!run.why.empty()) r["why"] = why_json(run.why);
    if (run.engine) r["engine"] = engine_run_json(*run.engine, origin);
    if (run.profile) r["profile"] = profile_json(*run.profile, origin);
    ordered_json requests = ordered_json::array();
    for (const RequestRecord& rec : run.requests) requests.push_back(request_json(rec, origin));
    r["requests"] = std::move(requests);
    runs.push_back(std::move(r));
  }
  out["runs"] = std::move(runs);
  ordered_json aggregates = ordered_json::array();
  for (const TrialAggregate& a : result.aggregates) aggregates.push_back(aggregate_json(a));
  out["aggregates"] = std::move(aggregates);
  // Present only for the plans that produce them.
  if (result.sweep) out["sweep"] = sweep_json(*result.sweep);
  if (result.engine) out["engine"] = engine_json(*result.engine, origin);
  if (result.slo_search) out["slo_search"] = search_json(*result.slo_search);
  if (result.launched_engine) out["launched_engine"] = launched_engine_json(*result.launched_engine);
  return out;
}

// ---- reading -------------------------------------------------------------------------------
// Every accessor names the full path of the field it rejects, e.g. "runs[0].requests[3].status".

[[noreturn]] void fail(const std::string& path, std::string_view what) {
  throw std::runtime_error("results JSON: " + path + ": " + std::string(what));
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// A JSON object together with its path.
class Node {
 public:
  Node(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail(path_.empty() ? "document" : path_, "expected an object");
  }

  const std::string& path() const { return path_; }
  const json& value() const { return j_; }

  const json& field(std::string_view key) const {
    auto it = j_.find(key);
    if (it == j_.end()) fail(join(path_, key), "missing field");
    return *it;
  }
  bool has(std::string_view key) const { return j_.contains(key); }
  bool is_null(std::string_view key) const { return field(key).is_null(); }

  Node object(std::string_view key) const { return Node(field(key), join(path_, key)); }

  const json& array(std::string_view key) const {
    const json& v = field(key);
    if (!v.is_array()) fail(join(path_, key), "expected an array");
    return v;
  }

  std::string string(std::string_view key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(join(path_, key), "expected a string");
    return v.get<std::string>();
  }

  bool boolean(std::string_view key) const {
    const json& v = field(key);
    if (!v.is_boolean()) fail(join(path_, key), "expected true or false");
    return v.get<bool>();
  }

  double number(std::string_view key) const { return as_number(field(key), join(path_, key)); }

  template <class Int>
  Int integer(std::string_view key) const {
    return as_integer<Int>(field(key), join(path_, key));
  }

  template <class Int>
  std::optional<Int> optional_integer(std::string_view key) const {
    if (is_null(key)) return std::nullopt;
    return integer<Int>(key);
  }

  std::optional<double> optional_number(std::string_view key) const {
    if (is_null(key)) return std::nullopt;
    return number(key);
  }

  static double as_number(const json& v, const std::string& path) {
    if (!v.is_number()) fail(path, "expected a number");
    return v.get<double>();
  }

  template <class Int>
  static Int as_integer(const json& v, const std::string& path) {
    if (!v.is_number_integer()) fail(path, "expected an integer");
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
        fail(path, "integer out of range");
      return static_cast<Int>(u);
    }
    const auto s = v.get<std::int64_t>();
    if constexpr (std::is_unsigned_v<Int>) {
      if (s < 0) fail(path, "expected a non-negative integer");
      if (static_cast<std::uint64_t>(s) > std::numeric_limits<Int>::max())
        fail(path, "integer out of range");
    } else {
      if (s < std::numeric_limits<Int>::min() || s > std::numeric_limits<Int>::max())
        fail(path, "integer out of range");
    }
    return static_cast<Int>(s);
  }

 private:
  const json& j_;
  std::string path_;
};

// Milliseconds or seconds back to integer nanoseconds; rounding (not truncation) makes the
// Nanos -> double -> Nanos trip exact for any duration below ~26 days.
Nanos ns_from(double value, double ns_per_unit) {
  return static_cast<Nanos>(std::llround(value * ns_per_unit));
}

std::optional<Nanos> absolute(const Node& n, std::string_view key, Nanos origin) {
  auto rel = n.optional_integer<Nanos>(key);
  if (!rel) return std::nullopt;
  return *rel + origin;
}

LoadMode mode_from(const Node& n) {
  const std::string mode = n.string("mode");
  if (auto m = load_mode_from_string(mode)) return *m;
  fail(join(n.path(), "mode"), "unknown load mode '" + mode + "'");
}

RampConfig ramp_from(const Node& n) {
  RampConfig ramp;
  ramp.start_rate = n.number("start_rate");
  ramp.duration = ns_from(n.number("duration_s"), 1e9);
  const std::string shape = n.string("shape");
  for (auto s : {RampShape::linear, RampShape::exponential})
    if (shape == to_string(s)) {
      ramp.shape = s;
      return ramp;
    }
  fail(join(n.path(), "shape"), "unknown ramp shape '" + shape + "'");
}

RunConfig config_from(const Node& n) {
  RunConfig c;
  const Node target = n.object("target");
  c.target.base_url = target.string("base_url");
  const std::string api = target.string("api");
  auto parsed_api = api_from_string(api);
  if (!parsed_api)
    fail(join(target.path(), "api"),
         "unknown API '" + api + "' (expected one of " + api_names() + ")");
  c.target.api = *parsed_api;
  c.target.model = target.string("model");
  // Only the placeholder can be restored; it keeps the "a key was set" fact for re-serialization.
  if (target.has("api_key")) {
    if (!target.field("api_key").is_string())
      fail(join(target.path(), "api_key"), "expected a string");
    c.target.api_key = std::string(kRedacted);
  }
  c.target.insecure = target.boolean("insecure");
  c.target.connect_timeout = ns_from(target.number("connect_timeout_ms"), 1e6);
  c.target.read_timeout = ns_from(target.number("read_timeout_ms"), 1e6);

  const Node sampling = n.object("sampling");
  c.sampling.max_tokens = sampling.integer<std::int32_t>("max_tokens");
  c.sampling.temperature = sampling.optional_number("temperature");
  c.sampling.top_p = sampling.optional_number("top_p");
  c.sampling.ignore_eos = sampling.boolean("ignore_eos");
  c.sampling.min_tokens = sampling.optional_integer<std::int32_t>("min_tokens");
  const json& extra = sampling.field("extra_body");
  if (extra.is_object())
    c.sampling.extra_body = extra.dump();
  else if (extra.is_string())
    c.sampling.extra_body = extra.get<std::string>();
  else if (!extra.is_null())
    fail(join(sampling.path(), "extra_body"), "expected an object, a string or null");

  const Node load = n.object("load");
  c.load.mode = mode_from(load);
  c.load.concurrency.clear();
  const json& levels = load.array("concurrency");
  for (std::size_t i = 0; i < levels.size(); ++i)
    c.load.concurrency.push_back(
        Node::as_integer<std::int32_t>(levels[i], index_path(join(load.path(), "concurrency"), i)));
  c.load.num_requests = load.optional_integer<std::int64_t>("num_requests");
  if (auto s = load.optional_number("duration_s")) c.load.duration = ns_from(*s, 1e9);
  c.load.warmup = load.integer<std::int32_t>("warmup");
  if (load.has("warmup_duration_s"))
    if (auto s = load.optional_number("warmup_duration_s")) c.load.warmup_duration = ns_from(*s, 1e9);
  c.load.seed = load.integer<std::uint64_t>("seed");
  c.load.workers = load.integer<std::int32_t>("workers");
  if (load.has("busy_poll_us"))
    if (auto us = load.optional_number("busy_poll_us")) c.load.busy_poll = ns_from(*us, 1e3);
  const json& rates = load.array("request_rates");
  for (std::size_t i = 0; i < rates.size(); ++i)
    c.load.request_rates.push_back(
        Node::as_number(rates[i], index_path(join(load.path(), "request_rates"), i)));
  const std::string arrival = load.string("arrival");
  auto parsed_arrival = arrival_from_string(arrival);
  if (!parsed_arrival) fail(join(load.path(), "arrival"), "unknown arrival '" + arrival + "'");
  c.load.arrival = *parsed_arrival;
  c.load.burstiness = load.number("burstiness");
  c.load.max_concurrency = load.optional_integer<std::int32_t>("max_concurrency");
  if (!load.is_null("ramp")) c.load.ramp = ramp_from(load.object("ramp"));
  if (load.has("trace")) {
    const Node trace = load.object("trace");
    TraceReplay t;
    t.source = trace.string("source");
    t.time_scale = trace.number("time_scale");
    const json& times = trace.array("times_ms");
    for (std::size_t i = 0; i < times.size(); ++i)
      t.times.push_back(ns_from(Node::as_number(times[i], index_path(join(trace.path(), "times_ms"), i)), 1e6));
    c.load.trace = std::move(t);
  }

  const json& prompts = n.array("prompts");
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (!prompts[i].is_string())
      fail(index_path(join(n.path(), "prompts"), i), "expected a string");
    c.prompts.push_back(prompts[i].get<std::string>());
  }

  if (n.has("prompt_max_tokens")) {
    const json& lengths = n.array("prompt_max_tokens");
    for (std::size_t i = 0; i < lengths.size(); ++i)
      c.prompt_max_tokens.push_back(
          Node::as_integer<std::int32_t>(lengths[i], index_path(join(n.path(), "prompt_max_tokens"), i)));
  }

  // Absent unless the workload had them.
  if (n.has("prompt_messages")) {
    const std::string all_path = join(n.path(), "prompt_messages");
    const json& all = n.array("prompt_messages");
    for (std::size_t i = 0; i < all.size(); ++i) {
      const std::string list_path = index_path(all_path, i);
      if (!all[i].is_array()) fail(list_path, "expected an array of messages");
      std::vector<ChatMessage> list;
      for (std::size_t k = 0; k < all[i].size(); ++k) {
        const Node m(all[i][k], index_path(list_path, k));
        list.push_back({m.string("role"), m.string("content")});
      }
      c.prompt_messages.push_back(std::move(list));
    }
  }
  if (n.has("prompt_input_tokens")) {
    const json& counts = n.array("prompt_input_tokens");
    for (std::size_t i = 0; i < counts.size(); ++i)
      c.prompt_input_tokens.push_back(
          counts[i].is_null()
              ? -1
              : Node::as_integer<std::int64_t>(counts[i], index_path(join(n.path(), "prompt_input_tokens"), i)));
  }
  if (n.has("conversations")) {
    const std::string all_path = join(n.path(), "conversations");
    const json& all = n.array("conversations");
    for (std::size_t i = 0; i < all.size(); ++i) {
      const Node conv(all[i], index_path(all_path, i));
      ConversationPlan plan;
      plan.id = conv.integer<std::uint64_t>("id");
      const json& turns = conv.array("turns");
      for (std::size_t k = 0; k < turns.size(); ++k)
        plan.turns.push_back(
            Node::as_integer<std::uint32_t>(turns[k], index_path(join(conv.path(), "turns"), k)));
      plan.system_prompt = conv.string("system_prompt");
      c.conversations.push_back(std::move(plan));
    }
    if (n.has("think_time_s")) c.think_time = ns_from(n.number("think_time_s"), 1e9);
  }
  if (n.has("workload")) {
    const json& w = n.field("workload");
    if (!w.is_object()) fail(join(n.path(), "workload"), "expected an object");
    c.workload = w.dump();
  }

  // Absent in files written before statistics options existed: the defaults apply.
  if (n.has("stats")) {
    const Node stats = n.object("stats");
    c.stats.confidence = stats.number("confidence");
    c.stats.trials = stats.integer<std::int32_t>("trials");
    const json& slos = stats.array("slos");
    for (std::size_t i = 0; i < slos.size(); ++i) {
      const Node slo(slos[i], index_path(join(stats.path(), "slos"), i));
      c.stats.slos.push_back({slo.string("metric"), ns_from(slo.number("threshold_ms"), 1e6)});
    }
  }
  return c;
}

Environment environment_from(const Node& n) {
  Environment e;
  e.hostname = n.string("hostname");
  e.os = n.string("os");
  e.cpu_model = n.string("cpu_model");
  e.cpu_cores = n.integer<std::int32_t>("cpu_cores");
  e.splleed_version = n.string("splleed_version");
  e.build_commit = n.string("build_commit");
  e.target_url = n.string("target_url");
  e.served_model = n.string("served_model");
  // Absent in files written before engine and GPU capture: the defaults apply.
  if (n.has("memory_total_bytes")) e.memory_total_bytes = n.optional_integer<std::uint64_t>("memory_total_bytes");
  if (n.has("engine")) {
    const Node engine = n.object("engine");
    e.engine.engine = engine.string("engine");
    e.engine.version = engine.string("version");
    e.engine.served_model = engine.string("served_model");
    e.engine.max_model_len = engine.optional_integer<std::int64_t>("max_model_len");
    (void)engine.object("raw");  // checks that it is an object
    e.engine.raw_json = engine.field("raw").dump();
  }
  if (n.has("gpu_source")) e.gpu_source = n.string("gpu_source");
  if (n.has("gpus")) {
    const json& gpus = n.array("gpus");
    for (std::size_t i = 0; i < gpus.size(); ++i) {
      const Node g(gpus[i], index_path(join(n.path(), "gpus"), i));
      e.gpus.push_back({g.string("name"), g.string("uuid"),
                        g.optional_integer<std::uint64_t>("memory_total_bytes"),
                        g.string("driver_version")});
    }
  }
  if (n.has("cuda_driver_version")) e.cuda_driver_version = n.string("cuda_driver_version");
  return e;
}

MetricSummary metric_from(const Node& n) {
  MetricSummary s;
  s.count = n.integer<std::size_t>("count");
  s.mean = n.number("mean");
  s.std = n.number("std");
  s.min = n.number("min");
  s.p50 = n.number("p50");
  s.p90 = n.number("p90");
  s.p95 = n.number("p95");
  s.p99 = n.number("p99");
  s.p999 = n.number("p999");
  s.max = n.number("max");
  if (n.has("intervals")) {  // absent in older files
    const Node intervals = n.object("intervals");
    for (std::size_t i = 0; i < kIntervalKeys.size(); ++i) {
      const Node ci = intervals.object(kIntervalKeys[i]);
      PercentileInterval& out = s.intervals[i];
      const auto lo = ci.optional_number("lo");
      const auto hi = ci.optional_number("hi");
      if (lo.has_value() != hi.has_value())
        fail(join(ci.path(), "hi"), "lo and hi must be both numbers or both null");
      out.supported = lo.has_value();
      out.lo = lo.value_or(0);
      out.hi = hi.value_or(0);
      out.min_samples = ci.integer<std::int64_t>("min_samples");
    }
  }
  return s;
}

TrialEstimate estimate_from(const Node& n) {
  TrialEstimate e;
  e.n = n.integer<std::int32_t>("n");
  e.mean = n.number("mean");
  e.lo = n.number("lo");
  e.hi = n.number("hi");
  e.cv = n.number("cv");
  e.has_interval = n.boolean("has_interval");
  return e;
}

TrialAggregate aggregate_from(const Node& n) {
  TrialAggregate a;
  a.label = n.string("label");
  a.trials = n.integer<std::int32_t>("trials");
  a.confidence = n.number("confidence");
  const Node metrics = n.object("metrics");
  for (int i = 0; i < kMetricCount; ++i) {
    const Node m = metrics.object(to_string(static_cast<Metric>(i)));
    for (std::size_t k = 0; k < TrialAggregate::kStats.size(); ++k)
      a.metrics[static_cast<std::size_t>(i)][k] = estimate_from(m.object(TrialAggregate::kStats[k]));
  }
  const Node throughput = n.object("throughput");
  a.request_throughput = estimate_from(throughput.object("requests_per_s"));
  a.output_token_throughput = estimate_from(throughput.object("output_tokens_per_s"));
  a.total_token_throughput = estimate_from(throughput.object("total_tokens_per_s"));
  if (!n.is_null("goodput")) a.goodput = estimate_from(n.object("goodput"));
  if (!n.is_null("good_fraction")) a.good_fraction = estimate_from(n.object("good_fraction"));
  return a;
}

RunSummary summary_from(const Node& n, Nanos origin) {
  RunSummary s;
  const Node metrics = n.object("metrics");
  for (int i = 0; i < kMetricCount; ++i) {
    const auto m = static_cast<Metric>(i);
    s[m] = metric_from(metrics.object(to_string(m)));
  }
  const Node window = n.object("window");
  s.window_start = window.integer<Nanos>("start_ns") + origin;
  s.window_end = window.integer<Nanos>("end_ns") + origin;
  s.window_s = window.number("seconds");

  const Node requests = n.object("requests");
  s.requests_sent = requests.integer<std::int64_t>("sent");
  s.requests_ok = requests.integer<std::int64_t>("ok");
  s.requests_failed = requests.integer<std::int64_t>("failed");
  const Node by_status = requests.object("by_status");
  for (int i = 0; i < kRequestStatusCount; ++i)
    s.by_status[static_cast<std::size_t>(i)] =
        by_status.integer<std::int64_t>(to_string(static_cast<RequestStatus>(i)));

  const Node throughput = n.object("throughput");
  s.request_throughput = throughput.number("requests_per_s");
  s.output_token_throughput = throughput.number("output_tokens_per_s");
  s.total_token_throughput = throughput.number("total_tokens_per_s");

  const Node tokens = n.object("tokens");
  s.output_tokens = tokens.integer<std::int64_t>("output");
  s.prompt_tokens = tokens.integer<std::int64_t>("prompt");
  const std::string source = tokens.string("source");
  if (source == "usage")
    s.tokens_from_usage = true;
  else if (source == "events")
    s.tokens_from_usage = false;
  else
    fail(join(tokens.path(), "source"), "expected \"usage\" or \"events\", got '" + source + "'");

  // Absent in files written before intervals and goodput existed.
  if (n.has("confidence")) s.confidence = n.number("confidence");
  if (n.has("goodput") && !n.is_null("goodput")) {
    const Node goodput = n.object("goodput");
    s.requests_good = goodput.integer<std::int64_t>("requests_good");
    s.goodput = goodput.number("requests_per_s");
    s.good_fraction = goodput.number("good_fraction");
  }
  return s;
}

ClientHealth health_from(const Node& n) {
  ClientHealth h;
  h.requested_rate = n.optional_number("requested_rate").value_or(0);
  h.delivered_rate = n.number("delivered_rate");
  h.schedule_lag = metric_from(n.object("schedule_lag"));
  h.wakeup_delay = metric_from(n.object("wakeup_delay"));
  const json& cpu = n.array("worker_cpu");
  h.worker_cpu.reserve(cpu.size());
  for (std::size_t i = 0; i < cpu.size(); ++i)
    h.worker_cpu.push_back(Node::as_number(cpu[i], index_path(join(n.path(), "worker_cpu"), i)));
  h.client_limited = n.boolean("client_limited");
  h.verdict = n.string("verdict");
  return h;
}

RequestRecord request_from(const Node& n, Nanos origin) {
  RequestRecord r;
  r.index = n.integer<std::uint64_t>("index");
  r.prompt_index = n.integer<std::uint32_t>("prompt_index");
  if (n.has("client_prompt_tokens"))
    r.client_prompt_tokens = n.optional_integer<std::int64_t>("client_prompt_tokens");
  if (n.has("exact_output_tokens"))
    r.exact_output_tokens = n.optional_integer<std::int32_t>("exact_output_tokens");
  if (n.has("session")) r.session = n.optional_integer<std::uint64_t>("session");
  if (n.has("turn")) r.turn = n.optional_integer<std::int32_t>("turn");
  r.warmup = n.boolean("warmup");
  r.ramp_up = n.boolean("ramp_up");
  r.request_id = n.string("request_id");
  r.response_id = n.string("response_id");
  const std::string status = n.string("status");
  auto parsed = request_status_from_string(status);
  if (!parsed) fail(join(n.path(), "status"), "unknown request status '" + status + "'");
  r.status = *parsed;
  r.http_status = n.integer<int>("http_status");
  r.error = n.string("error");
  r.finish_reason = n.string("finish_reason");
  r.scheduled = absolute(n, "scheduled_ns", origin);
  r.dispatched = absolute(n, "dispatched_ns", origin);
  r.headers = absolute(n, "headers_ns", origin);
  r.first_event = absolute(n, "first_event_ns", origin);
  r.first_token = absolute(n, "first_token_ns", origin);
  r.last_token = absolute(n, "last_token_ns", origin);
  r.end = absolute(n, "end_ns", origin);

  const std::string events_path = join(n.path(), "token_events");
  const json& events = n.array("token_events");
  r.tokens.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string p = index_path(events_path, i);
    const json& e = events[i];
    if (!e.is_array() || e.size() != 2) fail(p, "expected [received_ns, tokens]");
    r.tokens.push_back({Node::as_integer<Nanos>(e[0], p + "[0]") + origin,
                        Node::as_integer<std::uint32_t>(e[1], p + "[1]")});
  }

  const Node usage = n.object("usage");
  r.usage.prompt_tokens = usage.optional_integer<std::int64_t>("prompt_tokens");
  r.usage.completion_tokens = usage.optional_integer<std::int64_t>("completion_tokens");
  r.usage.cached_tokens = usage.optional_integer<std::int64_t>("cached_tokens");
  r.usage.reasoning_tokens = usage.optional_integer<std::int64_t>("reasoning_tokens");
  if (n.has("server_timings")) {
    // Each field is written only when reported: absent and null both mean not reported.
    const Node t = n.object("server_timings");
    auto ms = [&t](std::string_view key) {
      return t.has(key) ? t.optional_number(key) : std::nullopt;
    };
    auto count = [&t](std::string_view key) {
      return t.has(key) ? t.optional_integer<std::int64_t>(key) : std::nullopt;
    };
    ServerTimings& st = r.server_timings;
    st.queue_ms = ms("queue_ms");
    st.load_ms = ms("load_ms");
    st.prompt_ms = ms("prompt_ms");
    st.predicted_ms = ms("predicted_ms");
    st.total_ms = ms("total_ms");
    st.prompt_n = count("prompt_n");
    st.predicted_n = count("predicted_n");
    st.cache_n = count("cache_n");
  }
  r.events = n.integer<std::uint32_t>("events");
  r.output_bytes = n.integer<std::uint64_t>("output_bytes");
  if (n.has("engine")) {
    const Node e = n.object("engine");
    RequestEngineState s;
    s.waiting_at_start = e.optional_number("waiting_at_start");
    s.waiting_max = e.optional_number("waiting_max");
    s.running_mean = e.optional_number("running_mean");
    s.running_max = e.optional_number("running_max");
    s.kv_usage_max = e.optional_number("kv_usage_max");
    s.preemptions = e.optional_number("preemptions");
    s.gpu_utilization_mean = e.optional_number("gpu_utilization_mean");
    r.engine = s;
  }
  return r;
}

OutputLengthCheck output_length_from(const Node& n) {
  OutputLengthCheck c;
  c.checked = n.integer<std::int64_t>("checked");
  c.exact = n.integer<std::int64_t>("exact");
  c.shorter = n.integer<std::int64_t>("shorter");
  c.longer = n.integer<std::int64_t>("longer");
  const json& examples = n.array("examples");
  for (std::size_t k = 0; k < examples.size(); ++k) {
    const Node e(examples[k], index_path(join(n.path(), "examples"), k));
    c.examples.push_back({e.integer<std::uint64_t>("index"), e.integer<std::int32_t>("requested"),
                          e.integer<std::int64_t>("produced")});
  }
  return c;
}

TurnSummary turn_from(const Node& n) {
  TurnSummary t;
  t.turn = n.integer<std::int32_t>("turn");
  t.requests = n.integer<std::int64_t>("requests");
  const Node ttft = n.object("ttft");
  t.ttft_mean_ms = ttft.number("mean");
  t.ttft_p50_ms = ttft.number("p50");
  t.ttft_p90_ms = ttft.number("p90");
  t.ttft_p99_ms = ttft.number("p99");
  t.input_tokens_mean = n.optional_number("input_tokens_mean");
  return t;
}

TokenCountCheck token_counts_from(const Node& n) {
  TokenCountCheck c;
  c.tpot_source = n.string("tpot_source");
  if (c.tpot_source != "usage" && c.tpot_source != "events" && c.tpot_source != "mixed" &&
      c.tpot_source != "none")
    fail(join(n.path(), "tpot_source"),
         "expected \"usage\", \"events\", \"mixed\" or \"none\", got '" + c.tpot_source + "'");
  const Node prompt = n.object("prompt");
  c.prompt_compared = prompt.integer<std::int64_t>("compared");
  c.prompt_disagree = prompt.integer<std::int64_t>("disagree");
  const Node output = n.object("output");
  c.output_compared = output.integer<std::int64_t>("compared");
  c.output_disagree = output.integer<std::int64_t>("disagree");
  const json& examples = n.array("examples");
  for (std::size_t k = 0; k < examples.size(); ++k) {
    const Node e(examples[k], index_path(join(n.path(), "examples"), k));
    const std::string kind = e.string("kind");
    if (kind != "prompt" && kind != "output")
      fail(join(e.path(), "kind"), "expected \"prompt\" or \"output\", got '" + kind + "'");
    c.examples.push_back({e.integer<std::uint64_t>("index"), kind, e.integer<std::int64_t>("client"),
                          e.integer<std::int64_t>("server")});
  }
  return c;
}

std::vector<std::string> strings_from(const Node& n, std::string_view key) {
  std::vector<std::string> out;
  const json& a = n.array(key);
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) fail(index_path(join(n.path(), key), i), "expected a string");
    out.push_back(a[i].get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const BenchmarkResult& result) { return json(build(result)); }

nlohmann::json request_to_json(const RequestRecord& record, Nanos origin) {
  return json(request_json(record, origin));
}

void write_json(const BenchmarkResult& result, std::ostream& out) {
  // One line (token event arrays make indented files several times larger); `jq .` reads it.
  // Invalid UTF-8 (e.g. a truncated error body) is replaced rather than aborting the write.
  out << build(result).dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace)
      << '\n';
}

BenchmarkResult from_json(const nlohmann::json& j) {
  const Node root(j, "");
  const auto version = root.integer<int>("schema_version");
  if (version != BenchmarkResult::kSchemaVersion)
    fail("schema_version", "unsupported version " + std::to_string(version) +
                               " (this splleed reads " +
                               std::to_string(BenchmarkResult::kSchemaVersion) + ")");

  BenchmarkResult r;
  r.config = config_from(root.object("config"));
  r.environment = environment_from(root.object("environment"));
  const Node clock = root.object("clock");
  r.clock.monotonic_origin_ns = clock.integer<Nanos>("monotonic_origin_ns");
  r.clock.wall_start_unix_ns = clock.integer<std::int64_t>("wall_start_unix_ns");
  r.clock.wall_start_iso = clock.string("wall_start");
  r.interrupted = root.boolean("interrupted");
  r.stop_reason = root.string("stop_reason");
  const Nanos origin = r.clock.monotonic_origin_ns;

  const json& runs = root.array("runs");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const Node n(runs[i], index_path("runs", i));
    RunResult run;
    run.label = n.string("label");
    run.mode = mode_from(n);
    run.concurrency = n.integer<std::int32_t>("concurrency");
    run.request_rate = n.optional_number("request_rate");
    run.trial = n.integer<std::int32_t>("trial");
    run.summary = summary_from(n.object("summary"), origin);
    if (!n.is_null("ramp_up")) run.ramp_up = summary_from(n.object("ramp_up"), origin);
    // Absent in files written before client health was recorded: the defaults apply.
    if (n.has("client_health")) run.client_health = health_from(n.object("client_health"));
    // Absent in files written before the checks existed (and, for the last two, in runs without
    // exact output lengths or turns).
    if (n.has("token_counts")) run.token_counts = token_counts_from(n.object("token_counts"));
    if (n.has("output_length") && !n.is_null("output_length"))
      run.output_length = output_length_from(n.object("output_length"));
    if (n.has("by_turn")) {
      const json& turns = n.array("by_turn");
      for (std::size_t k = 0; k < turns.size(); ++k)
        run.by_turn.push_back(turn_from(Node(turns[k], index_path(join(n.path(), "by_turn"), k))));
    }
    if (n.has("why")) {
      const json& why = n.array("why");
      for (std::size_t k = 0; k < why.size(); ++k) {
        const Node w(why[k], index_path(join(n.path(), "why"), k));
        run.why.push_back({w.string("group"), w.integer<std::int64_t>("requests"),
                           strings_from(w, "sentences")});
      }
    }
    if (n.has("profile")) {
      const Node p = n.object("profile");
      ProfileWindow w;
      w.start_requested = absolute(p, "start_requested_ns", origin);
      w.started = absolute(p, "started_ns", origin);
      w.stop_requested = absolute(p, "stop_requested_ns", origin);
      w.stopped = absolute(p, "stopped_ns", origin);
      w.trace_location = p.string("trace_location");
      w.requests_inside = p.integer<std::int64_t>("requests_inside");
      w.error = p.string("error");
      run.profile = std::move(w);
    }
    if (n.has("engine")) {
      const Node e = n.object("engine");
      EngineRunSummary es;
      es.window_start = e.integer<Nanos>("window_start_ns") + origin;
      es.window_end = e.integer<Nanos>("window_end_ns") + origin;
      const Node signals = e.object("signals");
      for (const auto& [name, v] : signals.value().items()) {
        if (!v.is_number()) fail(join(signals.path(), name), "expected a number");
        es.signals.emplace_back(name, v.get<double>());
      }
      const Node latencies = e.object("latencies");
      for (const auto& [name, v] : latencies.value().items()) {
        const Node l(v, join(latencies.path(), name));
        es.latencies.push_back({name, l.number("count"), l.optional_number("mean_s"),
                                l.optional_number("p50_s"), l.optional_number("p90_s"),
                                l.optional_number("p99_s")});
      }
      es.ttft_gap_mean_ms = e.optional_number("ttft_gap_mean_ms");
      run.engine = std::move(es);
    }
    const json& requests = n.array("requests");
    run.requests.reserve(requests.size());
    for (std::size_t k = 0; k < requests.size(); ++k)
      run.requests.push_back(
          request_from(Node(requests[k], index_path(join(n.path(), "requests"), k)), origin));
    r.runs.push_back(std::move(run));
  }
  if (root.has("aggregates")) {
    const json& aggregates = root.array("aggregates");
    for (std::size_t i = 0; i < aggregates.size(); ++i)
      r.aggregates.push_back(aggregate_from(Node(aggregates[i], index_path("aggregates", i))));
  }
  if (root.has("engine")) {
    const Node e = root.object("engine");
    EngineObservation obs;
    obs.metrics_url = e.string("metrics_url");
    obs.engine = e.string("engine");
    obs.variant = e.string("variant");
    obs.interval_s = e.number("interval_s");
    obs.scrapes_ok = e.integer<std::int64_t>("scrapes_ok");
    obs.scrapes_failed = e.integer<std::int64_t>("scrapes_failed");
    obs.failures = strings_from(e, "failures");
    const json& timeline = e.field("timeline");
    if (!timeline.is_object()) fail(join(e.path(), "timeline"), "expected an object");
    for (auto it = timeline.begin(); it != timeline.end(); ++it) {
      SignalSeries s;
      s.signal = it.key();
      const std::string path = join(join(e.path(), "timeline"), it.key());
      if (!it.value().is_array()) fail(path, "expected an array");
      for (std::size_t k = 0; k < it.value().size(); ++k) {
        const json& p = it.value()[k];
        if (!p.is_array() || p.size() != 2) fail(index_path(path, k), "expected [t_ns, value]");
        s.points.emplace_back(origin + Node::as_integer<Nanos>(p[0], index_path(path, k)),
                              Node::as_number(p[1], index_path(path, k)));
      }
      obs.timeline.push_back(std::move(s));
    }
    obs.unmapped = strings_from(e, "unmapped");
    obs.gpu = e.string("gpu");
    r.engine = std::move(obs);
  }
  if (root.has("sweep")) {
    const Node s = root.object("sweep");
    SweepResult sweep;
    sweep.synchronous_rate = s.number("synchronous_rate");
    sweep.max_rate = s.number("max_rate");
    sweep.max_concurrency = s.integer<std::int32_t>("max_concurrency");
    const json& rates = s.array("rates");
    for (std::size_t i = 0; i < rates.size(); ++i)
      sweep.rates.push_back(Node::as_number(rates[i], index_path("sweep.rates", i)));
    r.sweep = std::move(sweep);
  }
  if (root.has("slo_search")) {
    const Node s = root.object("slo_search");
    SloSearchResult search;
    search.variable = s.string("variable");
    search.percentile = s.number("percentile");
    search.tolerance = s.number("tolerance");
    search.lower_bound = s.number("lower_bound");
    search.upper_bound = s.number("upper_bound");
    const json& probes = s.array("probes");
    for (std::size_t i = 0; i < probes.size(); ++i) {
      const Node p(probes[i], index_path("slo_search.probes", i));
      SloProbe probe;
      probe.label = p.string("label");
      probe.value = p.number("value");
      probe.passed = p.boolean("passed");
      const json& observed = p.array("observed_ms");
      for (std::size_t k = 0; k < observed.size(); ++k)
        probe.observed_ms.push_back(observed[k].is_null()
                                        ? std::numeric_limits<double>::infinity()
                                        : Node::as_number(observed[k], index_path(join(p.path(), "observed_ms"), k)));
      probe.failed_requests = p.integer<std::int64_t>("failed_requests");
      search.probes.push_back(std::move(probe));
    }
    search.answer = s.optional_number("answer");
    search.verdict = s.string("verdict");
    r.slo_search = std::move(search);
  }
  if (root.has("launched_engine")) {
    const Node l = root.object("launched_engine");
    LaunchedEngine launched;
    launched.engine = l.string("engine");
    launched.argv = strings_from(l, "argv");
    launched.base_url = l.string("base_url");
    launched.log_path = l.string("log_path");
    launched.exit_status = l.string("exit_status");
    launched.exit_code = l.optional_integer<std::int32_t>("exit_code");
    launched.exit_signal = l.optional_integer<std::int32_t>("exit_signal");
    launched.killed_after_grace = l.boolean("killed_after_grace");
    launched.exited_during_run = l.boolean("exited_during_run");
    r.launched_engine = std::move(launched);
  }
  return r;
}

}  // namespace splleed::report
