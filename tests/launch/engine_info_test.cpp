#include "launch/engine_info.hpp"

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

#include "net/test_server.hpp"

namespace splleed::launch {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A captured HTTP response: the body after the blank line.
std::string body_of(const std::string& response) {
  const auto pos = response.find("\r\n\r\n");
  return pos == std::string::npos ? response : response.substr(pos + 4);
}

const std::string kCaptures = SPLLEED_CAPTURES "/llamacpp-server-b4748/";

TEST(EngineInfo, LlamacppCapture) {
  const std::string props = slurp(kCaptures + "props.json");
  const std::string models = body_of(slurp(kCaptures + "models.txt"));
  ASSERT_FALSE(props.empty());
  const EngineInfo info = parse_engine_info({{"/props", props}, {"/v1/models", models}});
  EXPECT_EQ(info.engine, "llama.cpp");
  EXPECT_EQ(info.version, "b4748-c392e5094");
  EXPECT_EQ(info.served_model, "/work/eval-local/tiny.gguf");
  EXPECT_EQ(info.max_model_len, 1024);
  EXPECT_EQ(info.raw["/props"]["total_slots"], 4);
  EXPECT_EQ(info.raw["/v1/models"]["data"][0]["meta"]["n_vocab"], 2048);
}

TEST(EngineInfo, Vllm) {
  const EngineInfo info = parse_engine_info(
      {{"/version", R"({"version":"0.11.0"})"},
       {"/v1/models",
        R"({"object":"list","data":[{"id":"Qwen/Qwen3-8B","object":"model","owned_by":"vllm","max_model_len":40960}]})"}});
  EXPECT_EQ(info.engine, "vllm");
  EXPECT_EQ(info.version, "0.11.0");
  EXPECT_EQ(info.served_model, "Qwen/Qwen3-8B");
  EXPECT_EQ(info.max_model_len, 40960);
}

TEST(EngineInfo, Tgi) {
  const EngineInfo info = parse_engine_info(
      {{"/info",
        R"({"model_id":"HuggingFaceTB/SmolLM2-135M","max_concurrent_requests":128,"max_input_tokens":1024,"max_total_tokens":2048,"version":"3.3.4"})"}},
      Engine::tgi);
  EXPECT_EQ(info.engine, "tgi");
  EXPECT_EQ(info.version, "3.3.4");
  EXPECT_EQ(info.served_model, "HuggingFaceTB/SmolLM2-135M");
  EXPECT_EQ(info.max_model_len, 2048);
}

TEST(EngineInfo, Sglang) {
  const EngineInfo info = parse_engine_info(
      {{"/get_server_info",
        R"({"model_path":"meta-llama/Llama-3.1-8B-Instruct","served_model_name":"llama","context_length":8192,"tp_size":1,"version":"0.5.4","internal_states":[{}]})"}});
  EXPECT_EQ(info.engine, "sglang");
  EXPECT_EQ(info.version, "0.5.4");
  EXPECT_EQ(info.served_model, "llama");
  EXPECT_EQ(info.max_model_len, 8192);
}

TEST(EngineInfo, OllamaAndNonJsonBodies) {
  const EngineInfo info = parse_engine_info(
      {{"/api/version", R"({"version":"0.12.3"})"}, {"/version", "not json"}});
  EXPECT_EQ(info.engine, "ollama");
  EXPECT_EQ(info.version, "0.12.3");
  EXPECT_EQ(info.raw["/version"], "not json");  // kept verbatim
}

TEST(EngineInfo, GivenEngineNamesTheResult) {
  const EngineInfo info = parse_engine_info({}, Engine::llamacpp_python);
  EXPECT_EQ(info.engine, "llama-cpp-python");
  EXPECT_TRUE(info.served_model.empty());
  EXPECT_FALSE(info.max_model_len.has_value());
}

TEST(EngineInfo, InfoPaths) {
  EXPECT_EQ(info_paths(Engine::llamacpp), (std::vector<std::string>{"/props", "/v1/models"}));
  EXPECT_EQ(info_paths(std::nullopt).size(), 7u);
}

// fetch_engine_info against a scripted server answering with the llama.cpp capture; the server
// runs on its own thread because fetch_engine_info blocks.
TEST(EngineInfo, FetchFromServer) {
  namespace t = net::testing;
  const std::string props = slurp(kCaptures + "props.json");
  const std::string models = body_of(slurp(kCaptures + "models.txt"));
  boost::asio::io_context io;
  t::TestServer* self = nullptr;
  t::TestServer server(io, [&](t::ServerConn& conn) -> boost::asio::awaitable<void> {
    while (co_await conn.read_request()) {
      const std::string target(self->requests().back().target());
      const std::string* body = target == "/props"       ? &props
                                : target == "/v1/models" ? &models
                                                         : nullptr;
      const std::string response =
          body ? "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body->size()) + "\r\n\r\n" + *body
               : std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      if (!co_await conn.write(response)) co_return;
    }
  });
  self = &server;
  const std::string url = server.url();
  std::thread thread([&io] { io.run(); });
  const EngineInfo known = fetch_engine_info(url, Engine::llamacpp);
  const EngineInfo probed = fetch_engine_info(url, std::nullopt);  // tries every endpoint
  io.stop();
  thread.join();
  for (const EngineInfo* info : {&known, &probed}) {
    EXPECT_EQ(info->engine, "llama.cpp");
    EXPECT_EQ(info->version, "b4748-c392e5094");
    EXPECT_EQ(info->served_model, "/work/eval-local/tiny.gguf");
    EXPECT_EQ(info->max_model_len, 1024);
    EXPECT_EQ(info->raw.size(), 2u);  // the 404s are skipped
  }
}

TEST(EngineInfo, FetchFromNobodyIsEmpty) {
  const EngineInfo info = fetch_engine_info("http://127.0.0.1:1", Engine::vllm);
  EXPECT_EQ(info.engine, "vllm");
  EXPECT_TRUE(info.version.empty());
  EXPECT_TRUE(info.raw.empty());
}

TEST(NvidiaSmi, ParsesFixture) {
  const auto gpus = parse_nvidia_smi(slurp(SPLLEED_FIXTURES "/launch/nvidia-smi.csv"));
  ASSERT_EQ(gpus.size(), 3u);
  EXPECT_EQ(gpus[0].name, "NVIDIA H200");
  EXPECT_EQ(gpus[0].memory_total_mib, 143771u);
  EXPECT_EQ(gpus[0].driver_version, "570.124.06");
  EXPECT_EQ(gpus[1].name, "NVIDIA GeForce RTX 4090");
  EXPECT_EQ(gpus[2].name, "NVIDIA A100-SXM4-80GB");
  EXPECT_FALSE(gpus[2].memory_total_mib.has_value());
  EXPECT_TRUE(parse_nvidia_smi("").empty());
}

}  // namespace
}  // namespace splleed::launch
