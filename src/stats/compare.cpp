#include "stats/compare.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "stats/summary.hpp"

namespace splleed::stats {

namespace {

// One side of the comparison: its samples sorted once, and a reusable multiplicity table so that
// a resample costs O(n) draws and no sort (a resample of sorted data is sorted data with counts).
class Side {
 public:
  Side(std::span<const double> samples, double scale, const BootstrapSpec& spec)
      : sorted_(samples.begin(), samples.end()), counts_(samples.size()), scale_(scale),
        spec_(spec) {
    std::sort(sorted_.begin(), sorted_.end());
  }

  double estimate() const {
    if (spec_.estimator == Estimator::sum)
      return scale_ * std::accumulate(sorted_.begin(), sorted_.end(), 0.0);
    return scale_ * percentile(sorted_, spec_.p);
  }

  double resample(std::mt19937_64& rng) {
    const std::size_t n = sorted_.size();
    std::fill(counts_.begin(), counts_.end(), 0U);
    // Modulo draws: the bias is below n / 2^64, and unlike std::uniform_int_distribution the
    // sequence is the same with every standard library, so a seed means the same interval.
    for (std::size_t i = 0; i < n; ++i) ++counts_[rng() % n];
    if (spec_.estimator == Estimator::sum) {
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += counts_[i] * sorted_[i];
      return scale_ * sum;
    }
    // The two order statistics around numpy's virtual rank p/100 * (n - 1), found by walking
    // the cumulative multiplicities.
    const double rank = std::clamp(static_cast<double>(n - 1) * (spec_.p / 100.0), 0.0,
                                   static_cast<double>(n - 1));
    const auto lo_pos = static_cast<std::size_t>(std::floor(rank));
    const std::size_t hi_pos = std::min(lo_pos + 1, n - 1);
    double lo = 0, hi = 0;
    std::size_t seen = 0;
    bool have_lo = false;
    for (std::size_t i = 0; i < n; ++i) {
      seen += counts_[i];
      if (!have_lo && seen > lo_pos) {
        lo = sorted_[i];
        have_lo = true;
      }
      if (seen > hi_pos) {
        hi = sorted_[i];
        break;
      }
    }
    const std::array<double, 2> pair = {lo, hi};
    // Interpolates exactly as stats::percentile does on the two-element span.
    return scale_ * percentile(pair, (rank - std::floor(rank)) * 100.0);
  }

 private:
  std::vector<double> sorted_;
  std::vector<std::uint32_t> counts_;
  double scale_;
  const BootstrapSpec& spec_;
};

}  // namespace

Difference bootstrap_difference(std::span<const double> a, double a_scale,
                                std::span<const double> b, double b_scale,
                                const BootstrapSpec& spec) {
  Difference d;
  if (a.empty() || b.empty()) return d;
  Side side_a(a, a_scale, spec);
  Side side_b(b, b_scale, spec);
  d.defined = true;
  d.a = side_a.estimate();
  d.b = side_b.estimate();
  d.diff = d.b - d.a;

  std::seed_seq seq{static_cast<std::uint32_t>(spec.seed), static_cast<std::uint32_t>(spec.seed >> 32),
                    static_cast<std::uint32_t>(spec.stream),
                    static_cast<std::uint32_t>(spec.stream >> 32)};
  std::mt19937_64 rng(seq);
  std::vector<double> diffs(static_cast<std::size_t>(std::max(spec.resamples, 1)));
  for (double& v : diffs) {
    const double ra = side_a.resample(rng);
    v = side_b.resample(rng) - ra;
  }
  std::sort(diffs.begin(), diffs.end());
  const double tail = (1.0 - spec.level) / 2.0 * 100.0;
  d.lo = percentile(diffs, tail);
  d.hi = percentile(diffs, 100.0 - tail);
  return d;
}

std::string_view to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::better: return "better";
    case Verdict::worse: return "worse";
    case Verdict::no_change: break;
  }
  return "no significant change";
}

Verdict verdict(const Difference& d, bool higher_is_better) noexcept {
  if (!d.defined) return Verdict::no_change;
  const bool up = d.lo > 0;     // B significantly above A
  const bool down = d.hi < 0;   // B significantly below A
  if (!up && !down) return Verdict::no_change;
  return up == higher_is_better ? Verdict::better : Verdict::worse;
}

}  // namespace splleed::stats
