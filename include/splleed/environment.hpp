#pragma once
#include "splleed/result.hpp"

namespace splleed {

// Host, OS, CPU, memory and splleed's own version; target, engine and GPU fields are left for
// the caller (the session layer reads those).
Environment capture_host_environment();

// Wall-clock stamp for the run's time zero, paired with the monotonic origin.
ClockInfo make_clock_info(Nanos monotonic_origin);

}  // namespace splleed
