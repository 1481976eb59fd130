#include "observe/analysis.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace splleed::observe {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// What is compared per signal, and how large a gap must be to be worth a sentence. Counts are
// scored relative to the others' level (37 waiting vs 2 matters, 3 vs 2 does not); bounded
// quantities (fractions, clocks) in absolute units.
struct Rule {
  Signal signal;
  std::string_view statistic;  // "first", "mean", "max" or "count" (preemptions)
  double min_abs;              // smallest absolute gap that counts
  double unit;                 // gap worth a score of 1 (absolute), or floor of the baseline (relative)
  bool relative;
  // The direction that slows a request down: only a gap that way can explain slowness (slow
  // requests that saw a shorter queue than the others are not slow because of the queue).
  bool higher_is_worse;
};

constexpr std::array<Rule, 8> kRules{{
    {Signal::waiting_requests, "first", 1.0, 1.0, true, true},
    {Signal::kv_cache_usage, "max", 0.10, 0.10, false, true},
    {Signal::preemptions_per_s, "count", 1.0, 1.0, true, true},
    {Signal::running_requests, "mean", 1.0, 1.0, true, true},
    {Signal::prefix_cache_hit_rate, "mean", 0.10, 0.10, false, false},
    {Signal::tokens_per_step, "mean", 16.0, 16.0, true, true},
    {Signal::gpu_sm_clock_mhz, "mean", 100.0, 100.0, false, false},
    {Signal::gpu_utilization, "mean", 0.10, 0.10, false, true},
}};

std::optional<double> statistic_of(const RequestEngineState& s, const Rule& r) {
  if (r.statistic == "count") return s.preemptions;
  const auto& st = s[r.signal];
  if (!st) return std::nullopt;
  if (r.statistic == "first") return st->first;
  if (r.statistic == "max") return st->max;
  return st->mean;
}

std::string sentence_for(const Rule& r, double slow, double rest, std::string_view label) {
  switch (r.signal) {
    case Signal::waiting_requests:
      return fmt::format("{} arrived when {:.0f} requests were waiting (median {:.0f} for the others).", label, slow,
                         rest);
    case Signal::kv_cache_usage:
      return fmt::format("The KV cache was {:.0f}% full during {} ({:.0f}% for the others).", slow * 100, label,
                         rest * 100);
    case Signal::preemptions_per_s:
      return fmt::format("{} saw {:.0f} preemptions each (median {:.0f} for the others).", label, slow, rest);
    case Signal::running_requests:
      return fmt::format("{} ran in batches of {:.0f} requests (median {:.0f} for the others).", label, slow, rest);
    case Signal::prefix_cache_hit_rate:
      return fmt::format("The prefix-cache hit rate was {:.0f}% during {} ({:.0f}% for the others).", slow * 100,
                         label, rest * 100);
    case Signal::tokens_per_step:
      return fmt::format("Engine steps carried {:.0f} tokens during {} ({:.0f} for the others): prefills shared "
                         "the steps.",
                         slow, label, rest);
    case Signal::gpu_sm_clock_mhz:
      return fmt::format("The GPU SM clock was {:.0f} MHz during {} ({:.0f} MHz for the others).", slow, label, rest);
    case Signal::gpu_utilization:
      return fmt::format("GPU utilisation was {:.0f}% during {} ({:.0f}% for the others).", slow * 100, label,
                         rest * 100);
    default:
      return fmt::format("{} was {:.3g} during {} ({:.3g} for the others).", to_string(r.signal), slow, label, rest);
  }
}

}  // namespace

Timelines build_timelines(const SeriesStore& store, const EngineProfile& profile) {
  Timelines t;
  for (int i = 0; i < kSignalCount; ++i) {
    const auto s = static_cast<Signal>(i);
    t[s] = signal_timeline(store, profile, s);
  }
  return t;
}

WindowSummary summarize_window(const SeriesStore& store, const EngineProfile& profile, Nanos t0, Nanos t1) {
  WindowSummary w;
  w.t0 = t0;
  w.t1 = t1;
  for (int i = 0; i < kSignalCount; ++i) {
    w.signals[static_cast<std::size_t>(i)] = signal_over(store, profile, static_cast<Signal>(i), t0, t1);
  }
  for (int i = 0; i < kLatencyCount; ++i) {
    w.latencies[static_cast<std::size_t>(i)] = latency_window(store, profile, static_cast<Latency>(i), t0, t1);
  }
  return w;
}

std::optional<SignalStats> stats_over(const std::vector<SignalPoint>& timeline, Nanos t0, Nanos t1) {
  SignalStats st;
  double sum = 0;
  for (const SignalPoint& p : timeline) {
    if (!overlaps(p, t0, t1)) continue;
    if (st.points == 0) {
      st.first = st.min = st.max = p.value;
    } else {
      st.min = std::min(st.min, p.value);
      st.max = std::max(st.max, p.value);
    }
    sum += p.value;
    ++st.points;
  }
  if (st.points == 0) return std::nullopt;
  st.mean = sum / static_cast<double>(st.points);
  return st;
}

std::vector<RequestEngineState> engine_state_per_request(const Timelines& tl,
                                                         std::span<const RequestInterval> requests) {
  std::vector<RequestEngineState> out;
  out.reserve(requests.size());
  const auto& pre = tl[Signal::preemptions_per_s];
  for (const RequestInterval& r : requests) {
    RequestEngineState st;
    for (std::size_t i = 0; i < st.by_signal.size(); ++i) st.by_signal[i] = stats_over(tl.by_signal[i], r.start, r.end);
    if (!pre.empty()) {
      double count = 0;
      for (const SignalPoint& p : pre) {
        const Nanos a = std::max(p.from, r.start);
        const Nanos b = std::min(p.to, r.end);
        if (b > a) count += p.value * static_cast<double>(b - a) / 1e9;
      }
      st.preemptions = count;
    }
    out.push_back(std::move(st));
  }
  return out;
}

WhyReport explain_slow(const std::vector<RequestEngineState>& states, std::span<const std::size_t> slow,
                       std::string_view label) {
  std::vector<bool> is_slow(states.size(), false);
  for (const std::size_t i : slow) {
    if (i < states.size()) is_slow[i] = true;
  }
  WhyReport report;
  for (const Rule& rule : kRules) {
    std::vector<double> a;
    std::vector<double> b;
    for (std::size_t i = 0; i < states.size(); ++i) {
      const auto v = statistic_of(states[i], rule);
      if (!v) continue;
      (is_slow[i] ? a : b).push_back(*v);
    }
    if (a.empty() || b.empty()) continue;
    const double ma = median(std::move(a));
    const double mb = median(std::move(b));
    const double gap = rule.higher_is_worse ? ma - mb : mb - ma;
    if (gap < rule.min_abs) continue;  // too small, or the other way round
    const double score = rule.relative ? gap / std::max(std::abs(mb), rule.unit) : gap / rule.unit;
    if (score < 1) continue;  // within ordinary variation
    report.differences.push_back(Difference{rule.signal, rule.statistic, ma, mb, score, sentence_for(rule, ma, mb, label)});
  }
  std::stable_sort(report.differences.begin(), report.differences.end(),
                   [](const Difference& x, const Difference& y) { return x.score > y.score; });
  for (const Difference& d : report.differences) report.sentences.push_back(d.sentence);
  if (report.sentences.empty()) {
    report.sentences.push_back(fmt::format(
        "The engine's metrics look the same for {} as for the others: the cause is not visible from the engine's "
        "metrics (look at the client, the network, or the requests themselves).",
        label));
  }
  return report;
}

}  // namespace splleed::observe
