// End-to-end over the engines' native APIs: the real runner, HTTP client and each native protocol
// adapter (--api tgi|sglang|llamacpp|ollama|ollama-chat|triton) against the simulator speaking
// that API, in one process on loopback, both on the same monotonic clock.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "load/runner.hpp"
#include "sim/sim_server.hpp"

namespace splleed {
namespace {

sim::SimConfig fast_sim() {
  sim::SimConfig c;
  c.ttft_ms = 2;
  c.itl_ms = 1;
  c.prefill_us_per_token = 1;
  c.step_us_per_running = 5;
  c.max_running = 64;
  return c;
}

RunConfig native_config(std::uint16_t port, Api api) {
  RunConfig c;
  c.target.base_url = "http://127.0.0.1:" + std::to_string(port);
  c.target.api = api;
  if (api == Api::triton) c.target.model = "splleed-sim";  // Triton's paths name the model
  c.prompts = {"hello world", "tell me a story about a very long river"};
  c.sampling.max_tokens = 12;
  c.sampling.ignore_eos = true;
  c.load.concurrency = {1, 4};
  c.load.num_requests = 12;
  c.load.warmup = 1;
  c.load.workers = 2;
  return c;
}

struct NativeCase {
  Api api;
  const char* name;
};

class NativeRunnerTest : public ::testing::TestWithParam<NativeCase> {
 protected:
  MonotonicClock clock;
};

TEST_P(NativeRunnerTest, AllOkExactCountsOrderingTruthAndServerTimings) {
  const Api api = GetParam().api;
  sim::SimServer server(fast_sim(), clock);
  auto port = server.start();
  load::Runner runner(native_config(port, api), clock);
  runner.preflight();
  EXPECT_EQ(runner.config().target.model, "splleed-sim");
  auto result = runner.run();
  server.stop();

  ASSERT_EQ(result.runs.size(), 2u);
  const bool timings = api == Api::llamacpp || api == Api::ollama_generate || api == Api::ollama_chat;
  std::map<std::string, const RequestRecord*> by_id;
  for (const auto& run : result.runs) {
    EXPECT_EQ(run.requests.size(), 13u);
    EXPECT_EQ(run.summary.requests_ok, 12);
    EXPECT_EQ(run.summary[Metric::ttft].count, 12u);
    EXPECT_EQ(run.summary[Metric::itl].count, 12u * 11u);  // 11 gaps between 12 token events
    for (const auto& r : run.requests) {
      EXPECT_EQ(r.status, RequestStatus::ok) << r.error;
      ASSERT_TRUE(r.dispatched && r.headers && r.first_event && r.first_token && r.last_token && r.end);
      EXPECT_LE(*r.dispatched, *r.headers);
      EXPECT_LE(*r.headers, *r.first_event);
      EXPECT_LE(*r.first_event, *r.first_token);
      EXPECT_LE(*r.first_token, *r.last_token);
      EXPECT_LE(*r.last_token, *r.end);
      EXPECT_EQ(r.tokens.size(), 12u);
      if (api != Api::triton) {  // Triton reports no counts
        ASSERT_TRUE(r.usage.completion_tokens);
        EXPECT_EQ(*r.usage.completion_tokens, 12);
        ASSERT_TRUE(r.usage.prompt_tokens);
        EXPECT_GT(*r.usage.prompt_tokens, 0);
      }
      if (timings) {
        // The simulator's own prefill and decode times, kept in the record: the prefill lies
        // within what the client saw before its first token, the whole within its request.
        const ServerTimings& t = r.server_timings;
        ASSERT_TRUE(t.prompt_ms && t.predicted_ms) << GetParam().name;
        EXPECT_GE(*t.prompt_ms, 2.0);
        EXPECT_LE(*t.prompt_ms * 1e6, static_cast<double>(*r.first_token - *r.dispatched));
        EXPECT_GE(*t.predicted_ms, 11.0 * 0.9);
        EXPECT_EQ(t.predicted_n, 12);
        if (api != Api::llamacpp) {
          ASSERT_TRUE(t.total_ms && t.load_ms);
          EXPECT_LE(*t.total_ms * 1e6, static_cast<double>(*r.end - *r.dispatched));
        }
      }
      by_id[r.request_id] = &r;
    }
  }
  EXPECT_EQ(by_id.size(), 26u) << "request ids must be unique";

  // The client never receives a token event before the simulator began writing it: one event
  // per token in every native API, the first event first.
  std::map<std::string, std::vector<sim::SendLogEntry>> sent;
  for (const auto& e : server.send_log()) sent[e.request_id].push_back(e);
  std::size_t checked = 0;
  for (const auto& [id, r] : by_id) {
    auto it = sent.find(id);
    ASSERT_NE(it, sent.end()) << id;
    const auto& log = it->second;
    ASSERT_GE(log.size(), r->tokens.size());
    for (std::size_t i = 0; i < r->tokens.size(); ++i) {
      EXPECT_EQ(log[i].seq, i);
      EXPECT_GE(r->tokens[i].received, log[i].before_write) << id << " token " << i;
      ++checked;
    }
    EXPECT_GE(*r->end, log.back().before_write);
  }
  EXPECT_EQ(checked, 26u * 12u);
}

TEST_P(NativeRunnerTest, FaultsEndWithTheirStatus) {
  for (const auto& [fault, expected] :
       {std::pair{"error_event", RequestStatus::stream_error},
        std::pair{"http_500", RequestStatus::http_error}}) {
    sim::SimServer server(fast_sim(), clock);
    auto config = native_config(server.start(), GetParam().api);
    config.load.concurrency = {2};
    config.load.num_requests = 4;
    config.load.warmup = 0;
    config.sampling.extra_body = std::string(R"({"sim_fault":")") + fault + "\"}";
    load::Runner runner(config, clock);
    runner.preflight();
    auto result = runner.run();
    server.stop();
    ASSERT_EQ(result.runs.size(), 1u);
    const auto& run = result.runs[0];
    EXPECT_EQ(run.summary.by_status[static_cast<std::size_t>(expected)], 4) << fault;
    for (const auto& r : run.requests) {
      EXPECT_EQ(r.status, expected) << fault << ": " << r.error;
      EXPECT_FALSE(r.error.empty());
      if (expected == RequestStatus::stream_error) {
        EXPECT_EQ(r.tokens.size(), 2u);
        EXPECT_NE(r.error.find("simulated engine failure"), std::string::npos) << r.error;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Apis, NativeRunnerTest,
    ::testing::Values(NativeCase{Api::tgi, "tgi"}, NativeCase{Api::sglang, "sglang"},
                      NativeCase{Api::llamacpp, "llamacpp"},
                      NativeCase{Api::ollama_generate, "ollama_generate"},
                      NativeCase{Api::ollama_chat, "ollama_chat"},
                      NativeCase{Api::triton, "triton"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace splleed
