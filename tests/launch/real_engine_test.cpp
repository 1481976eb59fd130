// Managed mode against a real engine: llama-cpp-python serving a tiny GGUF model. Runs only when
// tests/llamacpp/run.sh provides the engine (SPLLEED_LLAMACPP_PYTHON: a python with
// llama-cpp-python[server]; SPLLEED_TINY_GGUF: a model from scripts/make-tiny-gguf.py);
// skipped otherwise, so the default test run needs nothing outside the repository.
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "launch/engine_info.hpp"
#include "launch/supervisor.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"

namespace splleed::launch {
namespace {

using ::testing::HasSubstr;

class Collect final : public net::ResponseHandler {
 public:
  void on_dispatched(Nanos) override {}
  void on_headers(Nanos, int s) override { status = s; }
  bool on_body(std::string_view bytes, Nanos) override {
    body.append(bytes);
    ++reads;
    return true;
  }
  int status = 0;
  int reads = 0;
  std::string body;
};

Collect post(const std::string& base_url, std::string_view path, std::string_view json) {
  MonotonicClock clock;
  boost::asio::io_context io;
  std::string error;
  net::HttpClient client(io, *net::Url::parse(base_url, &error), {}, clock);
  Collect handler;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        co_await client.post_stream(path, {}, json, handler);
      },
      boost::asio::detached);
  io.run();
  return handler;
}

TEST(RealEngine, LlamacppPythonStreams) {
  const char* python = std::getenv("SPLLEED_LLAMACPP_PYTHON");
  const char* model = std::getenv("SPLLEED_TINY_GGUF");
  if (!python || !model) GTEST_SKIP() << "set by tests/llamacpp/run.sh";
  LaunchSpec spec;
  spec.engine = Engine::llamacpp_python;
  spec.binary = python;
  spec.model = model;
  spec.served_model_name = "tiny";
  spec.llamacpp_python.n_ctx = 512;
  SupervisorOptions options;
  options.log_dir = std::filesystem::temp_directory_path() / "splleed-llamacpp-logs";
  options.health_timeout = std::chrono::seconds(120);
  auto engine = EngineProcess::launch(spec, options);
  const pid_t pid = engine->pid();

  const EngineInfo info = fetch_engine_info(engine->base_url(), Engine::llamacpp_python);
  EXPECT_EQ(info.served_model, "tiny");

  const Collect completion =
      post(engine->base_url(), "/v1/completions",
           R"({"model":"tiny","prompt":"Hello","max_tokens":16,"stream":true})");
  EXPECT_EQ(completion.status, 200);
  EXPECT_THAT(completion.body, HasSubstr("data: "));
  EXPECT_THAT(completion.body, HasSubstr("[DONE]"));

  const Collect chat = post(
      engine->base_url(), "/v1/chat/completions",
      R"({"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"stream":true})");
  EXPECT_EQ(chat.status, 200);
  EXPECT_THAT(chat.body, HasSubstr("chat.completion.chunk"));
  EXPECT_THAT(chat.body, HasSubstr("[DONE]"));

  const ExitStatus status = engine->stop();
  EXPECT_FALSE(status.killed_after_grace) << status.describe();
  EXPECT_EQ(::kill(pid, 0), -1);
}

}  // namespace
}  // namespace splleed::launch
