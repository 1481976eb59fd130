#pragma once
// Reporters take a finished result and an output stream. They never touch the network.
#include <iosfwd>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "splleed/result.hpp"

namespace splleed::report {

// Aligned tables, one per run (load level / trial), in milliseconds.
void write_console(const BenchmarkResult& result, std::ostream& out);

// The lossless record (docs/results-format.md). Locale-free; API keys redacted.
nlohmann::json to_json(const BenchmarkResult& result);
void write_json(const BenchmarkResult& result, std::ostream& out);
// One entry of a run's "requests" array, timestamps relative to `origin` (for live views).
nlohmann::json request_to_json(const RequestRecord& record, Nanos origin);
// Inverse of to_json (for comparison tools and round-trip tests). Throws std::runtime_error
// naming the offending field on malformed input.
BenchmarkResult from_json(const nlohmann::json& j);

// One row per run and metric.
void write_csv_summary(const BenchmarkResult& result, std::ostream& out);
// One row per request.
void write_csv_requests(const BenchmarkResult& result, std::ostream& out);

}  // namespace splleed::report
