#pragma once
// Token-length distributions (seeded, reproducible on every platform) and their summaries.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/random/mersenne_twister.hpp>
#include <nlohmann/json_fwd.hpp>

namespace splleed::workload {

// One length distribution, as written on the command line:
//   "N" or "fixed:N"        always N
//   "uniform:lo:hi"         integers lo..hi, both included, equally likely
//   "normal:mean:sd"        Normal(mean, sd), rounded to the nearest integer
//   "lognormal:mu:sigma"    exp(Normal(mu, sigma)), rounded: mu and sigma are the mean and standard
//                           deviation of the length's natural logarithm, so the median length is
//                           e^mu and the mean e^(mu + sigma^2 / 2)
// Every draw is clamped to >= 1.
struct LengthDistribution {
  enum class Kind : std::uint8_t { fixed, uniform, normal, lognormal };
  Kind kind = Kind::fixed;
  double a = 1;  // fixed: N; uniform: lo; normal: mean; lognormal: mu
  double b = 0;  // uniform: hi; normal: sd; lognormal: sigma

  // The same text that parse() accepts (e.g. "uniform:10:20").
  std::string to_string() const;
  // Throws WorkloadError naming `option` and the value when the text is not one of the forms above
  // or a parameter is out of range (N >= 1, 1 <= lo <= hi, sd >= 0, sigma >= 0, finite values).
  static LengthDistribution parse(std::string_view text, std::string_view option);
};

// The random engine every workload draw uses: mt19937_64's output sequence is fixed by its
// definition, and Boost.Random's distributions are fixed algorithms (the standard library's differ
// between implementations), so a seed gives the same lengths everywhere.
using Engine = boost::random::mt19937_64;

// An engine for one independent stream of draws (`stream` names the purpose), so that changing
// how many draws one stream makes does not shift another's.
Engine make_engine(std::uint64_t seed, std::uint64_t stream);

// One draw, >= 1.
std::int32_t draw_length(const LengthDistribution& d, Engine& engine);

// count, mean, p50, p90, min and max of a set of lengths. Percentiles interpolate linearly between
// order statistics (numpy's default, as everywhere in splleed's reports).
struct LengthSummary {
  std::int64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  std::int64_t min = 0;
  std::int64_t max = 0;
};
// Empty input gives an all-zero summary.
LengthSummary summarize_lengths(std::span<const std::int64_t> lengths);
nlohmann::json to_json(const LengthSummary& s);

}  // namespace splleed::workload
