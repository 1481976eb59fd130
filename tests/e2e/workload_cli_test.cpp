// `splleed run` with workload options against the embedded simulator: synthetic prompts of exact
// token lengths, a ShareGPT file, chat messages and multi-turn conversations. The simulator counts
// one token per 4 bytes, and the tokenizer these tests write does the same (each run of up to 4
// characters is one fused unknown token), so client and server token counts must agree exactly.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/request.hpp"
#include "sim/sim_server.hpp"
#include "splleed/clock.hpp"

namespace {

using nlohmann::json;
namespace sim = splleed::sim;
using splleed::MonotonicClock;

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("splleed-workload-cli-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

std::string temp_path(const std::string& name) { return (temp_dir() / name).string(); }

Outcome run_cli(const std::vector<std::string>& args) {
  const std::string out_path = temp_path("stdout.txt"), err_path = temp_path("stderr.txt");
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(out_path.c_str(), "w", stdout) || !freopen(err_path.c_str(), "w", stderr)) _exit(126);
    std::vector<char*> argv;
    std::string bin = SPLLEED_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = slurp(out_path);
  o.err = slurp(err_path);
  return o;
}

// A tokenizer.json whose every run of up to `width` characters (without a newline) is one token;
// width 4 is the simulator's rule for ASCII text.
std::string char_tokenizer(int width) {
  const std::string path = temp_path("tokenizer" + std::to_string(width) + ".json");
  const json tok = {
      {"version", "1.0"},
      {"added_tokens", json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", ".{1," + std::to_string(width) + "}"}}}, {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
           {"use_regex", false}}}}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"},
        {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
        {"fuse_unk", true}, {"byte_fallback", false}, {"vocab", {{"<unk>", 0}}},
        {"merges", json::array()}}},
  };
  std::ofstream(path) << tok.dump();
  return path;
}

std::string four_char_tokenizer() { return char_tokenizer(4); }

const std::vector<std::string> kFastSim = {"run", "--sim", "--sim-ttft-ms", "1", "--sim-itl-ms", "0.5",
                                           "--warmup", "0", "--no-scrape", "--no-gpu"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

json run_json(const std::vector<std::string>& args, Outcome* outcome = nullptr) {
  const std::string out = temp_path("out.json");
  std::filesystem::remove(out);
  const Outcome o = run_cli(with(with(kFastSim, args), {"--json", out}));
  if (outcome) *outcome = o;
  EXPECT_EQ(o.exit_code, 0) << o.err;
  if (o.exit_code != 0) return json::object();
  return json::parse(slurp(out));
}

std::vector<json> measured(const json& result) {
  std::vector<json> out;
  for (const auto& run : result.at("runs"))
    for (const auto& r : run.at("requests"))
      if (!r.at("warmup").get<bool>()) out.push_back(r);
  return out;
}

TEST(WorkloadCli, SyntheticPromptsHaveExactlyTheRequestedTokenCounts) {
  Outcome o;
  const json result = run_json({"--dataset-format", "synthetic", "--input-len", "64",
                                "--output-len", "16", "--num-prompts", "6", "--tokenizer",
                                four_char_tokenizer(), "--concurrency", "2", "--num-requests", "8",
                                "--seed", "5"},
                               &o);
  ASSERT_FALSE(result.empty());
  const json& id = result.at("config").at("workload");
  EXPECT_EQ(id.at("source"), "synthetic");
  EXPECT_EQ(id.at("approximate"), false);
  EXPECT_EQ(id.at("seed"), 5);
  EXPECT_TRUE(id.at("sha256").is_null());
  EXPECT_EQ(id.at("input_tokens").at("min"), 64);
  EXPECT_EQ(id.at("input_tokens").at("max"), 64);
  EXPECT_EQ(id.at("output_tokens").at("min"), 16);
  EXPECT_EQ(id.at("output_tokens").at("max"), 16);
  EXPECT_EQ(result.at("config").at("prompts").size(), 6u);
  const auto reqs = measured(result);
  ASSERT_EQ(reqs.size(), 8u);
  for (const auto& r : reqs) {
    ASSERT_EQ(r.at("status"), "ok") << r.dump();
    EXPECT_EQ(r.at("usage").at("prompt_tokens"), 64) << r.dump();
    EXPECT_EQ(r.at("client_prompt_tokens"), 64) << r.dump();
    EXPECT_EQ(r.at("usage").at("completion_tokens"), 16) << r.dump();
    EXPECT_FALSE(r.contains("session"));
  }
  EXPECT_NE(o.out.find("Workload: synthetic, 6 prompts; input tokens: mean 64.0"),
            std::string::npos)
      << o.out;
}

TEST(WorkloadCli, WithoutATokenizerSyntheticLengthsAreApproximateAndSaySo) {
  Outcome o;
  const json result = run_json({"--dataset-format", "synthetic", "--input-len", "10",
                                "--num-prompts", "3", "--num-requests", "3", "--concurrency", "1"},
                               &o);
  ASSERT_FALSE(result.empty());
  EXPECT_EQ(result.at("config").at("workload").at("approximate"), true);
  EXPECT_TRUE(result.at("config").at("workload").at("input_tokens").is_null());
  EXPECT_NE(o.err.find("approximate"), std::string::npos) << o.err;
  EXPECT_NE(o.out.find("lengths approximate"), std::string::npos) << o.out;
  for (const auto& r : measured(result)) EXPECT_FALSE(r.contains("client_prompt_tokens"));
}

TEST(WorkloadCli, ShareGptFileGivesPromptsAndOutputLengths) {
  // Lengths in 4-character tokens: prompts of 5, 6 and 2 tokens (the last below min_len 4, so
  // skipped), replies of 4, 7 and 5 tokens.
  const std::string path = temp_path("sharegpt.json");
  const json data = json::array({
      {{"id", "a"},
       {"conversations",
        {{{"from", "human"}, {"value", std::string(20, 'a')}},
         {{"from", "gpt"}, {"value", std::string(16, 'b')}}}}},
      {{"id", "b"},
       {"conversations",
        {{{"from", "system"}, {"value", "be nice"}},
         {{"from", "human"}, {"value", std::string(24, 'c')}},
         {{"from", "gpt"}, {"value", std::string(28, 'd')}}}}},
      {{"id", "c"},
       {"conversations",
        {{{"from", "human"}, {"value", "hi there"}}, {{"from", "gpt"}, {"value", std::string(20, 'e')}}}}},
  });
  std::ofstream(path) << data.dump();
  const json result = run_json({"--dataset", path, "--tokenizer", four_char_tokenizer(),
                                "--num-requests", "4", "--concurrency", "1"});
  ASSERT_FALSE(result.empty());
  const json& config = result.at("config");
  const json& id = config.at("workload");
  EXPECT_EQ(id.at("source"), "sharegpt");
  EXPECT_EQ(id.at("path"), path);
  EXPECT_EQ(id.at("sha256").get<std::string>().size(), 64u);
  EXPECT_EQ(id.at("entries_read"), 3);
  std::int64_t skipped = 0;
  for (const auto& [reason, n] : id.at("skipped").items()) skipped += n.get<std::int64_t>();
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(config.at("prompts"), json({std::string(20, 'a'), std::string(24, 'c')}));
  EXPECT_EQ(config.at("prompt_max_tokens"), json({4, 7}));
  EXPECT_EQ(config.at("prompt_input_tokens"), json({5, 6}));
  for (const auto& r : measured(result)) {
    ASSERT_EQ(r.at("status"), "ok");
    const auto p = r.at("prompt_index").get<std::size_t>();
    EXPECT_EQ(r.at("usage").at("prompt_tokens"), config.at("prompt_input_tokens")[p]);
    EXPECT_EQ(r.at("client_prompt_tokens"), config.at("prompt_input_tokens")[p]);
    EXPECT_EQ(r.at("usage").at("completion_tokens"), config.at("prompt_max_tokens")[p]);
  }
}

TEST(WorkloadCli, ChatMessagesFileIsSentWholeOnTheChatApi) {
  // Every content is a multiple of 4 bytes, so the simulator's count of the concatenated contents
  // equals the sum of the client's counts per message.
  const std::string path = temp_path("chats.jsonl");
  std::ofstream(path)
      << R"({"messages":[{"role":"system","content":"Be brief ok."},{"role":"user","content":"What is a kitty?"}]})"
      << "\n"
      << R"({"messages":[{"role":"user","content":"Hi!!"},{"role":"assistant","content":"Hello there!"},{"role":"user","content":"And you?"}]})"
      << "\n";
  const json result = run_json({"--dataset", path, "--dataset-format", "messages", "--api",
                                "openai-chat", "--tokenizer", four_char_tokenizer(),
                                "--num-requests", "4", "--concurrency", "1"});
  ASSERT_FALSE(result.empty());
  const json& config = result.at("config");
  EXPECT_EQ(config.at("workload").at("source"), "messages");
  ASSERT_EQ(config.at("prompt_messages").size(), 2u);
  EXPECT_EQ(config.at("prompt_messages")[1].size(), 3u);
  // Bytes of all contents / 4: (12 + 16) / 4 and (4 + 12 + 8) / 4; the last user message alone
  // would be 4 and 2.
  const std::vector<std::int64_t> whole = {7, 6};
  for (const auto& r : measured(result)) {
    ASSERT_EQ(r.at("status"), "ok") << r.dump();
    const auto p = r.at("prompt_index").get<std::size_t>();
    EXPECT_EQ(r.at("usage").at("prompt_tokens"), whole[p]) << r.dump();
    EXPECT_EQ(r.at("client_prompt_tokens"), whole[p]) << r.dump();
  }
}

TEST(WorkloadCli, MultiTurnSendsTurnsInOrderWithTheRepliesAsHistory) {
  const json result = run_json({"--api", "openai-chat", "--input-len", "8", "--output-len", "3",
                                "--turns", "3", "--think-time", "20ms", "--num-prompts", "2",
                                "--tokenizer", four_char_tokenizer(), "--concurrency", "2",
                                "--num-requests", "6"});
  ASSERT_FALSE(result.empty());
  const json& config = result.at("config");
  ASSERT_EQ(config.at("conversations").size(), 2u);
  const auto reqs = measured(result);
  ASSERT_EQ(reqs.size(), 6u);
  std::map<std::uint64_t, std::vector<json>> by_session;
  for (const auto& r : reqs) {
    ASSERT_EQ(r.at("status"), "ok") << r.dump();
    by_session[r.at("session").get<std::uint64_t>()].push_back(r);
  }
  // Two slots run whole conversations; one that a slot starts after finishing its first may be cut
  // short by the request limit, but every conversation's turns start at 0 and follow in order.
  const auto& prompts = config.at("prompts");
  std::size_t complete = 0;
  for (auto& [session, turns] : by_session) {
    std::sort(turns.begin(), turns.end(),
              [](const json& a, const json& b) { return a.at("turn") < b.at("turn"); });
    ASSERT_LE(turns.size(), 3u);
    complete += turns.size() == 3 ? 1 : 0;
    std::size_t history_bytes = 0;
    for (std::size_t k = 0; k < turns.size(); ++k) {
      const json& r = turns[k];
      EXPECT_EQ(r.at("turn"), static_cast<int>(k));
      const std::size_t user_bytes =
          prompts[r.at("prompt_index").get<std::size_t>()].get<std::string>().size();
      // The simulator counts every message's content: earlier questions, the replies received
      // and this question.
      EXPECT_EQ(r.at("usage").at("prompt_tokens").get<std::size_t>(),
                (history_bytes + user_bytes + 3) / 4)
          << "session " << session << " turn " << k;
      EXPECT_EQ(r.at("usage").at("completion_tokens"), 3);
      if (k == 0) {
        EXPECT_EQ(r.at("client_prompt_tokens"), 8);
      } else {
        EXPECT_FALSE(r.contains("client_prompt_tokens"));  // the history was not counted
        // Sent only after the previous reply ended, plus the think time.
        EXPECT_GE(r.at("dispatched_ns").get<std::int64_t>(),
                  turns[k - 1].at("end_ns").get<std::int64_t>() + 20'000'000);
      }
      history_bytes += user_bytes + r.at("output_bytes").get<std::size_t>();
    }
  }
  EXPECT_GE(complete, 1u);
}

TEST(WorkloadCli, MultiTurnInOpenLoopStartsConversationsAtArrivals) {
  const json result = run_json({"--api", "openai-chat", "--input-len", "4", "--output-len", "2",
                                "--turns", "2", "--num-prompts", "3", "--request-rate", "200",
                                "--num-requests", "6"});
  ASSERT_FALSE(result.empty());
  const auto reqs = measured(result);
  ASSERT_EQ(reqs.size(), 6u);  // 3 conversations of 2 turns
  std::map<std::uint64_t, int> turns;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.at("status"), "ok") << r.dump();
    ++turns[r.at("session").get<std::uint64_t>()];
  }
  EXPECT_EQ(turns.size(), 3u);
  for (const auto& [s, n] : turns) EXPECT_EQ(n, 2) << s;
}

TEST(WorkloadCli, ExactOutputLengthsAreCheckedAgainstWhatWasProduced) {
  Outcome o;
  const json result = run_json({"--input-len", "8", "--output-len", "6", "--ignore-eos",
                                "--num-prompts", "4", "--num-requests", "8", "--concurrency", "2",
                                "--tokenizer", four_char_tokenizer()},
                               &o);
  ASSERT_FALSE(result.empty());
  const json& run = result.at("runs").at(0);
  EXPECT_EQ(run.at("output_length"),
            (json{{"checked", 8}, {"exact", 8}, {"shorter", 0}, {"longer", 0},
                  {"examples", json::array()}}));
  for (const auto& r : measured(result)) EXPECT_EQ(r.at("exact_output_tokens"), 6) << r.dump();
  // Client tokenizer, counted events and server usage agree here: no flag, no warning.
  const json& counts = run.at("token_counts");
  EXPECT_EQ(counts.at("tpot_source"), "usage");
  EXPECT_EQ(counts.at("prompt"), (json{{"compared", 8}, {"disagree", 0}}));
  EXPECT_EQ(counts.at("output"), (json{{"compared", 8}, {"disagree", 0}}));
  for (const auto& r : measured(result)) EXPECT_FALSE(r.contains("token_counts_disagree"));
  EXPECT_EQ(o.out.find("than asked"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("disagree"), std::string::npos) << o.out;
}

TEST(WorkloadCli, RequestsEndingShortOfTheExactLengthAreCountedAndReported) {
  // The extra body turns ignore_eos off again, as an engine that does not honour it would: the
  // simulator then ends most replies early.
  Outcome o;
  const json result = run_json({"--input-len", "4", "--output-len", "40", "--ignore-eos",
                                "--extra-body", R"({"ignore_eos": false})",
                                "--sim-eos-probability", "0.3", "--num-prompts", "2",
                                "--num-requests", "10", "--concurrency", "2"},
                               &o);
  ASSERT_FALSE(result.empty());
  const json& check = result.at("runs").at(0).at("output_length");
  EXPECT_EQ(check.at("checked"), 10);
  const int shorter = check.at("shorter").get<int>();
  EXPECT_GT(shorter, 0);
  EXPECT_EQ(check.at("longer"), 0);
  EXPECT_EQ(check.at("exact").get<int>() + shorter, 10);
  ASSERT_FALSE(check.at("examples").empty());
  const json& e = check.at("examples").at(0);
  EXPECT_EQ(e.at("requested"), 40);
  EXPECT_LT(e.at("produced").get<int>(), 40);
  EXPECT_NE(o.out.find(std::to_string(shorter) + " of 10 requests produced fewer tokens than asked"),
            std::string::npos)
      << o.out;
}

TEST(WorkloadCli, OutputLengthsThatAreOnlyCapsAreNotCheckedAndTheLogSaysSo) {
  Outcome o;
  const json result = run_json({"--input-len", "4", "--output-len", "5", "--num-prompts", "2",
                                "--num-requests", "4", "--concurrency", "1"},
                               &o);
  ASSERT_FALSE(result.empty());
  EXPECT_FALSE(result.at("runs").at(0).contains("output_length"));
  for (const auto& r : measured(result)) EXPECT_FALSE(r.contains("exact_output_tokens"));
  EXPECT_NE(o.err.find("output lengths are caps, not exact"), std::string::npos) << o.err;
}

TEST(WorkloadCli, ClientAndServerTokenCountsThatDisagreeAreFlagged) {
  // A client tokenizer of one token per 2 characters counts twice what the simulator counts.
  Outcome o;
  const json result = run_json({"--input-len", "40", "--output-len", "4", "--num-prompts", "2",
                                "--num-requests", "4", "--concurrency", "1", "--tokenizer",
                                char_tokenizer(2)},
                               &o);
  ASSERT_FALSE(result.empty());
  const json& counts = result.at("runs").at(0).at("token_counts");
  EXPECT_EQ(counts.at("prompt"), (json{{"compared", 4}, {"disagree", 4}}));
  EXPECT_EQ(counts.at("output").at("disagree"), 0);
  const json& e = counts.at("examples").at(0);
  EXPECT_EQ(e.at("kind"), "prompt");
  EXPECT_EQ(e.at("client"), 40);
  EXPECT_EQ(e.at("server"), 20);
  for (const auto& r : measured(result))
    EXPECT_EQ(r.at("token_counts_disagree"), json::array({"prompt"})) << r.dump();
  EXPECT_NE(o.out.find("server and client token counts disagree: prompt in 4 of 4"),
            std::string::npos)
      << o.out;
}

TEST(WorkloadCli, MultiTurnRunsSummariseTtftPerTurn) {
  Outcome o;
  const json result = run_json({"--api", "openai-chat", "--input-len", "8", "--output-len", "3",
                                "--turns", "3", "--num-prompts", "2", "--concurrency", "2",
                                "--num-requests", "6", "--tokenizer", four_char_tokenizer()},
                               &o);
  ASSERT_FALSE(result.empty());
  const json& turns = result.at("runs").at(0).at("by_turn");
  ASSERT_EQ(turns.size(), 3u);
  std::map<int, int> expected;
  for (const auto& r : measured(result)) ++expected[r.at("turn").get<int>()];
  double previous_input = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    const json& t = turns[k];
    EXPECT_EQ(t.at("turn"), static_cast<int>(k));
    EXPECT_EQ(t.at("requests"), expected[static_cast<int>(k)]);
    EXPECT_GT(t.at("ttft").at("mean").get<double>(), 0);
    EXPECT_LE(t.at("ttft").at("p50").get<double>(), t.at("ttft").at("p99").get<double>());
    // Each turn carries the history of the earlier ones: its prompts are longer.
    EXPECT_GT(t.at("input_tokens_mean").get<double>(), previous_input);
    previous_input = t.at("input_tokens_mean").get<double>();
  }
  EXPECT_NE(o.out.find("TTFT by turn (ms)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("turn 2"), std::string::npos) << o.out;
}

TEST(WorkloadCli, PromptsLongerThanTheServedContextFailBeforeAnyLoad) {
  // The simulator lists its KV capacity as max_model_len; 64 prompt + 40 output tokens exceed 100.
  const std::string out = temp_path("context.json");
  std::filesystem::remove(out);
  const Outcome o = run_cli(with(kFastSim, {"--sim-kv-tokens", "100", "--input-len", "64",
                                            "--output-len", "40", "--num-prompts", "3",
                                            "--num-requests", "3", "--tokenizer",
                                            four_char_tokenizer(), "--json", out}));
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find("needs 104 tokens (64 of prompt by the client's tokenizer + 40 of output), "
                       "more than the served model's context of 100 tokens"),
            std::string::npos)
      << o.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  // Within the limit, the run goes ahead and records it.
  const json ok = run_json({"--sim-kv-tokens", "104", "--input-len", "64", "--output-len", "40",
                            "--num-prompts", "3", "--num-requests", "3", "--tokenizer",
                            four_char_tokenizer()});
  ASSERT_FALSE(ok.empty());
  EXPECT_EQ(ok.at("environment").at("engine").at("max_model_len"), 104);
}

TEST(WorkloadCli, BadWorkloadOptionsEndInOneSentenceNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--input-len", "uniform:9:x"}, "splleed: --input-len: "},
      {{"--num-prompts", "0", "--input-len", "4"}, "splleed: --num-prompts: "},
      {{"--workload", "bogus=1"}, "splleed: --workload bogus=1: unknown workload option"},
      {{"--tokenizer", "/nonexistent/tok.json", "--input-len", "4"}, "splleed: --tokenizer: "},
      {{"--dataset", "/nonexistent/prompts.txt"}, "/nonexistent/prompts.txt"},
      {{"--turns", "2", "--input-len", "4"}, "splleed: --turns: "},
      {{"--tokenizer", "server", "--input-len", "8"},
       "splleed: --tokenizer server asks the target's tokenize endpoint before the run, so it "
       "needs a running server given with --base-url"},
  };
  for (const auto& c : cases) {
    const Outcome o = run_cli(with(kFastSim, c.args));
    EXPECT_EQ(o.exit_code, 2) << c.needle << "\n" << o.err;
    EXPECT_NE(o.err.find(c.needle), std::string::npos) << o.err;
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
}

TEST(WorkloadCli, TheServersTokenizerBuildsPromptsItCountsExactly) {
  // A simulator that is already up, as --tokenizer server needs; its /tokenize counts 4 bytes a
  // token, like its generation endpoints.
  sim::SimConfig sc;
  sc.ttft_ms = 1;
  sc.itl_ms = 0.5;
  MonotonicClock clock;
  sim::SimServer server(sc, clock);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.start());
  for (const std::string api : {"openai-completions", "tgi", "llamacpp"}) {
    SCOPED_TRACE(api);
    const std::string out = temp_path("server-tokenizer.json");
    std::filesystem::remove(out);
    const Outcome o = run_cli({"run", "--base-url", url, "--api", api, "--model", "splleed-sim",
                               "--tokenizer", "server", "--input-len", "48", "--output-len", "3",
                               "--num-prompts", "3", "--num-requests", "4", "--concurrency", "2",
                               "--warmup", "0", "--no-scrape", "--no-gpu", "--json", out});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_EQ(o.err.find("approximate"), std::string::npos) << o.err;
    const json result = json::parse(slurp(out));
    const json& id = result.at("config").at("workload");
    EXPECT_EQ(id.at("approximate"), false);
    EXPECT_EQ(id.at("input_tokens").at("min"), 48);
    EXPECT_EQ(id.at("input_tokens").at("max"), 48);
    for (const json& prompt : result.at("config").at("prompts"))
      EXPECT_EQ(sim::prompt_tokens_for_bytes(prompt.get<std::string>().size()), 48) << prompt;
    const auto reqs = measured(result);
    ASSERT_EQ(reqs.size(), 4u);
    for (const auto& r : reqs) {
      ASSERT_EQ(r.at("status"), "ok") << r.dump();
      EXPECT_EQ(r.at("client_prompt_tokens"), 48) << r.dump();
    }
  }
  server.stop();
}

TEST(WorkloadCli, TraceExcludesADataset) {
  const std::string trace = temp_path("trace.jsonl");
  std::ofstream(trace) << R"({"timestamp": 0, "input_length": 4, "output_length": 2})" << "\n";
  const Outcome o = run_cli(with(kFastSim, {"--trace", trace, "--dataset", "x.txt"}));
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("--trace"), std::string::npos) << o.err;
}

}  // namespace
