// Engine profiles: detection, canonical signals from each engine's names (old and new), counter
// windows, latency histograms, llama.cpp's reset-on-read gauges, DCGM sentinels.
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "observe/profiles.hpp"
#include "observe_test_util.hpp"

namespace splleed::observe::test {
namespace {

constexpr Nanos kS = kNanosPerSecond;

SeriesStore store_of(const std::vector<std::string>& scrapes, Nanos step = kS) {
  SeriesStore st;
  Nanos t = 0;
  for (const std::string& text : scrapes) {
    st.append(t, parse_exposition(text));
    t += step;
  }
  return st;
}

// The value of a gauge signal at the single scrape of `text`.
std::optional<double> gauge_of(const std::string& text, EngineKind k, Signal s) {
  const SeriesStore st = store_of({text});
  const auto tl = signal_timeline(st, profile_for(k), s);
  if (tl.empty()) return std::nullopt;
  EXPECT_EQ(tl.size(), 1u);
  return tl.front().value;
}

// ---- Detection ----

struct DetectCase {
  const char* path;  // relative to tests/fixtures
  EngineKind kind;
  const char* variant;
};

class Detect : public ::testing::TestWithParam<DetectCase> {};

TEST_P(Detect, FromTheSeriesNames) {
  const DetectCase c = GetParam();
  const Detection d = detect_engine(parse_exposition(read_text(std::string(SPLLEED_FIXTURES) + "/" + c.path)));
  EXPECT_EQ(d.kind, c.kind) << to_string(d.kind);
  EXPECT_EQ(d.variant, c.variant);
}

INSTANTIATE_TEST_SUITE_P(
    Engines, Detect,
    ::testing::Values(DetectCase{"observe/vllm_v1.txt", EngineKind::vllm, "v1"},
                      DetectCase{"observe/vllm_v0.txt", EngineKind::vllm, "v0"},
                      DetectCase{"observe/sglang.txt", EngineKind::sglang, ""},
                      DetectCase{"observe/tgi.txt", EngineKind::tgi, ""},
                      DetectCase{"captures/llamacpp-server-b4748/metrics_busy.txt", EngineKind::llamacpp, ""},
                      DetectCase{"observe/triton_trtllm.txt", EngineKind::triton_trtllm, "triton"},
                      DetectCase{"observe/trtllm_serve.txt", EngineKind::triton_trtllm, "trtllm-serve"},
                      DetectCase{"observe/dcgm_exporter.txt", EngineKind::dcgm, ""}));

TEST(Detect, NothingKnownIsUnknown) {
  EXPECT_EQ(detect_engine(parse_exposition("process_cpu_seconds_total 3\n")).kind, EngineKind::unknown);
  EXPECT_EQ(detect_engine(std::vector<std::string>{}).kind, EngineKind::unknown);
}

// ---- Gauges from one scrape, per engine ----

TEST(ProfileGauges, VllmV1) {
  const std::string t = fixture("vllm_v1.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::running_requests), 12);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::waiting_requests), 3);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::kv_cache_usage), 0.4375);
}

TEST(ProfileGauges, VllmV0NamesMapToTheSameSignals) {
  const std::string t = fixture("vllm_v0.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::running_requests), 32);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::waiting_requests), 17);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::kv_cache_usage), 0.9821);  // gpu_cache_usage_perc
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::spec_acceptance_rate), 0.62);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::reported_generation_tps), 2210.9);
  // -1 means the prefix cache is off: missing, not a rate of -100%.
  EXPECT_FALSE(gauge_of(t, EngineKind::vllm, Signal::prefix_cache_hit_rate));
}

TEST(ProfileGauges, VllmSumsDataParallelEngines) {
  const std::string t = fixture("vllm_v1_openmetrics.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::vllm, Signal::running_requests), 10);
}

TEST(ProfileGauges, SGLang) {
  const std::string t = fixture("sglang.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::sglang, Signal::running_requests), 24);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::sglang, Signal::waiting_requests), 9);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::sglang, Signal::kv_cache_usage), 0.91);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::sglang, Signal::spec_acceptance_rate), 0.6);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::sglang, Signal::spec_mean_acceptance_length), 2.8);
}

TEST(ProfileGauges, TgiKvProxyIsReservedTokensOverCapacity) {
  const std::string t = fixture("tgi.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::tgi, Signal::running_requests), 8);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::tgi, Signal::waiting_requests), 5);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::tgi, Signal::kv_cache_usage), 18432.0 / 65536.0);
}

TEST(ProfileGauges, TritonTrtLlmSelectorLabels) {
  const std::string t = fixture("triton_trtllm.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::running_requests), 32);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::waiting_requests), 6);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::kv_cache_usage), 0.734375);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::gpu_utilization), 0.97);
}

TEST(ProfileGauges, TritonWithoutFractionFallsBackToUsedOverMaxBlocks) {
  const std::string t =
      "# TYPE nv_trt_llm_kv_cache_block_metrics gauge\n"
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"used\",model=\"tensorrt_llm\",version=\"1\"} 300\n"
      "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"max\",model=\"tensorrt_llm\",version=\"1\"} 400\n";
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::kv_cache_usage), 0.75);
}

TEST(ProfileGauges, TrtllmServe) {
  const std::string t = fixture("trtllm_serve.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::running_requests), 16);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::waiting_requests), 2);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::kv_cache_usage), 0.5);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::triton_trtllm, Signal::prefix_cache_hit_rate), 0.125);
}

TEST(ProfileGauges, DcgmNormalisesUnitsAndAggregatesGpus) {
  const std::string t = fixture("dcgm_exporter.txt");
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_utilization), 0.9);  // (100 + 80) / 2 %
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_memory_used_bytes), 2 * 75172.0 * 1048576.0);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_power_w), 612.337 + 488.101);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_temperature_c), 61);
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_sm_clock_mhz), (1980.0 + 1755.0) / 2);
  EXPECT_NEAR(*gauge_of(t, EngineKind::dcgm, Signal::gpu_tensor_active), (0.412 + 0.301) / 2, 1e-12);
}

TEST(ProfileGauges, DcgmSentinelIsMissingNotAHugeNumber) {
  const std::string t =
      "# TYPE DCGM_FI_DEV_GPU_TEMP gauge\n"
      "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"} 9223372036854775794\nDCGM_FI_DEV_GPU_TEMP{gpu=\"1\"} 57\n";
  EXPECT_DOUBLE_EQ(*gauge_of(t, EngineKind::dcgm, Signal::gpu_temperature_c), 57);
  EXPECT_FALSE(gauge_of("DCGM_FI_DEV_GPU_TEMP{gpu=\"0\"} 9223372036854775794\n", EngineKind::dcgm,
                        Signal::gpu_temperature_c));
}

TEST(ProfileGauges, SignalTheProfileLacksIsEmpty) {
  EXPECT_TRUE(signal_timeline(store_of({fixture("tgi.txt")}), profile_for(EngineKind::tgi),
                              Signal::prefix_cache_hit_rate)
                  .empty());
  EXPECT_TRUE(signal_timeline(store_of({fixture("tgi.txt")}), profile_for(EngineKind::unknown),
                              Signal::running_requests)
                  .empty());
}

// ---- Counters over scrape intervals and windows ----

std::string vllm_counters(double preempt, double hits, double queries, double drafts, double draft_tokens,
                          double accepted, double iter_sum, double iter_count, double gen) {
  return fmt::format(
      "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{engine=\"0\",model_name=\"m\"}} 1\n"
      "# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{{engine=\"0\",model_name=\"m\"}} 0.5\n"
      "# TYPE vllm:num_preemptions_total counter\nvllm:num_preemptions_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:prefix_cache_hits_total counter\nvllm:prefix_cache_hits_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:prefix_cache_queries_total counter\nvllm:prefix_cache_queries_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:spec_decode_num_drafts_total counter\nvllm:spec_decode_num_drafts_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:spec_decode_num_draft_tokens_total counter\n"
      "vllm:spec_decode_num_draft_tokens_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:spec_decode_num_accepted_tokens_total counter\n"
      "vllm:spec_decode_num_accepted_tokens_total{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:iteration_tokens_total histogram\n"
      "vllm:iteration_tokens_total_sum{{engine=\"0\",model_name=\"m\"}} {}\n"
      "vllm:iteration_tokens_total_count{{engine=\"0\",model_name=\"m\"}} {}\n"
      "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total{{engine=\"0\",model_name=\"m\"}} {}\n",
      preempt, hits, queries, drafts, draft_tokens, accepted, iter_sum, iter_count, gen);
}

TEST(ProfileCounters, VllmDerivedSignalsPerInterval) {
  const SeriesStore st = store_of({vllm_counters(0, 0, 0, 0, 0, 0, 0, 0, 0),
                                   vllm_counters(4, 300, 1000, 100, 300, 180, 6400, 200, 1000),
                                   vllm_counters(4, 300, 1000, 100, 300, 180, 6400, 200, 1000)},
                                  2 * kS);
  const EngineProfile& p = profile_for(EngineKind::vllm);
  const auto pre = signal_timeline(st, p, Signal::preemptions_per_s);
  ASSERT_EQ(pre.size(), 2u);
  EXPECT_EQ(pre[0].from, 0);
  EXPECT_EQ(pre[0].to, 2 * kS);
  EXPECT_DOUBLE_EQ(pre[0].value, 2);  // 4 preemptions in 2 s
  EXPECT_DOUBLE_EQ(pre[1].value, 0);
  const auto hit = signal_timeline(st, p, Signal::prefix_cache_hit_rate);
  ASSERT_EQ(hit.size(), 1u);  // no queries in the second interval: no rate
  EXPECT_DOUBLE_EQ(hit[0].value, 0.3);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::spec_acceptance_rate).at(0).value, 0.6);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::spec_mean_acceptance_length).at(0).value, 2.8);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::tokens_per_step).at(0).value, 32);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::steps_per_s).at(0).value, 100);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::generation_tokens_per_s).at(0).value, 500);

  // Over the whole window: exact deltas, not averages of interval values.
  EXPECT_DOUBLE_EQ(*signal_over(st, p, Signal::preemptions_per_s, 0, 4 * kS), 1);
  EXPECT_DOUBLE_EQ(*signal_over(st, p, Signal::prefix_cache_hit_rate, 0, 4 * kS), 0.3);
  EXPECT_DOUBLE_EQ(*signal_over(st, p, Signal::kv_cache_usage, 0, 4 * kS), 0.5);
  EXPECT_FALSE(signal_over(st, p, Signal::prefix_cache_hit_rate, 2 * kS, 4 * kS));
}

TEST(ProfileCounters, EngineRestartBetweenScrapesCountsTheNewValue) {
  const SeriesStore st = store_of({vllm_counters(50, 0, 0, 0, 0, 0, 0, 0, 0), vllm_counters(3, 0, 0, 0, 0, 0, 0, 0, 0)});
  const auto pre = signal_timeline(st, profile_for(EngineKind::vllm), Signal::preemptions_per_s);
  ASSERT_EQ(pre.size(), 1u);
  EXPECT_DOUBLE_EQ(pre[0].value, 3);
}

TEST(ProfileCounters, SGLangPrefixHitRateUsesTheTotalCacheSource) {
  const auto scrape = [](double device, double host, double prompt) {
    return fmt::format(
        "# TYPE sglang:cached_tokens_total counter\n"
        "sglang:cached_tokens_total{{cache_source=\"device\",model_name=\"q\"}} {0}\n"
        "sglang:cached_tokens_total{{cache_source=\"host\",model_name=\"q\"}} {1}\n"
        "sglang:cached_tokens_total{{cache_source=\"total\",model_name=\"q\"}} {2}\n"
        "# TYPE sglang:prompt_tokens_total counter\nsglang:prompt_tokens_total{{model_name=\"q\"}} {3}\n",
        device, host, device + host, prompt);
  };
  const SeriesStore st = store_of({scrape(0, 0, 0), scrape(300, 100, 1000)});
  EXPECT_DOUBLE_EQ(*signal_over(st, profile_for(EngineKind::sglang), Signal::prefix_cache_hit_rate, 0, kS), 0.4);
}

// ---- llama.cpp, on real captures ----

TEST(ProfileLlamaCpp, TwoRealScrapes) {
  const SeriesStore st = store_of({capture("llamacpp-server-b4748/metrics_after_load.txt"),
                                   capture("llamacpp-server-b4748/metrics_final.txt")});
  const EngineProfile& p = profile_for(EngineKind::llamacpp);
  // (Δprompt 768 + Δpredicted 4088) tokens over Δn_decode 4085 calls.
  EXPECT_NEAR(signal_timeline(st, p, Signal::tokens_per_step).at(0).value, (768.0 + 4088.0) / 4085.0, 1e-12);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::steps_per_s).at(0).value, 4085);
  // Declared a counter, read as the running average it is.
  const auto batch = signal_timeline(st, p, Signal::mean_batch_size);
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_DOUBLE_EQ(batch[1].value, 1.11084);
  EXPECT_DOUBLE_EQ(signal_timeline(st, p, Signal::kv_cache_usage).at(1).value, 0.138428);
}

TEST(ProfileLlamaCpp, ThroughputGaugesCoverTheIntervalSinceThePreviousRead) {
  const SeriesStore st = store_of({capture("llamacpp-server-b4748/metrics_after_load.txt"),
                                   capture("llamacpp-server-b4748/metrics_final.txt")},
                                  3 * kS);
  const auto tps = signal_timeline(st, profile_for(EngineKind::llamacpp), Signal::reported_generation_tps);
  ASSERT_EQ(tps.size(), 2u);
  EXPECT_EQ(tps[1].from, 0);
  EXPECT_EQ(tps[1].to, 3 * kS);
  EXPECT_DOUBLE_EQ(tps[1].value, 1115.42);
  // A gauge instead holds from its scrape onwards.
  const auto run = signal_timeline(st, profile_for(EngineKind::llamacpp), Signal::running_requests);
  ASSERT_EQ(run.size(), 2u);
  EXPECT_EQ(run[0].from, 0);
  EXPECT_EQ(run[0].to, 3 * kS);
}

// ---- Latency histograms over a window ----

TEST(ProfileLatency, VllmTtftFromBucketDeltas) {
  const auto scrape = [](double b1, double b2, double inf, double sum) {
    return fmt::format(
        "# TYPE vllm:time_to_first_token_seconds histogram\n"
        "vllm:time_to_first_token_seconds_bucket{{engine=\"0\",le=\"0.1\",model_name=\"m\"}} {}\n"
        "vllm:time_to_first_token_seconds_bucket{{engine=\"0\",le=\"0.5\",model_name=\"m\"}} {}\n"
        "vllm:time_to_first_token_seconds_bucket{{engine=\"0\",le=\"+Inf\",model_name=\"m\"}} {}\n"
        "vllm:time_to_first_token_seconds_sum{{engine=\"0\",model_name=\"m\"}} {}\n"
        "vllm:time_to_first_token_seconds_count{{engine=\"0\",model_name=\"m\"}} {}\n",
        b1, b2, inf, sum, inf);
  };
  const SeriesStore st = store_of({scrape(100, 100, 100, 5), scrape(110, 130, 140, 17)});
  const auto w = latency_window(st, profile_for(EngineKind::vllm), Latency::ttft, 0, kS);
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(w->count, 40);
  EXPECT_DOUBLE_EQ(*w->mean(), 0.3);
  EXPECT_DOUBLE_EQ(w->quantile(0.5), 0.1 + 0.4 * (20.0 - 10.0) / 20.0);
  EXPECT_FALSE(latency_window(st, profile_for(EngineKind::vllm), Latency::decode, 0, kS));
}

TEST(ProfileLatency, VllmOldItlNameIsUsedWhenTheNewOneIsAbsent) {
  const SeriesStore st = store_of({fixture("vllm_v0.txt"), fixture("vllm_v0.txt")});
  const auto w = latency_window(st, profile_for(EngineKind::vllm), Latency::itl, 0, kS);
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(w->count, 0);  // same scrape twice: nothing new
}

TEST(ProfileLatency, TritonMillisecondHistogramIsConvertedToSeconds) {
  const auto scrape = [](double b100, double b500, double inf, double sum) {
    return fmt::format(
        "# TYPE nv_inference_first_response_histogram_ms histogram\n"
        "nv_inference_first_response_histogram_ms_count{{model=\"t\",version=\"1\"}} {2}\n"
        "nv_inference_first_response_histogram_ms_sum{{model=\"t\",version=\"1\"}} {3}\n"
        "nv_inference_first_response_histogram_ms_bucket{{model=\"t\",version=\"1\",le=\"100\"}} {0}\n"
        "nv_inference_first_response_histogram_ms_bucket{{model=\"t\",version=\"1\",le=\"500\"}} {1}\n"
        "nv_inference_first_response_histogram_ms_bucket{{model=\"t\",version=\"1\",le=\"+Inf\"}} {2}\n",
        b100, b500, inf, sum);
  };
  const SeriesStore st = store_of({scrape(0, 0, 0, 0), scrape(5, 10, 10, 2000)});
  const auto w = latency_window(st, profile_for(EngineKind::triton_trtllm), Latency::ttft, 0, kS);
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(*w->mean(), 0.2);
  EXPECT_DOUBLE_EQ(w->buckets[0].le, 0.1);
  EXPECT_DOUBLE_EQ(w->quantile(0.75), 0.1 + 0.4 * 0.5);
}

TEST(ProfileLatency, TgiDecodeStepHistogramSelectsTheDecodeMethod) {
  const SeriesStore st = store_of({fixture("tgi.txt"), fixture("tgi.txt")});
  const auto w = latency_window(st, profile_for(EngineKind::tgi), Latency::step, 0, kS);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->buckets.size(), 6u);  // the decode series only, not prefill's
}

// ---- Unknown series stay raw ----

TEST(ProfileRaw, UnmappedSeriesAreKeptAndReadableByName) {
  const SeriesStore st = store_of({fixture("vllm_v1.txt")});
  const auto unmapped = unmapped_names(st, profile_for(EngineKind::vllm));
  EXPECT_NE(std::find(unmapped.begin(), unmapped.end(), "vllm:cache_config_info"), unmapped.end());
  EXPECT_NE(std::find(unmapped.begin(), unmapped.end(), "http_requests_total"), unmapped.end());
  EXPECT_EQ(std::find(unmapped.begin(), unmapped.end(), "vllm:num_requests_running"), unmapped.end());
  EXPECT_EQ(std::find(unmapped.begin(), unmapped.end(), "vllm:time_to_first_token_seconds_bucket"), unmapped.end());
  EXPECT_EQ(std::find(unmapped.begin(), unmapped.end(), "vllm:time_to_first_token_seconds_created"), unmapped.end());
  const auto info = st.select("vllm:cache_config_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(*find_label(info[0].labels, "num_gpu_blocks"), "27000");
}

TEST(ProfileNames, EveryEnumHasAName) {
  for (int i = 0; i < kSignalCount; ++i) EXPECT_FALSE(to_string(static_cast<Signal>(i)).empty());
  for (int i = 0; i < kLatencyCount; ++i) EXPECT_FALSE(to_string(static_cast<Latency>(i)).empty());
  EXPECT_EQ(to_string(Signal::gpu_dram_active), "gpu_dram_active");
  EXPECT_EQ(to_string(Latency::step), "step");
}

}  // namespace
}  // namespace splleed::observe::test
