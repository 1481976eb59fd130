#pragma once
// Pure analysis: the engine's state over each request's lifetime, and a "why" comparison of a
// slow group of requests against the rest. No I/O, no clock.
//
// Contract:
// - A request's lifetime is [start, end] on the same monotonic clock as the scrapes.
// - A signal point counts for a request when its span overlaps the lifetime (gauges hold until
//   the next scrape, rates cover their scrape interval), so a request shorter than the scrape
//   interval still sees the state that was in force.
// - Preemptions during a request are estimated as rate x overlap time, summed over intervals.
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "observe/profiles.hpp"
#include "observe/series_store.hpp"

namespace splleed::observe {

struct RequestInterval {
  Nanos start = 0;
  Nanos end = 0;
};

// Every signal the profile yields from the store, as timelines.
struct Timelines {
  std::array<std::vector<SignalPoint>, kSignalCount> by_signal;
  const std::vector<SignalPoint>& operator[](Signal s) const { return by_signal[static_cast<std::size_t>(s)]; }
  std::vector<SignalPoint>& operator[](Signal s) { return by_signal[static_cast<std::size_t>(s)]; }
};
Timelines build_timelines(const SeriesStore& store, const EngineProfile& profile);

// Every signal and latency histogram the profile yields over one window (a load level, a phase).
struct WindowSummary {
  Nanos t0 = 0;
  Nanos t1 = 0;
  std::array<std::optional<double>, kSignalCount> signals;             // signal_over
  std::array<std::optional<HistogramWindow>, kLatencyCount> latencies;  // latency_window, seconds

  const std::optional<double>& operator[](Signal s) const { return signals[static_cast<std::size_t>(s)]; }
  const std::optional<HistogramWindow>& operator[](Latency l) const { return latencies[static_cast<std::size_t>(l)]; }
};
WindowSummary summarize_window(const SeriesStore& store, const EngineProfile& profile, Nanos t0, Nanos t1);

struct SignalStats {
  std::size_t points = 0;
  double first = 0;  // the point in force when the request started
  double mean = 0;
  double min = 0;
  double max = 0;
};

struct RequestEngineState {
  std::array<std::optional<SignalStats>, kSignalCount> by_signal;
  std::optional<double> preemptions;  // estimated count during the request

  const std::optional<SignalStats>& operator[](Signal s) const { return by_signal[static_cast<std::size_t>(s)]; }
};

std::optional<SignalStats> stats_over(const std::vector<SignalPoint>& timeline, Nanos t0, Nanos t1);

std::vector<RequestEngineState> engine_state_per_request(const Timelines& tl,
                                                         std::span<const RequestInterval> requests);

// One compared quantity: a per-request statistic of a signal, median over each group.
struct Difference {
  Signal signal;
  std::string_view statistic;  // "first", "mean", "max" or "count"
  double slow_median = 0;
  double rest_median = 0;
  double score = 0;  // the gap relative to the others' level (counts) or in the signal's unit; >= 1
  std::string sentence;
};

struct WhyReport {
  // Strongest first; only gaps past the signal's threshold in the direction that slows a request
  // (more waiting, fuller KV cache, more preemptions, bigger batches, lower prefix-cache hit rate,
  // more tokens per step, lower SM clock, busier GPU).
  std::vector<Difference> differences;
  std::vector<std::string> sentences;   // one per difference, or one saying nothing differs
};

// Compares the requests at `slow` (indices into `states`) with all the others. `label` names the
// slow group in sentences, e.g. "p99-TTFT requests".
WhyReport explain_slow(const std::vector<RequestEngineState>& states, std::span<const std::size_t> slow,
                       std::string_view label);

}  // namespace splleed::observe
