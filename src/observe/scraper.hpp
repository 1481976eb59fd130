#pragma once
// Periodic scraping of a metrics endpoint into a SeriesStore, on a thread of its own.
//
// Contract:
// - Each scrape reads the clock before and after the fetch and stamps its samples with the
//   midpoint (the engine produced them somewhere in between; the midpoint halves the error).
// - A failed fetch (error result or exception) is recorded with its times and message and the
//   scraper goes on. A body with malformed lines still stores every good sample; its parse errors
//   are kept (the most recent ones) and counted. A body with no sample at all counts as failed.
// - Ticks are on a fixed grid (start + k * interval); a scrape slower than the interval skips the
//   ticks it overran instead of bursting to catch up.
// - Waiting is injectable (ScraperOptions::wait) so tests drive the loop with a FakeClock and no
//   sleeps; the default waits on a condition variable that stop() signals, so stop() returns
//   without waiting out the interval.
// - Shares no lock with anything but the store's own: the request path is never blocked by it.
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "observe/exposition.hpp"
#include "observe/series_store.hpp"
#include "splleed/clock.hpp"

namespace splleed::observe {

struct FetchResult {
  std::string body;
  std::string content_type;  // optional; selects OpenMetrics when it says so
  std::string error;         // non-empty means the fetch failed

  bool ok() const noexcept { return error.empty(); }
  static FetchResult success(std::string body, std::string content_type = {});
  static FetchResult failure(std::string message);
};

// Where metrics text comes from (an HTTP GET of /metrics, a file, a test double).
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Called from the scraper's thread only. May block for up to its own timeout.
  virtual FetchResult fetch() = 0;
};

inline constexpr Nanos kMinScrapeInterval = 100 * kNanosPerMilli;

struct ScraperOptions {
  Nanos interval = kNanosPerSecond;  // at least kMinScrapeInterval
  std::optional<Format> format;      // forced format; else from content type, then from the body
  std::size_t kept_parse_errors = 100;
  // Blocks until the clock reaches `deadline` or the scraper is stopped; returns false to end the
  // loop. Empty: a condition-variable wait on the real clock, woken by stop().
  std::function<bool(Nanos deadline)> wait;
};

struct ScrapeRecord {
  Nanos begin = 0;  // clock before the fetch
  Nanos end = 0;    // clock after the fetch
  Nanos stamp = 0;  // the time the samples were stored at (midpoint)
  bool ok = false;
  std::size_t samples = 0;
  std::size_t parse_errors = 0;
};

struct ScrapeFailure {
  Nanos begin = 0;
  Nanos end = 0;
  std::string message;
};

class Scraper {
 public:
  // Throws std::invalid_argument when options.interval < kMinScrapeInterval.
  Scraper(MetricsSource& source, const Clock& clock, SeriesStore& store, ScraperOptions options = {});
  ~Scraper();  // stops and joins
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // One scrape on the caller's thread. Do not call while the thread runs.
  ScrapeRecord scrape_once();

  // Starts the polling thread (first scrape at once). No-op when already running.
  void start();
  // Ends the loop and joins. Idempotent.
  void stop();

  std::vector<ScrapeRecord> history() const;
  std::vector<ScrapeFailure> failures() const;
  std::vector<ParseError> recent_parse_errors() const;
  std::size_t parse_error_count() const;
  Nanos interval() const noexcept { return options_.interval; }

 private:
  void loop();
  bool wait_until(Nanos deadline);

  MetricsSource& source_;
  const Clock& clock_;
  SeriesStore& store_;
  ScraperOptions options_;

  mutable std::mutex mu_;  // guards the records below and stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<ScrapeRecord> history_;
  std::vector<ScrapeFailure> failures_;
  std::vector<ParseError> parse_errors_;
  std::size_t parse_error_count_ = 0;
  std::thread thread_;
};

}  // namespace splleed::observe
