#pragma once
// The simulator's profiler endpoints, shaped like SGLang's and vLLM's: POST /start_profile (JSON
// body, optional "output_dir") and POST /stop_profile. There is no torch trace to write, so the
// "trace" is what the simulated engine did in the window: one JSON file per start/stop pair,
// <output_dir>/splleed-sim-profile-<pid>-<n>.json, holding the window on the simulator's monotonic
// clock and the change of every engine counter over it (docs/design/simulator.md). Like vLLM
// without a profiler folder, it refuses to start without one (400). Shared by every replica; the
// calls are rare, so a mutex guards it.
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "sim/sim_server.hpp"
#include "splleed/clock.hpp"

namespace splleed::sim {

class SimProfiler {
 public:
  // `default_dir` (SimConfig::profile_dir) is used when a start request names none.
  SimProfiler(std::string default_dir, std::function<SimStats()> stats, const Clock& clock);

  // HTTP status and body of each answer.
  std::pair<int, std::string> start(std::string_view body);
  std::pair<int, std::string> stop();

 private:
  std::string default_dir_;
  std::function<SimStats()> stats_;
  const Clock& clock_;
  std::mutex mu_;
  bool active_ = false;
  std::string dir_;
  Nanos started_ = 0;
  SimStats at_start_;
  unsigned written_ = 0;
};

}  // namespace splleed::sim
