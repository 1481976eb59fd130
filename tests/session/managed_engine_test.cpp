// Managed mode at the session level: `splleed sim` runs as a separate engine process that the
// session starts, benchmarks, and stops; broken engines are shell scripts.
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "session/environment_capture.hpp"
#include "session/session.hpp"

namespace splleed::session {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

bool pid_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

class ManagedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("splleed-managed-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string script(const std::string& name, const std::string& body) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  // A fast simulator as the engine, and a small closed-loop run against it.
  SessionOptions options(std::int64_t requests) const {
    SessionOptions o;
    o.config.load.concurrency = {2};
    o.config.load.num_requests = requests;
    o.config.load.warmup = 0;
    o.config.sampling.max_tokens = 8;
    o.capture_gpus = false;
    ManagedEngine m;
    m.spec.engine = launch::Engine::sim;
    m.spec.model = "managed-model";
    m.spec.binary = SPLLEED_BIN;
    m.spec.extra_args = {"--ttft-ms", "1", "--itl-ms", "0.5"};
    m.log_dir = dir_ / "logs";
    m.health_timeout = 30s;
    m.stop_grace = 5s;
    o.managed_engine = std::move(m);
    return o;
  }

  bool any_log_written() const {
    std::error_code ec;
    return fs::exists(dir_ / "logs", ec) && !fs::is_empty(dir_ / "logs", ec);
  }

  fs::path dir_;
  MonotonicClock clock_;
};

TEST_F(ManagedRun, LaunchesRunsStopsAndRecordsTheEngine) {
  SessionOptions o = options(6);
  pid_t pid = 0;
  std::string url;
  o.managed_engine->on_ready = [&](const launch::EngineProcess& e) {
    pid = e.pid();
    url = e.base_url();
  };
  Session session(std::move(o), clock_);
  const BenchmarkResult r = session.run();

  ASSERT_NE(pid, 0);
  EXPECT_TRUE(pid_gone(pid));
  EXPECT_FALSE(r.interrupted) << r.stop_reason;
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].summary.requests_ok, 6);
  EXPECT_EQ(r.config.target.model, "managed-model");  // the served model, resolved by preflight
  EXPECT_EQ(r.config.target.base_url, url);

  ASSERT_TRUE(r.launched_engine.has_value());
  const LaunchedEngine& l = *r.launched_engine;
  EXPECT_EQ(l.engine, "sim");
  EXPECT_EQ(l.argv.front(), SPLLEED_BIN);
  EXPECT_THAT(l.argv, ::testing::Contains("--ttft-ms"));
  EXPECT_EQ(l.base_url, url);
  EXPECT_EQ(l.exit_status, "exit status 0");  // the simulator exits cleanly on SIGTERM
  EXPECT_EQ(l.exit_code, 0);
  EXPECT_FALSE(l.exit_signal.has_value());
  EXPECT_FALSE(l.exited_during_run);
  EXPECT_TRUE(fs::exists(l.log_path));
  EXPECT_EQ(fs::path(l.log_path).parent_path(), dir_ / "logs");

  const Environment& env = r.environment;
  EXPECT_EQ(env.target_url, url);
  EXPECT_EQ(env.engine.engine, "sim");
  EXPECT_EQ(env.engine.served_model, "managed-model");
  EXPECT_THAT(env.engine.raw_json, HasSubstr("/v1/models"));
  EXPECT_EQ(env.gpu_source, "not read");
  EXPECT_TRUE(env.gpus.empty());
  EXPECT_TRUE(env.memory_total_bytes.has_value());
}

TEST_F(ManagedRun, EngineKilledMidRunEndsTheRunKeepingWhatFinished) {
  constexpr int kBeforeKill = 4;
  SessionOptions o = options(100'000);  // far more than finish before the kill
  o.config.load.concurrency = {1};
  std::atomic<pid_t> pid{0};
  std::atomic<int> seen{0};
  o.managed_engine->on_ready = [&](const launch::EngineProcess& e) { pid = e.pid(); };
  o.on_record = [&](const RequestRecord&) {
    if (++seen == kBeforeKill) ::kill(pid.load(), SIGKILL);
  };
  Session session(std::move(o), clock_);
  const BenchmarkResult r = session.run();

  EXPECT_TRUE(r.interrupted);
  EXPECT_THAT(r.stop_reason, HasSubstr("engine sim exited (signal 9"));
  EXPECT_THAT(r.stop_reason, HasSubstr("mid-run"));
  ASSERT_TRUE(r.launched_engine.has_value());
  EXPECT_THAT(r.stop_reason, HasSubstr(r.launched_engine->log_path));
  EXPECT_TRUE(r.launched_engine->exited_during_run);
  EXPECT_EQ(r.launched_engine->exit_signal, SIGKILL);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_GE(r.runs[0].summary.requests_ok, kBeforeKill);
  EXPECT_LT(r.runs[0].summary.requests_sent, 100'000);
  EXPECT_TRUE(pid_gone(pid.load()));
}

TEST_F(ManagedRun, MissingProgramIsASessionErrorAndNothingStarts) {
  SessionOptions o = options(2);
  o.managed_engine->spec.binary = (dir_ / "no-such-engine").string();
  Session session(std::move(o), clock_);
  try {
    session.run();
    FAIL() << "no throw";
  } catch (const SessionError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("no-such-engine"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("--engine-binary"));
  }
  EXPECT_FALSE(any_log_written());
}

TEST_F(ManagedRun, FixedPortInUseIsASessionErrorAndNothingStarts) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::uint16_t port = ntohs(addr.sin_port);

  SessionOptions o = options(2);
  o.managed_engine->spec.port = port;
  Session session(std::move(o), clock_);
  try {
    session.run();
    FAIL() << "no throw";
  } catch (const SessionError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("port " + std::to_string(port)));
    EXPECT_THAT(std::string(e.what()), HasSubstr("already in use"));
  }
  ::close(fd);
  EXPECT_FALSE(any_log_written());
}

TEST_F(ManagedRun, NeverHealthyTimesOutAndLeavesNoChild) {
  const fs::path pid_file = dir_ / "engine.pid";
  SessionOptions o = options(2);
  o.managed_engine->spec.binary =
      script("silent.sh", "echo $$ > " + pid_file.string() + "; echo loading weights; exec sleep 60");
  o.managed_engine->health_timeout = 300ms;
  Session session(std::move(o), clock_);
  try {
    session.run();
    FAIL() << "no throw";
  } catch (const SessionError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("did not answer GET /health with 200 within 0.3 s"));
    EXPECT_THAT(msg, HasSubstr((dir_ / "logs").string()));
  }
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  if (pid != 0) {  // the script may not have got as far as writing it
    EXPECT_TRUE(pid_gone(pid));
  }
}

TEST_F(ManagedRun, StopWhileStartingCancelsTheLaunch) {
  SessionOptions o = options(2);
  o.managed_engine->spec.binary = script("silent.sh", "exec sleep 60");
  o.managed_engine->health_timeout = 60s;  // the stop, not the timeout, ends the wait
  Session session(std::move(o), clock_);
  session.stop("interrupted by SIGINT (Ctrl-C)");
  try {
    session.run();
    FAIL() << "no throw";
  } catch (const SessionError& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("interrupted by SIGINT (Ctrl-C) while the sim engine was starting"));
  }
}

TEST_F(ManagedRun, ALaunchedEngineExcludesATargetUrl) {
  SessionOptions o = options(2);
  o.config.target.base_url = "http://127.0.0.1:1";
  Session session(std::move(o), clock_);
  EXPECT_THROW(session.run(), SessionError);
  EXPECT_FALSE(any_log_written());
}

TEST_F(ManagedRun, EmbeddedSimulatorRecordsItsEngineInfoToo) {
  SessionOptions o;
  o.config.load.concurrency = {1};
  o.config.load.num_requests = 2;
  o.config.sampling.max_tokens = 4;
  o.capture_gpus = false;
  sim::SimConfig sc;
  sc.ttft_ms = 1;
  sc.itl_ms = 0.5;
  sc.model = "embedded-model";
  o.embedded_sim = sc;
  Session session(std::move(o), clock_);
  const BenchmarkResult r = session.run();
  EXPECT_EQ(r.environment.engine.engine, "sim");
  EXPECT_EQ(r.environment.engine.served_model, "embedded-model");
  EXPECT_FALSE(r.environment.engine.version.empty());
  EXPECT_FALSE(r.launched_engine.has_value());
}

// ---- environment capture ----

TEST(RedactArgv, SecretFlagValuesAndKnownSecretsAreRedacted) {
  const std::vector<std::string> argv = {"vllm",         "serve",      "m",
                                         "--api-key",    "sk-1",       "--hf-token=hf_x",
                                         "--max-num-batched-tokens", "8192", "--note",
                                         "use-sk-2-here"};
  EXPECT_EQ(redact_argv(argv, {"sk-2"}),
            (std::vector<std::string>{"vllm", "serve", "m", "--api-key", "<redacted>",
                                      "--hf-token=<redacted>", "--max-num-batched-tokens", "8192",
                                      "--note", "<redacted>"}));
}

TEST(EngineForApi, NativeApisNameTheirEngine) {
  EXPECT_EQ(engine_for_api(Api::tgi), launch::Engine::tgi);
  EXPECT_EQ(engine_for_api(Api::sglang), launch::Engine::sglang);
  EXPECT_EQ(engine_for_api(Api::llamacpp), launch::Engine::llamacpp);
  EXPECT_FALSE(engine_for_api(Api::openai_chat).has_value());
}

// capture_gpus with NVML absent falls back to nvidia-smi found on PATH.
class GpuCapture : public ManagedRun {
 protected:
  void SetUp() override {
    ManagedRun::SetUp();
    const char* path = std::getenv("PATH");
    old_path_ = path != nullptr ? path : "";
    ::setenv("PATH", (dir_.string() + ":" + old_path_).c_str(), 1);
  }
  void TearDown() override {
    ::setenv("PATH", old_path_.c_str(), 1);
    ManagedRun::TearDown();
  }
  std::string old_path_;
};

TEST_F(GpuCapture, NvidiaSmiWhenNvmlIsAbsent) {
  script("nvidia-smi",
         "echo 'NVIDIA H200, 143771 MiB, 550.54.15'; echo 'NVIDIA H200, [N/A], 550.54.15'");
  Environment env;
  capture_gpus(env, "libnvidia-ml-does-not-exist.so.1");
  EXPECT_EQ(env.gpu_source, "nvidia-smi");
  ASSERT_EQ(env.gpus.size(), 2u);
  EXPECT_EQ(env.gpus[0].name, "NVIDIA H200");
  EXPECT_EQ(env.gpus[0].memory_total_bytes, 143771ULL * 1024 * 1024);
  EXPECT_EQ(env.gpus[0].driver_version, "550.54.15");
  EXPECT_FALSE(env.gpus[1].memory_total_bytes.has_value());
  EXPECT_TRUE(env.cuda_driver_version.empty());
}

TEST_F(GpuCapture, NoneWhenNeitherFindsAGpu) {
  script("nvidia-smi", "echo 'NVIDIA-SMI has failed' >&2; exit 9");
  Environment env;
  capture_gpus(env, "libnvidia-ml-does-not-exist.so.1");
  EXPECT_EQ(env.gpu_source, "none");
  EXPECT_TRUE(env.gpus.empty());
}

}  // namespace
}  // namespace splleed::session
