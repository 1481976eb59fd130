#include "report/compare_table.hpp"

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(CompareTable, AlignedRowsWithIntervalChangeAndVerdict) {
  metrics::ComparisonRow worse;
  worse.label = "concurrency=1";
  worse.metric = "ttft";
  worse.stat = "p99";
  worse.diff = {true, 100, 125.5, 25.5, 10.25, 40};
  worse.verdict = stats::Verdict::worse;
  metrics::ComparisonRow same = worse;
  same.metric = "request_throughput";
  same.stat = "value";
  same.diff = {true, 16, 15.5, -0.5, -2, 1};
  same.verdict = stats::Verdict::no_change;
  metrics::ComparisonRow none = worse;
  none.metric = "ttst";
  none.diff = {};
  std::ostringstream out;
  write_comparison({worse, same, none}, 0.9, out);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_THAT(lines[0], HasSubstr("90% interval"));
  EXPECT_THAT(lines[1], HasSubstr("+25.50  [+10.25, +40.00]  +25.5%  worse"));
  EXPECT_THAT(lines[2], HasSubstr("no significant change"));
  EXPECT_THAT(lines[3], HasSubstr("no samples"));
  // Columns line up: the B column ends at the same offset on every data row.
  EXPECT_EQ(lines[1].find("125.50") + 6, lines[2].find("15.50") + 5);
}

TEST(CompareTable, IdenticalFixtureFilesShowNoChange) {
  const BenchmarkResult a = testing::rich_result();
  const auto rows = metrics::compare(a, a, metrics::CompareOptions{});
  std::ostringstream out;
  write_comparison(rows, 0.95, out);
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("worse")));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("better")));
}

TEST(Console, AcrossTrialsOnlyWithRepeatedTrials) {
  BenchmarkResult one = testing::rich_result();
  metrics::finalize(one);  // every label has a single trial
  std::ostringstream a;
  write_console(one, a);
  EXPECT_THAT(a.str(), ::testing::Not(HasSubstr("Across trials")));
  EXPECT_THAT(a.str(), ::testing::Not(HasSubstr("goodput")));  // no SLOs configured

  std::ostringstream b;
  write_console(testing::trials_result(), b);
  EXPECT_THAT(b.str(), HasSubstr("Across trials"));
  EXPECT_THAT(b.str(), HasSubstr("concurrency=1: 3 trials"));
  EXPECT_THAT(b.str(), HasSubstr("good fraction:            33.3% (1 of 3 sent met every SLO)"));
}

}  // namespace
}  // namespace splleed::report
