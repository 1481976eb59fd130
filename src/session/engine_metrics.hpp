#pragma once
// Engine metrics and GPU telemetry during a benchmark: scrapers on their own threads (never on the
// request path), then the join of what they saw with each request and the "why" of slow ones.
#include <memory>
#include <optional>
#include <string>

#include "observe/scraper.hpp"
#include "observe/series_store.hpp"
#include "splleed/clock.hpp"
#include "splleed/config.hpp"
#include "splleed/result.hpp"

namespace splleed::session {

struct ObserveOptions {
  bool enabled = true;
  std::string metrics_url;        // empty: the target's base URL + "/metrics"
  Nanos interval = kNanosPerSecond;
  bool gpu = true;                // poll NVML when present
  // A DCGM exporter's metrics endpoint to read GPU telemetry from instead of NVML (e.g. on a
  // remote engine host); empty: NVML on this host.
  std::string gpu_metrics_url;
};

// A metrics endpoint fetched with splleed's HTTP client (own io_context; blocking per fetch).
std::unique_ptr<observe::MetricsSource> make_http_metrics_source(const std::string& url,
                                                                 const TargetConfig& target,
                                                                 const Clock& clock);

// Scrapes while alive (start() .. finish()); then annotates a result.
class EngineObserver {
 public:
  EngineObserver(const ObserveOptions& options, const TargetConfig& target, const Clock& clock);
  ~EngineObserver();
  void start();
  // Stops scraping and adds to `result`: result.engine, each request's engine state (measured
  // ones), and each run's why-findings. Idempotent on the scrapers.
  void finish(BenchmarkResult& result);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace splleed::session
