#pragma once
// What the results record about the engine and the GPUs (docs/engines.md, "What the results
// record"): the engine's own version and info endpoints, GPUs from NVML or, where NVML cannot be
// loaded, nvidia-smi. Read once, before the load starts, never while requests are in flight.
#include <optional>
#include <string>
#include <vector>

#include "launch/engine_info.hpp"
#include "launch/launch_spec.hpp"
#include "launch/supervisor.hpp"
#include "observe/nvml.hpp"
#include "splleed/config.hpp"
#include "splleed/result.hpp"

namespace splleed::session {

// The engine a wire API implies, as a hint for which info endpoints to read; nullopt when the API
// is served by several engines (the OpenAI ones) or by one splleed cannot launch (Ollama, Triton).
std::optional<launch::Engine> engine_for_api(Api api) noexcept;

// The result's form of what the engine said about itself.
EngineIdentity to_identity(const launch::EngineInfo& info);

// GETs the engine's info endpoints (launch::fetch_engine_info); never throws.
EngineIdentity capture_engine_identity(const std::string& base_url,
                                       std::optional<launch::Engine> hint);

// Fills env.gpus, env.gpu_source and env.cuda_driver_version: NVML from `nvml_library` when it
// loads and sees a GPU, else `nvidia-smi` found on PATH, else "none".
void capture_gpus(Environment& env, const char* nvml_library = observe::kNvmlLibrary);

// A command line fit for the results: the value of every secret-bearing flag (--api-key,
// --hf-token, ...; also in --flag=value form) and any word equal to one of `secrets` becomes
// "<redacted>".
std::vector<std::string> redact_argv(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& secrets = {});

// The result's record of a launched engine once it has stopped.
LaunchedEngine describe_launched(const launch::EngineProcess& engine, const launch::ExitStatus& status,
                                 bool exited_during_run, const std::vector<std::string>& secrets = {});

}  // namespace splleed::session
