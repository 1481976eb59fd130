#include "sim/profiler.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace splleed::sim {

SimProfiler::SimProfiler(std::string default_dir, std::function<SimStats()> stats,
                         const Clock& clock)
    : default_dir_(std::move(default_dir)), stats_(std::move(stats)), clock_(clock) {}

std::pair<int, std::string> SimProfiler::start(std::string_view body) {
  std::string dir = default_dir_;
  if (!body.empty()) {
    const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return {400, "the body must be a JSON object"};
    if (j.contains("output_dir")) {
      if (!j["output_dir"].is_string()) return {400, "output_dir must be a string"};
      dir = j["output_dir"].get<std::string>();
    }
  }
  if (dir.empty()) {
    return {400, "no profile folder: send output_dir or start the simulator with --profile-dir"};
  }
  std::lock_guard lock(mu_);
  if (active_) return {400, "the profiler is already running"};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {500, fmt::format("cannot create {}: {}", dir, ec.message())};
  active_ = true;
  dir_ = std::move(dir);
  at_start_ = stats_();
  started_ = clock_.now();
  return {200, "Start profiling.\n"};
}

std::pair<int, std::string> SimProfiler::stop() {
  std::lock_guard lock(mu_);
  if (!active_) return {400, "the profiler is not running"};
  active_ = false;
  const Nanos stopped = clock_.now();
  const SimStats now = stats_();
  const SimStats& a = at_start_;
  nlohmann::ordered_json out;
  out["engine"] = "splleed-sim";
  out["started_ns"] = started_;  // the simulator's CLOCK_MONOTONIC
  out["stopped_ns"] = stopped;
  out["duration_s"] = static_cast<double>(stopped - started_) / 1e9;
  out["generations_started"] = now.generations_started - a.generations_started;
  out["generations_finished"] = now.generations_finished - a.generations_finished;
  out["decode_steps"] = now.decode_steps - a.decode_steps;
  out["tokens_generated"] = now.tokens_generated - a.tokens_generated;
  out["token_events"] = now.token_events - a.token_events;
  out["preemptions"] = now.preemptions - a.preemptions;
  out["prefix_cache_queries"] = now.prefix_cache_queries - a.prefix_cache_queries;
  out["prefix_cache_hits"] = now.prefix_cache_hits - a.prefix_cache_hits;
  out["spec_draft_tokens"] = now.spec_draft_tokens - a.spec_draft_tokens;
  out["spec_accepted_tokens"] = now.spec_accepted_tokens - a.spec_accepted_tokens;
  const auto path = std::filesystem::path(dir_) /
                    fmt::format("splleed-sim-profile-{}-{}.json", getpid(), ++written_);
  std::ofstream f(path);
  f << out.dump(1) << '\n';
  f.close();
  if (!f) return {500, fmt::format("cannot write {}", path.string())};
  return {200, "Stop profiling. The trace is in " + path.string() + "\n"};
}

}  // namespace splleed::sim
