// CSV views of a result (docs/results-format.md): numbers in shortest round-trip form, no locale,
// LF line ends, RFC 4180 quoting. An empty cell means "no value".
#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "metrics/request_metrics.hpp"
#include "report/reporters.hpp"

namespace splleed::report {

namespace {

// RFC 4180: a field holding a comma, quote, CR or LF is quoted, inner quotes doubled. Written out
// because no library in this build writes CSV.
std::string csv(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out;
  out.reserve(field.size() + 2);
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// fmt's "{}" prints the shortest text that reads back to the same double, independent of locale.
std::string num(double v) { return fmt::format("{}", v); }

std::string ms_or_empty(const std::optional<double>& ns) {
  return ns ? num(*ns / static_cast<double>(kNanosPerMilli)) : std::string();
}

std::string relative_ms(const std::optional<Nanos>& t, Nanos origin) {
  return t ? num(to_ms(*t - origin)) : std::string();
}

}  // namespace

namespace {

// The client-health cells of a run (the last five columns). Figures without a value (no rate
// asked, no samples, no worker) stay empty.
std::string health_columns(const ClientHealth& h) {
  const auto p99 = [](const MetricSummary& v) { return v.count == 0 ? std::string() : num(v.p99); };
  const std::string max_cpu =
      h.worker_cpu.empty() ? std::string()
                           : num(*std::max_element(h.worker_cpu.begin(), h.worker_cpu.end()));
  return fmt::format("{},{},{},{},{}", h.client_limited ? "true" : "false",
                     h.requested_rate > 0 ? num(h.delivered_rate) : std::string(),
                     p99(h.schedule_lag), p99(h.wakeup_delay), max_cpu);
}

// The ten metric rows of one summary; `run_prefix` holds the cells before `metric`, `health` the
// run's client-health cells.
void write_summary_rows(const std::string& run_prefix, std::string_view phase,
                        const std::optional<double>& request_rate, const RunSummary& s,
                        const std::string& health, std::ostream& out) {
  // Run-level figures repeat on each of the run's rows, so that every row stands alone.
  const std::string run_columns = fmt::format(
      "{},{},{},{},{},{},{},{},{},{},{},{}", phase,
      request_rate ? num(*request_rate) : std::string(), num(s.window_s), s.requests_sent,
      s.requests_ok, s.requests_failed, num(s.request_throughput), num(s.output_token_throughput),
      num(s.total_token_throughput), s.output_tokens, s.prompt_tokens,
      s.tokens_from_usage ? "usage" : "events");
  // Goodput cells stay empty when no SLO was configured.
  const std::string goodput_columns =
      s.requests_good ? fmt::format("{},{},{}", *s.requests_good, num(s.goodput.value_or(0)),
                                    num(s.good_fraction.value_or(0)))
                      : std::string(",,");
  for (int k = 0; k < kMetricCount; ++k) {
    const auto m = static_cast<Metric>(k);
    const MetricSummary& v = s[m];
    // A metric without samples has no statistics: its cells stay empty rather than read 0.
    const std::string stats =
        v.count == 0 ? std::string(",,,,,,,,")
                     : fmt::format("{},{},{},{},{},{},{},{},{}", num(v.mean), num(v.std),
                                   num(v.min), num(v.p50), num(v.p90), num(v.p95), num(v.p99),
                                   num(v.p999), num(v.max));
    // Interval cells are empty where the sample is too small for an interval.
    std::string intervals;
    for (const PercentileInterval& ci : v.intervals)
      intervals += ci.supported ? fmt::format(",{},{}", num(ci.lo), num(ci.hi)) : std::string(",,");
    out << fmt::format("{},{},{},{},{},{}{},{},{}\n", run_prefix, to_string(m), v.count, stats,
                       run_columns, num(s.confidence), intervals, goodput_columns, health);
  }
}

}  // namespace

void write_csv_summary(const BenchmarkResult& result, std::ostream& out) {
  out << "run,label,concurrency,trial,metric,count,mean_ms,std_ms,min_ms,p50_ms,p90_ms,p95_ms,"
         "p99_ms,p999_ms,max_ms,phase,request_rate,window_s,requests_sent,requests_ok,"
         "requests_failed,requests_per_s,output_tokens_per_s,total_tokens_per_s,output_tokens,"
         "prompt_tokens,token_source,confidence,p50_lo_ms,p50_hi_ms,p90_lo_ms,p90_hi_ms,p95_lo_ms,"
         "p95_hi_ms,p99_lo_ms,p99_hi_ms,p999_lo_ms,p999_hi_ms,requests_good,goodput_per_s,"
         "good_fraction,client_limited,delivered_rate,schedule_lag_p99_ms,wakeup_delay_p99_ms,"
         "max_worker_cpu\n";
  for (std::size_t i = 0; i < result.runs.size(); ++i) {
    const RunResult& run = result.runs[i];
    const std::string prefix =
        fmt::format("{},{},{},{}", i, csv(run.label), run.concurrency, run.trial);
    // Client health describes the whole run, so it repeats on the ramp-up rows too.
    const std::string health = health_columns(run.client_health);
    write_summary_rows(prefix, "steady", run.request_rate, run.summary, health, out);
    if (run.ramp_up)
      write_summary_rows(prefix, "ramp_up", run.request_rate, *run.ramp_up, health, out);
  }
}

void write_csv_requests(const BenchmarkResult& result, std::ostream& out) {
  out << "run,label,index,prompt_index,warmup,ramp_up,request_id,status,http_status,finish_reason,"
         "scheduled_ms,dispatched_ms,headers_ms,first_event_ms,first_token_ms,last_token_ms,"
         "end_ms,ttft_ms,tpot_ms,e2e_ms,token_events,output_tokens,prompt_tokens,"
         "client_prompt_tokens,session,turn,error\n";
  const Nanos origin = result.clock.monotonic_origin_ns;
  for (std::size_t i = 0; i < result.runs.size(); ++i) {
    const RunResult& run = result.runs[i];
    for (const RequestRecord& r : run.requests) {
      const metrics::RequestMetrics m = metrics::compute(r);
      out << fmt::format(
          "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i,
          csv(run.label), r.index, r.prompt_index, r.warmup ? "true" : "false",
          r.ramp_up ? "true" : "false", csv(r.request_id), to_string(r.status), r.http_status,
          csv(r.finish_reason),
          relative_ms(r.scheduled, origin), relative_ms(r.dispatched, origin),
          relative_ms(r.headers, origin), relative_ms(r.first_event, origin),
          relative_ms(r.first_token, origin), relative_ms(r.last_token, origin),
          relative_ms(r.end, origin), ms_or_empty(m.ttft), ms_or_empty(m.tpot), ms_or_empty(m.e2e),
          r.tokens.size(), r.output_tokens(),
          r.usage.prompt_tokens ? std::to_string(*r.usage.prompt_tokens) : std::string(),
          r.client_prompt_tokens ? std::to_string(*r.client_prompt_tokens) : std::string(),
          r.session ? std::to_string(*r.session) : std::string(),
          r.turn ? std::to_string(*r.turn) : std::string(), csv(r.error));
    }
  }
}

}  // namespace splleed::report
