#include "session/engine_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

#include "load/target_client.hpp"
#include "metrics/request_metrics.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"
#include "observe/analysis.hpp"
#include "observe/nvml.hpp"
#include "observe/profiles.hpp"
#include "stats/summary.hpp"

namespace splleed::session {

namespace asio = boost::asio;

namespace {

class HttpMetricsSource final : public observe::MetricsSource {
 public:
  HttpMetricsSource(net::Url origin, std::string path, std::string url, net::ClientOptions options,
                    std::string auth, const Clock& clock)
      : client_(io_, std::move(origin), options, clock),
        path_(std::move(path)),
        url_(std::move(url)),
        auth_(std::move(auth)) {}

  observe::FetchResult fetch() override {
    net::SimpleResponse response;
    std::vector<net::Header> headers;
    if (!auth_.empty()) headers.push_back({"Authorization", auth_});
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { response = co_await client_.get(path_, headers); },
        asio::detached);
    io_.restart();
    io_.run();
    if (response.transport.error != net::TransportError::none)
      return observe::FetchResult::failure(response.transport.message);
    if (response.status < 200 || response.status >= 300)
      return observe::FetchResult::failure(fmt::format("HTTP {} from {}", response.status, url_));
    return observe::FetchResult::success(std::move(response.body));
  }

 private:
  asio::io_context io_{1};
  net::HttpClient client_;
  std::string path_, url_, auth_;
};

// The lifetime a request's engine state is taken over: from when it left to when it ended.
std::optional<observe::RequestInterval> lifetime(const RequestRecord& r) {
  const auto start = r.dispatched ? r.dispatched : r.scheduled;
  const auto end = r.end ? r.end : r.last_token;
  if (!start || !end || *end < *start) return std::nullopt;
  return observe::RequestInterval{*start, *end};
}

std::optional<double> mean_of(const observe::RequestEngineState& s, observe::Signal sig) {
  if (const auto& st = s[sig]) return st->mean;
  return std::nullopt;
}
std::optional<double> max_of(const observe::RequestEngineState& s, observe::Signal sig) {
  if (const auto& st = s[sig]) return st->max;
  return std::nullopt;
}
std::optional<double> first_of(const observe::RequestEngineState& s, observe::Signal sig) {
  if (const auto& st = s[sig]) return st->first;
  return std::nullopt;
}

RequestEngineState to_record(const observe::RequestEngineState& s) {
  using observe::Signal;
  RequestEngineState e;
  e.waiting_at_start = first_of(s, Signal::waiting_requests);
  e.waiting_max = max_of(s, Signal::waiting_requests);
  e.running_mean = mean_of(s, Signal::running_requests);
  e.running_max = max_of(s, Signal::running_requests);
  e.kv_usage_max = max_of(s, Signal::kv_cache_usage);
  e.preemptions = s.preemptions;
  e.gpu_utilization_mean = mean_of(s, Signal::gpu_utilization);
  return e;
}

// The indices (into `values`) at or above their p99: the slowest requests.
std::vector<std::size_t> slowest(const std::vector<std::optional<double>>& values) {
  std::vector<double> present;
  for (const auto& v : values)
    if (v) present.push_back(*v);
  std::vector<std::size_t> out;
  if (present.size() < 2) return out;
  std::sort(present.begin(), present.end());
  const double cut = stats::percentile(present, 99);  // the project's one percentile definition
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] && *values[i] >= cut) out.push_back(i);
  // A group as large as the population compares with nothing.
  if (out.size() == present.size()) out.clear();
  return out;
}

// The engine's own view of one run's window: every signal over it, its latency histograms, and
// the client-vs-engine TTFT gap. Histogram deltas cover the scrapes inside the window only.
EngineRunSummary summarize_run(const observe::SeriesStore& engine_store,
                               const observe::EngineProfile& profile,
                               const observe::SeriesStore* gpu_store, Nanos t0, Nanos t1,
                               std::optional<double> client_ttft_mean_ns) {
  using observe::Signal;
  EngineRunSummary out;
  out.window_start = t0;
  out.window_end = t1;
  const observe::WindowSummary w = observe::summarize_window(engine_store, profile, t0, t1);
  std::optional<observe::WindowSummary> gpu;
  if (gpu_store)
    gpu = observe::summarize_window(*gpu_store, observe::profile_for(observe::EngineKind::dcgm), t0, t1);
  for (int i = 0; i < observe::kSignalCount; ++i) {
    const auto sig = static_cast<Signal>(i);
    std::optional<double> v = w[sig];
    if (!v && gpu) v = (*gpu)[sig];
    if (v) out.signals.emplace_back(std::string(observe::to_string(sig)), *v);
  }
  for (int i = 0; i < observe::kLatencyCount; ++i) {
    const auto lat = static_cast<observe::Latency>(i);
    const auto& h = w[lat];
    if (!h || !(h->count > 0)) continue;
    EngineLatency e;
    e.name = std::string(observe::to_string(lat));
    e.count = h->count;
    e.mean_s = h->mean();
    const auto q = [&](double p) -> std::optional<double> {
      const double v = h->quantile(p);
      return std::isnan(v) ? std::nullopt : std::optional<double>(v);
    };
    e.p50_s = q(0.5);
    e.p90_s = q(0.9);
    e.p99_s = q(0.99);
    if (lat == observe::Latency::ttft && e.mean_s && client_ttft_mean_ns)
      out.ttft_gap_mean_ms = *client_ttft_mean_ns / 1e6 - *e.mean_s * 1e3;
    out.latencies.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::unique_ptr<observe::MetricsSource> make_http_metrics_source(const std::string& url,
                                                                 const TargetConfig& target,
                                                                 const Clock& clock) {
  std::string error;
  auto parsed = net::Url::parse(url, &error);
  if (!parsed) throw std::invalid_argument(fmt::format("metrics URL {}: {}", url, error));
  std::string path = parsed->base_path.empty() ? "/" : parsed->base_path;
  parsed->base_path.clear();
  net::ClientOptions options = load::client_options(target);
  options.read_timeout = std::min<Nanos>(target.read_timeout, 10 * kNanosPerSecond);
  return std::make_unique<HttpMetricsSource>(std::move(*parsed), std::move(path), url, options,
                                             load::authorization(target), clock);
}

struct EngineObserver::Impl {
  ObserveOptions options;
  std::string url;
  const Clock& clock;
  observe::SeriesStore engine_store, gpu_store;
  std::unique_ptr<observe::MetricsSource> engine_source;
  std::unique_ptr<observe::MetricsSource> gpu_source;  // NVML, or a DCGM exporter's endpoint
  std::unique_ptr<observe::Scraper> engine_scraper, gpu_scraper;
  std::string gpu_absent;

  Impl(const ObserveOptions& o, const TargetConfig& target, const Clock& c)
      : options(o), clock(c) {
    url = o.metrics_url.empty() ? target.base_url + "/metrics" : o.metrics_url;
    observe::ScraperOptions so;
    so.interval = std::max(o.interval, observe::kMinScrapeInterval);
    engine_source = make_http_metrics_source(url, target, clock);
    engine_scraper = std::make_unique<observe::Scraper>(*engine_source, clock, engine_store, so);
    if (o.gpu && !o.gpu_metrics_url.empty()) {
      // A DCGM exporter: the same canonical GPU signals as NVML (profile EngineKind::dcgm).
      gpu_source = make_http_metrics_source(o.gpu_metrics_url, target, clock);
      gpu_scraper = std::make_unique<observe::Scraper>(*gpu_source, clock, gpu_store, so);
    } else if (o.gpu) {
      auto nvml = std::make_unique<observe::NvmlSource>(clock);
      if (nvml->nvml().available()) {
        gpu_source = std::move(nvml);
        gpu_scraper = std::make_unique<observe::Scraper>(*gpu_source, clock, gpu_store, so);
      } else {
        gpu_absent = nvml->nvml().absent_reason();
      }
    } else {
      gpu_absent = "not asked for";
    }
  }
};

EngineObserver::EngineObserver(const ObserveOptions& options, const TargetConfig& target,
                               const Clock& clock)
    : impl_(std::make_unique<Impl>(options, target, clock)) {}

EngineObserver::~EngineObserver() {
  if (impl_->engine_scraper) impl_->engine_scraper->stop();
  if (impl_->gpu_scraper) impl_->gpu_scraper->stop();
}

void EngineObserver::start() {
  impl_->engine_scraper->start();
  if (impl_->gpu_scraper) impl_->gpu_scraper->start();
}

void EngineObserver::finish(BenchmarkResult& result) {
  using observe::Signal;
  Impl& m = *impl_;
  m.engine_scraper->stop();
  if (m.gpu_scraper) m.gpu_scraper->stop();

  EngineObservation obs;
  obs.metrics_url = m.url;
  obs.interval_s = static_cast<double>(m.engine_scraper->interval()) / 1e9;
  for (const auto& h : m.engine_scraper->history()) (h.ok ? obs.scrapes_ok : obs.scrapes_failed)++;
  const Nanos origin = result.clock.monotonic_origin_ns;
  for (const auto& f : m.engine_scraper->failures()) {
    if (obs.failures.size() >= 5) break;
    obs.failures.push_back(fmt::format("t={:.3f} s: {}",
                                       static_cast<double>(f.begin - origin) / 1e9, f.message));
  }
  obs.gpu = m.gpu_absent;
  if (m.gpu_scraper && !m.options.gpu_metrics_url.empty()) {
    std::int64_t ok = 0;
    for (const auto& h : m.gpu_scraper->history()) ok += h.ok ? 1 : 0;
    if (ok == 0) {
      const auto& f = m.gpu_scraper->failures();
      obs.gpu = fmt::format("GPU metrics endpoint {} never answered{}", m.options.gpu_metrics_url,
                            f.empty() ? std::string() : ": " + f.front().message);
    }
  }

  const auto detection = observe::detect_engine(m.engine_store.names());
  obs.engine = std::string(observe::to_string(detection.kind));
  obs.variant = detection.variant;
  const observe::EngineProfile& profile = observe::profile_for(detection.kind);
  observe::Timelines tl = observe::build_timelines(m.engine_store, profile);
  if (m.gpu_scraper) {
    const observe::Timelines gpu = observe::build_timelines(
        m.gpu_store, observe::profile_for(observe::EngineKind::dcgm));
    for (int i = 0; i < observe::kSignalCount; ++i)
      if (tl.by_signal[static_cast<std::size_t>(i)].empty())
        tl.by_signal[static_cast<std::size_t>(i)] = gpu.by_signal[static_cast<std::size_t>(i)];
  }
  for (int i = 0; i < observe::kSignalCount; ++i) {
    const auto& points = tl.by_signal[static_cast<std::size_t>(i)];
    if (points.empty()) continue;
    SignalSeries s;
    s.signal = std::string(observe::to_string(static_cast<Signal>(i)));
    for (const auto& p : points) s.points.emplace_back(p.from, p.value);
    obs.timeline.push_back(std::move(s));
  }
  if (detection.kind != observe::EngineKind::unknown)
    obs.unmapped = observe::unmapped_names(m.engine_store, profile);
  const bool any_signal = !obs.timeline.empty();

  for (RunResult& run : result.runs) {
    if (!any_signal) break;
    std::vector<std::size_t> measured;  // indices into run.requests
    std::vector<observe::RequestInterval> spans;
    for (std::size_t i = 0; i < run.requests.size(); ++i) {
      const RequestRecord& r = run.requests[i];
      if (r.warmup || r.status != RequestStatus::ok) continue;
      if (auto span = lifetime(r)) {
        measured.push_back(i);
        spans.push_back(*span);
      }
    }
    const auto states = observe::engine_state_per_request(tl, spans);
    std::vector<std::optional<double>> ttft, e2e, stall;
    double ttft_sum = 0;
    std::size_t ttft_n = 0;
    for (std::size_t k = 0; k < measured.size(); ++k) {
      RequestRecord& r = run.requests[measured[k]];
      r.engine = to_record(states[k]);
      const auto rm = metrics::compute(r);
      ttft.push_back(rm.ttft);
      e2e.push_back(rm.e2e);
      stall.push_back(rm.worst_stall);
      if (rm.ttft) {
        ttft_sum += *rm.ttft;
        ++ttft_n;
      }
    }
    if (!spans.empty()) {
      Nanos t0 = spans.front().start, t1 = spans.front().end;
      for (const auto& sp : spans) {
        t0 = std::min(t0, sp.start);
        t1 = std::max(t1, sp.end);
      }
      run.engine = summarize_run(
          m.engine_store, profile, m.gpu_scraper ? &m.gpu_store : nullptr, t0, t1,
          ttft_n ? std::optional<double>(ttft_sum / static_cast<double>(ttft_n)) : std::nullopt);
    }
    const std::pair<const char*, const std::vector<std::optional<double>>*> groups[] = {
        {"p99-TTFT requests", &ttft}, {"p99-E2E requests", &e2e}, {"worst-stall p99 requests", &stall}};
    for (const auto& [label, values] : groups) {
      const auto slow = slowest(*values);
      if (slow.empty()) continue;
      const observe::WhyReport why = observe::explain_slow(states, slow, label);
      run.why.push_back({label, static_cast<std::int64_t>(slow.size()), why.sentences});
    }
  }
  result.engine = std::move(obs);
}

}  // namespace splleed::session
