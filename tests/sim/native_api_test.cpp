// The simulator's native engine APIs (TGI, SGLang, llama.cpp, Ollama, Triton): their exact wire
// shapes, and a round trip through splleed's own protocol adapters, which must read what the
// simulator sends as they read the real engines.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "protocol/adapter.hpp"
#include "sim/native_wire.hpp"
#include "sim/request.hpp"
#include "sim/sim_server.hpp"
#include "sim_test_client.hpp"

namespace splleed::sim {
namespace {

using nlohmann::json;
using testing::Client;
using testing::Reply;

std::string str(const fmt::memory_buffer& b) { return std::string(b.data(), b.size()); }

// ---------------------------------------------------------------------------------------------
// Exact bytes of the formatters

TEST(NativeWire, TgiHasNoSpaceAfterDataAndDetailsOnTheLastToken) {
  fmt::memory_buffer out;
  append_tgi_token_event(out, 1, 1008, " river", false, nullptr, " river");
  EXPECT_EQ(str(out),
            "data:{\"index\":1,\"token\":{\"id\":1008,\"text\":\" river\",\"logprob\":-0.125,"
            "\"special\":false},\"generated_text\":null,\"details\":null}\n\n");
  out.clear();
  NativeSummary s;
  s.prompt_tokens = 4;
  s.completion_tokens = 2;
  append_tgi_token_event(out, 2, 1001, " of", false, &s, " river of");
  auto j = json::parse(str(out).substr(5));
  EXPECT_EQ(j["generated_text"], " river of");
  EXPECT_EQ(j["details"], json::parse(R"({"finish_reason":"length","generated_tokens":2,"seed":null,"input_length":4})"));
  out.clear();
  s.eos = true;
  append_tgi_token_event(out, 3, kEosTokenId, kEosText, true, &s, " river of");
  j = json::parse(str(out).substr(5));
  EXPECT_EQ(j["token"]["special"], true);
  EXPECT_EQ(j["details"]["finish_reason"], "eos_token");
}

TEST(NativeWire, SglangFinishReasonIsAnObject) {
  fmt::memory_buffer out;
  append_sglang_event(out, "r1", " a b", 5, 2, 0, nullptr, 0.5);
  EXPECT_EQ(str(out),
            "data: {\"text\":\" a b\",\"meta_info\":{\"id\":\"r1\",\"finish_reason\":null,"
            "\"prompt_tokens\":5,\"completion_tokens\":2,\"cached_tokens\":0,\"e2e_latency\":0.5}}\n\n");
  out.clear();
  NativeSummary s;
  append_sglang_event(out, "r1", " a b c", 5, 3, 1, &s, 0.75);
  auto j = json::parse(str(out).substr(6));
  EXPECT_EQ(j["meta_info"]["finish_reason"], json::parse(R"({"type":"length","length":3})"));
  EXPECT_EQ(j["meta_info"]["cached_tokens"], 1);
}

TEST(NativeWire, LlamaCppFinalEventHasStopTypeAndTimings) {
  fmt::memory_buffer out;
  NativeSummary s;
  s.prompt_tokens = 10;
  s.prompt_computed = 8;
  s.cached_tokens = 2;
  s.completion_tokens = 4;
  s.prefill_ns = 2'500'000;
  s.decode_ns = 0;  // a rate over no time stays finite
  append_llamacpp_final_event(out, "m", s);
  const std::string e = str(out);
  ASSERT_EQ(e.substr(0, 6), "data: ");
  auto j = json::parse(e.substr(6));
  EXPECT_EQ(j["stop"], true);
  EXPECT_EQ(j["stop_type"], "limit");
  EXPECT_EQ(j["tokens_predicted"], 4);
  EXPECT_EQ(j["tokens_evaluated"], 10);
  EXPECT_EQ(j["timings"]["prompt_n"], 8);
  EXPECT_EQ(j["timings"]["cache_n"], 2);
  EXPECT_DOUBLE_EQ(j["timings"]["prompt_ms"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j["timings"]["prompt_per_second"].get<double>(), 3200.0);
  EXPECT_EQ(j["timings"]["predicted_per_second"], 0);
}

TEST(NativeWire, OllamaIsOneJsonLineWithRfc3339Time) {
  fmt::memory_buffer out;
  append_ollama_event(out, false, "m", 1'700'000'000'123'456'789, " sky", nullptr);
  EXPECT_EQ(str(out),
            "{\"model\":\"m\",\"created_at\":\"2023-11-14T22:13:20.123456789Z\",\"response\":\" sky\","
            "\"done\":false}\n");
  out.clear();
  NativeSummary s;
  s.eos = true;
  s.prompt_tokens = 3;
  s.completion_tokens = 5;
  s.prefill_ns = 7;
  s.decode_ns = 11;
  s.total_ns = 20;
  append_ollama_event(out, true, "m", 0, "", &s);
  auto j = json::parse(str(out));
  EXPECT_EQ(j["message"], json::parse(R"({"role":"assistant","content":""})"));
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "stop");
  EXPECT_EQ(j["eval_count"], 5);
  EXPECT_EQ(j["prompt_eval_duration"], 7);
  EXPECT_EQ(j["eval_duration"], 11);
  EXPECT_EQ(j["total_duration"], 20);
  EXPECT_EQ(j["load_duration"], 0);
}

TEST(NativeWire, TritonEvent) {
  fmt::memory_buffer out;
  append_triton_event(out, "ensemble", " fox");
  EXPECT_EQ(str(out),
            "data: {\"model_name\":\"ensemble\",\"model_version\":\"1\",\"sequence_end\":false,"
            "\"sequence_id\":0,\"sequence_start\":false,\"text_output\":\" fox\"}\n\n");
}

TEST(NativeWire, ErrorBodiesInEachEnginesShape) {
  EXPECT_EQ(json::parse(native_error_body(Endpoint::tgi, "bad", "invalid_request_error", 400)),
            json::parse(R"({"error":"bad","error_type":"validation"})"));
  EXPECT_EQ(json::parse(native_error_body(Endpoint::sglang, "bad", "x", 400)),
            json::parse(R"({"error":{"message":"bad"}})"));
  EXPECT_EQ(json::parse(native_error_body(Endpoint::llamacpp, "boom", "internal_error", 500)),
            json::parse(R"({"error":{"code":500,"message":"boom","type":"server_error"}})"));
  EXPECT_EQ(json::parse(native_error_body(Endpoint::ollama_chat, "bad", "x", 400)),
            json::parse(R"({"error":"bad"})"));
  EXPECT_EQ(json::parse(native_error_body(Endpoint::triton, "bad", "x", 400)),
            json::parse(R"({"error":"bad"})"));
}

// ---------------------------------------------------------------------------------------------
// Request bodies

class NativeRequestTest : public ::testing::Test {
 protected:
  std::variant<GenerationRequest, RequestError> parse(const std::string& body, Endpoint e) {
    return parse_generation_request(parser_, body, e);
  }
  GenerationRequest ok(const std::string& body, Endpoint e) {
    auto r = parse(body, e);
    if (auto* err = std::get_if<RequestError>(&r)) ADD_FAILURE() << err->message << " for " << body;
    return std::holds_alternative<GenerationRequest>(r) ? std::get<GenerationRequest>(r)
                                                        : GenerationRequest{};
  }
  std::string error(const std::string& body, Endpoint e) {
    auto r = parse(body, e);
    EXPECT_TRUE(std::holds_alternative<RequestError>(r)) << body;
    return std::holds_alternative<RequestError>(r) ? std::get<RequestError>(r).message : "";
  }
  simdjson::dom::parser parser_;
};

TEST_F(NativeRequestTest, EachApisPromptAndLimits) {
  auto tgi = ok(R"({"inputs":"12345678","parameters":{"max_new_tokens":7},"sim_fault":"reset"})",
                Endpoint::tgi);
  EXPECT_EQ(tgi.prompt_tokens, 2);
  EXPECT_EQ(tgi.max_tokens, 7);
  EXPECT_TRUE(tgi.stream);
  EXPECT_EQ(tgi.fault, Fault::reset);

  auto sg = ok(R"({"text":"abcde","stream":true,"sampling_params":{"max_new_tokens":9,"min_new_tokens":2,"ignore_eos":true}})",
               Endpoint::sglang);
  EXPECT_EQ(sg.prompt_tokens, 2);
  EXPECT_EQ(sg.max_tokens, 9);
  EXPECT_EQ(sg.min_tokens, 2);
  EXPECT_TRUE(sg.ignore_eos);
  EXPECT_EQ(ok(R"({"input_ids":[1,2,3],"stream":true})", Endpoint::sglang).prompt_tokens, 3);

  auto ll = ok(R"({"prompt":"abcd","n_predict":5,"stream":true,"ignore_eos":true})", Endpoint::llamacpp);
  EXPECT_EQ(ll.max_tokens, 5);
  EXPECT_TRUE(ll.ignore_eos);
  EXPECT_EQ(ok(R"({"prompt":"abcd","n_predict":-1,"stream":true})", Endpoint::llamacpp).max_tokens,
            kDefaultMaxTokens);

  auto og = ok(R"({"model":"m","prompt":"abcd","options":{"num_predict":6}})", Endpoint::ollama_generate);
  EXPECT_TRUE(og.stream) << "Ollama streams by default";
  EXPECT_EQ(og.max_tokens, 6);
  EXPECT_EQ(og.model, "m");
  auto oc = ok(R"({"model":"m","messages":[{"role":"user","content":"abcdefgh"}]})", Endpoint::ollama_chat);
  EXPECT_EQ(oc.prompt_tokens, 2);

  auto tr = ok(R"({"text_input":"abcd","max_tokens":3,"stream":true,"sim_fault":"error_event"})", Endpoint::triton);
  EXPECT_EQ(tr.max_tokens, 3);
  EXPECT_EQ(tr.fault, Fault::error_event);
}

TEST_F(NativeRequestTest, BadBodiesNameTheField) {
  EXPECT_EQ(error(R"({"parameters":{}})", Endpoint::tgi), "'inputs' is required.");
  EXPECT_EQ(error(R"({"inputs":"x","parameters":5})", Endpoint::tgi), "'parameters' must be an object.");
  EXPECT_EQ(error(R"({"stream":true})", Endpoint::sglang), "'text' or 'input_ids' is required.");
  EXPECT_EQ(error(R"({"prompt":"x"})", Endpoint::llamacpp),
            "the simulator serves /completion streaming only; set \"stream\": true.");
  EXPECT_EQ(error(R"({"prompt":"x"})", Endpoint::ollama_generate), "'model' is required.");
  EXPECT_EQ(error(R"({"model":"m","prompt":"x","options":{"num_predict":"a"}})", Endpoint::ollama_generate),
            "'num_predict' must be an integer.");
  EXPECT_EQ(error(R"({"text_input":"x","max_tokens":0})", Endpoint::triton),
            "the maximum number of new tokens must be at least 1, got 0.");
  EXPECT_NE(error(R"({"text_input":"x","sim_fault":"bogus"})", Endpoint::triton).find("unknown sim_fault 'bogus'"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Round trip: the adapter's own request, the simulator's stream, the adapter's parser

SimConfig fast() {
  SimConfig c;
  c.ttft_ms = 2;
  c.itl_ms = 1;
  c.prefill_us_per_token = 1;
  c.step_us_per_running = 0;
  return c;
}

struct ApiCase {
  Api api;
  const char* name;
};

// An event's payload as splleed's decoders hand it to the parser.
std::optional<std::string> payload_of(std::string_view chunk, Api api) {
  if (api == Api::ollama_generate || api == Api::ollama_chat) {
    if (chunk.empty() || chunk.back() != '\n' || chunk.find('\n') != chunk.size() - 1) return std::nullopt;
    return std::string(chunk.substr(0, chunk.size() - 1));
  }
  // TGI writes `data:` without a space; the others `data: `.
  const std::string_view head = api == Api::tgi ? "data:" : "data: ";
  if (chunk.size() < head.size() + 2 || chunk.substr(0, head.size()) != head ||
      chunk.substr(chunk.size() - 2) != "\n\n")
    return std::nullopt;
  auto data = chunk.substr(head.size(), chunk.size() - head.size() - 2);
  if (data.find('\n') != std::string_view::npos || (api == Api::tgi && data.front() == ' '))
    return std::nullopt;
  return std::string(data);
}

class NativeRoundTrip : public ::testing::TestWithParam<ApiCase> {
 protected:
  void SetUp() override {
    server_.emplace(fast(), clock_);
    port_ = server_->start();
    TargetConfig target;
    target.api = GetParam().api;
    target.model = "splleed-sim";
    adapter_ = protocol::make_adapter(target);
  }

  // Sends the adapter's body (with extra_body merged) and returns the reply and the record the
  // adapter's parser made of it.
  std::pair<Reply, RequestRecord> run(int max_tokens, const std::string& extra_body = "",
                                      const std::string& request_id = "rt-1") {
    SamplingParams sampling;
    sampling.max_tokens = max_tokens;
    sampling.ignore_eos = true;
    if (!extra_body.empty()) sampling.extra_body = extra_body;
    protocol::RequestSpec spec{"splleed-sim", "tell me about rivers", sampling};
    Client c(port_);
    Reply r = c.post(std::string(adapter_->path()), adapter_->build_body(spec),
                     {{"X-Request-Id", request_id}});
    RequestRecord rec;
    auto parser = adapter_->make_parser();
    parser->reset();
    Nanos t = clock_.now();
    bool done = false;
    for (const auto& chunk : r.chunks) {
      auto p = payload_of(chunk, GetParam().api);
      EXPECT_TRUE(p) << "not one event in " << GetParam().name << "'s framing: " << chunk;
      if (!p || done) continue;
      done = parser->on_event(*p, ++t, rec) == protocol::EventOutcome::done;
    }
    if (!done) parser->on_body_end(++t, rec);
    return {std::move(r), std::move(rec)};
  }

  MonotonicClock clock_;
  std::optional<SimServer> server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<protocol::ProtocolAdapter> adapter_;
};

TEST_P(NativeRoundTrip, TheAdapterReadsExactCountsAndTimings) {
  const Api api = GetParam().api;
  auto [r, rec] = run(6);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.header("content-type"),
            api == Api::ollama_generate || api == Api::ollama_chat ? "application/x-ndjson"
                                                                    : "text/event-stream");
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  EXPECT_EQ(rec.tokens.size(), 6u);
  EXPECT_GT(rec.output_bytes, 6u);
  // Every event, and only those, is in the send log, in order.
  std::vector<SendLogEntry> log;
  for (auto& e : server_->send_log())
    if (e.request_id == "rt-1") log.push_back(e);
  ASSERT_EQ(log.size(), r.chunks.size());
  for (std::size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].seq, i);

  if (api == Api::triton) {  // Triton reports no counts
    EXPECT_FALSE(rec.usage.completion_tokens);
    EXPECT_EQ(r.chunks.size(), 6u);
    return;
  }
  ASSERT_TRUE(rec.usage.completion_tokens);
  EXPECT_EQ(*rec.usage.completion_tokens, 6);
  ASSERT_TRUE(rec.usage.prompt_tokens);
  EXPECT_EQ(*rec.usage.prompt_tokens, 5);  // 20 bytes, 4 a token
  EXPECT_EQ(rec.finish_reason, api == Api::llamacpp ? "limit" : "length");
  const ServerTimings& t = rec.server_timings;
  if (api == Api::llamacpp || api == Api::ollama_generate || api == Api::ollama_chat) {
    // The simulator's truth: prefill is at least its TTFT (2 ms), decode 5 steps of 1 ms.
    ASSERT_TRUE(t.prompt_ms && t.predicted_ms);
    EXPECT_GE(*t.prompt_ms, 2.0);
    EXPECT_GE(*t.predicted_ms, 4.5);
    EXPECT_LT(*t.predicted_ms, 5000.0);
    EXPECT_EQ(t.predicted_n, 6);
    EXPECT_EQ(t.prompt_n, 5);
  }
  if (api == Api::ollama_generate || api == Api::ollama_chat) {
    ASSERT_TRUE(t.total_ms && t.load_ms);
    EXPECT_GE(*t.total_ms, *t.prompt_ms + *t.predicted_ms - 1e-6);
    EXPECT_EQ(*t.load_ms, 0.0);
  }
  if (api == Api::sglang) {
    ASSERT_TRUE(t.total_ms);
    EXPECT_GE(*t.total_ms, 7.0);
    EXPECT_EQ(rec.response_id, "rt-1");
    EXPECT_EQ(r.chunks.back(), "data: [DONE]\n\n");
  }
}

TEST_P(NativeRoundTrip, ErrorEventIsAStreamError) {
  auto [r, rec] = run(6, R"({"sim_fault":"error_event"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(rec.status, RequestStatus::stream_error) << rec.error;
  EXPECT_EQ(rec.error, "simulated engine failure");
  EXPECT_EQ(rec.tokens.size(), 2u);
}

TEST_P(NativeRoundTrip, MalformedEventIsAProtocolError) {
  auto [r, rec] = run(6, R"({"sim_fault":"malformed"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(rec.status, RequestStatus::protocol_error) << rec.error;
}

TEST_P(NativeRoundTrip, HttpFaultsUseTheEnginesErrorShape) {
  Client c(port_);
  SamplingParams sampling;
  sampling.extra_body = R"({"sim_fault":"http_500"})";
  protocol::RequestSpec spec{"splleed-sim", "x", sampling};
  Reply r = c.post(std::string(adapter_->path()), adapter_->build_body(spec));
  EXPECT_EQ(r.status, 500);
  json j = r.json();
  ASSERT_TRUE(j.contains("error"));
  const Api api = GetParam().api;
  if (api == Api::tgi) {
    EXPECT_EQ(j["error_type"], "generation");
  }
  if (api == Api::sglang || api == Api::llamacpp) {
    EXPECT_TRUE(j["error"]["message"].is_string());
  } else {
    EXPECT_TRUE(j["error"].is_string());
  }
}

TEST_P(NativeRoundTrip, SpeculativeStepsStillCountEveryToken) {
  server_->stop();
  SimConfig c = fast();
  c.spec_tokens = 3;
  c.spec_acceptance = 0.9;
  server_.emplace(c, clock_);
  port_ = server_->start();
  auto [r, rec] = run(20);
  EXPECT_EQ(rec.status, RequestStatus::ok) << rec.error;
  if (GetParam().api != Api::triton) {
    ASSERT_TRUE(rec.usage.completion_tokens);
    EXPECT_EQ(*rec.usage.completion_tokens, 20);
  }
  std::size_t counted = 0;
  for (const auto& tok : rec.tokens) counted += tok.tokens;
  EXPECT_EQ(counted, 20u);
}

INSTANTIATE_TEST_SUITE_P(
    Apis, NativeRoundTrip,
    ::testing::Values(ApiCase{Api::tgi, "tgi"}, ApiCase{Api::sglang, "sglang"},
                      ApiCase{Api::llamacpp, "llamacpp"},
                      ApiCase{Api::ollama_generate, "ollama_generate"},
                      ApiCase{Api::ollama_chat, "ollama_chat"}, ApiCase{Api::triton, "triton"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// ---------------------------------------------------------------------------------------------
// Routing details

TEST(NativeRoutes, TritonChecksTheModelInThePathAndIsReady) {
  MonotonicClock clock;
  SimServer server(fast(), clock);
  Client c(server.start());
  EXPECT_EQ(c.get("/v2/models/splleed-sim/ready").status, 200);
  EXPECT_EQ(c.get("/v2/models/splleed%2Dsim/versions/1/ready").status, 200);
  auto other = c.get("/v2/models/other/ready");
  EXPECT_EQ(other.status, 400);
  EXPECT_EQ(other.json()["error"], "Request for unknown model: 'other' is not found");
  EXPECT_EQ(c.get("/v2/health/ready").status, 200);
  EXPECT_EQ(c.post("/v2/models/other/generate_stream", R"({"text_input":"x"})").status, 400);
}

TEST(NativeRoutes, OllamaAnswersAnUnknownModelWith404AndTgiValidationWith422) {
  MonotonicClock clock;
  SimServer server(fast(), clock);
  Client c(server.start());
  auto r = c.post("/api/generate", R"({"model":"llama3","prompt":"x"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["error"], "model 'llama3' not found");
  r = c.post("/generate_stream", R"({"parameters":{}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["error_type"], "validation");
  EXPECT_EQ(c.get("/api/generate").status, 405);
}

}  // namespace
}  // namespace splleed::sim
