#include "session/engine_profiler.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "load/target_client.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

namespace splleed::session {
namespace asio = boost::asio;

namespace {

constexpr std::size_t kExcerptBytes = 200;

}  // namespace

std::string trace_location_for(const ProfileOptions& options) {
  if (options.engine_takes_output_dir && !options.output_dir.empty()) return options.output_dir;
  return "where the engine's own profiler settings put it (vLLM: --profiler-config "
         "torch_profiler_dir; SGLang: SGLANG_TORCH_PROFILER_DIR, /tmp by default)";
}

EngineProfiler::EngineProfiler(ProfileOptions options, TargetConfig target, const Clock& clock)
    : options_(std::move(options)), target_(std::move(target)), clock_(clock) {}

std::string EngineProfiler::post(std::string_view path, std::string_view body, Nanos timeout) {
  std::string error;
  auto url = net::Url::parse(target_.base_url, &error);
  if (!url) return fmt::format("the target URL cannot be used for {}: {}", path, error);
  asio::io_context io;
  net::ClientOptions opts = load::client_options(target_);
  opts.read_timeout = timeout;
  net::HttpClient client(io, *url, opts, clock_);
  const std::string auth = load::authorization(target_);
  std::vector<net::Header> headers;
  if (!auth.empty()) headers.push_back({"Authorization", auth});
  net::SimpleResponse response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response = co_await client.post(path, body, headers); },
      asio::detached);
  io.run();
  if (response.transport.error != net::TransportError::none) {
    return fmt::format("POST {} failed: {}", path, response.transport.message);
  }
  if (response.status < 200 || response.status >= 300) {
    std::string msg = fmt::format("POST {} answered HTTP {}", path, response.status);
    if (!response.body.empty()) {
      msg += fmt::format(" ({})", std::string_view(response.body).substr(0, kExcerptBytes));
    }
    if (response.status == 404) {
      msg += "; vLLM serves it only when started with --profiler-config, and only vLLM, SGLang "
             "and splleed's simulator have it";
    }
    return msg;
  }
  return {};
}

ProfileWindow EngineProfiler::start() {
  ProfileWindow w;
  w.trace_location = trace_location_for(options_);
  nlohmann::json body = nlohmann::json::object();
  if (!options_.output_dir.empty()) body["output_dir"] = options_.output_dir;
  const Nanos asked = clock_.now();
  std::string err = post("/start_profile", body.dump(), options_.start_timeout);
  if (!err.empty()) {
    w.error = std::move(err);
    return w;
  }
  // The engine profiles from some moment during the call; its end is the latest it can be.
  w.start_requested = asked;
  w.started = clock_.now();
  return w;
}

void EngineProfiler::stop(ProfileWindow& w) {
  if (!w.started) return;
  w.stop_requested = clock_.now();
  std::string err = post("/stop_profile", "{}", options_.stop_timeout);
  if (!err.empty()) {
    w.error = std::move(err);
    return;
  }
  w.stopped = clock_.now();
}

}  // namespace splleed::session
