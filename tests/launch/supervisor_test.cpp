#include "launch/supervisor.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <random>

#include "launch/engine_info.hpp"

namespace splleed::launch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

bool pid_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

class Supervisor : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("splleed-launch-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(rd()));
    fs::create_directories(dir_);
    options_.log_dir = dir_ / "logs";
    options_.poll_interval = 50ms;
    options_.stop_grace = 5s;
    options_.health_timeout = 30s;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // An executable shell script standing in for an engine; it ignores its arguments.
  std::string script(const std::string& name, const std::string& body) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
  }

  LaunchSpec sim_spec() const {
    LaunchSpec s;
    s.engine = Engine::sim;
    s.model = "m";
    s.binary = SPLLEED_BIN;
    return s;
  }

  fs::path dir_;
  SupervisorOptions options_;
};

TEST_F(Supervisor, SimLaunchesServesAndStopsLeavingNothing) {
  auto engine = EngineProcess::launch(sim_spec(), options_);
  ASSERT_TRUE(engine->running());
  const pid_t pid = engine->pid();
  EXPECT_NE(engine->port(), 0);
  EXPECT_EQ(engine->base_url(), "http://127.0.0.1:" + std::to_string(engine->port()));
  EXPECT_TRUE(fs::exists(engine->log_path()));
  EXPECT_EQ(engine->log_path().parent_path(), options_.log_dir);

  const EngineInfo info = fetch_engine_info(engine->base_url(), Engine::sim);
  EXPECT_EQ(info.served_model, "m");
  EXPECT_TRUE(info.raw.contains("/v1/models"));

  const ExitStatus status = engine->stop();
  EXPECT_FALSE(engine->running());
  EXPECT_FALSE(status.killed_after_grace);  // the simulator handles SIGTERM
  EXPECT_TRUE(pid_gone(pid));
  EXPECT_EQ(engine->stop().describe(), status.describe());  // idempotent
}

TEST_F(Supervisor, DestructorStopsTheEngine) {
  pid_t pid = 0;
  {
    auto engine = EngineProcess::launch(sim_spec(), options_);
    pid = engine->pid();
    ASSERT_FALSE(pid_gone(pid));
  }
  EXPECT_TRUE(pid_gone(pid));
}

TEST_F(Supervisor, EngineGetsDefaultSignalsEvenWhenTheCallerBlocksThem) {
  // The CLI blocks SIGINT/SIGTERM in every thread; the engine must still stop on SIGTERM.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  auto engine = EngineProcess::launch(sim_spec(), options_);
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);
  const ExitStatus status = engine->stop();
  EXPECT_FALSE(status.killed_after_grace);
}

TEST_F(Supervisor, EarlyExitNamesStatusAndLogLines) {
  LaunchSpec s = sim_spec();
  s.binary = script("boom.sh", "echo starting; echo boom >&2; exit 3");
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("exited while starting (exit status 3)"));
    EXPECT_THAT(msg, HasSubstr("boom"));  // stderr goes to the log too
    EXPECT_THAT(msg, HasSubstr("starting"));
    EXPECT_THAT(msg, HasSubstr(options_.log_dir.string()));
  }
}

TEST_F(Supervisor, CancelledLaunchStopsTheEngine) {
  LaunchSpec s = sim_spec();
  s.binary = script("silent.sh", "exec sleep 60");
  options_.health_timeout = 60s;  // the cancellation, not the timeout, ends the wait
  options_.cancelled = [] { return true; };
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("the launch of the sim engine was cancelled"));
  }
}

TEST_F(Supervisor, NeverHealthyTimesOutNamesTheLogAndStops) {
  LaunchSpec s = sim_spec();
  s.binary = script("silent.sh", "echo loading weights; exec sleep 60");
  options_.health_timeout = 300ms;
  EngineProcess engine(s, pick_free_port("127.0.0.1"), options_);
  const pid_t pid = engine.pid();
  try {
    engine.wait_healthy();
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    const std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("did not answer GET /health with 200 within 0.3 s"));
    EXPECT_THAT(msg, HasSubstr(engine.log_path().string()));
  }
  EXPECT_FALSE(engine.running());
  EXPECT_TRUE(pid_gone(pid));
}

TEST_F(Supervisor, FixedPortInUseFailsBeforeSpawning) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor busy(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  LaunchSpec s = sim_spec();
  s.port = busy.local_endpoint().port();
  ASSERT_TRUE(port_in_use("127.0.0.1", s.port));
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("port " + std::to_string(s.port) +
                                    " on 127.0.0.1 is already in use"));
  }
  EXPECT_FALSE(fs::exists(options_.log_dir));  // nothing was started
}

TEST_F(Supervisor, MissingProgramFailsBeforeSpawning) {
  LaunchSpec s;
  s.engine = Engine::vllm;
  s.model = "m";
  s.binary = "splleed-no-such-engine";
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot find splleed-no-such-engine on PATH"));
    EXPECT_THAT(e.what(), HasSubstr("--engine-binary"));
  }
  s.binary = (dir_ / "absent").string();
  EXPECT_THROW(EngineProcess::launch(s, options_), LaunchError);
}

TEST_F(Supervisor, MissingModelFileFailsBeforeSpawning) {
  LaunchSpec s;
  s.engine = Engine::llamacpp;
  s.binary = "/bin/true";
  s.model = (dir_ / "tiny.gguf").string();
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("model file " + s.model + " does not exist"));
  }
}

TEST_F(Supervisor, KillsAfterGraceWhenTermIsIgnored) {
  const fs::path fifo = dir_ / "ready";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  LaunchSpec s = sim_spec();
  s.binary = script("stubborn.sh",
                    "trap '' TERM\necho ready > '" + fifo.string() + "'\nexec sleep 60");
  options_.stop_grace = 200ms;
  EngineProcess engine(s, pick_free_port("127.0.0.1"), options_);
  {
    // Blocks until the script has installed its trap and opened the FIFO.
    std::ifstream ready(fifo);
    std::string line;
    std::getline(ready, line);
    ASSERT_EQ(line, "ready");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const ExitStatus status = engine.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
  EXPECT_TRUE(status.killed_after_grace);
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_TRUE(pid_gone(engine.pid()));
}

TEST_F(Supervisor, ReportsDeathMidRun) {
  auto engine = EngineProcess::launch(sim_spec(), options_);
  std::promise<ExitStatus> died;
  engine->on_unexpected_exit([&died](const ExitStatus& st) { died.set_value(st); });
  ASSERT_EQ(::kill(engine->pid(), SIGKILL), 0);
  auto future = died.get_future();
  ASSERT_EQ(future.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(future.get().signal, SIGKILL);
  EXPECT_FALSE(engine->running());
  EXPECT_EQ(engine->exit_status()->signal, SIGKILL);

  // Registering after the fact still reports it, once, on the caller's thread.
  int calls = 0;
  engine->on_unexpected_exit([&calls](const ExitStatus&) { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST_F(Supervisor, StopIsNotReportedAsUnexpected) {
  auto engine = EngineProcess::launch(sim_spec(), options_);
  std::atomic<int> calls{0};
  engine->on_unexpected_exit([&calls](const ExitStatus&) { ++calls; });
  engine->stop();
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(Supervisor, RetriesWithNewPortsWhenThePortIsTaken) {
  LaunchSpec s = sim_spec();
  s.binary = script("taken.sh", "echo 'ERROR: [Errno 98] address already in use' >&2; exit 1");
  options_.port_retries = 2;
  try {
    EngineProcess::launch(s, options_);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("address already in use"));
  }
  // One log per attempt, each on its own port.
  int logs = 0;
  for (const auto& entry : fs::directory_iterator(options_.log_dir)) {
    (void)entry;
    ++logs;
  }
  EXPECT_EQ(logs, 3);
}

TEST(SupervisorHelpers, ReadLogTail) {
  const fs::path p = fs::temp_directory_path() / ("splleed-tail-" + std::to_string(::getpid()));
  std::ofstream(p) << "a\nb\nc\nd\n";
  EXPECT_EQ(read_log_tail(p, 2), "c\nd");
  EXPECT_EQ(read_log_tail(p, 10), "a\nb\nc\nd");
  EXPECT_EQ(read_log_tail(p, 0), "");
  fs::remove(p);
  EXPECT_EQ(read_log_tail(p, 3), "");
}

TEST(SupervisorHelpers, ExitStatusDescribe) {
  ExitStatus e;
  e.code = 3;
  EXPECT_EQ(e.describe(), "exit status 3");
  ExitStatus k;
  k.signal = SIGKILL;
  EXPECT_THAT(k.describe(), HasSubstr("signal 9"));
}

TEST(SupervisorHelpers, FreePortIsFree) {
  const auto port = pick_free_port("127.0.0.1");
  EXPECT_NE(port, 0);
  EXPECT_FALSE(port_in_use("127.0.0.1", port));
  EXPECT_THROW(pick_free_port("not-an-address"), LaunchError);
}

TEST(SupervisorHelpers, FindExecutable) {
  EXPECT_EQ(find_executable("sh", "test").filename(), "sh");
  EXPECT_EQ(find_executable("/bin/sh", "test"), fs::path("/bin/sh"));
  EXPECT_THROW(find_executable("", "test"), LaunchError);
}

}  // namespace
}  // namespace splleed::launch
