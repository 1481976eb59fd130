#pragma once
// One-line definitions of every reported figure (docs/metrics.md is the long form). Every results
// file carries them so that it states what its numbers mean.
#include <span>
#include <string_view>
#include <utility>

#include "splleed/result.hpp"

namespace splleed::report {

// The definition of one latency metric.
std::string_view definition(Metric m) noexcept;

// Definitions of the figures that are not latency metrics (units, populations, throughputs), as
// (key, text) pairs in report order.
std::span<const std::pair<std::string_view, std::string_view>> general_definitions() noexcept;

}  // namespace splleed::report
