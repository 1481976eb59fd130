#pragma once
// Open-loop arrival schedules as data: a seeded list of intended send times, computed before any
// request is sent, so they can be tested without I/O and replayed exactly from the seed.
//
// Every schedule is a unit-rate renewal process (inter-arrival gaps with mean 1: all exactly 1 for
// `constant`, Exp(1) for `poisson`, Gamma(k, 1/k) for `gamma` with shape k = burstiness) mapped
// through the inverse of the cumulative rate Λ(t) = ∫λ. With a constant rate that is just a scale;
// a ramp makes λ(t) climb from ramp.start_rate to `rate` over ramp.duration (the time-rescaling
// theorem: the result is the same process with a time-varying rate).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "splleed/clock.hpp"
#include "splleed/config.hpp"

namespace splleed::load {

using Ramp = RampConfig;

struct ScheduleSpec {
  double rate = 1;          // target requests/s (> 0)
  Arrival arrival = Arrival::poisson;
  double burstiness = 1;    // gamma shape; 1 is Poisson, < 1 burstier, > 1 more regular
  std::optional<Ramp> ramp;
  std::uint64_t seed = 0;
};

// Empty when valid, else one sentence naming the option (CLI names).
std::string validate(const ScheduleSpec& spec);

// Intended send times, as offsets from the schedule's start, ascending. Stops after `max_count`
// arrivals or at the first arrival at or beyond `horizon`, whichever comes first (give at least one).
std::vector<Nanos> arrival_times(const ScheduleSpec& spec, std::optional<std::size_t> max_count,
                                 std::optional<Nanos> horizon);

// Λ(t): expected arrivals by time t (seconds) under the spec's rate profile, and its inverse.
double cumulative_rate(const ScheduleSpec& spec, double t_seconds);
double inverse_cumulative_rate(const ScheduleSpec& spec, double lambda);

}  // namespace splleed::load
