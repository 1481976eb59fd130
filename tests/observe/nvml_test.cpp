// NVML through dlopen: the absent path (no library / no GPU) gives a reason and never throws; the
// rendering of readings to Prometheus text feeds the GPU-telemetry profile.
#include <gtest/gtest.h>

#include "observe/nvml.hpp"
#include "observe/profiles.hpp"

namespace splleed::observe::test {
namespace {

TEST(Nvml, MissingLibraryIsAbsentWithTheReason) {
  FakeClock clock(42);
  const Nvml n("libnvidia-ml-does-not-exist.so.1");
  EXPECT_FALSE(n.available());
  EXPECT_NE(n.absent_reason().find("libnvidia-ml-does-not-exist.so.1"), std::string::npos);
  const GpuTelemetry t = n.read(clock);
  EXPECT_FALSE(t.available);
  EXPECT_EQ(t.absent_reason, n.absent_reason());
  EXPECT_EQ(t.t, 42);
  EXPECT_TRUE(t.gpus.empty());
  EXPECT_TRUE(to_prometheus_text(t).empty());
}

TEST(Nvml, VersionsAreEmptyWithoutNvml) {
  const Nvml n("libnvidia-ml-does-not-exist.so.1");
  EXPECT_EQ(n.driver_version(), "");
  EXPECT_EQ(n.cuda_driver_version(), "");
}

TEST(Nvml, ALibraryWithoutNvmlSymbolsIsAbsent) {
  // libc is always loadable and has no NVML entry points.
  const Nvml n("libc.so.6");
  EXPECT_FALSE(n.available());
  EXPECT_NE(n.absent_reason().find("nvmlInit_v2"), std::string::npos);
}

TEST(Nvml, DefaultLibraryEitherReadsGpusOrSaysWhyNot) {
  // On a machine without the driver this is the absent path; with a GPU it reads real devices.
  MonotonicClock clock;
  const GpuTelemetry t = read_gpu_telemetry(clock);
  if (t.available) {
    ASSERT_FALSE(t.gpus.empty());
    for (const GpuReading& g : t.gpus) {
      EXPECT_FALSE(g.name.empty());
      EXPECT_EQ(g.uuid.rfind("GPU-", 0), 0u) << g.uuid;
      if (g.memory_total_bytes && g.memory_used_bytes) {
        EXPECT_LE(*g.memory_used_bytes, *g.memory_total_bytes);
      }
      if (g.utilization_gpu_pct) {
        EXPECT_LE(*g.utilization_gpu_pct, 100u);
      }
    }
  } else {
    EXPECT_FALSE(t.absent_reason.empty());
    EXPECT_TRUE(t.gpus.empty());
  }
}

TEST(Nvml, AbsentNvmlSourceIsAFailedFetchCarryingTheReason) {
  FakeClock clock;
  NvmlSource src(clock, "libnvidia-ml-does-not-exist.so.1");
  const FetchResult r = src.fetch();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, src.nvml().absent_reason());
}

TEST(Nvml, ThrottleReasonNames) {
  EXPECT_TRUE(throttle_reason_names(0).empty());
  EXPECT_EQ(throttle_reason_names(0x4 | 0x40), (std::vector<std::string>{"SwPowerCap", "HwThermalSlowdown"}));
  EXPECT_EQ(throttle_reason_names(0x1 | 0x200), (std::vector<std::string>{"GpuIdle", "0x200"}));
}

TEST(Nvml, ReadingsRenderToTextTheGpuProfileReads) {
  GpuTelemetry t;
  t.available = true;
  GpuReading a;
  a.index = 0;
  a.name = "NVIDIA H200";
  a.uuid = "GPU-aaaa";
  a.utilization_gpu_pct = 90;
  a.memory_used_bytes = 100;
  a.memory_total_bytes = 1000;
  a.power_w = 650.5;
  a.sm_clock_mhz = 1980;
  a.throttle_reasons = 0x4;
  GpuReading b = a;
  b.index = 1;
  b.uuid = "GPU-bbbb";
  b.utilization_gpu_pct = 70;
  b.power_w.reset();  // NOT_SUPPORTED: left out, not zero
  t.gpus = {a, b};

  const std::string text = to_prometheus_text(t);
  const Exposition e = parse_exposition(text);
  ASSERT_TRUE(e.errors.empty()) << text;
  EXPECT_EQ(detect_engine(e).kind, EngineKind::dcgm);
  SeriesStore st;
  st.append(0, e);
  const EngineProfile& p = profile_for(EngineKind::dcgm);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::gpu_utilization).at(0).value, 0.8);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::gpu_memory_used_bytes).at(0).value, 200);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::gpu_power_w).at(0).value, 650.5);
  EXPECT_EQ(st.select("splleed_gpu_power_watts").size(), 1u);
  const std::vector<Series> clock1 = st.select("splleed_gpu_sm_clock_mhz", {{"gpu", "1"}});
  ASSERT_EQ(clock1.size(), 1u);
  const std::string* uuid = find_label(clock1[0].labels, "uuid");
  ASSERT_NE(uuid, nullptr);
  EXPECT_EQ(*uuid, "GPU-bbbb");
}

}  // namespace
}  // namespace splleed::observe::test
