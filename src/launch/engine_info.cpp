#include "launch/engine_info.hpp"

#include <cstdio>
#include <memory>

#include <boost/algorithm/string/trim.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "net/http_client.hpp"
#include "net/url.hpp"
#include "splleed/clock.hpp"

namespace splleed::launch {

namespace asio = boost::asio;
using nlohmann::json;

std::vector<std::string> info_paths(std::optional<Engine> engine) {
  if (!engine) {
    return {"/version", "/info", "/get_server_info", "/server_info", "/props", "/api/version",
            "/v1/models"};
  }
  switch (*engine) {
    case Engine::vllm: return {"/version", "/v1/models"};
    case Engine::tgi: return {"/info", "/v1/models"};
    case Engine::sglang: return {"/get_server_info", "/server_info", "/v1/models"};
    case Engine::llamacpp: return {"/props", "/v1/models"};
    case Engine::llamacpp_python: return {"/v1/models"};
    case Engine::sim: return {"/v1/models"};
  }
  return {"/v1/models"};
}

namespace {

std::string string_at(const json& j, const char* key) {
  if (j.is_object()) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

std::optional<std::int64_t> int_at(const json& j, const char* key) {
  if (j.is_object()) {
    auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) return it->get<std::int64_t>();
  }
  return std::nullopt;
}

void fill(std::string& field, std::string value) {
  if (field.empty()) field = std::move(value);
}
void fill(std::optional<std::int64_t>& field, std::optional<std::int64_t> value) {
  if (!field) field = value;
}

std::string engine_label(Engine e) {
  switch (e) {
    case Engine::llamacpp: return "llama.cpp";
    case Engine::llamacpp_python: return "llama-cpp-python";
    default: return std::string(to_string(e));
  }
}

}  // namespace

EngineInfo parse_engine_info(const std::vector<std::pair<std::string, std::string>>& bodies,
                             std::optional<Engine> engine) {
  EngineInfo info;
  if (engine) info.engine = engine_label(*engine);
  std::string inferred;
  std::string path_model;  // a model path, used when /v1/models gives no id
  for (const auto& [path, body] : bodies) {
    json j = json::parse(body, nullptr, false);
    info.raw[path] = j.is_discarded() ? json(body) : j;
    if (j.is_discarded() || !j.is_object()) continue;
    if (path == "/props") {
      // llama.cpp: build_info "b4748-c392e5094"; n_ctx is each slot's context.
      fill(info.version, string_at(j, "build_info"));
      fill(path_model, string_at(j, "model_path"));
      if (j.contains("default_generation_settings")) {
        fill(info.max_model_len, int_at(j["default_generation_settings"], "n_ctx"));
      }
      if (j.contains("build_info") || j.contains("total_slots")) fill(inferred, "llama.cpp");
    } else if (path == "/info") {
      // TGI.
      fill(info.version, string_at(j, "version"));
      fill(path_model, string_at(j, "model_id"));
      fill(info.max_model_len, int_at(j, "max_total_tokens"));
      if (j.contains("model_id")) fill(inferred, "tgi");
    } else if (path == "/get_server_info" || path == "/server_info") {
      // SGLang: the server arguments flattened, plus version and internal state.
      fill(info.version, string_at(j, "version"));
      fill(path_model, string_at(j, "served_model_name"));
      fill(path_model, string_at(j, "model_path"));
      fill(info.max_model_len, int_at(j, "context_length"));
      if (j.contains("model_path")) fill(inferred, "sglang");
    } else if (path == "/api/version") {
      fill(info.version, string_at(j, "version"));
      fill(inferred, "ollama");
    } else if (path == "/version") {
      fill(info.version, string_at(j, "version"));
      if (j.contains("version")) fill(inferred, "vllm");
    } else if (path == "/v1/models") {
      auto data = j.find("data");
      if (data != j.end() && data->is_array() && !data->empty()) {
        const json& first = (*data)[0];
        fill(info.served_model, string_at(first, "id"));
        fill(info.max_model_len, int_at(first, "max_model_len"));
        const std::string owner = string_at(first, "owned_by");
        if (owner == "vllm" || owner == "sglang") fill(inferred, owner);
        if (owner == "llamacpp") fill(inferred, "llama.cpp");
      }
    }
  }
  fill(info.served_model, path_model);
  fill(info.engine, inferred);
  return info;
}

EngineInfo fetch_engine_info(const std::string& base_url, std::optional<Engine> engine) {
  std::string error;
  auto url = net::Url::parse(base_url, &error);
  if (!url) return parse_engine_info({}, engine);
  MonotonicClock clock;
  asio::io_context io;
  net::ClientOptions opts;
  opts.connect_timeout = 5 * kNanosPerSecond;
  opts.read_timeout = 10 * kNanosPerSecond;
  net::HttpClient client(io, *url, opts, clock);
  std::vector<std::pair<std::string, std::string>> bodies;
  const auto paths = info_paths(engine);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (const auto& path : paths) {
          net::SimpleResponse r = co_await client.get(path);
          if (r.transport.error == net::TransportError::connect) co_return;  // nobody there
          if (r.transport.error == net::TransportError::none && r.status == 200) {
            bodies.emplace_back(path, std::move(r.body));
          }
        }
      },
      asio::detached);
  io.run();
  return parse_engine_info(bodies, engine);
}

std::vector<SmiGpu> parse_nvidia_smi(std::string_view csv) {
  std::vector<SmiGpu> gpus;
  while (!csv.empty()) {
    const auto nl = csv.find('\n');
    std::string line(csv.substr(0, nl));
    csv = nl == std::string_view::npos ? std::string_view{} : csv.substr(nl + 1);
    // GPU names contain no commas; nvidia-smi's CSV quotes nothing.
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
      const auto comma = line.find(',', start);
      fields.push_back(boost::algorithm::trim_copy(line.substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (fields.size() != 3 || fields[0].empty()) continue;
    SmiGpu gpu;
    gpu.name = fields[0];
    gpu.driver_version = fields[2];
    // "81559 MiB"
    const std::string& mem = fields[1];
    std::uint64_t mib = 0;
    std::size_t i = 0;
    while (i < mem.size() && mem[i] >= '0' && mem[i] <= '9') {
      mib = mib * 10 + static_cast<std::uint64_t>(mem[i] - '0');
      ++i;
    }
    if (i > 0 && mem.substr(i) == " MiB") gpu.memory_total_mib = mib;
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::vector<SmiGpu> query_nvidia_smi() {
  // popen: a fixed command line with no user input; the shell finds nvidia-smi on PATH.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      ::popen((std::string(kNvidiaSmiQuery) + " 2>/dev/null").c_str(), "r"), ::pclose);
  if (!pipe) return {};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe.release());
  if (rc != 0) return {};
  return parse_nvidia_smi(out);
}

}  // namespace splleed::launch
