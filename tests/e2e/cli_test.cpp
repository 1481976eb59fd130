// The CLI as a user runs it: option errors, the embedded benchmark, output files, Ctrl-C.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs the splleed binary with `args`; `on_stderr_line` may act on each stderr line as it comes
// (e.g. send a signal once the run has started).
Outcome run_cli(const std::vector<std::string>& args,
                const std::function<void(pid_t, const std::string&)>& on_stderr_line = {}) {
  int out_pipe[2], err_pipe[2];
  EXPECT_EQ(pipe(out_pipe), 0);
  EXPECT_EQ(pipe(err_pipe), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    close(out_pipe[0]);
    close(err_pipe[0]);
    std::vector<char*> argv;
    std::string bin = SPLLEED_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Outcome o;
  FILE* err = fdopen(err_pipe[0], "r");
  char line[4096];
  while (fgets(line, sizeof line, err)) {
    o.err += line;
    if (on_stderr_line) on_stderr_line(pid, line);
  }
  fclose(err);
  FILE* out = fdopen(out_pipe[0], "r");
  std::size_t n;
  while ((n = fread(line, 1, sizeof line, out)) > 0) o.out.append(line, n);
  fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("splleed-cli-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

const std::vector<std::string> kFastSim = {"--sim-ttft-ms", "1", "--sim-itl-ms", "0.5"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Cli, InvalidValuesAreRejectedBeforeAnythingIsSent) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"run", "--base-url", "http://127.0.0.1:9", "--prompt", "x", "--concurrency", "2,-1"},
       "--concurrency levels must be positive (got -1)"},
      {{"run", "--base-url", "http://127.0.0.1:9", "--prompt", "x", "--api", "openai-v9"},
       "unknown --api 'openai-v9'"},
      {{"run", "--base-url", "http://127.0.0.1:9", "--prompt", "x", "--extra-body", "{oops"},
       "--extra-body is not valid JSON"},
      {{"run", "--base-url", "ftp://127.0.0.1:9", "--prompt", "x"}, "ftp"},
      {{"run", "--sim", "--base-url", "http://127.0.0.1:9"}, "exclude each other"},
      {{"run", "--sim", "--profile-dir", "/tmp/x"}, "--profile-dir needs --profile"},
      {{"run", "--sim", "--profile", "--profile-window", "5:2"}, "--profile-window must be"},
      {{"run", "--sim", "--profile", "--profile-window", "x"}, "--profile-window must be"},
      {{"run", "--sim", "--busy-poll-us", "-5"}, "--busy-poll-us must be between 0 and 10000"},
      {{"run", "--sim", "--busy-poll-us", "20000"}, "--busy-poll-us must be between 0 and 10000"},
  };
  for (const auto& c : cases) {
    auto o = run_cli(c.args);
    EXPECT_EQ(o.exit_code, 2) << o.err;
    EXPECT_NE(o.err.find(c.needle), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "") << "nothing is reported when nothing ran";
  }
}

TEST(Cli, UnreachableTargetIsOneClearSentence) {
  auto o = run_cli({"run", "--base-url", "http://127.0.0.1:9", "--prompt", "x", "--model", "m"});
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("cannot reach http://127.0.0.1:9"), std::string::npos) << o.err;
}

TEST(Cli, EmbeddedBenchmarkWritesTablesJsonAndCsv) {
  auto json = temp_path("sim.json"), csv = temp_path("sim.csv");
  auto o = run_cli(with({"run", "--sim", "--concurrency", "1,3", "--num-requests", "6",
                         "--max-tokens", "5", "--json", json, "--csv", csv},
                        kFastSim));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("concurrency=1"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("concurrency=3"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("TTFT"), std::string::npos);
  std::ifstream in(json);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["schema_version"], 1);
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["summary"]["requests"]["ok"], 6);
  EXPECT_EQ(j["config"]["target"]["model"], "splleed-sim");
  EXPECT_TRUE(std::filesystem::exists(csv));
  EXPECT_TRUE(std::filesystem::exists(temp_path("sim.requests.csv")));
}

TEST(Cli, PrecisionModeMeasuresEveryRequestAndIsRecorded) {
  auto json = temp_path("precision.json");
  auto o = run_cli(with({"run", "--sim", "--concurrency", "1,4", "--num-requests", "8",
                         "--max-tokens", "6", "--busy-poll-us", "50", "--json", json},
                        kFastSim));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::ifstream in(json);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["config"]["load"]["busy_poll_us"], 50.0);
  ASSERT_EQ(j["runs"].size(), 2u);
  for (const auto& run : j["runs"]) {
    EXPECT_EQ(run["summary"]["requests"]["ok"], 8);
    for (const auto& r : run["requests"]) {
      ASSERT_EQ(r["status"], "ok") << r.dump();
      EXPECT_EQ(r["token_events"].size(), 6u) << r.dump();
    }
  }
}

TEST(Cli, ProfileWithTheSimulatorWritesATraceBesideTheJson) {
  const auto json = temp_path("profiled.json");
  const auto folder = std::filesystem::path(json).parent_path() / "profile";
  std::filesystem::remove_all(folder);
  auto o = run_cli(with({"run", "--sim", "--concurrency", "2", "--num-requests", "4",
                         "--max-tokens", "4", "--profile", "--json", json},
                        kFastSim));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("engine profile: "), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("profile trace: " + folder.string()), std::string::npos) << o.err;
  const auto j = nlohmann::json::parse(std::ifstream(json));
  const auto& p = j["runs"][0]["profile"];
  EXPECT_EQ(p["error"], "");
  EXPECT_EQ(p["trace_location"], folder.string());
  EXPECT_LE(p["started_ns"].get<std::int64_t>(), j["runs"][0]["requests"][2]["dispatched_ns"].get<std::int64_t>());
  EXPECT_FALSE(std::filesystem::is_empty(folder));
}

TEST(Cli, EmbeddedSimulatorSpeaksEveryNativeApi) {
  for (const std::string api :
       {"tgi", "sglang", "llamacpp", "ollama-generate", "ollama-chat", "triton"}) {
    auto json = temp_path("native-" + api + ".json");
    auto o = run_cli(with({"run", "--sim", "--api", api, "--concurrency", "2", "--num-requests",
                           "4", "--warmup", "0", "--max-tokens", "5", "--ignore-eos", "--json", json},
                          kFastSim));
    ASSERT_EQ(o.exit_code, 0) << api << ": " << o.err;
    std::ifstream in(json);
    auto j = nlohmann::json::parse(in);
    ASSERT_EQ(j["runs"].size(), 1u) << api;
    EXPECT_EQ(j["runs"][0]["summary"]["requests"]["ok"], 4) << api;
    const bool timings = api == "llamacpp" || api.rfind("ollama", 0) == 0;
    for (const auto& r : j["runs"][0]["requests"]) {
      EXPECT_EQ(r["status"], "ok") << api;
      if (timings) {
        ASSERT_TRUE(r.contains("server_timings")) << api << ": " << r.dump();
        EXPECT_GT(r["server_timings"]["prompt_ms"].get<double>(), 0) << api;
      }
    }
  }
}

TEST(Cli, ApiKeyNeverReachesOutputs) {
  auto json = temp_path("key.json");
  const std::string key = "sk-very-secret-value-123";
  auto o = run_cli(with({"run", "--sim", "--concurrency", "1", "--num-requests", "2",
                         "--max-tokens", "2", "--api-key", key, "--json", json},
                        kFastSim));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  std::ifstream in(json);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(key), std::string::npos);
  EXPECT_EQ(o.out.find(key), std::string::npos);
  EXPECT_EQ(o.err.find(key), std::string::npos);
}

TEST(Cli, CtrlCSavesWhatFinishedAndExitsNonZero) {
  auto json = temp_path("interrupted.json");
  // Every request stalls after two tokens, so only the interrupt can end this run.
  auto o = run_cli(with({"run", "--sim", "--concurrency", "2", "--num-requests", "10",
                         "--warmup", "0", "--extra-body", R"({"sim_fault":"stall"})", "--json",
                         json},
                        kFastSim),
                   [](pid_t pid, const std::string& line) {
                     if (line.find("10 requests") != std::string::npos) kill(pid, SIGINT);
                   });
  EXPECT_EQ(o.exit_code, 130) << o.err;
  EXPECT_NE(o.err.find("interrupted by SIGINT"), std::string::npos) << o.err;
  std::ifstream in(json);
  ASSERT_TRUE(in) << "the JSON result must be written after Ctrl-C";
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["interrupted"], true);
  for (const auto& r : j["runs"][0]["requests"]) EXPECT_EQ(r["status"], "incomplete");
}

}  // namespace
