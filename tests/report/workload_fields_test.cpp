// Workload fields of the results: per-prompt chat messages, client token counts, conversations and
// the workload identity in the config; client prompt tokens, session and turn per request.
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report::test {
using namespace splleed::testing;
namespace {

using nlohmann::json;

BenchmarkResult workload_result() {
  BenchmarkResult b = rich_result();
  RunConfig& c = b.config;
  c.prompts = {"first question", "second question", "solo"};
  c.prompt_max_tokens = {4, 5, 6};
  c.prompt_messages = {{{"system", "S"}, {"user", "first question"}}, {}, {{"user", "solo"}}};
  c.prompt_input_tokens = {2, -1, 1};
  c.conversations = {{7, {0, 1}, "S"}};
  c.think_time = 250 * kNanosPerMilli;
  c.workload = R"({"source":"synthetic","path":null,"sha256":null,"seed":3,"options":"source=synthetic",)"
               R"("approximate":false,"entries_read":0,"skipped":{},)"
               R"("input_tokens":{"count":3,"mean":2.0,"p50":2.0,"p90":2.0,"min":1,"max":3},)"
               R"("output_tokens":{"count":3,"mean":5.0,"p50":5.0,"p90":5.8,"min":4,"max":6}})";
  RequestRecord& r = b.runs.front().requests.front();
  r.client_prompt_tokens = 2;
  r.session = 7;
  r.turn = 1;
  return b;
}

TEST(WorkloadFields, SurviveTheJsonRoundTrip) {
  const BenchmarkResult a = workload_result();
  const BenchmarkResult b = from_json(to_json(a));
  EXPECT_EQ(b.config.prompt_messages, a.config.prompt_messages);
  EXPECT_EQ(b.config.prompt_input_tokens, a.config.prompt_input_tokens);
  EXPECT_EQ(b.config.conversations, a.config.conversations);
  EXPECT_EQ(b.config.think_time, a.config.think_time);
  EXPECT_EQ(json::parse(b.config.workload), json::parse(a.config.workload));
  const RequestRecord& r = b.runs.front().requests.front();
  EXPECT_EQ(r.client_prompt_tokens, 2);
  EXPECT_EQ(r.session, 7u);
  EXPECT_EQ(r.turn, 1);
  EXPECT_EQ(to_json(b), to_json(a));
}

TEST(WorkloadFields, JsonShape) {
  const json j = to_json(workload_result());
  const json& c = j.at("config");
  EXPECT_EQ(c.at("workload").at("source"), "synthetic");
  EXPECT_EQ(c.at("workload").at("input_tokens").at("max"), 3);
  EXPECT_EQ(c.at("prompt_input_tokens"), json::parse("[2, null, 1]"));
  EXPECT_EQ(c.at("prompt_messages")[0][0], json::parse(R"({"role":"system","content":"S"})"));
  EXPECT_EQ(c.at("prompt_messages")[1], json::array());
  EXPECT_EQ(c.at("conversations")[0].at("turns"), json::parse("[0, 1]"));
  EXPECT_DOUBLE_EQ(c.at("think_time_s").get<double>(), 0.25);
  const json& first = j.at("runs")[0].at("requests")[0];
  EXPECT_EQ(first.at("client_prompt_tokens"), 2);
  EXPECT_EQ(first.at("session"), 7);
  EXPECT_EQ(first.at("turn"), 1);
  // Absent where unknown, so older readers and files stay as they were.
  const json& second = j.at("runs")[0].at("requests")[1];
  EXPECT_FALSE(second.contains("client_prompt_tokens"));
  EXPECT_FALSE(second.contains("session"));
}

TEST(WorkloadFields, PlainPromptResultsCarryNoneOfThem) {
  const json c = to_json(rich_result()).at("config");
  for (const char* key : {"workload", "prompt_messages", "prompt_input_tokens", "conversations",
                          "think_time_s"})
    EXPECT_FALSE(c.contains(key)) << key;
}

TEST(WorkloadFields, ConsoleNamesTheWorkload) {
  std::ostringstream out;
  write_console(workload_result(), out);
  EXPECT_NE(out.str().find("Workload: synthetic, 1 conversations (3 prompts); input tokens: mean "
                           "2.0, p50 2, min 1, max 3; output tokens: mean 5.0"),
            std::string::npos)
      << out.str();

  BenchmarkResult approx = workload_result();
  approx.config.conversations.clear();
  approx.config.workload = R"({"source":"synthetic","approximate":true,"input_tokens":null,)"
                           R"("output_tokens":null})";
  std::ostringstream out2;
  write_console(approx, out2);
  EXPECT_NE(out2.str().find("Workload: synthetic, 3 prompts, lengths approximate (words: no "
                            "--tokenizer)\n"),
            std::string::npos)
      << out2.str();
}

TEST(WorkloadFields, RequestsCsvHasClientTokensSessionAndTurn) {
  std::ostringstream out;
  write_csv_requests(workload_result(), out);
  const std::string text = out.str();
  EXPECT_NE(text.find("prompt_tokens,client_prompt_tokens,session,turn,error\n"), std::string::npos);
  const std::string first_row = text.substr(text.find('\n') + 1, text.find('\n', text.find('\n') + 1) - text.find('\n') - 1);
  EXPECT_NE(first_row.find(",2,7,1,"), std::string::npos) << first_row;
}

TEST(WorkloadFields, MalformedFieldsAreNamed) {
  json j = to_json(workload_result());
  j["config"]["prompt_messages"][0][0].erase("role");
  try {
    from_json(j);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("config.prompt_messages[0][0].role"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace splleed::report::test
