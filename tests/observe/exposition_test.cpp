// Prometheus text 0.0.4 / OpenMetrics 1.0 parser: golden dumps of each engine's exposition, and
// the grammar corners one at a time.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include <gtest/gtest.h>

#include "observe/exposition.hpp"
#include "observe_test_util.hpp"

namespace splleed::observe::test {
namespace {

const Sample* find_sample(const Exposition& e, std::string_view name, const Labels& match = {}) {
  for (const MetricFamily& f : e.families) {
    for (const Sample& s : f.samples) {
      if (s.name == name && labels_match(s.labels, match)) return &s;
    }
  }
  return nullptr;
}

const MetricFamily* family_of(const Exposition& e, std::string_view sample_name) {
  for (const MetricFamily& f : e.families) {
    for (const Sample& s : f.samples) {
      if (s.name == sample_name) return &f;
    }
  }
  return nullptr;
}

// ---- Golden dumps: every fixture parses to exactly the recorded families and samples. ----
// Set SPLLEED_UPDATE_GOLDENS=1 to rewrite the .golden files after a deliberate change.

struct GoldenCase {
  const char* input;   // path relative to tests/fixtures
  const char* golden;  // name under tests/fixtures/observe
};

class ExpositionGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(ExpositionGolden, MatchesGoldenDump) {
  const GoldenCase c = GetParam();
  const std::string input = read_text(std::string(SPLLEED_FIXTURES) + "/" + c.input);
  const std::string got = dump(parse_exposition(input));
  const std::string golden_path = std::string(SPLLEED_FIXTURES) + "/observe/" + c.golden;
  if (std::getenv("SPLLEED_UPDATE_GOLDENS") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << got;
  }
  EXPECT_EQ(got, read_text(golden_path));
}

INSTANTIATE_TEST_SUITE_P(
    Engines, ExpositionGolden,
    ::testing::Values(GoldenCase{"captures/llamacpp-server-b4748/metrics.txt", "llamacpp_metrics.golden"},
                      GoldenCase{"captures/llamacpp-server-b4748/metrics_busy.txt", "llamacpp_metrics_busy.golden"},
                      GoldenCase{"observe/vllm_v1.txt", "vllm_v1.golden"},
                      GoldenCase{"observe/vllm_v0.txt", "vllm_v0.golden"},
                      GoldenCase{"observe/vllm_v1_openmetrics.txt", "vllm_v1_openmetrics.golden"},
                      GoldenCase{"observe/sglang.txt", "sglang.golden"},
                      GoldenCase{"observe/tgi.txt", "tgi.golden"},
                      GoldenCase{"observe/triton_trtllm.txt", "triton_trtllm.golden"},
                      GoldenCase{"observe/trtllm_serve.txt", "trtllm_serve.golden"},
                      GoldenCase{"observe/dcgm_exporter.txt", "dcgm_exporter.golden"},
                      GoldenCase{"observe/malformed.txt", "malformed.golden"}),
    [](const ::testing::TestParamInfo<GoldenCase>& param_info) {
      std::string n = param_info.param.golden;
      n = n.substr(0, n.find('.'));
      return n;
    });

// ---- Real llama.cpp bytes ----

TEST(ExpositionLlamaCpp, CaptureParsesWithoutErrorsAndKeepsDeclaredTypes) {
  const Exposition e = parse_exposition(capture("llamacpp-server-b4748/metrics_busy.txt"));
  EXPECT_TRUE(e.errors.empty());
  EXPECT_EQ(e.format, Format::prometheus_text);
  EXPECT_EQ(e.families.size(), 12u);
  // Declared "counter" although it is an average: the parser reports what was declared.
  const MetricFamily* busy = e.find("llamacpp:n_busy_slots_per_decode");
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->type, MetricType::counter);
  EXPECT_DOUBLE_EQ(busy->samples.at(0).value, 1.11404);
  const MetricFamily* proc = e.find("llamacpp:requests_processing");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ(proc->type, MetricType::gauge);
  EXPECT_EQ(proc->help, "Number of requests processing.");
  EXPECT_DOUBLE_EQ(proc->samples.at(0).value, 1.0);
}

TEST(ExpositionLlamaCpp, CaptureWithHttpHeadersReportsEachHeaderLineAndKeepsEveryFamily) {
  // This capture holds the raw response, headers included: each header line is one error.
  const Exposition e = parse_exposition(capture("llamacpp-server-b4748/metrics.txt"));
  ASSERT_EQ(e.errors.size(), 7u);
  for (std::size_t i = 0; i < e.errors.size(); ++i) EXPECT_EQ(e.errors[i].line_number, i + 1);
  EXPECT_EQ(e.errors[0].line, "HTTP/1.1 200 OK");  // the \r is not part of the line
  ASSERT_EQ(e.families.size(), 12u);
  for (const MetricFamily& f : e.families) EXPECT_EQ(f.samples.size(), 1u) << f.name;
}

// ---- Typing by # TYPE, never by suffix ----

TEST(ExpositionTyping, HistogramSamplesJoinTheirFamily) {
  const Exposition e = parse_exposition(fixture("vllm_v1.txt"));
  EXPECT_TRUE(e.errors.empty());
  const MetricFamily* f = family_of(e, "vllm:time_to_first_token_seconds_bucket");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "vllm:time_to_first_token_seconds");
  EXPECT_EQ(f->type, MetricType::histogram);
  // prometheus_client's _created series is its own gauge family in 0.0.4.
  const MetricFamily* created = family_of(e, "vllm:time_to_first_token_seconds_created");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->type, MetricType::gauge);
}

TEST(ExpositionTyping, IterationTokensTotalIsAHistogramDespiteTheSuffix) {
  const Exposition e = parse_exposition(fixture("vllm_v1.txt"));
  const MetricFamily* f = e.find("vllm:iteration_tokens_total");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::histogram);
  EXPECT_EQ(family_of(e, "vllm:iteration_tokens_total_bucket"), f);
}

TEST(ExpositionTyping, UndeclaredSampleIsUntypedEvenWithACounterLikeName) {
  const Exposition e = parse_exposition("requests_total 3\nlatency_bucket{le=\"1\"} 2\n");
  ASSERT_EQ(e.families.size(), 2u);
  EXPECT_EQ(e.families[0].type, MetricType::untyped);
  EXPECT_EQ(e.families[0].name, "requests_total");
  EXPECT_EQ(e.families[1].type, MetricType::untyped);
}

TEST(ExpositionTyping, SummaryQuantilesSumAndCount) {
  const Exposition e = parse_exposition(
      "# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc{quantile=\"0.99\"} 1.5\nrpc_sum 30\nrpc_count 100\n");
  ASSERT_TRUE(e.errors.empty());
  ASSERT_EQ(e.families.size(), 1u);
  EXPECT_EQ(e.families[0].type, MetricType::summary);
  EXPECT_EQ(e.families[0].samples.size(), 4u);
  EXPECT_EQ(*find_label(e.families[0].samples[1].labels, "quantile"), "0.99");
}

TEST(ExpositionTyping, SummaryQuantileSampleWithoutQuantileIsAnError) {
  const Exposition e = parse_exposition("# TYPE rpc summary\nrpc 0.2\nrpc_count 1\n");
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0].line_number, 2u);
  EXPECT_EQ(e.families[0].samples.size(), 1u);
}

// ---- OpenMetrics ----

TEST(ExpositionOpenMetrics, CounterFamilyOwnsTotalAndCreatedSamples) {
  const Exposition e = parse_exposition(fixture("vllm_v1_openmetrics.txt"));
  EXPECT_EQ(e.format, Format::openmetrics);
  EXPECT_TRUE(e.saw_eof);
  EXPECT_TRUE(e.errors.empty()) << dump(e);
  const MetricFamily* f = e.find("vllm:num_preemptions");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::counter);
  ASSERT_EQ(f->samples.size(), 4u);
  EXPECT_EQ(f->samples[0].name, "vllm:num_preemptions_total");
  EXPECT_EQ(f->samples[1].name, "vllm:num_preemptions_created");
}

TEST(ExpositionOpenMetrics, ExemplarIsSkippedAndUnitKept) {
  const Exposition e = parse_exposition(fixture("vllm_v1_openmetrics.txt"));
  const MetricFamily* f = e.find("vllm:e2e_request_latency_seconds");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->unit, "seconds");
  const Sample* b = find_sample(e, "vllm:e2e_request_latency_seconds_bucket", {{"le", "0.3"}});
  ASSERT_NE(b, nullptr);
  EXPECT_DOUBLE_EQ(b->value, 1.0);
  EXPECT_FALSE(b->timestamp_ms.has_value());
}

TEST(ExpositionOpenMetrics, TimestampsAreFloatSecondsConvertedToMilliseconds) {
  const Exposition e = parse_exposition(fixture("vllm_v1_openmetrics.txt"));
  const Sample* s = find_sample(e, "vllm:lora_requests_info");
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->timestamp_ms.has_value());
  EXPECT_EQ(*s->timestamp_ms, 1741133661250);
  // Empty label values mean absent labels.
  EXPECT_EQ(find_label(s->labels, "running_lora_adapters"), nullptr);
  EXPECT_EQ(*find_label(s->labels, "max_lora"), "1");
}

TEST(ExpositionOpenMetrics, MissingEofIsReportedWhenTheFormatIsForced) {
  const Exposition e = parse_exposition("# TYPE a gauge\na 1\n", Format::openmetrics);
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_NE(e.errors[0].message.find("# EOF"), std::string::npos);
  EXPECT_EQ(e.families.at(0).samples.size(), 1u);
}

TEST(ExpositionOpenMetrics, ContentAfterEofIsAnError) {
  const Exposition e = parse_exposition("a 1\n# EOF\nb 2\n", Format::openmetrics);
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0].line_number, 3u);
  EXPECT_EQ(e.families.size(), 1u);
}

TEST(ExpositionOpenMetrics, FormatFromContentType) {
  EXPECT_EQ(format_from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            Format::openmetrics);
  EXPECT_EQ(format_from_content_type("text/plain; version=0.0.4"), Format::prometheus_text);
}

// ---- Prometheus 0.0.4 timestamps ----

TEST(ExpositionText, IntegerMillisecondTimestamp) {
  const Exposition e = parse_exposition("x 1 1741133661000\n");
  ASSERT_TRUE(e.errors.empty());
  EXPECT_EQ(*e.families[0].samples[0].timestamp_ms, 1741133661000);
}

TEST(ExpositionText, FloatTimestampIsAnErrorInTextFormat) {
  const Exposition e = parse_exposition("x 1 1741133661.5\n");
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_TRUE(e.families.empty());
}

// ---- Values ----

TEST(ExpositionValues, SpecialFloats) {
  const Exposition e = parse_exposition("a +Inf\nb -Inf\nc NaN\nd 1e+06\ne -0.5E-3\nf inf\n");
  ASSERT_TRUE(e.errors.empty());
  EXPECT_TRUE(std::isinf(e.families[0].samples[0].value) && e.families[0].samples[0].value > 0);
  EXPECT_TRUE(std::isinf(e.families[1].samples[0].value) && e.families[1].samples[0].value < 0);
  EXPECT_TRUE(std::isnan(e.families[2].samples[0].value));
  EXPECT_DOUBLE_EQ(e.families[3].samples[0].value, 1e6);
  EXPECT_DOUBLE_EQ(e.families[4].samples[0].value, -0.5e-3);
  EXPECT_TRUE(std::isinf(e.families[5].samples[0].value));
}

TEST(ExpositionValues, ParseFloatRejectsPartialTokens) {
  EXPECT_FALSE(parse_float("1.5x"));
  EXPECT_FALSE(parse_float(""));
  EXPECT_FALSE(parse_float("+-1"));
  EXPECT_FALSE(parse_float("one"));
  EXPECT_DOUBLE_EQ(*parse_float("+2.5"), 2.5);
  EXPECT_DOUBLE_EQ(*parse_float("9223372036854775794"), 9223372036854775794.0);
}

// ---- Labels ----

TEST(ExpositionLabels, EscapesAreDecodedAndLabelsSorted) {
  const Exposition e = parse_exposition("m{z=\"1\",path=\"C:\\\\dir\\\"q\\\"\\nnext\"} 7\n");
  ASSERT_TRUE(e.errors.empty()) << dump(e);
  const Labels& ls = e.families[0].samples[0].labels;
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].name, "path");
  EXPECT_EQ(ls[0].value, "C:\\dir\"q\"\nnext");
  EXPECT_EQ(ls[1].name, "z");
}

TEST(ExpositionLabels, BlanksAroundTokensAndTrailingComma) {
  const Exposition e = parse_exposition("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\", UUID = \"GPU-1\" , } 97\n");
  ASSERT_TRUE(e.errors.empty()) << dump(e);
  const Labels& ls = e.families[0].samples[0].labels;
  ASSERT_EQ(ls.size(), 2u);
  EXPECT_EQ(ls[0].name, "UUID");
  EXPECT_EQ(ls[0].value, "GPU-1");
}

TEST(ExpositionLabels, ColonsAreLegalInMetricNamesNotInLabelNames) {
  EXPECT_TRUE(parse_exposition("vllm:x 1\n").errors.empty());
  EXPECT_EQ(parse_exposition("x{a:b=\"1\"} 1\n").errors.size(), 1u);
}

TEST(ExpositionLabels, QuotedUtf8MetricNameInsideBraces) {
  const Exposition e = parse_exposition("{\"http.server.duration\", method=\"GET\"} 3\n");
  ASSERT_TRUE(e.errors.empty()) << dump(e);
  EXPECT_EQ(e.families[0].samples[0].name, "http.server.duration");
  EXPECT_EQ(*find_label(e.families[0].samples[0].labels, "method"), "GET");
}

TEST(ExpositionLabels, HistogramLeVariantsParseAsFloats) {
  const Exposition e = parse_exposition(
      "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"1.0\"} 2\nh_bucket{le=\"1e+06\"} 3\n"
      "h_bucket{le=\"+Inf\"} 3\nh_sum 4\nh_count 3\n");
  EXPECT_TRUE(e.errors.empty()) << dump(e);
  EXPECT_EQ(e.families.at(0).samples.size(), 6u);
}

// ---- Lines and comments ----

TEST(ExpositionLines, CrLfBlankLinesCommentsAndTabs) {
  const Exposition e = parse_exposition("# a comment\r\n\r\n# HELP a Some\\\\help\\nmore\r\n# TYPE a\tgauge\r\na\t1\r\n");
  ASSERT_TRUE(e.errors.empty()) << dump(e);
  ASSERT_EQ(e.families.size(), 1u);
  EXPECT_EQ(e.families[0].type, MetricType::gauge);
  EXPECT_EQ(e.families[0].help, "Some\\help\nmore");
  EXPECT_DOUBLE_EQ(e.families[0].samples[0].value, 1);
}

TEST(ExpositionLines, NoTrailingNewline) {
  const Exposition e = parse_exposition("a 1\nb 2");
  ASSERT_TRUE(e.errors.empty());
  EXPECT_EQ(e.families.size(), 2u);
}

// ---- Errors: named by line, never fatal ----

TEST(ExpositionErrors, MalformedLinesAreCollectedAndTheRestParsed) {
  const Exposition e = parse_exposition(fixture("malformed.txt"));
  // Every well-formed sample survives.
  const Sample* g1 = find_sample(e, "good_gauge", {{"a", "1"}});
  const Sample* g2 = find_sample(e, "good_gauge", {{"a", "2"}});
  ASSERT_NE(g1, nullptr);
  ASSERT_NE(g2, nullptr);
  EXPECT_EQ(*g2->timestamp_ms, 1741133661000);
  EXPECT_NE(find_sample(e, "escaped"), nullptr);
  EXPECT_EQ(e.find("good_gauge")->type, MetricType::gauge);  // the second TYPE was refused

  std::vector<std::size_t> lines;
  for (const ParseError& err : e.errors) lines.push_back(err.line_number);
  EXPECT_EQ(lines, (std::vector<std::size_t>{4, 5, 6, 7, 8, 10, 11, 13, 16}));
  // Each error names its line and quotes it.
  EXPECT_EQ(e.errors[0].line, "bad_value{a=\"1\"} one");
  EXPECT_EQ(e.errors[0].to_string(), "line 4: invalid value 'one': bad_value{a=\"1\"} one");
}

TEST(ExpositionErrors, TypeAfterSamplesIsRefused) {
  const Exposition e = parse_exposition("a 1\n# TYPE a counter\n");
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.families[0].type, MetricType::untyped);
}

}  // namespace
}  // namespace splleed::observe::test
