#pragma once
// GPU telemetry through NVML, loaded at run time with dlopen: no build-time dependency, and the
// benchmark runs unchanged on machines without a GPU or driver.
//
// Contract:
// - When the library cannot be loaded, NVML does not initialise, or it sees no GPU, the result is
//   `available == false` with a one-sentence reason; nothing throws.
// - Per GPU, a query NVML answers with NOT_SUPPORTED leaves that field empty (missing, not zero);
//   any other failed query is also empty and its error is listed in `errors`.
// - Devices are listed in NVML (PCI) order; match them to CUDA devices by UUID.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observe/scraper.hpp"
#include "splleed/clock.hpp"

namespace splleed::observe {

inline constexpr const char* kNvmlLibrary = "libnvidia-ml.so.1";

struct GpuReading {
  unsigned index = 0;
  std::string name;
  std::string uuid;
  std::optional<std::uint64_t> memory_total_bytes;
  std::optional<std::uint64_t> memory_used_bytes;
  std::optional<unsigned> utilization_gpu_pct;     // % of time a kernel ran (not SM occupancy)
  std::optional<unsigned> utilization_memory_pct;  // % of time device memory was read or written
  std::optional<double> power_w;
  std::optional<unsigned> sm_clock_mhz;
  std::optional<unsigned> temperature_c;
  std::optional<std::uint64_t> throttle_reasons;  // NVML clocks-event bitmask
  std::vector<std::string> errors;
};

// Names of the bits set in an NVML clocks-event (throttle) reason mask, e.g. "SwPowerCap";
// unknown bits as "0x...".
std::vector<std::string> throttle_reason_names(std::uint64_t mask);

struct GpuTelemetry {
  bool available = false;
  std::string absent_reason;  // set when !available
  Nanos t = 0;                // clock when the reading was taken
  std::vector<GpuReading> gpus;
};

// One NVML session: dlopen + nvmlInit on construction, nvmlShutdown + dlclose on destruction.
class Nvml {
 public:
  explicit Nvml(const char* library = kNvmlLibrary);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool available() const noexcept;
  const std::string& absent_reason() const noexcept;
  // Reads every GPU. Not thread-safe with itself; NVML's own calls are thread-safe.
  GpuTelemetry read(const Clock& clock) const;
  // The driver's version (e.g. "550.54.15"); "" when NVML is absent or does not say.
  std::string driver_version() const;
  // The CUDA version the driver supports (e.g. "12.4"); "" when NVML is absent or does not say.
  std::string cuda_driver_version() const;

  struct Api;

 private:
  std::unique_ptr<Api> api_;
  std::string absent_reason_;
};

// One-shot convenience: opens NVML, reads, closes.
GpuTelemetry read_gpu_telemetry(const Clock& clock, const char* library = kNvmlLibrary);

// Prometheus text with one series per GPU (labels gpu, uuid, name), so GPU readings can go
// through the same parser and store as engine metrics. Names: splleed_gpu_utilization_ratio,
// splleed_gpu_memory_utilization_ratio, splleed_gpu_memory_used_bytes, splleed_gpu_memory_total_bytes,
// splleed_gpu_power_watts, splleed_gpu_sm_clock_mhz, splleed_gpu_temperature_celsius,
// splleed_gpu_throttle_reasons (the bitmask). Missing fields are left out. Empty when absent.
std::string to_prometheus_text(const GpuTelemetry& t);

// NVML as a MetricsSource, so a Scraper can poll GPUs into the same store as engine metrics (the
// GPU-telemetry profile, EngineKind::dcgm, reads these names). An absent NVML is a failed fetch
// carrying the reason.
class NvmlSource final : public MetricsSource {
 public:
  explicit NvmlSource(const Clock& clock, const char* library = kNvmlLibrary);
  FetchResult fetch() override;
  const Nvml& nvml() const noexcept { return nvml_; }

 private:
  const Clock& clock_;
  Nvml nvml_;
};

}  // namespace splleed::observe
