#pragma once
// Parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text.
//
// Contract:
// - Samples belong to the family named by `# TYPE` / `# HELP` / `# UNIT`; a sample's type is its
//   family's declared type, never guessed from the name. A sample whose name is not declared is
//   matched to a declared family through the suffix that family's type allows (`_bucket`, `_sum`,
//   `_count`, `_created` for histograms; `_total`, `_created` for counters; ...), otherwise it forms
//   an untyped family of its own.
// - Labels are returned sorted by name with escapes decoded; empty label values are dropped (an
//   empty value means the label is absent).
// - A malformed line becomes a ParseError (line number, the line, the reason) and parsing goes on:
//   one bad line never loses the rest of a scrape.
// - Timestamps are normalised to integer milliseconds (0.0.4 sends ms, OpenMetrics float seconds).
//   Exemplars are skipped.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace splleed::observe {

enum class MetricType { untyped, counter, gauge, histogram, summary, gaugehistogram, info, stateset };

std::string_view to_string(MetricType t) noexcept;

enum class Format { prometheus_text, openmetrics };

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};
using Labels = std::vector<Label>;  // sorted by name, names unique

// The value of label `name`, or nullptr when absent.
const std::string* find_label(const Labels& labels, std::string_view name) noexcept;

struct Sample {
  std::string name;  // the sample's own name, e.g. `x_bucket`
  Labels labels;
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
};

struct MetricFamily {
  std::string name;  // as named by the metadata (or the sample name when undeclared)
  MetricType type = MetricType::untyped;
  std::string help;
  std::string unit;
  std::vector<Sample> samples;
};

struct ParseError {
  std::size_t line_number = 0;  // 1-based
  std::string line;
  std::string message;
  std::string to_string() const;  // "line N: <message>: <line>"
};

struct Exposition {
  Format format = Format::prometheus_text;
  std::vector<MetricFamily> families;  // in order of first appearance
  std::vector<ParseError> errors;
  bool saw_eof = false;  // `# EOF` was present

  const MetricFamily* find(std::string_view family_name) const noexcept;
  std::size_t sample_count() const noexcept;
};

// Format from a Content-Type header value: `application/openmetrics-text` -> openmetrics, else
// prometheus_text.
Format format_from_content_type(std::string_view content_type) noexcept;

// Parses `text`. Without an explicit format, a body whose last non-blank line is `# EOF` is
// OpenMetrics, anything else Prometheus text 0.0.4.
Exposition parse_exposition(std::string_view text, std::optional<Format> format = std::nullopt);

// Go-style float as the formats allow: decimal or exponent, `NaN`, `+Inf`, `-Inf` (case-insensitive),
// whole token only, independent of the C locale.
std::optional<double> parse_float(std::string_view token) noexcept;

}  // namespace splleed::observe
