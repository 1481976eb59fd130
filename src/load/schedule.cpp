#include "load/schedule.hpp"

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/gamma_distribution.hpp>
#include <cmath>
#include <random>
#include <stdexcept>

namespace splleed::load {

std::string validate(const ScheduleSpec& s) {
  if (!(s.rate > 0) || !std::isfinite(s.rate)) return "--request-rate must be positive.";
  if (s.arrival == Arrival::gamma && !(s.burstiness > 0))
    return "--burstiness must be positive (1 is Poisson).";
  if (s.ramp) {
    if (!(s.ramp->start_rate > 0)) return "the ramp's start rate must be positive.";
    if (s.ramp->duration <= 0) return "--ramp-up duration must be positive.";
  }
  return {};
}

namespace {

double ramp_seconds(const ScheduleSpec& s) {
  return s.ramp ? static_cast<double>(s.ramp->duration) / 1e9 : 0.0;
}

// Λ over the ramp only (0 <= t <= D).
double ramp_lambda(const ScheduleSpec& s, double t) {
  const double r0 = s.ramp->start_rate, r1 = s.rate, d = ramp_seconds(s);
  if (s.ramp->shape == RampShape::linear || r0 == r1) return r0 * t + (r1 - r0) * t * t / (2 * d);
  const double lg = std::log(r1 / r0);
  return r0 * d / lg * (std::exp(lg * t / d) - 1);
}

}  // namespace

double cumulative_rate(const ScheduleSpec& s, double t) {
  if (!s.ramp) return s.rate * t;
  const double d = ramp_seconds(s);
  if (t <= d) return ramp_lambda(s, t);
  return ramp_lambda(s, d) + s.rate * (t - d);
}

double inverse_cumulative_rate(const ScheduleSpec& s, double lambda) {
  if (!s.ramp) return lambda / s.rate;
  const double d = ramp_seconds(s), r0 = s.ramp->start_rate, r1 = s.rate;
  const double at_end = ramp_lambda(s, d);
  if (lambda >= at_end) return d + (lambda - at_end) / r1;
  if (s.ramp->shape == RampShape::linear || r0 == r1) {
    if (r0 == r1) return lambda / r0;
    // Solve (r1 - r0)/(2d) t² + r0 t - Λ = 0 for the positive root, in a cancellation-free form.
    const double a = (r1 - r0) / (2 * d);
    return 2 * lambda / (r0 + std::sqrt(r0 * r0 + 4 * a * lambda));
  }
  const double lg = std::log(r1 / r0);
  return d / lg * std::log1p(lambda * lg / (r0 * d));
}

std::vector<Nanos> arrival_times(const ScheduleSpec& spec, std::optional<std::size_t> max_count,
                                 std::optional<Nanos> horizon) {
  if (!max_count && !horizon) throw std::invalid_argument("arrival_times needs a count or a horizon");
  if (auto err = validate(spec); !err.empty()) throw std::invalid_argument(err);
  // Boost.Random's distributions have a fixed algorithm (the standard library's do not), so a seed
  // gives the same schedule with every compiler.
  std::mt19937_64 rng(spec.seed);
  boost::random::exponential_distribution<double> exponential(1.0);
  const double k = spec.burstiness;
  boost::random::gamma_distribution<double> gamma(k, 1.0 / k);

  std::vector<Nanos> out;
  if (max_count) out.reserve(*max_count);
  double lambda = 0;
  for (;;) {
    if (max_count && out.size() >= *max_count) break;
    double gap = 1.0;
    if (spec.arrival == Arrival::poisson) gap = exponential(rng);
    if (spec.arrival == Arrival::gamma) gap = gamma(rng);
    // The first request goes out at t = 0 for constant arrivals, after one gap otherwise: a
    // renewal process started at a random point would need the equilibrium gap; a full gap is
    // the usual convention and keeps rate estimates unbiased over long runs.
    if (spec.arrival == Arrival::constant && out.empty()) gap = 0;
    lambda += gap;
    const auto t = static_cast<Nanos>(std::llround(inverse_cumulative_rate(spec, lambda) * 1e9));
    if (horizon && t >= *horizon) break;
    out.push_back(t);
  }
  return out;
}

}  // namespace splleed::load
