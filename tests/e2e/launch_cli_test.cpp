// `splleed run --launch sim`: the CLI starts `splleed sim` as an engine process, benchmarks it,
// stops it, and records it in the results file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class LaunchCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("splleed-launch-cli-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the CLI with stdout and stderr captured in files (no shell: arguments go as they are).
  Outcome run(const std::vector<std::string>& args) const {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const pid_t pid = fork();
    if (pid == 0) {
      std::freopen(out.c_str(), "w", stdout);
      std::freopen(err.c_str(), "w", stderr);
      std::vector<std::string> copy = args;
      std::string bin = SPLLEED_BIN;
      std::vector<char*> argv{bin.data()};
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }

  fs::path dir_;
};

TEST_F(LaunchCli, LaunchedSimRunsAndTheResultsRecordTheEngine) {
  const fs::path json_path = dir_ / "out.json";
  const Outcome o = run({"run", "--launch", "sim", "--engine-binary", SPLLEED_BIN, "--model",
                         "launched-model", "--concurrency", "2", "--num-requests", "6",
                         "--max-tokens", "8", "--no-gpu", "--json", json_path.string(), "--",
                         "--ttft-ms", "1", "--itl-ms", "0.5"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("sim engine serving on http://127.0.0.1:"));
  EXPECT_THAT(o.out, HasSubstr("Environment"));
  EXPECT_THAT(o.out, HasSubstr("engine:  sim"));
  EXPECT_THAT(o.out, HasSubstr("GPUs:    not read"));
  EXPECT_THAT(o.out, HasSubstr("launched: " + std::string(SPLLEED_BIN) + " sim"));

  const auto j = nlohmann::json::parse(slurp(json_path));
  const auto& env = j.at("environment");
  EXPECT_EQ(env.at("engine").at("engine"), "sim");
  EXPECT_EQ(env.at("engine").at("served_model"), "launched-model");
  EXPECT_TRUE(env.at("engine").at("raw").contains("/v1/models"));
  EXPECT_EQ(env.at("gpu_source"), "not read");
  EXPECT_EQ(env.at("gpus"), nlohmann::json::array());
  EXPECT_TRUE(env.at("memory_total_bytes").is_number_unsigned());
  EXPECT_EQ(j.at("config").at("target").at("model"), "launched-model");

  const auto& l = j.at("launched_engine");
  EXPECT_EQ(l.at("engine"), "sim");
  EXPECT_EQ(l.at("exit_status"), "exit status 0");
  EXPECT_EQ(l.at("exited_during_run"), false);
  const auto argv = l.at("argv").get<std::vector<std::string>>();
  EXPECT_THAT(argv, ::testing::Contains("--ttft-ms"));  // the arguments after --
  EXPECT_THAT(argv, ::testing::Contains("launched-model"));
  // The log goes next to the --json file by default.
  EXPECT_EQ(fs::path(l.at("log_path").get<std::string>()).parent_path(), dir_);
  EXPECT_TRUE(fs::exists(l.at("log_path").get<std::string>()));
  EXPECT_EQ(j.at("runs").at(0).at("summary").at("requests").at("ok"), 6);
}

TEST_F(LaunchCli, BadLaunchInputIsOneSentenceAndExitCode2) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"run", "--launch", "nope"}, "unknown --launch 'nope'"},
      {{"run", "--launch", "sim", "--sim"}, "--launch and --sim exclude each other"},
      {{"run", "--launch", "sim", "--base-url", "http://127.0.0.1:1"},
       "--launch and --base-url exclude each other"},
      {{"run", "--launch", "vllm"}, "--launch vllm needs --model"},
      {{"run", "--launch", "sim", "--engine-opt", "bogus=1"}, "bogus"},
      {{"run", "--engine-opt", "x=1", "--sim"}, "--engine-opt needs --launch"},
      {{"run", "--sim", "--", "--ttft-ms", "1"}, "arguments after -- go to an engine"},
      {{"run", "--launch", "sim", "--engine-binary", (dir_ / "missing").string()}, "missing"},
      {{"run", "--launch", "sim", "--engine-timeout", "0"}, "--engine-timeout must be positive"},
  };
  for (const Case& c : cases) {
    const Outcome o = run(c.args);
    EXPECT_EQ(o.exit_code, 2) << c.needle << "\n" << o.err;
    EXPECT_THAT(o.err, HasSubstr(c.needle));
    // One sentence: a single line, no table, nothing sent.
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
}

TEST_F(LaunchCli, NeverHealthyEngineExitsWith2AndLeavesNothingRunning) {
  const fs::path pid_file = dir_ / "engine.pid";
  const fs::path script = dir_ / "silent.sh";
  std::ofstream(script) << "#!/bin/sh\necho $$ > " << pid_file.string()
                        << "\necho loading weights\nexec sleep 60\n";
  fs::permissions(script, fs::perms::owner_all);
  const Outcome o = run({"run", "--launch", "sim", "--engine-binary", script.string(),
                         "--engine-timeout", "0.3", "--engine-log-dir", dir_.string()});
  EXPECT_EQ(o.exit_code, 2) << o.err;
  EXPECT_THAT(o.err, HasSubstr("did not answer GET /health with 200 within 0.3 s"));
  EXPECT_THAT(o.err, HasSubstr(dir_.string()));
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  if (pid != 0) {
    EXPECT_TRUE(::kill(pid, 0) == -1 && errno == ESRCH);
  }
}

}  // namespace
