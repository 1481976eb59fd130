#include "launch/launch_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace splleed::launch {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LaunchSpec, ParsesEngineNames) {
  EXPECT_EQ(parse_engine("vllm"), Engine::vllm);
  EXPECT_EQ(parse_engine("llama.cpp"), Engine::llamacpp);
  EXPECT_EQ(parse_engine("llama-cpp-python"), Engine::llamacpp_python);
  EXPECT_EQ(parse_engine("sim"), Engine::sim);
  EXPECT_EQ(parse_engine("ollama"), std::nullopt);
  for (Engine e : {Engine::vllm, Engine::tgi, Engine::sglang, Engine::llamacpp,
                   Engine::llamacpp_python, Engine::sim}) {
    EXPECT_EQ(parse_engine(to_string(e)), e);
  }
}

TEST(LaunchSpec, VllmMinimal) {
  LaunchSpec s;
  s.engine = Engine::vllm;
  s.model = "Qwen/Qwen2.5-0.5B";
  auto cmd = build_command(s, 8001);
  EXPECT_THAT(cmd.argv, ElementsAre("vllm", "serve", "Qwen/Qwen2.5-0.5B", "--host", "127.0.0.1",
                                    "--port", "8001"));
  EXPECT_EQ(cmd.health_path, "/health");
}

TEST(LaunchSpec, VllmAllOptions) {
  LaunchSpec s;
  s.engine = Engine::vllm;
  s.model = "m";
  s.binary = "/opt/venv/bin/vllm";
  s.served_model_name = "served";
  s.vllm.tensor_parallel_size = 2;
  s.vllm.pipeline_parallel_size = 1;
  s.vllm.gpu_memory_utilization = 0.9;
  s.vllm.max_num_seqs = 256;
  s.vllm.max_num_batched_tokens = 8192;
  s.vllm.max_model_len = 4096;
  s.vllm.dtype = "bfloat16";
  s.vllm.kv_cache_dtype = "fp8";
  s.vllm.quantization = "awq";
  s.vllm.enable_prefix_caching = false;
  s.vllm.enable_chunked_prefill = true;
  s.extra_args = {"--seed", "1"};
  auto cmd = build_command(s, 9000);
  EXPECT_THAT(cmd.argv,
              ElementsAre("/opt/venv/bin/vllm", "serve", "m", "--host", "127.0.0.1", "--port",
                          "9000", "--served-model-name", "served", "--tensor-parallel-size", "2",
                          "--pipeline-parallel-size", "1", "--gpu-memory-utilization", "0.9",
                          "--max-num-seqs", "256", "--max-num-batched-tokens", "8192",
                          "--max-model-len", "4096", "--dtype", "bfloat16", "--kv-cache-dtype",
                          "fp8", "--quantization", "awq", "--no-enable-prefix-caching",
                          "--enable-chunked-prefill", "--seed", "1"));
}

TEST(LaunchSpec, Tgi) {
  LaunchSpec s;
  s.engine = Engine::tgi;
  s.model = "HuggingFaceTB/SmolLM2-135M";
  s.tgi.num_shard = 2;
  s.tgi.quantize = "eetq";
  s.tgi.max_concurrent_requests = 512;
  s.tgi.max_batch_total_tokens = 100000;
  s.tgi.max_input_tokens = 1024;
  s.tgi.max_total_tokens = 2048;
  auto cmd = build_command(s, 3000);
  EXPECT_THAT(cmd.argv,
              ElementsAre("text-generation-launcher", "--model-id", "HuggingFaceTB/SmolLM2-135M",
                          "--hostname", "127.0.0.1", "--port", "3000", "--num-shard", "2",
                          "--quantize", "eetq", "--max-concurrent-requests", "512",
                          "--max-batch-total-tokens", "100000", "--max-input-tokens", "1024",
                          "--max-total-tokens", "2048"));
  EXPECT_EQ(cmd.health_path, "/health");
}

TEST(LaunchSpec, Sglang) {
  LaunchSpec s;
  s.engine = Engine::sglang;
  s.model = "m";
  s.sglang.tp_size = 4;
  s.sglang.mem_fraction_static = 0.85;
  s.sglang.max_running_requests = 128;
  s.sglang.context_length = 8192;
  s.sglang.disable_radix_cache = true;
  auto cmd = build_command(s, 30000);
  EXPECT_THAT(cmd.argv, ElementsAre("python3", "-m", "sglang.launch_server", "--model-path", "m",
                                    "--host", "127.0.0.1", "--port", "30000", "--tp-size", "4",
                                    "--mem-fraction-static", "0.85", "--max-running-requests",
                                    "128", "--context-length", "8192", "--disable-radix-cache",
                                    "--enable-metrics"));
}

TEST(LaunchSpec, Llamacpp) {
  LaunchSpec s;
  s.engine = Engine::llamacpp;
  s.model = "/models/tiny.gguf";
  s.served_model_name = "tiny";
  s.llamacpp.ctx_size = 4096;
  s.llamacpp.parallel = 4;
  s.llamacpp.threads = 8;
  s.llamacpp.n_gpu_layers = 99;
  auto cmd = build_command(s, 8080);
  EXPECT_THAT(cmd.argv, ElementsAre("llama-server", "--model", "/models/tiny.gguf", "--host",
                                    "127.0.0.1", "--port", "8080", "--alias", "tiny", "--ctx-size",
                                    "4096", "--parallel", "4", "--threads", "8", "--n-gpu-layers",
                                    "99", "--metrics"));
  EXPECT_EQ(cmd.health_path, "/health");
  EXPECT_TRUE(model_is_local_file(Engine::llamacpp));
  EXPECT_FALSE(model_is_local_file(Engine::vllm));
}

TEST(LaunchSpec, LlamacppPython) {
  LaunchSpec s;
  s.engine = Engine::llamacpp_python;
  s.model = "tiny.gguf";
  s.binary = "/venv/bin/python";
  s.llamacpp_python.n_ctx = 2048;
  s.llamacpp_python.chat_format = "chatml";
  auto cmd = build_command(s, 8000);
  EXPECT_THAT(cmd.argv, ElementsAre("/venv/bin/python", "-m", "llama_cpp.server", "--model",
                                    "tiny.gguf", "--host", "127.0.0.1", "--port", "8000",
                                    "--n_ctx", "2048", "--chat_format", "chatml",
                                    "--interrupt_requests", "False"));
  EXPECT_EQ(cmd.health_path, "/v1/models");
}

TEST(LaunchSpec, Sim) {
  LaunchSpec s;
  s.engine = Engine::sim;
  s.model = "m";
  s.binary = "/build/bin/splleed";
  s.extra_args = {"--ttft-ms", "5"};
  auto cmd = build_command(s, 1234);
  EXPECT_THAT(cmd.argv, ElementsAre("/build/bin/splleed", "sim", "--host", "127.0.0.1", "--port",
                                    "1234", "--model", "m", "--ttft-ms", "5"));
}

TEST(LaunchSpec, RejectsMissingModelAndBadRanges) {
  LaunchSpec s;
  s.engine = Engine::vllm;
  try {
    build_command(s, 1);
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--model"));
  }
  s.model = "m";
  s.vllm.gpu_memory_utilization = 1.5;
  EXPECT_THROW(build_command(s, 1), LaunchError);
  s.vllm.gpu_memory_utilization.reset();
  s.vllm.tensor_parallel_size = 0;
  EXPECT_THROW(build_command(s, 1), LaunchError);
}

TEST(LaunchSpec, SetOptionFromText) {
  LaunchSpec s;
  s.engine = Engine::vllm;
  set_option(s, "gpu-memory-utilization", "0.8");
  set_option(s, "tensor_parallel_size", "2");
  set_option(s, "--enable-prefix-caching", "false");
  set_option(s, "enable-chunked-prefill", "");
  set_option(s, "kv-cache-dtype", "fp8");
  EXPECT_EQ(s.vllm.gpu_memory_utilization, 0.8);
  EXPECT_EQ(s.vllm.tensor_parallel_size, 2);
  EXPECT_EQ(s.vllm.enable_prefix_caching, false);
  EXPECT_EQ(s.vllm.enable_chunked_prefill, true);
  EXPECT_EQ(s.vllm.kv_cache_dtype, "fp8");

  s.engine = Engine::llamacpp_python;
  set_option(s, "n_ctx", "512");
  EXPECT_EQ(s.llamacpp_python.n_ctx, 512);
  set_option(s, "interrupt-requests", "true");
  EXPECT_TRUE(s.llamacpp_python.interrupt_requests);
  s.model = "m.gguf";
  EXPECT_THAT(build_command(s, 1).argv, Contains("True"));
}

TEST(LaunchSpec, SetOptionErrorsNameTheKey) {
  LaunchSpec s;
  s.engine = Engine::tgi;
  try {
    set_option(s, "gpu-memory-utilization", "0.8");
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gpu-memory-utilization is not an option of the tgi engine"));
    EXPECT_THAT(e.what(), HasSubstr("max-batch-total-tokens"));
  }
  try {
    set_option(s, "num-shard", "two");
    FAIL() << "no throw";
  } catch (const LaunchError& e) {
    EXPECT_THAT(e.what(), HasSubstr("num-shard=two"));
    EXPECT_THAT(e.what(), HasSubstr("an integer"));
  }
  s.engine = Engine::sim;
  EXPECT_THROW(set_option(s, "x", "1"), LaunchError);
  EXPECT_FALSE(option_keys(Engine::sglang).empty());
}

}  // namespace
}  // namespace splleed::launch
