#pragma once
// Managed mode, part 3: what a running engine says about itself, for the results' environment.
//
// Contract: each engine's version/info endpoints are read with GET (vLLM /version, TGI /info,
// SGLang /get_server_info or /server_info, llama.cpp /props, Ollama /api/version, every
// OpenAI-compatible server /v1/models). An endpoint that fails or is absent is skipped: the
// fields it would have filled stay empty. The bodies are kept verbatim in `raw`, keyed by path.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "launch/launch_spec.hpp"

namespace splleed::launch {

struct EngineInfo {
  std::string engine;   // "vllm", "tgi", "sglang", "llama.cpp", "ollama", ...; empty if unknown
  std::string version;  // as the engine reports it (llama.cpp: its build, e.g. "b4748-c392e5094")
  std::string served_model;  // the id /v1/models lists first, else the engine's model path
  // Longest context one request may use: vLLM/SGLang max_model_len or context_length, TGI
  // max_total_tokens, llama.cpp the per-slot n_ctx.
  std::optional<std::int64_t> max_model_len;
  nlohmann::json raw = nlohmann::json::object();  // path -> body (JSON, or a string if not JSON)
};

// The endpoints read for an engine; every known one when the engine is not known.
std::vector<std::string> info_paths(std::optional<Engine> engine);

// Builds the info from (path, body) pairs of the endpoints that answered 200. Pure.
// `engine`, when given, names the engine; otherwise it is inferred from which endpoints answered.
EngineInfo parse_engine_info(const std::vector<std::pair<std::string, std::string>>& bodies,
                             std::optional<Engine> engine = std::nullopt);

// GETs info_paths(engine) from base_url (http or https) and parses what answered. Never throws
// for an unreachable target: the result is then empty but for `engine`.
EngineInfo fetch_engine_info(const std::string& base_url, std::optional<Engine> engine);

// One GPU as `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader`
// prints it (a fallback for machines where NVML cannot be loaded).
struct SmiGpu {
  std::string name;
  std::optional<std::uint64_t> memory_total_mib;
  std::string driver_version;
};
inline constexpr const char* kNvidiaSmiQuery =
    "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader";

// Parses that output, one GPU per non-empty line; lines that do not have three fields are
// skipped; "[N/A]" or a malformed memory leaves memory_total_mib empty. Pure.
std::vector<SmiGpu> parse_nvidia_smi(std::string_view csv);

// Runs kNvidiaSmiQuery; empty when nvidia-smi is missing or fails.
std::vector<SmiGpu> query_nvidia_smi();

}  // namespace splleed::launch
