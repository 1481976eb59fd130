// The simulator over real loopback sockets, driven by a plain synchronous Beast client.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "sim/sim_server.hpp"
#include "sim/sim_test_client.hpp"

namespace splleed::sim {
namespace {

using nlohmann::json;
using testing::Client;
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

std::string body(json j) { return j.dump(); }

json stream_request(int max_tokens, json extra = json::object()) {
  json j = {{"prompt", "0123456789"}, {"max_tokens", max_tokens}, {"stream", true}, {"ignore_eos", true}};
  j.update(extra);
  return j;
}

json chat_request(int max_tokens, json extra = json::object()) {
  json j = {{"messages", {{{"role", "user"}, {"content", "0123456789"}}}},
            {"max_tokens", max_tokens},
            {"stream", true},
            {"ignore_eos", true}};
  j.update(extra);
  return j;
}

// The data of every chunk; a chunk that is not exactly one SSE data event fails the test.
std::vector<std::string> events_of(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& chunk : r.chunks) {
    auto d = sse_data(chunk);
    EXPECT_TRUE(d.has_value()) << "not one SSE event per chunk: " << chunk;
    if (d) out.push_back(*d);
  }
  return out;
}

std::map<std::string, std::vector<SendLogEntry>> by_request(const std::vector<SendLogEntry>& log) {
  std::map<std::string, std::vector<SendLogEntry>> out;
  for (const auto& e : log) out[e.request_id].push_back(e);
  return out;
}

class SimServerTest : public ::testing::Test {
 protected:
  std::uint16_t start(SimConfig c = fast()) {
    server_.emplace(std::move(c), clock_);
    return server_->start();
  }
  SimServer& server() { return *server_; }
  MonotonicClock clock_;
  std::optional<SimServer> server_;
};

TEST_F(SimServerTest, HealthAndModels) {
  Client c(start());
  auto h = c.get("/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.complete);
  auto m = c.get("/v1/models?x=1");  // same connection: keep-alive
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.header("content-type"), "application/json");
  auto j = m.json();
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "splleed-sim");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(server().stats().requests_received, 2u);
  EXPECT_EQ(server().stats().connections_accepted, 1u);
}

TEST_F(SimServerTest, CompletionsStreamShape) {
  Client c(start());
  auto r = c.post("/v1/completions",
                  body(stream_request(5, {{"model", "splleed-sim"},
                                          {"stream_options", {{"include_usage", true}}}})),
                  {{"X-Request-Id", "req-1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete) << r.error.message();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.header("x-request-id"), "req-1");
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 7u);  // 5 tokens, usage, [DONE]
  for (int i = 0; i < 5; ++i) {
    auto j = json::parse(ev[i]);
    EXPECT_EQ(j["id"], "cmpl-req-1");
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "splleed-sim");
    EXPECT_TRUE(j["created"].is_number_integer());
    ASSERT_EQ(j["choices"].size(), 1u);
    const auto& ch = j["choices"][0];
    EXPECT_EQ(ch["index"], 0);
    std::string text = ch["text"];
    EXPECT_GE(text.size(), 2u);
    EXPECT_EQ(text[0], ' ');
    EXPECT_TRUE(ch["logprobs"].is_null());
    if (i < 4) {
      EXPECT_TRUE(ch["finish_reason"].is_null()) << ev[i];
    } else {
      EXPECT_EQ(ch["finish_reason"], "length");
    }
    EXPECT_FALSE(j.contains("usage"));
  }
  auto usage = json::parse(ev[5]);
  EXPECT_EQ(usage["id"], "cmpl-req-1");
  EXPECT_TRUE(usage["choices"].is_array() && usage["choices"].empty());
  EXPECT_EQ(usage["usage"], json({{"prompt_tokens", 3}, {"total_tokens", 8}, {"completion_tokens", 5}}));
  EXPECT_EQ(ev[6], "[DONE]");
  auto s = server().stats();
  EXPECT_EQ(s.token_events, 5u);
  EXPECT_EQ(s.events, 7u);
  EXPECT_EQ(s.generations_started, 1u);
  EXPECT_EQ(s.generations_finished, 1u);
}

TEST_F(SimServerTest, ChatStreamStartsWithRoleOnlyChunk) {
  Client c(start());
  auto r = c.post("/v1/chat/completions", body(chat_request(4)));
  ASSERT_TRUE(r.complete);
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 6u);  // role, 4 tokens, [DONE]
  auto first = json::parse(ev[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  std::string id = first["id"];
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(r.header("x-request-id"), "") << "nothing to echo";
  for (int i = 1; i <= 4; ++i) {
    auto j = json::parse(ev[i]);
    EXPECT_EQ(j["id"], id);
    const auto& ch = j["choices"][0];
    EXPECT_FALSE(ch["delta"].contains("role"));
    EXPECT_GE(std::string(ch["delta"]["content"]).size(), 2u);
    if (i < 4) {
      EXPECT_TRUE(ch["finish_reason"].is_null());
    } else {
      EXPECT_EQ(ch["finish_reason"], "length");
    }
  }
  EXPECT_EQ(ev[5], "[DONE]");
  // Without X-Request-Id the send log names the request by its response id.
  auto log = by_request(server().send_log());
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log.begin()->first, id);
  EXPECT_EQ(log.begin()->second.size(), 6u);
}

TEST_F(SimServerTest, ContinuousUsageOnEveryChunk) {
  Client c(start());
  auto r = c.post("/v1/chat/completions",
                  body(chat_request(3, {{"stream_options",
                                         {{"include_usage", true}, {"continuous_usage_stats", true}}}})));
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 6u);  // role, 3 tokens, usage, [DONE]
  for (int i = 0; i <= 4; ++i) {
    auto u = json::parse(ev[i])["usage"];
    EXPECT_EQ(u["prompt_tokens"], 3) << ev[i];
    EXPECT_EQ(u["completion_tokens"], std::min(i, 3)) << ev[i];
    EXPECT_EQ(u["total_tokens"], 3 + std::min(i, 3)) << ev[i];
  }
  EXPECT_TRUE(json::parse(ev[4])["choices"].empty());
  EXPECT_EQ(ev[5], "[DONE]");
}

TEST_F(SimServerTest, NonStreamingResponses) {
  Client c(start());
  auto r = c.post("/v1/completions", body({{"prompt", "abcdefgh"}, {"max_tokens", 3}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.chunked);
  auto j = r.json();
  EXPECT_EQ(j["object"], "text_completion");
  std::string text = j["choices"][0]["text"];
  EXPECT_EQ(std::count(text.begin(), text.end(), ' '), 3) << text;
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"], json({{"prompt_tokens", 2}, {"total_tokens", 5}, {"completion_tokens", 3}}));

  r = c.post("/v1/chat/completions", body({{"messages", {{{"role", "user"}, {"content", "hi"}}}}}));
  j = r.json();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["usage"]["completion_tokens"], 16) << "max_tokens defaults to 16";
  EXPECT_EQ(j["usage"]["prompt_tokens"], 1);
  auto log = server().send_log();
  ASSERT_EQ(log.size(), 2u) << "a whole response is one event";
  EXPECT_EQ(log[0].seq, 0u);
}

TEST_F(SimServerTest, ErrorsAreJson) {
  Client c(start());
  auto r = c.post("/v1/completions", "{oops");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.json()["error"]["type"], "invalid_request_error");
  EXPECT_NE(std::string(r.json()["error"]["message"]).find("not valid JSON"), std::string::npos);

  r = c.post("/v1/completions", body({{"prompt", "x"}, {"sim_fault", "nope"}}));
  EXPECT_EQ(r.status, 400);

  r = c.get("/v2/whatever");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["type"], "not_found_error");

  r = c.get("/v1/completions");
  EXPECT_EQ(r.status, 405);

  r = c.post("/v1/completions", body({{"prompt", "x"}, {"model", "other"}}));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"]["message"], "The model `other` does not exist.");

  // The connection survived every error.
  EXPECT_EQ(c.get("/health").status, 200);
  EXPECT_EQ(server().stats().connections_accepted, 1u);
  EXPECT_EQ(server().stats().generations_started, 0u);
}

TEST_F(SimServerTest, MalformedHttpGets400AndClose) {
  Client c(start());
  c.send_raw("BOGUS\r\n\r\n");
  auto r = c.read();
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("connection"), "close");
}

TEST_F(SimServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c(start());
  std::string req = body(stream_request(3));
  std::string raw;
  for (const char* id : {"p1", "p2"})
    raw += fmt::format(
        "POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: {}\r\n"
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        id, req.size(), req);
  raw += "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  c.send_raw(raw);
  auto a = c.read();
  auto b = c.read();
  auto h = c.read();
  EXPECT_EQ(a.header("x-request-id"), "p1");
  EXPECT_EQ(b.header("x-request-id"), "p2");
  EXPECT_EQ(events_of(a).size(), 4u);
  EXPECT_EQ(events_of(b).size(), 4u);
  EXPECT_EQ(h.status, 200);
}

TEST_F(SimServerTest, ExpectContinueIsAnswered) {
  Client c(start());
  std::string req = body({{"prompt", "x"}, {"max_tokens", 2}});
  c.send_raw(fmt::format(
      "POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
      req.size()));
  EXPECT_EQ(c.read().status, 100);
  c.send_raw(req);
  auto r = c.read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["usage"]["completion_tokens"], 2);
}

TEST_F(SimServerTest, EosEndsEarlyAfterMinTokensUnlessIgnored) {
  auto cfg = fast();
  cfg.eos_probability = 1;
  Client c(start(cfg));
  auto r = c.post("/v1/completions",
                  body(stream_request(10, {{"ignore_eos", false}, {"min_tokens", 3},
                                           {"stream_options", {{"include_usage", true}}}})));
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 6u);  // 3 tokens, the EOS chunk, usage, [DONE]
  auto eos = json::parse(ev[3]);
  EXPECT_EQ(eos["choices"][0]["text"], "");
  EXPECT_EQ(eos["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(json::parse(ev[4])["usage"]["completion_tokens"], 4);

  r = c.post("/v1/completions", body(stream_request(10)));  // ignore_eos
  EXPECT_EQ(events_of(r).size(), 11u);
  EXPECT_EQ(server().stats().token_events, 13u);
}

TEST_F(SimServerTest, SameSeedSameText) {
  auto text_of = [&](std::uint64_t seed) {
    auto cfg = fast();
    cfg.seed = seed;
    SimServer s(cfg, clock_);
    Client c(s.start());
    auto r = c.post("/v1/completions", body({{"prompt", "x"}, {"max_tokens", 12}}));
    return std::string(r.json()["choices"][0]["text"]);
  };
  EXPECT_EQ(text_of(7), text_of(7));
  EXPECT_NE(text_of(7), text_of(8));
}

// ---- faults -------------------------------------------------------------------------------

Reply fault_reply(Client& c, const char* fault, bool chat = false) {
  auto req = chat ? chat_request(10, {{"sim_fault", fault}}) : stream_request(10, {{"sim_fault", fault}});
  return c.post(chat ? "/v1/chat/completions" : "/v1/completions", body(req));
}

TEST_F(SimServerTest, FaultHttpStatuses) {
  Client c(start());
  auto r = fault_reply(c, "http_500");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["error"]["code"], 500);
  r = fault_reply(c, "http_429");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(server().stats().faults_injected, 2u);
}

TEST_F(SimServerTest, FaultErrorEventEndsWithoutDone) {
  Client c(start());
  auto r = fault_reply(c, "error_event");
  EXPECT_TRUE(r.complete) << "the body itself ends properly";
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_TRUE(json::parse(ev[0])["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(json::parse(ev[1])["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(json::parse(ev[2]),
            json::parse(R"({"error":{"message":"simulated engine failure","type":"internal_error","code":500}})"));
  EXPECT_EQ(c.get("/health").status, 200) << "the connection stays usable";
}

TEST_F(SimServerTest, FaultMalformedSendsBrokenJson) {
  Client c(start());
  auto r = fault_reply(c, "malformed", /*chat=*/true);
  EXPECT_TRUE(r.complete);
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 4u);  // role, 2 tokens, the broken event
  EXPECT_EQ(ev[3], "{\"choices\": [");
  EXPECT_FALSE(json::accept(ev[3]));
}

TEST_F(SimServerTest, FaultResetCutsTheStream) {
  Client c(start());
  auto r = fault_reply(c, "reset");
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.error) << "the read must fail";
  EXPECT_EQ(events_of(r).size(), 2u);
}

TEST_F(SimServerTest, FaultNoDoneIsANormalStreamWithoutDone) {
  Client c(start());
  auto r = c.post("/v1/completions",
                  body(stream_request(3, {{"sim_fault", "no_done"},
                                          {"stream_options", {{"include_usage", true}}}})));
  EXPECT_TRUE(r.complete);
  auto ev = events_of(r);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(json::parse(ev[2])["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(json::parse(ev[3])["usage"]["completion_tokens"], 3);
}

TEST_F(SimServerTest, FaultStallHoldsTheConnectionUntilStop) {
  auto cfg = fast();
  cfg.max_running = 1;
  auto port = start(cfg);
  Client stalled(port);
  stalled.send(http::verb::post, "/v1/completions", body(stream_request(10, {{"sim_fault", "stall"}})));
  auto& partial = stalled.read_chunks(2);
  ASSERT_EQ(partial.chunks.size(), 2u);
  EXPECT_FALSE(partial.error);

  // The stalled request gave its slot back: another request runs to the end.
  Client other(port);
  auto r = other.post("/v1/completions", body(stream_request(3)));
  EXPECT_EQ(events_of(r).size(), 4u);

  // Still open, nothing more to read...
  stalled.socket().non_blocking(true);
  char byte;
  boost::system::error_code ec;
  stalled.socket().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::would_block);
  // ...and stop() closes it without another byte.
  server().stop();
  stalled.socket().non_blocking(false);
  std::size_t n = stalled.socket().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(ec, boost::asio::error::eof);
}

// ---- engine timing, through the send log ----------------------------------------------------

TEST_F(SimServerTest, BeyondMaxRunningRequestsQueue) {
  auto cfg = fast();
  cfg.max_running = 1;
  auto port = start(cfg);
  Client a(port), b(port);
  a.send(http::verb::post, "/v1/completions", body(stream_request(5)), {{"X-Request-Id", "A"}});
  a.read_header();  // A is in the engine (headers are sent when a request arrives)
  b.send(http::verb::post, "/v1/completions", body(stream_request(5)), {{"X-Request-Id", "B"}});
  b.read_header();
  auto ra = a.read(), rb = b.read();
  ASSERT_TRUE(ra.complete && rb.complete);
  auto log = by_request(server().send_log());
  ASSERT_EQ(log["A"].size(), 6u);
  ASSERT_EQ(log["B"].size(), 6u);
  // B's first token is written only after A's last token was: it waited for A's slot.
  EXPECT_GT(log["B"][0].before_write, log["A"][4].after_write);
  // ...and at least one TTFT later.
  EXPECT_GE(log["B"][0].before_write - log["A"][4].before_write, kNanosPerMilli * 9 / 10);
  auto s = server().stats();
  EXPECT_EQ(s.max_running, 1u);
  EXPECT_EQ(s.max_queue_length, 1u);
}

TEST_F(SimServerTest, DecodeStepsSpaceTokensByTheItl) {
  auto cfg = fast();
  cfg.ttft_ms = 5;
  cfg.itl_ms = 4;
  auto port = start(cfg);
  Client c(port);
  auto r = c.post("/v1/completions", body(stream_request(6)), {{"X-Request-Id", "t"}});
  ASSERT_TRUE(r.complete);
  auto log = by_request(server().send_log())["t"];
  ASSERT_EQ(log.size(), 7u);
  // Step i ends i steps after the step clock started (right after the first token was written);
  // timers never fire early, and the clock runs from scheduled ends, so a late step does not push
  // the later ones back. (Single gaps may be shorter after a late step, so only sums are checked.)
  for (std::size_t i = 1; i < 6; ++i)
    EXPECT_GE(log[i].before_write - log[0].before_write, static_cast<Nanos>(i) * 4 * kNanosPerMilli) << i;
}

TEST_F(SimServerTest, SendLogIsOrderedAndWrittenAtStop) {
  auto cfg = fast();
  std::string path = ::testing::TempDir() + "sim_send_log_test.txt";
  std::remove(path.c_str());
  cfg.send_log_path = path;
  auto port = start(cfg);
  {
    Client c1(port), c2(port);
    c1.send(http::verb::post, "/v1/chat/completions", body(chat_request(8)), {{"X-Request-Id", "one"}});
    c2.send(http::verb::post, "/v1/completions", body(stream_request(8)), {{"X-Request-Id", "two"}});
    EXPECT_TRUE(c1.read().complete);
    EXPECT_TRUE(c2.read().complete);
  }
  auto log = server().send_log();
  auto per = by_request(log);
  ASSERT_EQ(per["one"].size(), 10u);  // role, 8 tokens, [DONE]
  ASSERT_EQ(per["two"].size(), 9u);
  for (const auto& [id, entries] : per) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(entries[i].seq, i) << id;
      EXPECT_LE(entries[i].before_write, entries[i].after_write) << id;
      if (i > 0) {
        EXPECT_LE(entries[i - 1].after_write, entries[i].before_write) << id;
      }
    }
  }
  for (std::size_t i = 1; i < log.size(); ++i) EXPECT_LE(log[i - 1].before_write, log[i].before_write);

  server().stop();
  server().stop();  // idempotent
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line[0], '#');
  std::size_t lines = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id;
    std::uint32_t seq;
    Nanos before, after;
    ASSERT_TRUE(fields >> id >> seq >> before >> after) << line;
    EXPECT_EQ(id, log[lines].request_id);
    EXPECT_EQ(before, log[lines].before_write);
    EXPECT_EQ(after, log[lines].after_write);
    ++lines;
  }
  EXPECT_EQ(lines, log.size());
  std::remove(path.c_str());
}

TEST(SimServerClock, SendLogStampsComeFromTheInjectedClock) {
  FakeClock clock(42);
  SimServer server(fast(), clock);
  Client c(server.start());
  c.post("/v1/completions", body(stream_request(2)));
  server.stop();
  auto log = server.send_log();
  ASSERT_EQ(log.size(), 3u);
  for (const auto& e : log) {
    EXPECT_EQ(e.before_write, 42);
    EXPECT_EQ(e.after_write, 42);
  }
}

TEST_F(SimServerTest, ClientDisconnectFreesItsSlot) {
  auto cfg = fast();
  cfg.max_running = 1;
  auto port = start(cfg);
  {
    Client gone(port);
    gone.send(http::verb::post, "/v1/completions", body(stream_request(1000000)));
    ASSERT_EQ(gone.read_chunks(1).chunks.size(), 1u);
  }  // closed mid-stream
  Client next(port);
  auto r = next.post("/v1/completions", body(stream_request(3)));
  EXPECT_EQ(events_of(r).size(), 4u) << "runs only if the slot was freed";
  EXPECT_EQ(server().stats().generations_cancelled, 1u);
}

TEST_F(SimServerTest, ManyConcurrentStreams) {
  auto cfg = fast();
  cfg.max_running = 1000;
  auto port = start(cfg);
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    clients.back()->send(http::verb::post, "/v1/completions", body(stream_request(20)));
  }
  for (auto& c : clients) {
    auto r = c->read();
    ASSERT_TRUE(r.complete);
    EXPECT_EQ(r.chunks.size(), 21u);
  }
  EXPECT_EQ(server().stats().token_events, kStreams * 20u);
  EXPECT_EQ(server().stats().connections_accepted, static_cast<std::uint64_t>(kStreams));
}

TEST_F(SimServerTest, SeveralReplicas) {
  auto cfg = fast();
  cfg.threads = 3;
  cfg.max_running = 1;
  auto port = start(cfg);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    clients.back()->send(http::verb::post, "/v1/completions", body(stream_request(4)),
                         {{"X-Request-Id", "r" + std::to_string(i)}});
  }
  for (auto& c : clients) EXPECT_EQ(events_of(c->read()).size(), 5u);
  auto s = server().stats();
  EXPECT_EQ(s.connections_accepted, 6u);
  EXPECT_EQ(s.token_events, 24u);
  EXPECT_EQ(s.max_running, 1u) << "max_running is per replica";
  EXPECT_EQ(by_request(server().send_log()).size(), 6u);
}

TEST(SimServerStart, PortInUseIsOneClearSentence) {
  MonotonicClock clock;
  SimServer first(fast(), clock);
  auto port = first.start();
  auto cfg = fast();
  cfg.port = port;
  SimServer second(cfg, clock);
  try {
    second.start();
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("cannot listen on 127.0.0.1:" + std::to_string(port) + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
  }
  EXPECT_THROW(first.start(), std::logic_error);
  EXPECT_EQ(first.port(), port);
}

// An application may install its SIGINT handling after starting the server; the server's threads
// must never be the ones a process signal lands on.
TEST(SimServerStart, ServerThreadsBlockProcessSignals) {
  MonotonicClock clock;
  auto cfg = fast();
  cfg.threads = 2;
  SimServer server(cfg, clock);
  server.start();
  int found = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "splleed-sim") continue;
    ++found;
    std::ifstream status(task.path() / "status");
    std::string line;
    unsigned long long blocked = 0;
    while (std::getline(status, line))
      if (line.rfind("SigBlk:", 0) == 0) blocked = std::stoull(line.substr(7), nullptr, 16);
    EXPECT_TRUE(blocked & (1ull << (SIGINT - 1))) << line;
    EXPECT_TRUE(blocked & (1ull << (SIGTERM - 1)));
  }
  EXPECT_EQ(found, 2);
}

TEST(SimServerStart, StopWithoutStartAndUnresolvableHost) {
  MonotonicClock clock;
  { SimServer idle(fast(), clock); }
  auto cfg = fast();
  cfg.host = "no-such-host.invalid";
  SimServer bad(cfg, clock);
  EXPECT_THROW(bad.start(), std::runtime_error);
}

}  // namespace
}  // namespace splleed::sim
