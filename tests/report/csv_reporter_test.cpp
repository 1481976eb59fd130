#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report {
namespace {

using ::testing::ElementsAre;

// A minimal RFC 4180 reader, enough to check that the writer's output parses back.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        rows.back().back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        rows.back().back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  if (rows.back().size() == 1 && rows.back().front().empty()) rows.pop_back();
  return rows;
}

template <class Write>
std::vector<std::vector<std::string>> rows_of(const BenchmarkResult& r, Write write) {
  std::ostringstream out;
  write(r, out);
  return parse_csv(out.str());
}

TEST(CsvSummary, OneRowPerRunAndMetricWithAFixedWidth) {
  const auto rows = rows_of(testing::rich_result(), write_csv_summary);
  ASSERT_EQ(rows.size(), 1u + 2u * kMetricCount);
  const auto& header = rows[0];
  const std::vector<std::string> first(header.begin(), header.begin() + 15);
  EXPECT_THAT(first, ElementsAre("run", "label", "concurrency", "trial", "metric", "count",
                                 "mean_ms", "std_ms", "min_ms", "p50_ms", "p90_ms", "p95_ms",
                                 "p99_ms", "p999_ms", "max_ms"));
  for (const auto& row : rows) EXPECT_EQ(row.size(), header.size());
  EXPECT_THAT(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 6),
              ElementsAre("0", "concurrency=1", "1", "0", "ttft", "2"));
  EXPECT_EQ(rows[1 + kMetricCount][4], "ttft");
  EXPECT_EQ(rows[1 + kMetricCount][0], "1");
}

TEST(CsvSummary, ThroughputColumnsRepeatOnEveryRowOfTheRun) {
  const auto rows = rows_of(testing::rich_result(), write_csv_summary);
  const auto& header = rows[0];
  const auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  ASSERT_LT(col("requests_per_s"), header.size());
  ASSERT_LT(col("token_source"), header.size());
  for (int k = 0; k < kMetricCount; ++k) {
    EXPECT_EQ(rows[1 + k][col("requests_per_s")], "16.666666666666668");
    EXPECT_EQ(rows[1 + k][col("token_source")], "events");
    EXPECT_EQ(rows[1 + kMetricCount + k][col("output_tokens_per_s")], "175");
    EXPECT_EQ(rows[1 + kMetricCount + k][col("token_source")], "usage");
  }
}

TEST(CsvSummary, RampUpGetsItsOwnRowsMarkedByPhase) {
  const auto rows = rows_of(testing::open_loop_result(), write_csv_summary);
  ASSERT_EQ(rows.size(), 1u + 2u * kMetricCount);
  const auto& header = rows[0];
  const auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  for (int k = 0; k < kMetricCount; ++k) {
    EXPECT_EQ(rows[1 + k][col("phase")], "steady");
    EXPECT_EQ(rows[1 + kMetricCount + k][col("phase")], "ramp_up");
    EXPECT_EQ(rows[1 + k][col("request_rate")], "2.5");
  }
  EXPECT_EQ(rows[1][col("requests_sent")], "2");
  EXPECT_EQ(rows[1 + kMetricCount][col("requests_sent")], "1");
  // Closed-loop runs leave request_rate empty.
  const auto closed = rows_of(testing::rich_result(), write_csv_summary);
  EXPECT_EQ(closed[1][col("request_rate")], "");
}

TEST(CsvSummary, MetricWithoutSamplesHasEmptyCells) {
  BenchmarkResult r;
  RunResult run;
  run.label = "a,\"b\"";
  r.runs.push_back(run);
  const auto rows = rows_of(r, write_csv_summary);
  ASSERT_EQ(rows.size(), 1u + kMetricCount);
  EXPECT_EQ(rows[1][1], "a,\"b\"");  // quoted on write, intact on read
  EXPECT_EQ(rows[1][5], "0");
  for (std::size_t c = 6; c <= 14; ++c) EXPECT_EQ(rows[1][c], "") << c;
}

TEST(CsvSummary, ClientHealthColumnsComeLastOnEveryRow) {
  const auto rows = rows_of(testing::rich_result(), write_csv_summary);
  const auto& header = rows[0];
  ASSERT_GE(header.size(), 5u);
  EXPECT_THAT(std::vector<std::string>(header.end() - 6, header.end()),
              ElementsAre("good_fraction", "client_limited", "delivered_rate",
                          "schedule_lag_p99_ms", "wakeup_delay_p99_ms", "max_worker_cpu"));
  const auto last5 = [](const std::vector<std::string>& row) {
    return std::vector<std::string>(row.end() - 5, row.end());
  };
  for (std::size_t k = 0; k < kMetricCount; ++k) {
    ASSERT_EQ(rows[1 + k].size(), header.size());
    // Closed loop: no rate was asked, so delivered_rate is empty.
    EXPECT_THAT(last5(rows[1 + k]), ElementsAre("false", "", "0.15", "0.08", "0.12"));
    EXPECT_THAT(last5(rows[1 + kMetricCount + k]), ElementsAre("true", "", "0.15", "7.5", "0.95"));
  }
}

TEST(CsvSummary, OpenLoopHealthRepeatsOnTheRampUpRows) {
  const auto rows = rows_of(testing::open_loop_result(), write_csv_summary);
  const auto& header = rows[0];
  const auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  ASSERT_LT(col("delivered_rate"), header.size());
  for (std::size_t row = 1; row < rows.size(); ++row) {
    EXPECT_EQ(rows[row][col("delivered_rate")], "2.41");
    EXPECT_EQ(rows[row][col("max_worker_cpu")], "0.031");
  }
}

TEST(CsvRequests, QuotesCommasQuotesAndNewlines) {
  const auto rows = rows_of(testing::rich_result(), write_csv_requests);
  ASSERT_EQ(rows.size(), 1u + 8u);
  const auto& header = rows[0];
  for (const auto& row : rows) EXPECT_EQ(row.size(), header.size());
  EXPECT_EQ(header.back(), "error");
  EXPECT_EQ(rows[4].back(), R"(HTTP 503: {"error":"overloaded, retry"})");
  EXPECT_EQ(rows[7].back(), "read timeout after 60000 ms\nno bytes since headers");
}

TEST(CsvRequests, RelativeMillisecondsAndDerivedMetrics) {
  const auto rows = rows_of(testing::rich_result(), write_csv_requests);
  const auto& header = rows[0];
  const auto cell = [&](std::size_t row, const std::string& name) {
    return rows[row][static_cast<std::size_t>(std::find(header.begin(), header.end(), name) -
                                              header.begin())];
  };
  EXPECT_EQ(cell(2, "warmup"), "false");
  EXPECT_EQ(cell(1, "warmup"), "true");
  EXPECT_EQ(cell(2, "dispatched_ms"), "40.15");
  EXPECT_EQ(cell(2, "ttft_ms"), "19.85");
  EXPECT_EQ(cell(2, "tpot_ms"), "10.05");  // (110.25 - 60) / (6 - 1), usage count
  EXPECT_EQ(cell(2, "e2e_ms"), "70.1");
  EXPECT_EQ(cell(2, "token_events"), "4");
  EXPECT_EQ(cell(2, "output_tokens"), "6");
  EXPECT_EQ(cell(2, "prompt_tokens"), "12");
  EXPECT_EQ(cell(3, "prompt_tokens"), "");  // no usage
  EXPECT_EQ(cell(4, "status"), "http_error");
  EXPECT_EQ(cell(4, "http_status"), "503");
  EXPECT_EQ(cell(4, "first_token_ms"), "");
  EXPECT_EQ(cell(4, "ttft_ms"), "");
}

}  // namespace
}  // namespace splleed::report
