// --profile: the engine's own profiler around each measurement phase, against the simulator's
// /start_profile and /stop_profile (embedded, launched as a process, and refusing).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "session/session.hpp"
#include "sim/sim_server.hpp"

namespace splleed::session {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

sim::SimConfig fast_sim() {
  sim::SimConfig sc;
  sc.ttft_ms = 1;
  sc.itl_ms = 0.5;
  sc.prefill_us_per_token = 1;
  sc.step_us_per_running = 5;
  return sc;
}

class ProfileRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("splleed-profile-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  SessionOptions options() const {
    SessionOptions o;
    o.config.load.concurrency = {1, 3};
    o.config.load.num_requests = 6;
    o.config.load.warmup = 2;
    o.config.sampling.max_tokens = 8;
    o.config.sampling.ignore_eos = true;
    o.capture_gpus = false;
    o.profile.enabled = true;
    return o;
  }

  static std::vector<fs::path> traces(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  MonotonicClock clock_;
};

TEST_F(ProfileRun, EachMeasurementPhaseIsProfiledAndItsTraceWritten) {
  SessionOptions o = options();
  o.embedded_sim = fast_sim();
  o.profile.output_dir = (dir_ / "trace").string();
  Session session(std::move(o), clock_);
  const BenchmarkResult result = session.run();
  ASSERT_EQ(result.runs.size(), 2u);

  std::uint64_t measured_tokens = 0;
  for (const RunResult& run : result.runs) {
    ASSERT_TRUE(run.profile.has_value()) << run.label;
    const ProfileWindow& p = *run.profile;
    EXPECT_EQ(p.error, "") << run.label;
    EXPECT_EQ(p.trace_location, (dir_ / "trace").string());
    ASSERT_TRUE(p.start_requested && p.started && p.stop_requested && p.stopped);
    EXPECT_LE(*p.start_requested, *p.started);
    EXPECT_LE(*p.started, *p.stop_requested);
    EXPECT_LE(*p.stop_requested, *p.stopped);
    // The window covers every measured request and no warm-up one.
    for (const RequestRecord& r : run.requests) {
      ASSERT_EQ(r.status, RequestStatus::ok);
      if (r.warmup) {
        EXPECT_LT(*r.end, *p.start_requested);
      } else {
        EXPECT_GT(*r.dispatched, *p.started);
        EXPECT_LT(*r.end, *p.stop_requested);
        for (const TokenEvent& e : r.tokens) measured_tokens += e.tokens;
      }
    }
  }
  EXPECT_EQ(measured_tokens, 2u * 6u * 8u);

  // One trace per run, each counting the work the simulator did inside its window: exactly the
  // measured requests (warm-up ones finished before the start).
  const auto files = traces(dir_ / "trace");
  ASSERT_EQ(files.size(), 2u);
  for (const fs::path& f : files) {
    const auto j = nlohmann::json::parse(std::ifstream(f));
    EXPECT_EQ(j["engine"], "splleed-sim");
    EXPECT_EQ(j["generations_finished"], 6);
    EXPECT_EQ(j["tokens_generated"], 6 * 8);
    EXPECT_GT(j["decode_steps"].get<int>(), 0);
    EXPECT_GT(j["duration_s"].get<double>(), 0);
  }
}

TEST_F(ProfileRun, AWindowProfilesPartOfThePhaseWithoutHoldingItUp) {
  SessionOptions o = options();
  o.embedded_sim = fast_sim();
  o.config.load.concurrency = {2};
  o.config.load.num_requests.reset();
  o.config.load.duration = 1200 * kNanosPerMilli;
  o.profile.output_dir = (dir_ / "trace").string();
  o.profile.window_from = 300 * kNanosPerMilli;
  o.profile.window_to = 700 * kNanosPerMilli;
  Session session(std::move(o), clock_);
  const BenchmarkResult result = session.run();
  ASSERT_EQ(result.runs.size(), 1u);
  const RunResult& run = result.runs[0];
  ASSERT_TRUE(run.profile && run.profile->started && run.profile->stopped) << run.profile->error;
  Nanos first = 0, last = 0;
  std::int64_t measured = 0;
  for (const RequestRecord& r : run.requests) {
    if (r.warmup) continue;
    if (measured++ == 0) first = *r.dispatched;
    last = std::max(last, *r.end);
  }
  // The window opened after the phase's first request and closed before its last one ended: the
  // phase ran on while the profiler started and stopped on its own thread.
  EXPECT_GT(*run.profile->started, first);
  EXPECT_LT(*run.profile->stopped, last);
  EXPECT_GT(run.profile->requests_inside, 0);
  EXPECT_LT(run.profile->requests_inside, measured);
  EXPECT_EQ(traces(dir_ / "trace").size(), 1u);
}

TEST_F(ProfileRun, APhaseThatEndsBeforeTheWindowSaysSo) {
  SessionOptions o = options();
  o.embedded_sim = fast_sim();
  o.config.load.concurrency = {2};
  o.profile.output_dir = (dir_ / "trace").string();
  o.profile.window_from = 3600 * kNanosPerSecond;  // an hour: the 6 requests are long done
  Session session(std::move(o), clock_);
  const BenchmarkResult result = session.run();
  ASSERT_EQ(result.runs.size(), 1u);
  ASSERT_TRUE(result.runs[0].profile.has_value());
  EXPECT_THAT(result.runs[0].profile->error, HasSubstr("ended before the profile window began"));
  EXPECT_FALSE(result.runs[0].profile->start_requested.has_value());
  EXPECT_TRUE(traces(dir_ / "trace").empty());
}

TEST_F(ProfileRun, TheEmbeddedSimulatorNeedsAFolder) {
  SessionOptions o = options();
  o.embedded_sim = fast_sim();
  Session session(std::move(o), clock_);
  try {
    session.run();
    FAIL() << "expected a SessionError";
  } catch (const SessionError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--profile-dir"));
  }
}

TEST_F(ProfileRun, AnEngineThatRefusesIsRecordedAndTheRunGoesOn) {
  // Connect mode: a simulator with no profile folder answers 400, as vLLM without a profiler
  // config answers 404.
  sim::SimServer server(fast_sim(), clock_);
  const auto port = server.start();
  SessionOptions o = options();
  o.config.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  o.config.prompts = {"Hello there"};
  std::vector<std::string> log;
  o.log = [&log](const std::string& line) { log.push_back(line); };
  Session session(std::move(o), clock_);
  const BenchmarkResult result = session.run();
  server.stop();
  ASSERT_EQ(result.runs.size(), 2u);
  EXPECT_FALSE(result.interrupted);
  for (const RunResult& run : result.runs) {
    ASSERT_TRUE(run.profile.has_value());
    EXPECT_THAT(run.profile->error, HasSubstr("POST /start_profile answered HTTP 400"));
    EXPECT_THAT(run.profile->error, HasSubstr("no profile folder"));
    EXPECT_FALSE(run.profile->started.has_value());
    EXPECT_FALSE(run.profile->stop_requested.has_value());  // nothing to stop
    EXPECT_EQ(run.summary.requests_ok, 6);
  }
  EXPECT_THAT(testing::PrintToString(log), HasSubstr("the engine's profiler did not start"));
}

TEST_F(ProfileRun, ALaunchedEngineGetsItsFolderUnderTheLogFolder) {
  SessionOptions o = options();
  o.config.load.concurrency = {2};
  ManagedEngine m;
  m.spec.engine = launch::Engine::sim;
  m.spec.model = "profiled";
  m.spec.binary = SPLLEED_BIN;
  m.spec.extra_args = {"--ttft-ms", "1", "--itl-ms", "0.5"};
  m.log_dir = dir_ / "logs";
  m.health_timeout = 30s;
  m.stop_grace = 5s;
  o.managed_engine = std::move(m);
  Session session(std::move(o), clock_);
  const BenchmarkResult result = session.run();
  ASSERT_EQ(result.runs.size(), 1u);
  ASSERT_TRUE(result.runs[0].profile.has_value());
  EXPECT_EQ(result.runs[0].profile->error, "");
  EXPECT_EQ(result.runs[0].profile->trace_location, fs::absolute(dir_ / "logs" / "profile").string());
  EXPECT_EQ(traces(dir_ / "logs" / "profile").size(), 1u);
}

TEST_F(ProfileRun, AnEngineWithoutAProfilerIsRefusedBeforeItStarts) {
  SessionOptions o = options();
  ManagedEngine m;
  m.spec.engine = launch::Engine::tgi;
  m.spec.model = "some/model";
  m.spec.binary = (dir_ / "never-run").string();
  m.log_dir = dir_ / "logs";
  o.managed_engine = std::move(m);
  Session session(std::move(o), clock_);
  try {
    session.run();
    FAIL() << "expected a SessionError";
  } catch (const SessionError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tgi has none"));
  }
  EXPECT_FALSE(fs::exists(dir_ / "logs"));  // nothing was started
}

}  // namespace
}  // namespace splleed::session
