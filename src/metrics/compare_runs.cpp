#include "metrics/compare_runs.hpp"

#include <algorithm>
#include <stdexcept>

#include "metrics/request_metrics.hpp"

namespace splleed::metrics {

namespace {

constexpr std::array<const char*, 3> kThroughputs = {"request_throughput", "output_token_throughput",
                                                     "total_token_throughput"};
constexpr std::array<double, 3> kPercentiles = {50, 90, 99};
constexpr std::array<const char*, 3> kPercentileNames = {"p50", "p90", "p99"};

std::vector<const RunResult*> runs_with(const BenchmarkResult& r, const std::string& label) {
  std::vector<const RunResult*> out;
  for (const RunResult& run : r.runs)
    if (run.label == label) out.push_back(&run);
  return out;
}

// FNV-1a: a bootstrap stream id that depends only on the row's names, so that filtering metrics
// leaves the other rows' intervals unchanged. Written out because std::hash is not guaranteed to
// give the same value across standard libraries.
std::uint64_t stream_id(const std::string& text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void add(std::vector<double>& v, const std::optional<double>& ns) {
  if (ns) v.push_back(*ns / static_cast<double>(kNanosPerMilli));
}

}  // namespace

const std::vector<std::string>& comparable_metrics() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (int i = 0; i < kMetricCount; ++i) k.emplace_back(to_string(static_cast<Metric>(i)));
    for (const char* t : kThroughputs) k.emplace_back(t);
    return k;
  }();
  return keys;
}

LevelSamples collect(const std::vector<const RunResult*>& runs) {
  LevelSamples s;
  auto& m = s.metrics;
  std::vector<double> itl, icl;
  for (const RunResult* run : runs) {
    s.window_s += run->summary.window_s;
    for (const RequestRecord& r : run->requests) {
      if (r.warmup || r.ramp_up) continue;
      const bool ok = r.status == RequestStatus::ok;
      const bool in_window = ok && r.end && *r.end >= run->summary.window_start &&
                             *r.end <= run->summary.window_end;
      const auto out = static_cast<double>(in_window ? r.output_tokens() : 0);
      s.throughput[0].push_back(in_window ? 1.0 : 0.0);
      s.throughput[1].push_back(out);
      s.throughput[2].push_back(
          in_window ? out + static_cast<double>(r.usage.prompt_tokens.value_or(0)) : 0.0);
      if (!ok) continue;
      const RequestMetrics v = compute(r);
      add(m[static_cast<int>(Metric::ttft)], v.ttft);
      add(m[static_cast<int>(Metric::ttft_from_schedule)], v.ttft_from_schedule);
      add(m[static_cast<int>(Metric::schedule_lag)], v.schedule_lag);
      add(m[static_cast<int>(Metric::ttst)], v.ttst);
      add(m[static_cast<int>(Metric::tpot)], v.tpot);
      add(m[static_cast<int>(Metric::e2e)], v.e2e);
      add(m[static_cast<int>(Metric::e2e_from_schedule)], v.e2e_from_schedule);
      add(m[static_cast<int>(Metric::stream_end)], v.stream_end);
      add(m[static_cast<int>(Metric::worst_stall)], v.worst_stall);
      append_gaps(r, itl, icl);
    }
  }
  for (double& v : itl) v /= static_cast<double>(kNanosPerMilli);
  for (double& v : icl) v /= static_cast<double>(kNanosPerMilli);
  m[static_cast<int>(Metric::itl)] = std::move(itl);
  m[static_cast<int>(Metric::icl)] = std::move(icl);
  return s;
}

std::vector<ComparisonRow> compare(const BenchmarkResult& a, const BenchmarkResult& b,
                                   const CompareOptions& options) {
  const auto& known = comparable_metrics();
  const std::vector<std::string>& keys = options.metrics.empty() ? known : options.metrics;
  for (const std::string& k : keys)
    if (std::find(known.begin(), known.end(), k) == known.end())
      throw std::invalid_argument("unknown metric '" + k + "'");

  std::vector<std::string> labels;
  for (const RunResult& run : a.runs)
    if (std::find(labels.begin(), labels.end(), run.label) == labels.end() &&
        !runs_with(b, run.label).empty())
      labels.push_back(run.label);

  std::vector<ComparisonRow> rows;
  for (const std::string& label : labels) {
    const LevelSamples sa = collect(runs_with(a, label));
    const LevelSamples sb = collect(runs_with(b, label));
    for (const std::string& key : keys) {
      const auto index = static_cast<std::size_t>(std::find(known.begin(), known.end(), key) -
                                                  known.begin());
      stats::BootstrapSpec spec;
      spec.level = options.confidence;
      spec.seed = options.seed;
      spec.resamples = options.resamples;
      auto emit = [&](const std::vector<double>& xa, double scale_a, const std::vector<double>& xb,
                      double scale_b, const std::string& stat, bool higher) {
        ComparisonRow row;
        row.label = label;
        row.metric = key;
        row.stat = stat;
        row.n_a = xa.size();
        row.n_b = xb.size();
        row.higher_is_better = higher;
        spec.stream = stream_id(label + '\n' + key + '\n' + stat);
        row.diff = stats::bootstrap_difference(xa, scale_a, xb, scale_b, spec);
        row.verdict = stats::verdict(row.diff, higher);
        rows.push_back(std::move(row));
      };
      if (index < static_cast<std::size_t>(kMetricCount)) {
        spec.estimator = stats::Estimator::percentile;
        for (std::size_t p = 0; p < kPercentiles.size(); ++p) {
          spec.p = kPercentiles[p];
          emit(sa.metrics[index], 1.0, sb.metrics[index], 1.0, kPercentileNames[p], false);
        }
      } else {
        const std::size_t t = index - kMetricCount;
        spec.estimator = stats::Estimator::sum;
        // A zero-length window has no throughput (as in summarize): the side counts as empty.
        static const std::vector<double> kNone;
        emit(sa.window_s > 0 ? sa.throughput[t] : kNone, sa.window_s > 0 ? 1.0 / sa.window_s : 0,
             sb.window_s > 0 ? sb.throughput[t] : kNone, sb.window_s > 0 ? 1.0 / sb.window_s : 0,
             "value", true);
      }
    }
  }
  return rows;
}

}  // namespace splleed::metrics
