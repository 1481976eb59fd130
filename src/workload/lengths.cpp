#include "workload/lengths.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "workload/error.hpp"

namespace splleed::workload {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto pos = s.find(sep);
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return parts;
    s.remove_prefix(pos + 1);
  }
}

double number(std::string_view part, std::string_view text, std::string_view option) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
  if (ec != std::errc{} || ptr != part.data() + part.size() || part.empty() || !std::isfinite(v)) {
    throw WorkloadError(fmt::format("{}: '{}' in '{}' is not a number", option, part, text));
  }
  return v;
}

double integer(std::string_view part, std::string_view text, std::string_view option) {
  const double v = number(part, text, option);
  if (v != std::floor(v) || v > std::numeric_limits<std::int32_t>::max()) {
    throw WorkloadError(fmt::format("{}: '{}' in '{}' must be an integer", option, part, text));
  }
  return v;
}

std::int32_t clamp_round(double v) {
  if (!(v >= 1)) return 1;  // also catches NaN
  const double r = std::round(v);
  if (r >= static_cast<double>(std::numeric_limits<std::int32_t>::max())) {
    return std::numeric_limits<std::int32_t>::max();
  }
  return static_cast<std::int32_t>(r);
}

// splitmix64's finaliser: spreads (seed, stream) over the whole 64-bit state space.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string fmt_num(double v) { return fmt::format("{}", v); }

}  // namespace

std::string LengthDistribution::to_string() const {
  switch (kind) {
    case Kind::fixed: return fmt::format("fixed:{}", fmt_num(a));
    case Kind::uniform: return fmt::format("uniform:{}:{}", fmt_num(a), fmt_num(b));
    case Kind::normal: return fmt::format("normal:{}:{}", fmt_num(a), fmt_num(b));
    case Kind::lognormal: return fmt::format("lognormal:{}:{}", fmt_num(a), fmt_num(b));
  }
  return {};
}

LengthDistribution LengthDistribution::parse(std::string_view text, std::string_view option) {
  const auto parts = split(text, ':');
  const std::string_view name = parts[0];
  const auto want = [&](std::size_t n, std::string_view form) {
    if (parts.size() != n) {
      throw WorkloadError(fmt::format("{}: '{}' should be {}", option, text, form));
    }
  };
  LengthDistribution d;
  if (parts.size() == 1 || name == "fixed") {
    if (parts.size() != 1) want(2, "fixed:N");
    d.kind = Kind::fixed;
    d.a = integer(parts.back(), text, option);
    if (d.a < 1) throw WorkloadError(fmt::format("{}: '{}': N must be >= 1", option, text));
  } else if (name == "uniform") {
    want(3, "uniform:lo:hi");
    d.kind = Kind::uniform;
    d.a = integer(parts[1], text, option);
    d.b = integer(parts[2], text, option);
    if (d.a < 1 || d.b < d.a) {
      throw WorkloadError(fmt::format("{}: '{}': need 1 <= lo <= hi", option, text));
    }
  } else if (name == "normal") {
    want(3, "normal:mean:sd");
    d.kind = Kind::normal;
    d.a = number(parts[1], text, option);
    d.b = number(parts[2], text, option);
    if (d.b < 0) throw WorkloadError(fmt::format("{}: '{}': sd must be >= 0", option, text));
  } else if (name == "lognormal") {
    want(3, "lognormal:mu:sigma");
    d.kind = Kind::lognormal;
    d.a = number(parts[1], text, option);
    d.b = number(parts[2], text, option);
    if (d.b < 0) throw WorkloadError(fmt::format("{}: '{}': sigma must be >= 0", option, text));
    if (d.a > 25) {  // e^25 tokens is far beyond any context window
      throw WorkloadError(fmt::format("{}: '{}': mu is the log of the length; {} is too large",
                                      option, text, fmt_num(d.a)));
    }
  } else {
    throw WorkloadError(fmt::format(
        "{}: unknown distribution '{}' (use N, fixed:N, uniform:lo:hi, normal:mean:sd or "
        "lognormal:mu:sigma)",
        option, text));
  }
  return d;
}

Engine make_engine(std::uint64_t seed, std::uint64_t stream) {
  return Engine(mix(mix(seed) ^ (stream * 0x2545f4914f6cdd1dULL)));
}

std::int32_t draw_length(const LengthDistribution& d, Engine& engine) {
  using Kind = LengthDistribution::Kind;
  switch (d.kind) {
    case Kind::fixed: return clamp_round(d.a);
    case Kind::uniform: {
      boost::random::uniform_int_distribution<std::int32_t> u(static_cast<std::int32_t>(d.a),
                                                              static_cast<std::int32_t>(d.b));
      return u(engine);
    }
    case Kind::normal: {
      if (d.b == 0) return clamp_round(d.a);
      boost::random::normal_distribution<double> n(d.a, d.b);
      return clamp_round(n(engine));
    }
    case Kind::lognormal: {
      if (d.b == 0) return clamp_round(std::exp(d.a));
      // Boost's lognormal_distribution(m, s) takes the parameters of the underlying normal.
      boost::random::lognormal_distribution<double> ln(d.a, d.b);
      return clamp_round(ln(engine));
    }
  }
  return 1;
}

LengthSummary summarize_lengths(std::span<const std::int64_t> lengths) {
  LengthSummary s;
  if (lengths.empty()) return s;
  std::vector<std::int64_t> v(lengths.begin(), lengths.end());
  std::sort(v.begin(), v.end());
  // Hand-written (8 lines) rather than stats::percentile: this layer does not link the stats
  // layer; the method is the same (linear interpolation, numpy's default).
  const auto pct = [&](double p) {
    const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(rank));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    const double frac = rank - static_cast<double>(lo);
    return static_cast<double>(v[lo]) + frac * static_cast<double>(v[hi] - v[lo]);
  };
  s.count = static_cast<std::int64_t>(v.size());
  double sum = 0;
  for (const auto x : v) sum += static_cast<double>(x);
  s.mean = sum / static_cast<double>(v.size());
  s.p50 = pct(50);
  s.p90 = pct(90);
  s.min = v.front();
  s.max = v.back();
  return s;
}

nlohmann::json to_json(const LengthSummary& s) {
  return nlohmann::json{{"count", s.count}, {"mean", s.mean}, {"p50", s.p50},
                        {"p90", s.p90},     {"min", s.min},   {"max", s.max}};
}

}  // namespace splleed::workload
