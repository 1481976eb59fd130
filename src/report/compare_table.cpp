#include "report/compare_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <ostream>
#include <string>

#include <fmt/format.h>

namespace splleed::report {

void write_comparison(const std::vector<metrics::ComparisonRow>& rows, double confidence,
                      std::ostream& out) {
  constexpr std::size_t kColumns = 9;
  using Line = std::array<std::string, kColumns>;
  std::vector<Line> lines;
  lines.push_back({"run", "metric", "stat", "A", "B", "B-A",
                   fmt::format("{:g}% interval", confidence * 100.0), "change", "verdict"});
  for (const auto& r : rows) {
    if (!r.diff.defined) {
      lines.push_back({r.label, r.metric, r.stat, "n/a", "n/a", "", "", "", "no samples"});
      continue;
    }
    const auto& d = r.diff;
    const std::string change =
        d.a != 0 ? fmt::format("{:+.1f}%", d.diff / std::abs(d.a) * 100.0) : std::string();
    lines.push_back({r.label, r.metric, r.stat, fmt::format("{:.2f}", d.a),
                     fmt::format("{:.2f}", d.b), fmt::format("{:+.2f}", d.diff),
                     fmt::format("[{:+.2f}, {:+.2f}]", d.lo, d.hi), change,
                     std::string(stats::to_string(r.verdict))});
  }
  // Widths from the widest cell, so that columns line up whatever the magnitudes.
  std::array<std::size_t, kColumns> width{};
  for (const Line& l : lines)
    for (std::size_t c = 0; c < kColumns; ++c) width[c] = std::max(width[c], l[c].size());
  for (const Line& l : lines) {
    std::string text;
    for (std::size_t c = 0; c < kColumns; ++c) {
      const bool left = c < 3 || c == kColumns - 1;
      if (c > 0) text += "  ";
      text += left ? fmt::format("{:<{}}", l[c], width[c]) : fmt::format("{:>{}}", l[c], width[c]);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  }
}

}  // namespace splleed::report
