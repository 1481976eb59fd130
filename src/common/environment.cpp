#include "splleed/environment.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "splleed/version.hpp"

namespace splleed {

namespace {
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto v = line.substr(colon + 1);
        auto first = v.find_first_not_of(' ');
        return first == std::string::npos ? "" : v.substr(first);
      }
    }
  }
  return "unknown";
}

// MemTotal of /proc/meminfo ("MemTotal:       65843012 kB"); empty where it cannot be read.
std::optional<std::uint64_t> memory_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemTotal:") return value * 1024;
  }
  return std::nullopt;
}
}  // namespace

Environment capture_host_environment() {
  Environment env;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) env.hostname = host;
  struct utsname u {};
  if (uname(&u) == 0) env.os = std::string(u.sysname) + " " + u.release + " " + u.machine;
  env.cpu_model = cpu_model();
  env.cpu_cores = static_cast<std::int32_t>(std::thread::hardware_concurrency());
  env.memory_total_bytes = memory_total_bytes();
  env.splleed_version = kVersion;
  env.build_commit = kBuildCommit;
  return env;
}

ClockInfo make_clock_info(Nanos monotonic_origin) {
  ClockInfo info;
  info.monotonic_origin_ns = monotonic_origin;
  auto wall = std::chrono::system_clock::now();  // wall clock only to stamp the start
  info.wall_start_unix_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count();
  std::time_t secs = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  info.wall_start_iso = buf;
  return info;
}

}  // namespace splleed
