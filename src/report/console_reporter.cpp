// Human-readable summary: one heading, table and footer per run.
#include <algorithm>
#include <array>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/reporters.hpp"

namespace splleed::report {

namespace {

// Console rows, in order. Stream end is left to the files: it differs from E2E only by the
// trailing usage/[DONE] events.
constexpr std::array kConsoleMetrics = {
    Metric::ttft, Metric::ttft_from_schedule, Metric::schedule_lag, Metric::ttst,
    Metric::itl,  Metric::icl,                Metric::tpot,         Metric::e2e,
    Metric::e2e_from_schedule, Metric::worst_stall,
};

constexpr std::size_t kColumns = 7;
using Row = std::array<std::string, kColumns>;

std::string ms(double v) { return fmt::format("{:.2f}", v); }

// Cells are formatted first and the widths taken from the widest cell, so that columns stay
// aligned whatever the magnitudes.
void write_table(const std::vector<Row>& rows, std::ostream& out) {
  std::array<std::size_t, kColumns> width{};
  for (const Row& row : rows)
    for (std::size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], row[c].size());
  for (const Row& row : rows) {
    std::string line = fmt::format("  {:<{}}", row[0], width[0]);
    for (std::size_t c = 1; c < kColumns; ++c) line += fmt::format("  {:>{}}", row[c], width[c]);
    out << line << '\n';
  }
}

std::string failures(const RunSummary& s) {
  std::string text;
  for (int i = 0; i < kRequestStatusCount; ++i) {
    const auto status = static_cast<RequestStatus>(i);
    const auto n = s.by_status[static_cast<std::size_t>(i)];
    if (status == RequestStatus::ok || n == 0) continue;
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", n, to_string(status));
  }
  return text.empty() ? "none" : text;
}

// "p99 0.12 ms" of a health summary; "n/a" without samples.
std::string p99(const MetricSummary& v) {
  return v.count == 0 ? std::string("n/a") : fmt::format("p99 {:.2f} ms", v.p99);
}

// One line on whether the client kept up; the verdict, when there is one, heads the run instead.
std::string health_line(const ClientHealth& h, bool open_loop) {
  std::string text;
  if (open_loop && h.requested_rate > 0)
    text = fmt::format("delivered {:.1f} of {:.1f} req/s, ", h.delivered_rate, h.requested_rate);
  text += fmt::format("schedule lag {}, loop wake-up {}, worker CPU", p99(h.schedule_lag),
                      p99(h.wakeup_delay));
  if (h.worker_cpu.empty()) text += " n/a";
  for (double cpu : h.worker_cpu) text += fmt::format(" {:.0f}%", cpu * 100.0);
  return fmt::format("  {:<26}{}\n", "client:", text);
}

// The table and footer lines of one summary; `health` is given for the steady state only.
void write_summary(const RunSummary& s, const std::string& health, std::ostream& out) {
  std::vector<Row> rows;
  rows.push_back({"(ms)", "count", "mean", "p50", "p90", "p99", "max"});
  for (Metric m : kConsoleMetrics) {
    const MetricSummary& v = s[m];
    // TTFT is always shown: its absence (no request produced a token) is itself the news.
    if (v.count == 0 && m != Metric::ttft) continue;
    rows.push_back({std::string(display_name(m)), std::to_string(v.count), ms(v.mean), ms(v.p50),
                    ms(v.p90), ms(v.p99), ms(v.max)});
  }
  write_table(rows, out);

  out << fmt::format("  {:<26}{:.2f} req/s\n", "request throughput:", s.request_throughput);
  out << fmt::format("  {:<26}{:.2f} tok/s\n", "output token throughput:",
                     s.output_token_throughput);
  out << fmt::format("  {:<26}{:.2f} tok/s\n", "total token throughput:", s.total_token_throughput);
  if (s.goodput) {
    out << fmt::format("  {:<26}{:.2f} req/s\n", "goodput:", *s.goodput);
    out << fmt::format("  {:<26}{:.1f}% ({} of {} sent met every SLO)\n", "good fraction:",
                       s.good_fraction.value_or(0) * 100.0, s.requests_good.value_or(0),
                       s.requests_sent);
  }
  out << health;
  out << fmt::format("  {:<26}{}\n", "token counts from:",
                     s.tokens_from_usage ? "usage" : "counted events");
  out << fmt::format("  {:<26}{}\n", "failures:", failures(s));
}

std::string counts(const RunSummary& s) {
  return fmt::format("{}/{} requests ok, window {:.3f} s", s.requests_ok, s.requests_sent,
                     s.window_s);
}

// One line when requests that asked for an exact output length produced another.
void write_output_length(const OutputLengthCheck& c, std::ostream& out) {
  const auto example = [&c](bool shorter) {
    for (const OutputLengthExample& e : c.examples)
      if ((e.produced < e.requested) == shorter)
        return fmt::format("; e.g. request {}: {} of {}", e.index, e.produced, e.requested);
    return std::string();
  };
  if (c.shorter > 0)
    out << fmt::format("  ! {} of {} requests produced fewer tokens than asked{} (stopped early "
                       "despite the exact length asked: a stop string, the context window, or an "
                       "engine that ignores ignore_eos/min_tokens)\n",
                       c.shorter, c.checked, example(true));
  if (c.longer > 0)
    out << fmt::format("  ! {} of {} requests produced more tokens than asked{}\n", c.longer,
                       c.checked, example(false));
}

// One line when the server's token counts and the client's disagree.
void write_token_counts(const TokenCountCheck& c, std::ostream& out) {
  if (c.prompt_disagree == 0 && c.output_disagree == 0) return;
  std::string parts;
  if (c.prompt_disagree > 0)
    parts = fmt::format("prompt in {} of {} (client tokenizer vs usage.prompt_tokens)",
                        c.prompt_disagree, c.prompt_compared);
  if (c.output_disagree > 0)
    parts += fmt::format("{}output in {} of {} (counted events vs usage.completion_tokens)",
                         parts.empty() ? "" : ", ", c.output_disagree, c.output_compared);
  const char* source = c.tpot_source == "usage"    ? "server usage"
                       : c.tpot_source == "events" ? "counted events"
                                                   : "server usage where reported, else counted events";
  out << fmt::format("  ! server and client token counts disagree: {}; TPOT and throughput use {}\n",
                     parts, source);
}

// TTFT per turn index of multi-turn sessions.
void write_by_turn(const std::vector<TurnSummary>& turns, std::ostream& out) {
  std::vector<Row> rows;
  rows.push_back({"TTFT by turn (ms)", "count", "mean", "p50", "p90", "p99", "input tok"});
  for (const TurnSummary& t : turns)
    rows.push_back({fmt::format("turn {}", t.turn), std::to_string(t.requests), ms(t.ttft_mean_ms),
                    ms(t.ttft_p50_ms), ms(t.ttft_p90_ms), ms(t.ttft_p99_ms),
                    t.input_tokens_mean ? fmt::format("{:.1f}", *t.input_tokens_mean) : "-"});
  write_table(rows, out);
}

void write_run(const RunResult& run, bool show_trial, std::ostream& out) {
  const std::string name =
      show_trial ? fmt::format("{} (trial {})", run.label, run.trial) : run.label;
  out << fmt::format("{}: {}\n", name, counts(run.summary));
  // Above the table, so that nobody reads the figures without the warning.
  if (run.client_health.client_limited || !run.client_health.verdict.empty()) {
    const std::string& verdict = run.client_health.verdict;
    out << "  ! " << (verdict.empty() ? "The client may have limited these results." : verdict)
        << '\n';
  }
  write_summary(run.summary, health_line(run.client_health, run.mode == LoadMode::rate), out);
  if (run.output_length) write_output_length(*run.output_length, out);
  write_token_counts(run.token_counts, out);
  if (run.by_turn.size() > 1) write_by_turn(run.by_turn, out);
  if (run.ramp_up) {
    out << fmt::format("\n{} ramp-up (not in the figures above): {}\n", name,
                       counts(*run.ramp_up));
    write_summary(*run.ramp_up, std::string(), out);
  }
  // The engine's own latency histograms over the run, beside the client's figures above.
  if (run.engine && !run.engine->latencies.empty()) {
    out << "  engine's own view (histogram deltas):";
    for (const EngineLatency& l : run.engine->latencies) {
      if (!l.p50_s || !l.p99_s) continue;
      out << fmt::format(" {} p50 {:.2f} / p99 {:.2f} ms (n={:g});", l.name, *l.p50_s * 1e3,
                         *l.p99_s * 1e3, l.count);
    }
    out << '\n';
    if (run.engine->ttft_gap_mean_ms)
      out << fmt::format("  client TTFT mean minus the engine's: {:+.2f} ms (network, HTTP, "
                         "queueing outside the engine's timer)\n",
                         *run.engine->ttft_gap_mean_ms);
  }
  // Why the slowest requests were slow, from the engine's own metrics.
  for (const WhyFinding& w : run.why) {
    out << fmt::format("  why, {} ({}):\n", w.group, w.requests);
    for (const std::string& s : w.sentences) out << "    " << s << '\n';
  }
  if (run.profile) {
    const ProfileWindow& p = *run.profile;
    if (p.started && p.stopped) {
      out << fmt::format("  engine profile: {:.1f} s, {} measured requests sent inside; trace: {}\n",
                         static_cast<double>(*p.stopped - *p.started) / 1e9, p.requests_inside,
                         p.trace_location);
    } else {
      out << "  engine profile: failed: " << p.error << '\n';
    }
  }
}

void write_engine(const EngineObservation& e, std::ostream& out) {
  out << fmt::format("\nEngine metrics: {} ({}{}), {} scrapes every {:g} s", e.metrics_url,
                     e.engine, e.variant.empty() ? "" : " " + e.variant, e.scrapes_ok, e.interval_s);
  if (e.scrapes_failed > 0) out << fmt::format(", {} failed", e.scrapes_failed);
  out << '\n';
  if (e.scrapes_ok == 0 && !e.failures.empty())
    out << "  not available: " << e.failures.front() << '\n';
  if (!e.gpu.empty()) out << "  GPU telemetry: absent (" << e.gpu << ")\n";
}

// "mean +/-half-width" of a cross-trial estimate; the mean alone when it has no interval.
std::string estimate(const TrialEstimate& e) {
  return e.has_interval ? fmt::format("{:.2f} +/-{:.2f}", e.mean, (e.hi - e.lo) / 2.0)
                        : fmt::format("{:.2f}", e.mean);
}

void write_aggregate(const TrialAggregate& a, std::ostream& out) {
  out << fmt::format("{}: {} trials, mean over trials +/- {:g}% Student-t half-width\n", a.label,
                     a.trials, a.confidence * 100.0);
  std::vector<Row> rows;
  rows.push_back({"(ms)", "trials", "mean", "p50", "p90", "p99", "cv p99"});
  for (Metric m : kConsoleMetrics) {
    const auto& v = a.metrics[static_cast<std::size_t>(m)];
    // kStats order: mean, p50, p90, p95, p99, p999.
    if (v[0].n == 0 && m != Metric::ttft) continue;
    rows.push_back({std::string(display_name(m)), std::to_string(v[0].n), estimate(v[0]),
                    estimate(v[1]), estimate(v[2]), estimate(v[4]),
                    fmt::format("{:.1f}%", v[4].cv * 100.0)});
  }
  write_table(rows, out);
  auto line = [&out](std::string_view name, const TrialEstimate& e, std::string_view unit) {
    out << fmt::format("  {:<26}{} {} (cv {:.1f}%)\n", name, estimate(e), unit, e.cv * 100.0);
  };
  line("request throughput:", a.request_throughput, "req/s");
  line("output token throughput:", a.output_token_throughput, "tok/s");
  line("total token throughput:", a.total_token_throughput, "tok/s");
  if (a.goodput) line("goodput:", *a.goodput, "req/s");
}

}  // namespace

// The throughput-latency table of a sweep or search: one row per run.
void write_load_table(const BenchmarkResult& result, std::ostream& out) {
  std::vector<std::array<std::string, 8>> rows;
  rows.push_back({"Run", "Req/s", "Out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99",
                  "E2E p99"});
  for (const RunResult& r : result.runs) {
    const RunSummary& s = r.summary;
    rows.push_back({r.label, fmt::format("{:.2f}", s.request_throughput),
                    fmt::format("{:.1f}", s.output_token_throughput), ms(s[Metric::ttft].p50),
                    ms(s[Metric::ttft].p99), ms(s[Metric::tpot].p50), ms(s[Metric::tpot].p99),
                    ms(s[Metric::e2e].p99)});
  }
  std::array<std::size_t, 8> width{};
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  for (const auto& row : rows) {
    std::string line = fmt::format("  {:<{}}", row[0], width[0]);
    for (std::size_t c = 1; c < row.size(); ++c) line += fmt::format("  {:>{}}", row[c], width[c]);
    out << line << '\n';
  }
}

void write_plans(const BenchmarkResult& result, std::ostream& out) {
  if (result.sweep) {
    const SweepResult& s = *result.sweep;
    out << fmt::format(
        "\nSweep: synchronous {:.2f} req/s, maximum {:.2f} req/s ({} in flight), {} rates between "
        "(latencies in ms)\n",
        s.synchronous_rate, s.max_rate, s.max_concurrency, s.rates.size());
    write_load_table(result, out);
  }
  if (result.slo_search) {
    const SloSearchResult& s = *result.slo_search;
    const bool rate = s.variable == "request_rate";
    out << fmt::format("\nSLO search over {} in [{:.4g}, {:.4g}], p{:g} of each SLO metric\n",
                       rate ? "request rate" : "concurrency", s.lower_bound, s.upper_bound,
                       s.percentile);
    for (const SloProbe& p : s.probes) {
      std::string observed;
      for (std::size_t i = 0; i < p.observed_ms.size(); ++i) {
        const std::string metric = i < result.config.stats.slos.size()
                                       ? result.config.stats.slos[i].metric
                                       : std::string("slo");
        observed += fmt::format("{}{} {}", i ? ", " : "", metric,
                                std::isfinite(p.observed_ms[i])
                                    ? fmt::format("{:.2f} ms", p.observed_ms[i])
                                    : std::string("n/a"));
      }
      out << fmt::format("  {:<6} {:>10.4g}{}  {}{}\n", p.passed ? "pass" : "FAIL", p.value,
                         rate ? " req/s" : "", observed,
                         p.failed_requests ? fmt::format(", {} failed", p.failed_requests) : "");
    }
    out << "  " << s.verdict << '\n';
  }
}

namespace {

// Where the run ran: the engine, the GPUs ("none" when there are none), the host, and the command
// line of an engine splleed started.
void write_environment(const BenchmarkResult& result, std::ostream& out) {
  const Environment& e = result.environment;
  out << "\nEnvironment\n";
  const EngineIdentity& id = e.engine;
  std::string engine = id.engine.empty() ? std::string("unknown engine") : id.engine;
  if (!id.version.empty()) engine += " " + id.version;
  const std::string& model = id.served_model.empty() ? e.served_model : id.served_model;
  if (!model.empty()) engine += ", model " + model;
  if (id.max_model_len) engine += fmt::format(" (context {} tokens)", *id.max_model_len);
  out << "  engine:  " << engine << '\n';
  std::string gpus;
  if (e.gpu_source == "not read") {
    gpus = "not read";
  } else if (e.gpus.empty()) {
    gpus = "none";
  } else {
    for (std::size_t i = 0; i < e.gpus.size(); ++i) {
      const GpuInfo& g = e.gpus[i];
      gpus += fmt::format("{}{}", i ? ", " : "", g.name.empty() ? "GPU" : g.name);
      if (g.memory_total_bytes)
        gpus += fmt::format(" ({:.0f} GiB)", static_cast<double>(*g.memory_total_bytes) / (1ULL << 30));
    }
    if (!e.gpus.front().driver_version.empty()) gpus += "; driver " + e.gpus.front().driver_version;
    if (!e.cuda_driver_version.empty()) gpus += ", CUDA " + e.cuda_driver_version;
  }
  out << "  GPUs:    " << gpus << '\n';
  std::string host = e.cpu_model.empty() ? std::string("unknown CPU") : e.cpu_model;
  host += fmt::format(" ({} cores)", e.cpu_cores);
  if (e.memory_total_bytes)
    host += fmt::format(", {:.1f} GiB memory", static_cast<double>(*e.memory_total_bytes) / (1ULL << 30));
  if (!e.os.empty()) host += ", " + e.os;
  out << "  host:    " << host << '\n';
  out << fmt::format("  splleed: {} ({})\n", e.splleed_version, e.build_commit);
  if (result.launched_engine) {
    const LaunchedEngine& l = *result.launched_engine;
    std::string argv;
    for (const std::string& a : l.argv) argv += (argv.empty() ? "" : " ") + a;
    out << fmt::format("  launched: {}\n            log {}; {}{}\n", argv, l.log_path,
                       l.exited_during_run ? "exited during the run, " : "stopped, ",
                       l.exit_status);
  }
}

}  // namespace

static std::string workload_line(const RunConfig& c) {
  const auto id = nlohmann::json::parse(c.workload, nullptr, /*allow_exceptions=*/false);
  if (!id.is_object()) return {};
  auto text = [&id](const char* key) {
    return id.contains(key) && id[key].is_string() ? id[key].get<std::string>() : std::string();
  };
  const bool approximate = id.value("approximate", false);
  std::string line = "Workload: " + text("source");
  if (!text("path").empty()) line += " " + text("path");
  if (!c.conversations.empty()) {
    line += fmt::format(", {} conversations ({} prompts)", c.conversations.size(), c.prompts.size());
  } else {
    line += fmt::format(", {} prompts", c.prompts.size());
  }
  line += approximate ? ", lengths approximate (words: no --tokenizer)" : "";
  // Input lengths are known only with a tokenizer; output lengths are the requested targets.
  auto summary = [&](const char* key, const char* what) {
    if (!id.contains(key) || !id[key].is_object()) return;
    const auto& s = id[key];
    line += fmt::format("; {} tokens: mean {:.1f}, p50 {:g}, min {}, max {}", what,
                        s.value("mean", 0.0), s.value("p50", 0.0), s.value("min", 0),
                        s.value("max", 0));
  };
  summary("input_tokens", "input");
  summary("output_tokens", "output");
  return line;
}

void write_console(const BenchmarkResult& result, std::ostream& out) {
  if (!result.config.workload.empty()) {
    const std::string line = workload_line(result.config);
    if (!line.empty()) out << line << "\n\n";
  }
  if (result.interrupted) {
    out << fmt::format("Run interrupted{}: figures cover the requests recorded before the stop.\n",
                       result.stop_reason.empty() ? std::string()
                                                  : fmt::format(" ({})", result.stop_reason));
  }
  const bool show_trial = std::any_of(result.runs.begin(), result.runs.end(),
                                      [](const RunResult& r) { return r.trial != 0; });
  for (std::size_t i = 0; i < result.runs.size(); ++i) {
    if (i > 0 || result.interrupted) out << '\n';
    write_run(result.runs[i], show_trial, out);
  }
  if (result.engine) write_engine(*result.engine, out);
  write_plans(result, out);
  write_environment(result, out);
  // Cross-trial figures only mean something with repeated trials.
  const bool repeated = std::any_of(result.aggregates.begin(), result.aggregates.end(),
                                    [](const TrialAggregate& a) { return a.trials > 1; });
  if (!repeated) return;
  out << "\nAcross trials\n";
  for (const TrialAggregate& a : result.aggregates) {
    out << '\n';
    write_aggregate(a, out);
  }
}

}  // namespace splleed::report
