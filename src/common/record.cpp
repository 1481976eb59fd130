#include "splleed/record.hpp"

#include <array>

namespace splleed {

namespace {
constexpr std::array<std::string_view, kRequestStatusCount> kStatusNames = {
    "ok", "http_error", "stream_error", "timeout", "connect_error", "protocol_error", "cancelled",
    "incomplete"};
}  // namespace

std::string_view to_string(RequestStatus s) noexcept {
  return kStatusNames[static_cast<std::size_t>(s)];
}

std::optional<RequestStatus> request_status_from_string(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i) {
    if (kStatusNames[i] == s) return static_cast<RequestStatus>(i);
  }
  return std::nullopt;
}

std::int64_t RequestRecord::output_tokens() const noexcept {
  if (usage.completion_tokens) return *usage.completion_tokens;
  std::int64_t n = 0;
  for (const auto& e : tokens) n += e.tokens;
  return n;
}

}  // namespace splleed
