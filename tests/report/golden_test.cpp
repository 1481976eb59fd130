// Byte-for-byte comparisons of every report format against tests/fixtures/report/*.golden.
// SPLLEED_UPDATE_GOLDEN=1 rewrites the golden files from the current output (review the diff).
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "report/fixture.hpp"
#include "report/reporters.hpp"

namespace splleed::report {
namespace {

std::string golden_path(const std::string& name) {
  return std::string(SPLLEED_FIXTURES) + "/report/" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool updating() {
  const char* v = std::getenv("SPLLEED_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

void check_golden(const std::string& name,
                  const std::function<void(const BenchmarkResult&, std::ostream&)>& write,
                  const BenchmarkResult& result = testing::rich_result()) {
  std::ostringstream out;
  write(result, out);
  const std::string path = golden_path(name);
  if (updating()) {
    std::ofstream(path, std::ios::binary) << out.str();
    GTEST_SKIP() << "rewrote " << path;
  }
  const std::string expected = read_file(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; run with SPLLEED_UPDATE_GOLDEN=1";
  EXPECT_EQ(out.str(), expected) << "output differs from " << path
                                 << " (rerun with SPLLEED_UPDATE_GOLDEN=1 and review the diff)";
}

TEST(Golden, Console) { check_golden("console.golden", write_console); }
TEST(Golden, Json) { check_golden("results.json.golden", write_json); }
TEST(Golden, CsvSummary) { check_golden("summary.csv.golden", write_csv_summary); }
TEST(Golden, CsvRequests) { check_golden("requests.csv.golden", write_csv_requests); }

TEST(Golden, OpenLoopConsole) {
  check_golden("open_loop_console.golden", write_console, testing::open_loop_result());
}
TEST(Golden, OpenLoopJson) {
  check_golden("open_loop_results.json.golden", write_json, testing::open_loop_result());
}
TEST(Golden, OpenLoopCsvSummary) {
  check_golden("open_loop_summary.csv.golden", write_csv_summary, testing::open_loop_result());
}
TEST(Golden, OpenLoopCsvRequests) {
  check_golden("open_loop_requests.csv.golden", write_csv_requests, testing::open_loop_result());
}

TEST(Golden, TrialsConsole) {
  check_golden("trials_console.golden", write_console, testing::trials_result());
}
TEST(Golden, TrialsJson) {
  check_golden("trials_results.json.golden", write_json, testing::trials_result());
}
TEST(Golden, TrialsCsvSummary) {
  check_golden("trials_summary.csv.golden", write_csv_summary, testing::trials_result());
}

}  // namespace
}  // namespace splleed::report
