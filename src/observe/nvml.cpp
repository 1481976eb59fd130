#include "observe/nvml.hpp"

#include <dlfcn.h>

#include <array>

#include <fmt/format.h>

namespace splleed::observe {

// NVML's header (nvml.h) ships with the CUDA toolkit / NVIDIA driver and is not in Debian main, so
// the few types and entry points used here are declared by hand, matching the C ABI of nvml.h.
namespace nvml {
using Return = int;  // nvmlReturn_t
using Device = struct Opaque*;  // nvmlDevice_t
constexpr Return kSuccess = 0;
constexpr Return kNotSupported = 3;
constexpr int kClockSm = 1;          // NVML_CLOCK_SM
constexpr int kTemperatureGpu = 0;   // NVML_TEMPERATURE_GPU
constexpr unsigned kNameBuffer = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned kUuidBuffer = 96;  // >= NVML_DEVICE_UUID_V2_BUFFER_SIZE (80)

struct Memory {  // nvmlMemory_t
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct Utilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};

using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using GetCountFn = Return (*)(unsigned int*);
using GetHandleByIndexFn = Return (*)(unsigned int, Device*);
using GetStringFn = Return (*)(Device, char*, unsigned int);
using GetMemoryInfoFn = Return (*)(Device, Memory*);
using GetUtilizationFn = Return (*)(Device, Utilization*);
using GetUintFn = Return (*)(Device, unsigned int*);
using GetClockInfoFn = Return (*)(Device, int, unsigned int*);
using GetTemperatureFn = Return (*)(Device, int, unsigned int*);
using GetReasonsFn = Return (*)(Device, unsigned long long*);
using SystemStringFn = Return (*)(char*, unsigned int);
using SystemIntFn = Return (*)(int*);
constexpr unsigned kDriverVersionBuffer = 80;  // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE
}  // namespace nvml

struct Nvml::Api {
  void* handle = nullptr;
  bool initialised = false;
  nvml::InitFn init = nullptr;
  nvml::ShutdownFn shutdown = nullptr;
  nvml::ErrorStringFn error_string = nullptr;
  nvml::GetCountFn get_count = nullptr;
  nvml::GetHandleByIndexFn get_handle = nullptr;
  nvml::GetStringFn get_name = nullptr;
  nvml::GetStringFn get_uuid = nullptr;
  nvml::GetMemoryInfoFn get_memory = nullptr;
  nvml::GetUtilizationFn get_utilization = nullptr;
  nvml::GetUintFn get_power = nullptr;
  nvml::GetClockInfoFn get_clock = nullptr;
  nvml::GetTemperatureFn get_temperature = nullptr;
  nvml::GetReasonsFn get_reasons = nullptr;
  nvml::SystemStringFn get_driver_version = nullptr;
  nvml::SystemIntFn get_cuda_version = nullptr;

  std::string error(nvml::Return r) const {
    const char* s = error_string != nullptr ? error_string(r) : nullptr;
    return s != nullptr ? fmt::format("{} (NVML error {})", s, r) : fmt::format("NVML error {}", r);
  }
};

namespace {

template <class Fn>
Fn symbol(void* handle, const char* name) {
  // POSIX guarantees that a data pointer from dlsym converts to a function pointer.
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

constexpr std::array<std::pair<std::uint64_t, const char*>, 8> kReasons{{
    {0x1, "GpuIdle"},
    {0x2, "ApplicationsClocksSetting"},
    {0x4, "SwPowerCap"},
    {0x8, "HwSlowdown"},
    {0x10, "SyncBoost"},
    {0x20, "SwThermalSlowdown"},
    {0x40, "HwThermalSlowdown"},
    {0x80, "HwPowerBrakeSlowdown"},
}};

}  // namespace

std::vector<std::string> throttle_reason_names(std::uint64_t mask) {
  std::vector<std::string> out;
  std::uint64_t known = 0;
  for (const auto& [bit, name] : kReasons) {
    known |= bit;
    if ((mask & bit) != 0) out.emplace_back(name);
  }
  if ((mask & ~known) != 0) out.push_back(fmt::format("0x{:x}", mask & ~known));
  return out;
}

Nvml::Nvml(const char* library) : api_(std::make_unique<Api>()) {
  api_->handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (api_->handle == nullptr) {
    const char* why = dlerror();
    absent_reason_ = fmt::format("NVML library {} could not be loaded: {}", library,
                                 why != nullptr ? why : "unknown dlopen error");
    return;
  }
  void* h = api_->handle;
  api_->init = symbol<nvml::InitFn>(h, "nvmlInit_v2");
  api_->shutdown = symbol<nvml::ShutdownFn>(h, "nvmlShutdown");
  api_->error_string = symbol<nvml::ErrorStringFn>(h, "nvmlErrorString");
  api_->get_count = symbol<nvml::GetCountFn>(h, "nvmlDeviceGetCount_v2");
  api_->get_handle = symbol<nvml::GetHandleByIndexFn>(h, "nvmlDeviceGetHandleByIndex_v2");
  api_->get_name = symbol<nvml::GetStringFn>(h, "nvmlDeviceGetName");
  api_->get_uuid = symbol<nvml::GetStringFn>(h, "nvmlDeviceGetUUID");
  api_->get_memory = symbol<nvml::GetMemoryInfoFn>(h, "nvmlDeviceGetMemoryInfo");
  api_->get_utilization = symbol<nvml::GetUtilizationFn>(h, "nvmlDeviceGetUtilizationRates");
  api_->get_power = symbol<nvml::GetUintFn>(h, "nvmlDeviceGetPowerUsage");
  api_->get_clock = symbol<nvml::GetClockInfoFn>(h, "nvmlDeviceGetClockInfo");
  api_->get_temperature = symbol<nvml::GetTemperatureFn>(h, "nvmlDeviceGetTemperature");
  api_->get_reasons = symbol<nvml::GetReasonsFn>(h, "nvmlDeviceGetCurrentClocksEventReasons");
  if (api_->get_reasons == nullptr) {  // drivers before the rename
    api_->get_reasons = symbol<nvml::GetReasonsFn>(h, "nvmlDeviceGetCurrentClocksThrottleReasons");
  }
  api_->get_driver_version = symbol<nvml::SystemStringFn>(h, "nvmlSystemGetDriverVersion");
  api_->get_cuda_version = symbol<nvml::SystemIntFn>(h, "nvmlSystemGetCudaDriverVersion_v2");
  if (api_->get_cuda_version == nullptr) {
    api_->get_cuda_version = symbol<nvml::SystemIntFn>(h, "nvmlSystemGetCudaDriverVersion");
  }
  if (api_->init == nullptr || api_->shutdown == nullptr || api_->get_count == nullptr ||
      api_->get_handle == nullptr) {
    absent_reason_ = fmt::format("NVML library {} lacks nvmlInit_v2 / nvmlDeviceGetCount_v2 (driver too old?)", library);
    return;
  }
  const nvml::Return r = api_->init();
  if (r != nvml::kSuccess) {
    absent_reason_ = "NVML did not initialise: " + api_->error(r);
    return;
  }
  api_->initialised = true;
  unsigned count = 0;
  const nvml::Return rc = api_->get_count(&count);
  if (rc != nvml::kSuccess) {
    absent_reason_ = "NVML could not count GPUs: " + api_->error(rc);
  } else if (count == 0) {
    absent_reason_ = "NVML found no GPU";
  }
}

Nvml::~Nvml() {
  if (api_->initialised) api_->shutdown();
  if (api_->handle != nullptr) dlclose(api_->handle);
}

bool Nvml::available() const noexcept { return absent_reason_.empty(); }

const std::string& Nvml::absent_reason() const noexcept { return absent_reason_; }

std::string Nvml::driver_version() const {
  if (!api_->initialised || api_->get_driver_version == nullptr) return "";
  std::array<char, nvml::kDriverVersionBuffer> buf{};
  if (api_->get_driver_version(buf.data(), nvml::kDriverVersionBuffer) != nvml::kSuccess) return "";
  return buf.data();
}

std::string Nvml::cuda_driver_version() const {
  if (!api_->initialised || api_->get_cuda_version == nullptr) return "";
  int v = 0;
  if (api_->get_cuda_version(&v) != nvml::kSuccess || v <= 0) return "";
  return fmt::format("{}.{}", v / 1000, (v % 1000) / 10);  // 12040 -> "12.4"
}

GpuTelemetry Nvml::read(const Clock& clock) const {
  GpuTelemetry out;
  out.t = clock.now();
  if (!available()) {
    out.absent_reason = absent_reason_;
    return out;
  }
  const Api& a = *api_;
  unsigned count = 0;
  if (const nvml::Return r = a.get_count(&count); r != nvml::kSuccess || count == 0) {
    out.absent_reason = r != nvml::kSuccess ? "NVML could not count GPUs: " + a.error(r) : "NVML found no GPU";
    return out;
  }
  out.available = true;
  for (unsigned i = 0; i < count; ++i) {
    GpuReading g;
    g.index = i;
    nvml::Device dev = nullptr;
    if (const nvml::Return r = a.get_handle(i, &dev); r != nvml::kSuccess) {
      g.errors.push_back("handle: " + a.error(r));
      out.gpus.push_back(std::move(g));
      continue;
    }
    // Runs one query: NOT_SUPPORTED leaves the field empty silently; other errors are listed.
    const auto query = [&](const char* what, auto fn, auto&& on_success) {
      const nvml::Return r = fn();
      if (r == nvml::kSuccess) {
        on_success();
      } else if (r != nvml::kNotSupported) {
        g.errors.push_back(fmt::format("{}: {}", what, a.error(r)));
      }
    };
    std::array<char, nvml::kUuidBuffer> buf{};
    if (a.get_name != nullptr) {
      query("name", [&] { return a.get_name(dev, buf.data(), nvml::kNameBuffer); }, [&] { g.name = buf.data(); });
    }
    if (a.get_uuid != nullptr) {
      buf.fill('\0');
      query("uuid", [&] { return a.get_uuid(dev, buf.data(), nvml::kUuidBuffer); }, [&] { g.uuid = buf.data(); });
    }
    if (a.get_memory != nullptr) {
      nvml::Memory m{};
      query("memory", [&] { return a.get_memory(dev, &m); }, [&] {
        g.memory_total_bytes = m.total;
        g.memory_used_bytes = m.used;
      });
    }
    if (a.get_utilization != nullptr) {
      nvml::Utilization u{};
      query("utilization", [&] { return a.get_utilization(dev, &u); }, [&] {
        g.utilization_gpu_pct = u.gpu;
        g.utilization_memory_pct = u.memory;
      });
    }
    if (a.get_power != nullptr) {
      unsigned mw = 0;
      query("power", [&] { return a.get_power(dev, &mw); }, [&] { g.power_w = mw / 1000.0; });
    }
    if (a.get_clock != nullptr) {
      unsigned mhz = 0;
      query("sm clock", [&] { return a.get_clock(dev, nvml::kClockSm, &mhz); }, [&] { g.sm_clock_mhz = mhz; });
    }
    if (a.get_temperature != nullptr) {
      unsigned c = 0;
      query("temperature", [&] { return a.get_temperature(dev, nvml::kTemperatureGpu, &c); },
            [&] { g.temperature_c = c; });
    }
    if (a.get_reasons != nullptr) {
      unsigned long long mask = 0;
      query("clocks event reasons", [&] { return a.get_reasons(dev, &mask); }, [&] { g.throttle_reasons = mask; });
    }
    out.gpus.push_back(std::move(g));
  }
  return out;
}

NvmlSource::NvmlSource(const Clock& clock, const char* library) : clock_(clock), nvml_(library) {}

FetchResult NvmlSource::fetch() {
  const GpuTelemetry t = nvml_.read(clock_);
  if (!t.available) return FetchResult::failure(t.absent_reason);
  return FetchResult::success(to_prometheus_text(t));
}

GpuTelemetry read_gpu_telemetry(const Clock& clock, const char* library) {
  const Nvml n(library);
  return n.read(clock);
}

std::string to_prometheus_text(const GpuTelemetry& t) {
  std::string out;
  if (!t.available) return out;
  const auto escape = [](const std::string& v) {
    std::string e;
    for (const char c : v) {
      if (c == '\\' || c == '"') e += '\\';
      if (c == '\n') {
        e += "\\n";
        continue;
      }
      e += c;
    }
    return e;
  };
  const auto family = [&](const char* name, const char* help, auto get) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
    for (const GpuReading& g : t.gpus) {
      const std::optional<double> v = get(g);
      if (!v) continue;
      out += fmt::format("{}{{gpu=\"{}\",uuid=\"{}\",name=\"{}\"}} {}\n", name, g.index, escape(g.uuid),
                         escape(g.name), *v);
    }
  };
  const auto opt = [](const auto& o) -> std::optional<double> {
    if (!o) return std::nullopt;
    return static_cast<double>(*o);
  };
  family("splleed_gpu_utilization_ratio", "Fraction of time a kernel ran (NVML utilization.gpu / 100).",
         [&](const GpuReading& g) -> std::optional<double> {
           if (!g.utilization_gpu_pct) return std::nullopt;
           return *g.utilization_gpu_pct / 100.0;
         });
  family("splleed_gpu_memory_utilization_ratio", "Fraction of time device memory was accessed.",
         [&](const GpuReading& g) -> std::optional<double> {
           if (!g.utilization_memory_pct) return std::nullopt;
           return *g.utilization_memory_pct / 100.0;
         });
  family("splleed_gpu_memory_used_bytes", "Device memory in use.",
         [&](const GpuReading& g) { return opt(g.memory_used_bytes); });
  family("splleed_gpu_memory_total_bytes", "Device memory size.",
         [&](const GpuReading& g) { return opt(g.memory_total_bytes); });
  family("splleed_gpu_power_watts", "Power draw.", [&](const GpuReading& g) { return opt(g.power_w); });
  family("splleed_gpu_sm_clock_mhz", "SM clock.", [&](const GpuReading& g) { return opt(g.sm_clock_mhz); });
  family("splleed_gpu_temperature_celsius", "GPU temperature.",
         [&](const GpuReading& g) { return opt(g.temperature_c); });
  family("splleed_gpu_throttle_reasons", "NVML clocks-event reason bitmask.",
         [&](const GpuReading& g) { return opt(g.throttle_reasons); });
  return out;
}

}  // namespace splleed::observe
