#pragma once
// Drives an engine's own profiler around the measurement phases: `POST /start_profile` before a
// phase's first request, `POST /stop_profile` after its last one ended (vLLM, SGLang and the
// simulator serve these; docs/design/observe.md). The calls block the runner between phases, never
// during one, so they never delay a measured request; an engine that refuses is recorded in the
// run's profile window and the benchmark goes on.
#include <string>

#include "splleed/clock.hpp"
#include "splleed/config.hpp"
#include "splleed/result.hpp"

namespace splleed::session {

struct ProfileOptions {
  bool enabled = false;
  // Where the engine should write its trace. Sent as "output_dir" in the start request (SGLang and
  // the simulator honour it); a launched vLLM gets it through --profiler-config. Empty: the
  // engine's own setting (vLLM: --profiler-config torch_profiler_dir; SGLang:
  // SGLANG_TORCH_PROFILER_DIR, /tmp by default).
  std::string output_dir;
  // Set when splleed knows the engine honours output_dir (see trace_location_for).
  bool engine_takes_output_dir = false;
  // Profile only part of each measurement phase: from `window_from` to `window_to` after the
  // phase starts (window_to 0: until the phase ends). The requests sent inside it are the ones the
  // trace covers. Both 0: the whole phase.
  Nanos window_from = 0;
  Nanos window_to = 0;
  Nanos start_timeout = 60 * kNanosPerSecond;
  Nanos stop_timeout = 600 * kNanosPerSecond;  // vLLM flushes its trace at stop: minutes
};

// What to record as "where the trace went": the folder when the engine takes output_dir, else
// where the engines' own settings put it.
std::string trace_location_for(const ProfileOptions& options);

class EngineProfiler {
 public:
  // `target` gives the base URL, API key (sent as a Bearer token, never recorded) and TLS setting.
  EngineProfiler(ProfileOptions options, TargetConfig target, const Clock& clock);

  // Blocking. Returns a window with `started` set, or with `error` naming what the engine said.
  ProfileWindow start();
  // Blocking. Sets `stopped`, or `error` (kept with any start error), on a window start() made.
  // Does nothing to a window whose start failed.
  void stop(ProfileWindow& window);

 private:
  // One POST; returns "" on a 2xx answer, else one sentence naming the endpoint and the cause.
  std::string post(std::string_view path, std::string_view body, Nanos timeout);

  ProfileOptions options_;
  TargetConfig target_;
  const Clock& clock_;
};

}  // namespace splleed::session
