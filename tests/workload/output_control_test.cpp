// Output-length fields per engine and the mismatch count.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "workload/output_control.hpp"

namespace splleed::workload::test {
namespace {

using nlohmann::json;

TEST(OutputLengthFields, PerEngine) {
  for (const char* api : {"openai", "vllm", "openai-completions", "openai-chat"}) {
    const auto c = output_length_fields(api, 128);
    EXPECT_EQ(c.patch, (json{{"max_tokens", 128}, {"min_tokens", 128}, {"ignore_eos", true}})) << api;
    EXPECT_TRUE(c.exact);
  }
  const auto tgi = output_length_fields("tgi", 64);
  EXPECT_EQ(tgi.patch, (json{{"parameters", {{"max_new_tokens", 64}}}}));
  EXPECT_FALSE(tgi.exact);
  EXPECT_THAT(tgi.note, ::testing::HasSubstr("ignore_eos"));

  const auto llama = output_length_fields("llamacpp", 32);
  EXPECT_EQ(llama.patch, (json{{"n_predict", 32}, {"ignore_eos", true}}));
  EXPECT_TRUE(llama.exact);

  const auto sglang = output_length_fields("sglang", 16);
  EXPECT_EQ(sglang.patch,
            (json{{"sampling_params",
                   {{"max_new_tokens", 16}, {"min_new_tokens", 16}, {"ignore_eos", true}}}}));
  EXPECT_TRUE(sglang.exact);

  for (const char* api : {"ollama", "ollama-generate", "ollama-chat"}) {
    const auto o = output_length_fields(api, 8);
    EXPECT_EQ(o.patch, (json{{"options", {{"num_predict", 8}}}})) << api;
    EXPECT_FALSE(o.exact);
    EXPECT_FALSE(o.note.empty());
  }
}

TEST(OutputLengthFields, PatchMergesIntoABody) {
  json body = {{"inputs", "x"}, {"parameters", {{"details", true}}}};
  body.merge_patch(output_length_fields("tgi", 10).patch);
  EXPECT_EQ(body["parameters"], (json{{"details", true}, {"max_new_tokens", 10}}));
}

TEST(OutputLengthFields, UnknownApiOrBadLength) {
  EXPECT_THROW(output_length_fields("triton-ish", 10), std::invalid_argument);
  EXPECT_THROW(output_length_fields("openai", 0), std::invalid_argument);
}

TEST(OutputLengthCheck, CountsShortLongExactAndUnknown) {
  const std::vector<OutputLengthSample> s = {
      {100, 100}, {100, 37}, {50, 52}, {64, std::nullopt}, {100, 90}, {10, 11}};
  const auto r = check_output_lengths(s);
  EXPECT_EQ(r.requests, 6);
  EXPECT_EQ(r.unknown, 1);
  EXPECT_EQ(r.exact, 1);
  EXPECT_EQ(r.shorter, 2);
  EXPECT_EQ(r.longer, 2);
  EXPECT_EQ(r.worst_short, 63);
  EXPECT_EQ(r.worst_short_index, 1u);
  EXPECT_EQ(r.worst_long, 2);
  EXPECT_EQ(r.worst_long_index, 2u);
  EXPECT_DOUBLE_EQ(r.mean_abs_diff, (0 + 63 + 2 + 10 + 1) / 5.0);
  EXPECT_EQ(r.requested_total, 360);
  EXPECT_EQ(r.produced_total, 290);
  EXPECT_EQ(describe(r),
            "2 of 5 requests ended short (worst: 63 tokens short, request 1); 2 of 5 ran long "
            "(worst: 2 tokens over, request 2); 1 had no token count");
  const json j = to_json(r);
  EXPECT_EQ(j["shorter"], 2);
  EXPECT_EQ(j["worst_long_index"], 2);
}

TEST(OutputLengthCheck, AllExactAndEmpty) {
  const std::vector<OutputLengthSample> s = {{5, 5}, {7, 7}};
  const auto r = check_output_lengths(s);
  EXPECT_EQ(r.exact, 2);
  EXPECT_FALSE(r.worst_short_index.has_value());
  EXPECT_EQ(describe(r), "all 2 requests with a count produced the requested length");
  EXPECT_EQ(describe(check_output_lengths({})), "no requests");
  EXPECT_TRUE(to_json(check_output_lengths({}))["worst_short_index"].is_null());
}

}  // namespace
}  // namespace splleed::workload::test
