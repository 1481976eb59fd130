#include "splleed/result.hpp"

#include <array>

namespace splleed {

namespace {
constexpr std::array<std::string_view, kMetricCount> kKeys = {
    "ttft", "ttft_from_schedule", "schedule_lag", "ttst", "itl", "icl", "tpot", "e2e",
    "e2e_from_schedule", "stream_end", "worst_stall"};
constexpr std::array<std::string_view, kMetricCount> kLabels = {
    "TTFT", "TTFT (sched)", "Sched lag", "TTST", "ITL", "ICL", "TPOT", "E2E", "E2E (sched)",
    "Stream end", "Worst stall"};
}  // namespace

std::string_view to_string(Metric m) noexcept { return kKeys[static_cast<std::size_t>(m)]; }
std::string_view display_name(Metric m) noexcept { return kLabels[static_cast<std::size_t>(m)]; }

}  // namespace splleed
