#pragma once
// Time series of scraped samples, stamped on splleed's monotonic clock.
//
// Contract:
// - A series is one sample name plus its sorted labels (`series_key`). Each scrape appends one point
//   per series present in it; a series absent from a scrape simply has no point there.
// - The store keeps raw values. Whether a series is read as a gauge (value at a time), a counter
//   (reset-aware delta) or a histogram (bucket deltas) is the reader's choice: engines mislabel
//   some families (llama.cpp declares gauges as counters), so profiles decide, not the TYPE line.
// - Thread-safe: one internal mutex, held only to copy in or copy out. Readers get copies.
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observe/exposition.hpp"
#include "splleed/clock.hpp"

namespace splleed::observe {

struct Point {
  Nanos t = 0;
  double v = 0;
};

struct Series {
  std::string name;
  Labels labels;
  MetricType type = MetricType::untyped;  // the declared type of the sample's family
  std::vector<Point> points;              // ascending t
};

// `name{a="x",b="y"}` with labels sorted; the name alone when there are none.
std::string series_key(std::string_view name, const Labels& labels);

// True when every label of `match` is present in `labels` with the same value.
bool labels_match(const Labels& labels, const Labels& match) noexcept;

class SeriesStore {
 public:
  SeriesStore() = default;
  // Moving takes the source's lock; the source is left empty.
  SeriesStore(SeriesStore&& other) noexcept;
  SeriesStore& operator=(SeriesStore&& other) noexcept;
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;
  ~SeriesStore() = default;

  // Appends every sample of `e` at time `t` (`t` must not go backwards; an earlier `t` is ignored
  // and false returned).
  bool append(Nanos t, const Exposition& e);

  std::vector<Nanos> scrape_times() const;
  std::size_t series_count() const;
  // Distinct sample names, sorted.
  std::vector<std::string> names() const;
  bool has(std::string_view name) const;
  // Every series named `name` whose labels include `match`.
  std::vector<Series> select(std::string_view name, const Labels& match = {}) const;
  std::optional<Series> find(std::string_view key) const;

 private:
  mutable std::mutex mu_;
  std::vector<Nanos> scrapes_;
  std::map<std::string, Series, std::less<>> series_;           // by series key
  std::map<std::string, std::vector<std::string>, std::less<>> by_name_;  // name -> keys
};

// ---- Reading a series (pure functions; no locking) ----

// The last value at or before `t`.
std::optional<double> value_at(const Series& s, Nanos t) noexcept;

struct CounterDelta {
  double delta = 0;    // increase over the window; a decrease is a restart and counts the new value
  Nanos from = 0;      // time of the first point used
  Nanos to = 0;        // time of the last point used
  int resets = 0;
  double seconds() const noexcept { return static_cast<double>(to - from) / 1e9; }
  // delta per second; nullopt when from == to.
  std::optional<double> rate() const noexcept;
};

// Reset-aware increase of a cumulative counter over [t0, t1]: from the last point at or before t0
// (the first point when the series starts later) to the last point at or before t1. nullopt with
// fewer than two such points.
std::optional<CounterDelta> counter_delta(const Series& s, Nanos t0, Nanos t1) noexcept;

// Sums counter_delta over several series (e.g. one per data-parallel engine); `from`/`to` span all.
std::optional<CounterDelta> counter_delta(const std::vector<Series>& s, Nanos t0, Nanos t1) noexcept;

struct Bucket {
  double le = 0;  // upper bound, +Inf for the last
  double count = 0;  // cumulative
};

struct HistogramWindow {
  std::vector<Bucket> buckets;  // ascending le, cumulative, last is +Inf
  double sum = 0;
  double count = 0;
  Nanos from = 0;
  Nanos to = 0;

  std::optional<double> mean() const noexcept;  // sum / count; nullopt when count == 0
  // Prometheus histogram_quantile: linear interpolation inside the bucket holding the rank; the
  // lowest bucket starts at 0 (when its bound is positive); a rank in the +Inf bucket returns the
  // highest finite bound. NaN when empty or without a +Inf bucket.
  double quantile(double q) const noexcept;
};

// histogram_quantile over explicit cumulative buckets (sorted by le, fixed to be monotonic).
double histogram_quantile(double q, std::vector<Bucket> buckets) noexcept;

// The observations a histogram family gained over [t0, t1]: per-`le` reset-aware bucket deltas,
// summed over every series of `family` whose labels include `match` (as `sum by (le)`), plus the
// `_sum` / `_count` deltas. nullopt when the family has no bucket series with two points in range.
std::optional<HistogramWindow> histogram_window(const SeriesStore& store, std::string_view family,
                                                const Labels& match, Nanos t0, Nanos t1);

}  // namespace splleed::observe
