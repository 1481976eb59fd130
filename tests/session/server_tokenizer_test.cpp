// `--tokenizer server`: the served model's tokenizer through the target's tokenize endpoint. Against
// the simulator (one token per 4 bytes) in this process, in each engine's request shape, and
// against scripted servers for what the simulator does not do (llama-cpp-python's endpoint, forced
// special tokens, refusals).
#include "session/server_tokenizer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/test_server.hpp"
#include "sim/request.hpp"
#include "sim/sim_server.hpp"
#include "tokenizer/prompt.hpp"

namespace splleed::session {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using tokenizer::TokenizerError;
namespace asio = boost::asio;
namespace http = boost::beast::http;

class ServerTokenizerSim : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::SimConfig c;
    c.ttft_ms = 1;
    c.itl_ms = 0.2;
    server_.emplace(c, clock_);
    url_ = "http://127.0.0.1:" + std::to_string(server_->start());
  }
  void TearDown() override { server_->stop(); }

  TargetConfig target(Api api = Api::openai_completions) const {
    TargetConfig t;
    t.base_url = url_;
    t.api = api;
    return t;
  }

  MonotonicClock clock_;
  std::optional<sim::SimServer> server_;
  std::string url_;
};

TEST_F(ServerTokenizerSim, CountsAsTheServerDoesInEveryEnginesShape) {
  for (Api api : {Api::openai_completions, Api::openai_chat, Api::sglang, Api::tgi, Api::llamacpp}) {
    SCOPED_TRACE(std::string(to_string(api)));
    const auto tok = make_server_tokenizer(target(api));
    EXPECT_EQ(tok->count("hello world!!"), 4u);
    EXPECT_EQ(tok->count(""), 0u);
    const auto ids = tok->encode("abcdabcdx", false);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_EQ(tok->encode("abcdabcdx", true), ids);  // the simulator has no special tokens
    EXPECT_THROW(tok->decode(std::vector<std::int32_t>{1}), TokenizerError);
  }
}

TEST_F(ServerTokenizerSim, SeveralThreadsCountAtOnce) {
  const auto tok = make_server_tokenizer(target());
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string text(static_cast<std::size_t>(t * 20 + i), 'x');
        if (tok->count(text) != static_cast<std::size_t>(sim::prompt_tokens_for_bytes(text.size())))
          ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ServerTokenizerSim, ExactLengthPromptsAreBuiltByCounting) {
  const auto tok = make_server_tokenizer(target(Api::openai_chat));
  for (std::size_t n : {1u, 7u, 64u, 301u}) {
    const std::string p = tokenizer::prompt_of_length(*tok, n, 11);
    EXPECT_EQ(sim::prompt_tokens_for_bytes(p.size()), static_cast<std::int64_t>(n)) << p;
  }
}

TEST_F(ServerTokenizerSim, FailuresNameTheEndpointOrTheApi) {
  TargetConfig wrong_model = target();
  wrong_model.model = "not-served";
  try {
    (void)make_server_tokenizer(wrong_model);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    // vLLM's answer for another model is a 404 too: its reason is kept.
    EXPECT_THAT(e.what(), HasSubstr(url_ + "/tokenize answered HTTP 404"));
    EXPECT_THAT(e.what(), HasSubstr("The model `not-served` does not exist."));
  }
  try {
    (void)make_server_tokenizer(target(Api::ollama_chat));
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("ollama-chat API has no tokenize endpoint"));
  }
  EXPECT_THROW((void)make_server_tokenizer(target(Api::triton)), TokenizerError);
  TargetConfig nobody = target();
  nobody.base_url = "http://127.0.0.1:1";
  try {
    (void)make_server_tokenizer(nobody);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("POST http://127.0.0.1:1/tokenize failed"));
  }
}

// A scripted server on its own thread: answers every request with `answer(path, body)`.
class ScriptedTarget {
 public:
  using Answer = std::function<std::string(const std::string& path, const json& body)>;

  explicit ScriptedTarget(Answer answer)
      : answer_(std::move(answer)),
        server_(io_,
                [this](net::testing::ServerConn& c) -> asio::awaitable<void> {
                  while (co_await c.read_request()) {
                    const auto& req = server_.requests().back();
                    const std::string path(req.target());
                    const json body = json::parse(req.body(), nullptr, false);
                    {
                      std::lock_guard lock(mutex_);
                      bodies_.emplace_back(path, body);
                    }
                    const std::string response = answer_(path, body);
                    if (!co_await c.write(response)) co_return;
                  }
                }),
        work_(asio::make_work_guard(io_)),
        thread_([this] { io_.run(); }) {}

  ~ScriptedTarget() {
    work_.reset();
    io_.stop();
    thread_.join();
  }

  std::string url() const { return server_.url(); }

  std::vector<std::pair<std::string, json>> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

  static std::string reply(int status, const json& body) {
    const std::string text = body.dump();
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(text.size()) + "\r\n\r\n" + text;
  }

 private:
  asio::io_context io_;
  Answer answer_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, json>> bodies_;
  net::testing::TestServer server_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

// One token per character; the BOS token (id 1) is always added, as llama-cpp-python does.
std::string llama_cpp_python(const std::string& path, const json& body) {
  if (path != "/extras/tokenize") return ScriptedTarget::reply(404, {{"detail", "Not Found"}});
  json tokens = json::array({1});
  for (char c : body.value("input", std::string())) tokens.push_back(100 + (c & 0x7f));
  return ScriptedTarget::reply(200, {{"tokens", tokens}});
}

TEST(ServerTokenizerScripted, LlamaCppPythonsEndpointWithItsForcedBosTakenOff) {
  ScriptedTarget server(llama_cpp_python);
  TargetConfig t;
  t.base_url = server.url();
  t.model = "tiny";
  const auto tok = make_server_tokenizer(t);
  EXPECT_EQ(tok->count("abc"), 3u);
  EXPECT_EQ(tok->encode("abc", false), (std::vector<std::int32_t>{197, 198, 199}));
  EXPECT_EQ(tok->encode("abc", true).size(), 4u);  // with the BOS the server adds
  const std::string p = tokenizer::prompt_of_length(*tok, 40, 3);
  EXPECT_EQ(p.size(), 40u);
  // /tokenize first, then the fallback; every body names the model and the text.
  const auto bodies = server.bodies();
  ASSERT_GE(bodies.size(), 3u);
  EXPECT_EQ(bodies[0].first, "/tokenize");
  EXPECT_EQ(bodies[0].second["add_special_tokens"], false);
  EXPECT_EQ(bodies[1].first, "/extras/tokenize");
  EXPECT_EQ(bodies[1].second["model"], "tiny");
  EXPECT_EQ(bodies[2].second["input"], "abc");
}

TEST(ServerTokenizerScripted, AServerRefusingTheEmptyProbeIsStillUsed) {
  // As a TGI that validates its input: an empty one is a 422.
  ScriptedTarget server([](const std::string&, const json& body) {
    const std::string text = body.value("inputs", std::string());
    if (text.empty()) return ScriptedTarget::reply(422, {{"error", "empty"}});
    json tokens = json::array();
    for (std::size_t i = 0; i < text.size(); ++i)
      tokens.push_back({{"id", 5 + i}, {"text", text.substr(i, 1)}, {"start", i}, {"stop", i + 1}});
    return ScriptedTarget::reply(200, tokens);
  });
  TargetConfig t;
  t.base_url = server.url();
  t.api = Api::tgi;
  const auto tok = make_server_tokenizer(t);
  EXPECT_EQ(tok->count("hello"), 5u);
  EXPECT_EQ(server.bodies().back().second["add_special_tokens"], false);
}

TEST(ServerTokenizerScripted, UnusableAnswersAndRefusedKeysAreNamed) {
  ScriptedTarget no_list(
      [](const std::string&, const json&) { return ScriptedTarget::reply(200, {{"count", 3}}); });
  TargetConfig t;
  t.base_url = no_list.url();
  try {
    (void)make_server_tokenizer(t);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/tokenize answered without a list of token ids"));
  }
  ScriptedTarget refused([](const std::string&, const json&) {
    return ScriptedTarget::reply(401, {{"error", "bad key"}});
  });
  t.base_url = refused.url();
  t.api_key = "sk-secret";
  try {
    (void)make_server_tokenizer(t);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/tokenize answered HTTP 401"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("sk-secret")));
  }
  ScriptedTarget nothing([](const std::string&, const json&) {
    return ScriptedTarget::reply(404, {{"detail", "Not Found"}});
  });
  t.base_url = nothing.url();
  try {
    (void)make_server_tokenizer(t);
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no usable tokenize endpoint"));
    EXPECT_THAT(e.what(), HasSubstr("/extras/tokenize answered HTTP 404"));
  }
}

}  // namespace
}  // namespace splleed::session
