// The simulated engine's inner signals: the KV cache and preemption, the prefix cache, speculative
// decoding, and GET /metrics in vLLM's and llama.cpp's Prometheus text.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sim/exposition.hpp"
#include "sim/metrics.hpp"
#include "sim/prefix_cache.hpp"
#include "sim/sim_server.hpp"
#include "sim/sim_test_client.hpp"

namespace splleed::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Exposition;
using testing::parse_exposition;
using testing::Reply;
using testing::sse_data;
namespace http = boost::beast::http;

SimConfig fast() {
  SimConfig c;
  c.ttft_ms = 1;
  c.itl_ms = 1;
  c.prefill_us_per_token = 0;
  c.step_us_per_running = 0;
  c.max_running = 64;
  return c;
}

std::string stream_body(const std::string& prompt, int max_tokens, json extra = json::object()) {
  json j = {{"prompt", prompt}, {"max_tokens", max_tokens}, {"stream", true}, {"ignore_eos", true}};
  j.update(extra);
  return j.dump();
}

std::vector<std::string> events_of(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& chunk : r.chunks) {
    auto d = sse_data(chunk);
    EXPECT_TRUE(d.has_value()) << chunk;
    if (d) out.push_back(*d);
  }
  return out;
}

// Token events' texts (everything but [DONE] and usage-only chunks).
std::vector<std::string> token_texts(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : events_of(r)) {
    if (e == "[DONE]") continue;
    auto j = json::parse(e);
    if (j["choices"].empty()) continue;
    out.push_back(j["choices"][0]["text"]);
  }
  return out;
}

int words_in(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), ' '));
}

class MetricsTest : public ::testing::Test {
 protected:
  std::uint16_t start(SimConfig c) {
    server_.emplace(std::move(c), clock_);
    return server_->start();
  }
  SimServer& server() { return *server_; }
  Exposition scrape(std::uint16_t port, std::string* content_type = nullptr) {
    Client c(port);
    auto r = c.get("/metrics");
    EXPECT_EQ(r.status, 200);
    if (content_type) *content_type = r.header("content-type");
    auto e = parse_exposition(r.body);
    for (const auto& err : e.errors) ADD_FAILURE() << err;
    return e;
  }
  MonotonicClock clock_;
  std::optional<SimServer> server_;
};

// ---- exposition formatting ---------------------------------------------------------------------

TEST(PrometheusFloat, WritesValuesAsPrometheusClientDoes) {
  EXPECT_EQ(prometheus_float(0), "0.0");
  EXPECT_EQ(prometheus_float(1), "1.0");
  EXPECT_EQ(prometheus_float(0.001), "0.001");
  EXPECT_EQ(prometheus_float(0.25), "0.25");
  EXPECT_EQ(prometheus_float(2560), "2560.0");
  EXPECT_EQ(prometheus_float(16384), "16384.0");
  EXPECT_EQ(prometheus_float(123456), "123456.0");
  EXPECT_EQ(prometheus_float(1234567), "1.234567e+06");
  EXPECT_EQ(prometheus_float(1000000), "1e+06");
  EXPECT_EQ(prometheus_float(1732934000.5), "1.7329340005e+09");
  EXPECT_EQ(prometheus_float(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(prometheus_float(std::nan("")), "NaN");
}

// ---- prefix cache unit -------------------------------------------------------------------------

TEST(PrefixCacheUnit, FullBlocksOnlyAndChained) {
  const std::string a(200, 'a');
  EXPECT_EQ(prefix_block_hashes(std::string(63, 'a')).size(), 0u);
  EXPECT_EQ(prefix_block_hashes(a).size(), 3u);  // 200 bytes = 50 tokens: 3 full blocks of 16
  std::string b = a;
  b[100] = 'b';  // inside block 1
  auto ha = prefix_block_hashes(a), hb = prefix_block_hashes(b);
  EXPECT_EQ(ha[0], hb[0]);
  EXPECT_NE(ha[1], hb[1]);
  EXPECT_NE(ha[2], hb[2]) << "chained: a later block differs once an earlier one did";
  std::vector<std::int64_t> ids(40, 7);
  EXPECT_EQ(prefix_block_hashes(ids).size(), 2u);
}

TEST(PrefixCacheUnit, MatchesLeadingBlocksAndEvictsLeastRecentlyUsed) {
  PrefixCache cache(4);
  std::vector<std::uint64_t> p = {1, 2, 3}, q = {7, 8};
  EXPECT_EQ(cache.match(p), 0u);
  cache.insert(p);
  EXPECT_EQ(cache.match(p), 3u);
  std::vector<std::uint64_t> p_then_other = {1, 2, 9};
  EXPECT_EQ(cache.match(p_then_other), 2u);
  cache.insert(q);  // 5 blocks > 4: the least recently used (p's last block) goes
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_EQ(cache.match(p), 2u);
  EXPECT_EQ(cache.match(q), 2u);
}

// ---- vLLM style --------------------------------------------------------------------------------

TEST_F(MetricsTest, VllmExpositionNamesTypesLabelsAndValues) {
  auto cfg = fast();
  cfg.model = "org/m \"q\"";  // label escaping
  auto port = start(cfg);
  constexpr int kRequests = 3, kTokens = 5;
  for (int i = 0; i < kRequests; ++i) {
    Client c(port);
    auto r = c.post("/v1/completions", stream_body("0123456789ab", kTokens));  // 3 prompt tokens
    ASSERT_TRUE(r.complete);
  }
  std::string type;
  auto e = scrape(port, &type);
  EXPECT_EQ(type, "text/plain; version=0.0.4; charset=utf-8");

  const std::map<std::string, std::string> want = {
      {"vllm:num_requests_running", "gauge"},
      {"vllm:num_requests_waiting", "gauge"},
      {"vllm:kv_cache_usage_perc", "gauge"},
      {"vllm:prefix_cache_queries_total", "counter"},
      {"vllm:prefix_cache_hits_total", "counter"},
      {"vllm:num_preemptions_total", "counter"},
      {"vllm:prompt_tokens_total", "counter"},
      {"vllm:generation_tokens_total", "counter"},
      {"vllm:iteration_tokens_total", "histogram"},
      {"vllm:time_to_first_token_seconds", "histogram"},
      {"vllm:inter_token_latency_seconds", "histogram"},
      {"vllm:e2e_request_latency_seconds", "histogram"},
      {"vllm:request_queue_time_seconds", "histogram"},
      {"vllm:request_inference_time_seconds", "histogram"},
      {"vllm:request_prefill_time_seconds", "histogram"},
      {"vllm:request_decode_time_seconds", "histogram"},
      {"vllm:num_preemptions_created", "gauge"},
      {"vllm:time_to_first_token_seconds_created", "gauge"},
  };
  for (const auto& [name, t] : want) {
    ASSERT_TRUE(e.types.count(name)) << name;
    EXPECT_EQ(e.types.at(name), t) << name;
    EXPECT_TRUE(e.helps.count(name)) << name;
  }
  for (const auto& [name, t] : e.types) {
    EXPECT_EQ(name.rfind("vllm:", 0), 0u) << name;
    if (t == "counter") {
      EXPECT_TRUE(name.ends_with("_total")) << name;
    }
    if (t == "histogram") {
      EXPECT_EQ(testing::check_histogram(e, name), "") << name;
    }
  }
  EXPECT_FALSE(e.types.count("vllm:spec_decode_num_drafts_total")) << "only with speculation";
  // vLLM's help texts, verbatim.
  EXPECT_EQ(e.helps["vllm:num_preemptions_total"], "Cumulative number of preemption from the engine.");
  EXPECT_EQ(e.helps["vllm:kv_cache_usage_perc"], "KV-cache usage. 1 means 100 percent usage.");
  EXPECT_EQ(e.helps["vllm:inter_token_latency_seconds"], "Histogram of inter-token latency in seconds.");
  // Every series carries model_name and engine.
  for (const auto& s : e.samples) {
    EXPECT_EQ(s.labels.count("model_name") ? s.labels.at("model_name") : "", cfg.model) << s.name;
    EXPECT_EQ(s.labels.count("engine") ? s.labels.at("engine") : "", "0") << s.name;
  }
  // Values: the engine's own accounting.
  EXPECT_EQ(e.at("vllm:num_requests_running"), 0);
  EXPECT_EQ(e.at("vllm:num_requests_waiting"), 0);
  EXPECT_EQ(e.at("vllm:kv_cache_usage_perc"), 0) << "unlimited KV reads 0";
  EXPECT_EQ(e.at("vllm:generation_tokens_total"), kRequests * kTokens);
  EXPECT_EQ(e.at("vllm:prompt_tokens_total"), kRequests * 3);
  EXPECT_EQ(e.at("vllm:time_to_first_token_seconds_count"), kRequests);
  EXPECT_EQ(e.at("vllm:e2e_request_latency_seconds_count"), kRequests);
  EXPECT_EQ(e.at("vllm:request_decode_time_seconds_count"), kRequests);
  EXPECT_EQ(e.at("vllm:inter_token_latency_seconds_count"), kRequests * (kTokens - 1));
  // TTFT is at least the configured 1 ms prefill each time.
  EXPECT_GE(e.at("vllm:time_to_first_token_seconds_sum"), kRequests * 0.001);
  EXPECT_EQ(e.at("vllm:time_to_first_token_seconds_bucket", {{"le", "0.001"}}), 0);
  EXPECT_EQ(e.at("vllm:iteration_tokens_total_bucket", {{"le", "16384.0"}}),
            e.at("vllm:iteration_tokens_total_count"));
  // ITL gaps are one 1 ms step each: all inside the first 10 ms bucket unless a step ran late.
  EXPECT_GT(e.at("vllm:inter_token_latency_seconds_bucket", {{"le", "0.01"}}), 0);
  EXPECT_GT(e.at("vllm:num_preemptions_created"), 1.5e9) << "Unix seconds of the server start";
}

TEST_F(MetricsTest, VllmCountersAreMonotone) {
  auto cfg = fast();
  cfg.threads = 2;  // replicas are summed
  auto port = start(cfg);
  auto before = scrape(port);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    clients.back()->send(http::verb::post, "/v1/completions", stream_body("abcd", 7));
  }
  for (auto& c : clients) ASSERT_TRUE(c->read().complete);
  auto after = scrape(port);
  std::size_t compared = 0;
  for (const auto& s : after.samples) {
    const std::string family = testing::family_of(after, s.name);
    const std::string type = after.types[family];
    if (type != "counter" && type != "histogram") continue;
    auto old = before.value(s.name, s.labels);
    ASSERT_TRUE(old.has_value()) << s.name;
    EXPECT_GE(s.value, *old) << s.name;
    ++compared;
  }
  EXPECT_GT(compared, 100u);
  EXPECT_EQ(after.at("vllm:generation_tokens_total") - before.at("vllm:generation_tokens_total"), 42);
  EXPECT_EQ(after.at("vllm:e2e_request_latency_seconds_count"), 6);
  EXPECT_EQ(after.at("vllm:generation_tokens_total"), static_cast<double>(server().stats().tokens_generated));
}

// The whole idle exposition, byte for byte (the `_created` values, the start time, masked):
// HELP/TYPE texts, label order, value formatting and bucket bounds as vLLM writes them.
TEST_F(MetricsTest, VllmIdleExpositionMatchesGolden) {
  auto cfg = fast();
  cfg.model = "m";
  cfg.spec_tokens = 2;
  auto port = start(cfg);
  Client c(port);
  std::string body = c.get("/metrics").body;
  std::istringstream in(body);
  std::string line, masked;
  while (std::getline(in, line)) {
    if (line.find("_created{") != std::string::npos && line[0] != '#')
      line = line.substr(0, line.rfind(' ') + 1) + "CREATED";
    masked += line + "\n";
  }
  const std::string path = std::string(SPLLEED_FIXTURES) + "/sim/metrics_vllm_idle.txt";
  std::ifstream golden(path);
  ASSERT_TRUE(golden.good()) << path << "\n" << masked;
  std::stringstream want;
  want << golden.rdbuf();
  EXPECT_EQ(masked, want.str());
}

// ---- KV cache and preemption -------------------------------------------------------------------

TEST_F(MetricsTest, KvPressurePreemptsAndEveryRequestStillCompletes) {
  auto cfg = fast();
  cfg.kv_tokens = 200;
  cfg.ttft_ms = 20;  // a preempted request's re-prefill shows as a stall of at least this
  auto port = start(cfg);
  constexpr int kRequests = 12, kTokens = 40;  // each holds up to 10 + 40 tokens; 12 x 50 > 200
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    clients.back()->send(http::verb::post, "/v1/completions",
                         stream_body(std::string(40, 'p'), kTokens,
                                     {{"stream_options", {{"include_usage", true}}}}),
                         {{"X-Request-Id", "kv" + std::to_string(i)}});
  }
  for (auto& c : clients) {
    auto r = c->read();
    ASSERT_TRUE(r.complete) << r.error.message();
    auto texts = token_texts(r);
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(kTokens));
    int words = 0;
    for (const auto& t : texts) words += words_in(t);
    EXPECT_EQ(words, kTokens);
    auto ev = events_of(r);
    ASSERT_GE(ev.size(), 2u);
    EXPECT_EQ(json::parse(ev[ev.size() - 2])["usage"]["completion_tokens"], kTokens);
  }
  auto s = server().stats();
  EXPECT_GT(s.preemptions, 0u);
  EXPECT_LE(s.max_kv_used_tokens, 200u) << "never above capacity";
  EXPECT_GE(s.max_kv_used_tokens, 190u) << "usage reaches near 1 before preempting";
  EXPECT_EQ(s.tokens_generated, static_cast<std::uint64_t>(kRequests * kTokens));

  // Preempted requests stall: some request has a gap between token events of at least a prefill.
  std::map<std::string, std::vector<Nanos>> writes;
  for (const auto& e : server().send_log()) writes[e.request_id].push_back(e.before_write);
  Nanos longest = 0;
  for (const auto& [id, times] : writes)
    for (std::size_t i = 1; i + 2 < times.size(); ++i)  // token events only (not usage, [DONE])
      longest = std::max(longest, times[i] - times[i - 1]);
  EXPECT_GE(longest, 20 * kNanosPerMilli);

  auto e = scrape(port);
  EXPECT_EQ(e.at("vllm:num_preemptions_total"), static_cast<double>(s.preemptions));
  EXPECT_EQ(e.at("vllm:kv_cache_usage_perc"), 0) << "all KV freed";
  EXPECT_EQ(e.at("vllm:num_requests_running"), 0);
  EXPECT_EQ(e.at("vllm:e2e_request_latency_seconds_count"), kRequests);
}

TEST_F(MetricsTest, KvCapacityRefusesRequestsThatCanNeverFit) {
  auto cfg = fast();
  cfg.kv_tokens = 100;
  Client c(start(cfg));
  auto r = c.post("/v1/completions", json({{"prompt", std::string(40, 'x')}, {"max_tokens", 91}}).dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["message"],
            "This model's maximum context length is 100 tokens. However, you requested 101 tokens "
            "(10 in the messages, 91 in the completion). Please reduce the length of the messages "
            "or completion.");
  auto ok = c.post("/v1/completions", json({{"prompt", std::string(40, 'x')}, {"max_tokens", 90}}).dump());
  EXPECT_EQ(ok.status, 200);
}

TEST_F(MetricsTest, KvUsageGaugeWhileRunning) {
  auto cfg = fast();
  cfg.kv_tokens = 1000;
  cfg.itl_ms = 2;
  cfg.threads = 2;  // two replicas of 1000 tokens each
  auto port = start(cfg);
  Client c(port);
  c.send(http::verb::post, "/v1/completions", stream_body(std::string(400, 'k'), 1000 - 100));
  c.read_chunks(3);  // decoding: holds 100 prompt tokens + at least 3 generated
  auto e = scrape(port);
  EXPECT_EQ(e.at("vllm:num_requests_running"), 1);
  const double usage = e.at("vllm:kv_cache_usage_perc");
  EXPECT_GE(usage, 103.0 / 2000);
  EXPECT_LE(usage, 0.5) << "one replica's use out of both replicas' capacity";
  c.socket().close();
}

TEST_F(MetricsTest, SimulatedGpuFollowsTheLoadInDcgmNames) {
  auto cfg = fast();
  cfg.kv_tokens = 1000;
  cfg.itl_ms = 2;
  cfg.max_running = 4;
  auto port = start(cfg);
  Client idle(port);
  auto before = idle.get("/gpu/metrics");
  ASSERT_EQ(before.status, 200);
  auto e0 = parse_exposition(before.body);
  for (const auto& err : e0.errors) ADD_FAILURE() << err;
  EXPECT_EQ(e0.types["DCGM_FI_DEV_GPU_UTIL"], "gauge");
  EXPECT_EQ(e0.at("DCGM_FI_DEV_GPU_UTIL", {{"gpu", "0"}, {"modelName", "splleed simulated GPU"}}), 0);
  const double fb_idle = e0.at("DCGM_FI_DEV_FB_USED");

  Client c(port);
  c.send(http::verb::post, "/v1/completions", stream_body(std::string(400, 'k'), 500));
  c.read_chunks(3);  // one of four slots decoding, ~100 of 1000 KV tokens held
  Client probe(port);
  auto busy = parse_exposition(probe.get("/gpu/metrics").body);
  EXPECT_EQ(busy.at("DCGM_FI_DEV_GPU_UTIL"), 25);
  EXPECT_GT(busy.at("DCGM_FI_DEV_FB_USED"), fb_idle);
  EXPECT_GT(busy.at("DCGM_FI_DEV_POWER_USAGE"), e0.at("DCGM_FI_DEV_POWER_USAGE"));
  EXPECT_EQ(busy.at("DCGM_FI_DEV_SM_CLOCK"), 1980);
  c.socket().close();
}

// ---- prefix cache ------------------------------------------------------------------------------

TEST_F(MetricsTest, PrefixCacheHitsOnRepeatedPrompts) {
  auto cfg = fast();
  cfg.prefix_cache = true;
  cfg.prefill_us_per_token = 100;
  cfg.metrics_style = "llamacpp";  // its prompt_tokens_total counts the tokens actually prefilled
  auto port = start(cfg);
  std::string a;
  for (int i = 0; i < 640; ++i) a += static_cast<char>('a' + i % 26);  // 160 tokens, 10 blocks
  std::string half_a = a.substr(0, 320) + std::string(320, 'z');     // shares 5 blocks with a
  Client c(port);
  ASSERT_TRUE(c.post("/v1/completions", stream_body(a, 2)).complete);
  auto s = server().stats();
  EXPECT_EQ(s.prefix_cache_queries, 160u);
  EXPECT_EQ(s.prefix_cache_hits, 0u);
  ASSERT_TRUE(c.post("/v1/completions", stream_body(a, 2)).complete);
  s = server().stats();
  EXPECT_EQ(s.prefix_cache_queries, 320u);
  EXPECT_EQ(s.prefix_cache_hits, 159u) << "every block, but the last token is always computed";
  ASSERT_TRUE(c.post("/v1/completions", stream_body(half_a, 2)).complete);
  s = server().stats();
  EXPECT_EQ(s.prefix_cache_hits, 159u + 80u);
  // A chat request whose message content is the same text hits too (same bytes, same tokens).
  json chat = {{"messages", {{{"role", "user"}, {"content", a}}}}, {"max_tokens", 2}, {"stream", true}};
  ASSERT_TRUE(c.post("/v1/chat/completions", chat.dump()).complete);
  s = server().stats();
  EXPECT_EQ(s.prefix_cache_queries, 640u);
  EXPECT_EQ(s.prefix_cache_hits, 159u + 80u + 159u);

  auto e = scrape(port);
  EXPECT_EQ(e.at("llamacpp:prompt_tokens_total"), 160 + 1 + 80 + 1) << "hits skip their prefill";
  // Prefill time follows the computed tokens: 242 x 100 us plus 4 x 1 ms, never less.
  EXPECT_GE(e.at("llamacpp:prompt_seconds_total"), 0.0242 + 0.004 - 1e-6);
}

TEST_F(MetricsTest, PrefixCacheOffCountsNothing) {
  auto port = start(fast());
  Client c(port);
  ASSERT_TRUE(c.post("/v1/completions", stream_body(std::string(640, 'a'), 2)).complete);
  ASSERT_TRUE(c.post("/v1/completions", stream_body(std::string(640, 'a'), 2)).complete);
  EXPECT_EQ(server().stats().prefix_cache_queries, 0u);
  EXPECT_EQ(scrape(port).at("vllm:prefix_cache_hits_total"), 0);
}

// ---- speculative decoding ----------------------------------------------------------------------

TEST_F(MetricsTest, SpeculativeDecodingEmitsSeveralTokensPerEvent) {
  auto cfg = fast();
  cfg.itl_ms = 0;  // steps back to back
  cfg.spec_tokens = 3;
  cfg.spec_acceptance = 0.6;
  cfg.seed = 7;
  auto port = start(cfg);
  constexpr int kTokens = 3000;
  Client c(port);
  auto r = c.post("/v1/completions",
                  stream_body("spec", kTokens,
                              {{"stream_options", {{"include_usage", true}, {"continuous_usage_stats", true}}}}));
  ASSERT_TRUE(r.complete);
  int previous = 0, events = 0, words = 0;
  for (const auto& ev : events_of(r)) {
    if (ev == "[DONE]") continue;
    auto j = json::parse(ev);
    if (j["choices"].empty()) continue;
    const int completion = j["usage"]["completion_tokens"];
    const int in_event = completion - previous;
    // Each event carries the step's tokens: accepted drafts + 1, so 1 to 4, and its usage counts them.
    EXPECT_GE(in_event, 1);
    EXPECT_LE(in_event, 4);
    EXPECT_EQ(words_in(j["choices"][0]["text"]), in_event) << ev;
    words += in_event;
    previous = completion;
    ++events;
  }
  EXPECT_EQ(words, kTokens);
  EXPECT_EQ(previous, kTokens);

  // Acceptance in turn: each draft position is reached only after the previous was accepted, so
  // E[accepted per draft] = P + P^2 + P^3, and accepted / (accepted + rejections) estimates P.
  auto e = scrape(port);
  const double drafts = e.at("vllm:spec_decode_num_drafts_total");
  const double draft_tokens = e.at("vllm:spec_decode_num_draft_tokens_total");
  const double accepted = e.at("vllm:spec_decode_num_accepted_tokens_total");
  const double all_three = e.at("vllm:spec_decode_num_accepted_tokens_per_pos_total", {{"position", "2"}});
  EXPECT_EQ(drafts, events - 1) << "one draft per decode step (the first token is the prefill's)";
  EXPECT_EQ(draft_tokens, 3 * drafts);
  EXPECT_NEAR(accepted / draft_tokens, (0.6 + 0.36 + 0.216) / 3, 0.03);
  EXPECT_NEAR(accepted / (accepted + drafts - all_three), 0.6, 0.03);
  EXPECT_EQ(e.at("vllm:spec_decode_num_accepted_tokens_per_pos_total", {{"position", "0"}}) +
                e.at("vllm:spec_decode_num_accepted_tokens_per_pos_total", {{"position", "1"}}) + all_three,
            accepted);
  EXPECT_EQ(e.helps["vllm:spec_decode_num_drafts_total"], "Number of spec decoding drafts.");
  auto s = server().stats();
  EXPECT_EQ(s.spec_drafts, static_cast<std::uint64_t>(drafts));
  EXPECT_EQ(s.tokens_generated, static_cast<std::uint64_t>(kTokens));
  EXPECT_EQ(s.token_events, static_cast<std::uint64_t>(events));
}

TEST_F(MetricsTest, SpeculativeDecodingIsSeeded) {
  auto run = [&](std::uint64_t seed) {
    auto cfg = fast();
    cfg.itl_ms = 0;
    cfg.spec_tokens = 4;
    cfg.spec_acceptance = 0.5;
    cfg.seed = seed;
    auto port = start(cfg);
    Client c(port);
    auto texts = token_texts(c.post("/v1/completions", stream_body("s", 200)));
    server_.reset();
    return texts;
  };
  auto a = run(1), b = run(1), other = run(2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
}

TEST_F(MetricsTest, SpeculativeEosEndsInsideAnEvent) {
  auto cfg = fast();
  cfg.itl_ms = 0;
  cfg.spec_tokens = 5;
  cfg.spec_acceptance = 0.9;
  cfg.eos_probability = 0.05;
  auto port = start(cfg);
  Client c(port);
  json req = {{"prompt", "e"}, {"max_tokens", 1000}, {"stream", true},
              {"stream_options", {{"include_usage", true}}}};
  auto r = c.post("/v1/completions", req.dump());
  ASSERT_TRUE(r.complete);
  auto ev = events_of(r);
  ASSERT_GE(ev.size(), 3u);
  auto last = json::parse(ev[ev.size() - 3]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  int words = 0;
  for (const auto& t : token_texts(r)) words += words_in(t);
  // The EOS token has no text and counts in completion_tokens.
  EXPECT_EQ(json::parse(ev[ev.size() - 2])["usage"]["completion_tokens"], words + 1);
  EXPECT_EQ(server().stats().tokens_generated, static_cast<std::uint64_t>(words + 1));
}

// ---- llama.cpp style ---------------------------------------------------------------------------

// The HELP and TYPE lines of a capture of llama-server b4748's /metrics, in order.
std::vector<std::string> metadata_lines(std::istream& in) {
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) out.push_back(line);
  return out;
}

TEST_F(MetricsTest, LlamacppStyleMatchesTheRealServer) {
  auto cfg = fast();
  cfg.metrics_style = "llamacpp";
  cfg.kv_tokens = 4096;
  auto port = start(cfg);
  {
    Client c(port);
    ASSERT_TRUE(c.post("/v1/completions", stream_body(std::string(400, 'x'), 20)).complete);
  }
  Client c(port);
  auto r = c.get("/metrics");
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  std::ifstream capture(std::string(SPLLEED_CAPTURES) + "/llamacpp-server-b4748/metrics_busy.txt");
  ASSERT_TRUE(capture.good());
  std::istringstream ours(r.body);
  EXPECT_EQ(metadata_lines(ours), metadata_lines(capture)) << r.body;

  auto e = parse_exposition(r.body);
  for (const auto& err : e.errors) ADD_FAILURE() << err;
  for (const auto& s : e.samples) EXPECT_TRUE(s.labels.empty()) << s.name;
  EXPECT_EQ(e.at("llamacpp:prompt_tokens_total"), 100);
  EXPECT_EQ(e.at("llamacpp:tokens_predicted_total"), 20);
  EXPECT_GE(e.at("llamacpp:prompt_seconds_total"), 0.001);
  EXPECT_GE(e.at("llamacpp:tokens_predicted_seconds_total"), 19 * 0.001);
  EXPECT_GE(e.at("llamacpp:n_decode_total"), 20) << "one prefill and at least 19 steps";
  EXPECT_EQ(e.at("llamacpp:n_busy_slots_per_decode"), 1);
  EXPECT_GT(e.at("llamacpp:prompt_tokens_seconds"), 0);
  EXPECT_GT(e.at("llamacpp:predicted_tokens_seconds"), 0);
  EXPECT_LE(e.at("llamacpp:predicted_tokens_seconds"), 20 / (19 * 0.001) + 1e-6);
  EXPECT_EQ(e.at("llamacpp:kv_cache_usage_ratio"), 0);
  EXPECT_EQ(e.at("llamacpp:requests_processing"), 0);
  EXPECT_EQ(e.at("llamacpp:requests_deferred"), 0);

  // Each read resets the throughput gauges (llama.cpp's per-read window); counters stay.
  auto again = parse_exposition(c.get("/metrics").body);
  EXPECT_EQ(again.at("llamacpp:prompt_tokens_seconds"), 0);
  EXPECT_EQ(again.at("llamacpp:predicted_tokens_seconds"), 0);
  EXPECT_EQ(again.at("llamacpp:tokens_predicted_total"), 20);
}

TEST_F(MetricsTest, LlamacppKvTokensWhileBusy) {
  auto cfg = fast();
  cfg.metrics_style = "llamacpp";
  cfg.kv_tokens = 1000;
  cfg.itl_ms = 2;
  auto port = start(cfg);
  Client busy(port);
  busy.send(http::verb::post, "/v1/completions", stream_body(std::string(400, 'k'), 800));
  busy.read_chunks(2);
  Client c(port);
  auto e = parse_exposition(c.get("/metrics").body);
  EXPECT_EQ(e.at("llamacpp:requests_processing"), 1);
  EXPECT_GE(e.at("llamacpp:kv_cache_tokens"), 102);
  EXPECT_NEAR(e.at("llamacpp:kv_cache_usage_ratio"), e.at("llamacpp:kv_cache_tokens") / 1000, 1e-5);
  busy.socket().close();
}

TEST(MetricsConfig, NewOptionsAreValidated) {
  SimConfig c;
  c.kv_tokens = -1;
  EXPECT_EQ(validate(c), "--kv-tokens must be 0 (unlimited) or more (got -1).");
  c = SimConfig{};
  c.spec_tokens = 33;
  EXPECT_EQ(validate(c), "--spec-tokens must be between 0 and 32 (got 33).");
  c = SimConfig{};
  c.spec_acceptance = 1.5;
  EXPECT_EQ(validate(c), "--spec-acceptance must be in [0, 1] (got 1.5).");
  c = SimConfig{};
  c.metrics_style = "tgi";
  EXPECT_EQ(validate(c), "--metrics-style must be vllm or llamacpp (got 'tgi').");
  c = SimConfig{};
  EXPECT_EQ(validate(c), "");
}

}  // namespace
}  // namespace splleed::sim
