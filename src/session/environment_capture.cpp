#include "session/environment_capture.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "splleed/clock.hpp"

namespace splleed::session {

namespace {

constexpr std::string_view kRedacted = "<redacted>";

// Flags whose value is a credential, in the spellings engines use.
constexpr std::array<std::string_view, 8> kSecretFlags = {
    "--api-key", "--api_key", "--api-keys", "--hf-token", "--hf_token", "--token",
    "--admin-api-key", "--api-key-file"};

bool is_secret_flag(std::string_view word) {
  return std::find(kSecretFlags.begin(), kSecretFlags.end(), word) != kSecretFlags.end();
}

}  // namespace

std::optional<launch::Engine> engine_for_api(Api api) noexcept {
  switch (api) {
    case Api::tgi: return launch::Engine::tgi;
    case Api::sglang: return launch::Engine::sglang;
    case Api::llamacpp: return launch::Engine::llamacpp;
    default: return std::nullopt;
  }
}

EngineIdentity to_identity(const launch::EngineInfo& info) {
  EngineIdentity id;
  id.engine = info.engine;
  id.version = info.version;
  id.served_model = info.served_model;
  id.max_model_len = info.max_model_len;
  id.raw_json = info.raw.is_object() ? info.raw.dump() : "{}";
  return id;
}

EngineIdentity capture_engine_identity(const std::string& base_url,
                                       std::optional<launch::Engine> hint) {
  try {
    return to_identity(launch::fetch_engine_info(base_url, hint));
  } catch (const std::exception&) {
    // The environment is a record, not a precondition: what could not be read stays empty.
    EngineIdentity id;
    if (hint) id.engine = std::string(launch::to_string(*hint));
    return id;
  }
}

void capture_gpus(Environment& env, const char* nvml_library) {
  env.gpus.clear();
  env.cuda_driver_version.clear();
  {
    const observe::Nvml nvml(nvml_library);
    if (nvml.available()) {
      MonotonicClock clock;
      const observe::GpuTelemetry t = nvml.read(clock);
      if (t.available && !t.gpus.empty()) {
        const std::string driver = nvml.driver_version();
        for (const observe::GpuReading& g : t.gpus)
          env.gpus.push_back({g.name, g.uuid, g.memory_total_bytes, driver});
        env.cuda_driver_version = nvml.cuda_driver_version();
        env.gpu_source = "nvml";
        return;
      }
    }
  }
  for (const launch::SmiGpu& g : launch::query_nvidia_smi()) {
    std::optional<std::uint64_t> bytes;
    if (g.memory_total_mib) bytes = *g.memory_total_mib * 1024ULL * 1024ULL;
    env.gpus.push_back({g.name, "", bytes, g.driver_version});
  }
  env.gpu_source = env.gpus.empty() ? "none" : "nvidia-smi";
}

std::vector<std::string> redact_argv(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& secrets) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  bool next_is_secret = false;
  for (const std::string& word : argv) {
    const bool listed = std::any_of(secrets.begin(), secrets.end(), [&](const std::string& s) {
      return !s.empty() && word.find(s) != std::string::npos;
    });
    if (next_is_secret || listed) {
      out.emplace_back(kRedacted);
      next_is_secret = false;
      continue;
    }
    const auto eq = word.find('=');
    if (eq != std::string::npos && is_secret_flag(std::string_view(word).substr(0, eq))) {
      out.push_back(word.substr(0, eq + 1) + std::string(kRedacted));
      continue;
    }
    next_is_secret = is_secret_flag(word);
    out.push_back(word);
  }
  return out;
}

LaunchedEngine describe_launched(const launch::EngineProcess& engine,
                                 const launch::ExitStatus& status, bool exited_during_run,
                                 const std::vector<std::string>& secrets) {
  LaunchedEngine l;
  l.engine = std::string(launch::to_string(engine.engine()));
  l.argv = redact_argv(engine.command().argv, secrets);
  l.base_url = engine.base_url();
  l.log_path = engine.log_path().string();
  l.exit_status = status.describe();
  if (status.signal != 0) {
    l.exit_signal = status.signal;
  } else if (status.code >= 0) {
    l.exit_code = status.code;
  }
  l.killed_after_grace = status.killed_after_grace;
  l.exited_during_run = exited_during_run;
  return l;
}

}  // namespace splleed::session
