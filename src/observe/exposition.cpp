#include "observe/exposition.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

// Hand-written: none of the available libraries (Boost, simdjson, nlohmann-json, fmt, ICU) parses
// the Prometheus/OpenMetrics text formats, and the format is a small line grammar.

namespace splleed::observe {
namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_name_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_label_start(char c) noexcept { return is_name_start(c) && c != ':'; }
bool is_label_char(char c) noexcept { return is_name_char(c) && c != ':'; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the next blank-separated token of `s` (leading blanks skipped).
std::string_view next_token(std::string_view& s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  std::size_t n = 0;
  while (n < s.size() && !is_blank(s[n])) ++n;
  std::string_view tok = s.substr(0, n);
  s.remove_prefix(n);
  return tok;
}

bool valid_metric_name(std::string_view n) noexcept {
  return !n.empty() && is_name_start(n.front()) && std::all_of(n.begin(), n.end(), is_name_char);
}

std::optional<MetricType> parse_type(std::string_view word) noexcept {
  static constexpr std::array<std::pair<std::string_view, MetricType>, 9> kTypes{{
      {"counter", MetricType::counter},
      {"gauge", MetricType::gauge},
      {"histogram", MetricType::histogram},
      {"summary", MetricType::summary},
      {"untyped", MetricType::untyped},
      {"unknown", MetricType::untyped},  // OpenMetrics' name for untyped
      {"gaugehistogram", MetricType::gaugehistogram},
      {"info", MetricType::info},
      {"stateset", MetricType::stateset},
  }};
  for (const auto& [w, t] : kTypes) {
    if (w == word) return t;
  }
  return std::nullopt;
}

// Suffixes a sample of a family of type `t` may add to the family name.
bool type_allows_suffix(MetricType t, std::string_view suffix) noexcept {
  switch (t) {
    case MetricType::histogram:
      return suffix == "_bucket" || suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::summary:
      return suffix == "_sum" || suffix == "_count" || suffix == "_created";
    case MetricType::counter:
      return suffix == "_total" || suffix == "_created";
    case MetricType::gaugehistogram:
      return suffix == "_bucket" || suffix == "_gsum" || suffix == "_gcount";
    case MetricType::info:
      return suffix == "_info";
    default:
      return false;
  }
}

// HELP text escapes: `\\` and `\n` (plus `\"` in OpenMetrics); anything else is kept verbatim.
std::string unescape_help(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[i + 1];
      if (c == '\\' || c == '"') {
        out += c;
        ++i;
        continue;
      }
      if (c == 'n') {
        out += '\n';
        ++i;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Parses a quoted string starting at s[pos] == '"'; advances pos past the closing quote.
std::optional<std::string> parse_quoted(std::string_view s, std::size_t& pos, std::string& err) {
  std::string out;
  ++pos;  // opening quote
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      ++pos;
      return out;
    }
    if (c == '\\') {
      if (pos + 1 >= s.size()) break;
      const char e = s[pos + 1];
      if (e == '\\' || e == '"') {
        out += e;
      } else if (e == 'n') {
        out += '\n';
      } else {
        err = fmt::format("invalid escape sequence '\\{}' in a quoted string", e);
        return std::nullopt;
      }
      pos += 2;
      continue;
    }
    out += c;
    ++pos;
  }
  err = "unterminated quoted string";
  return std::nullopt;
}

struct FamilyState {
  bool type_declared = false;
  bool help_declared = false;
};

class Parser {
 public:
  explicit Parser(Format f) { out_.format = f; }

  void line(std::size_t number, std::string_view text) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const std::string_view t = trim(text);
    if (t.empty()) return;  // blank lines are tolerated in both formats
    if (out_.saw_eof) {
      error(number, text, "content after # EOF");
      return;
    }
    if (t.front() == '#') {
      comment(number, text, t);
    } else {
      sample(number, text);
    }
  }

  Exposition finish() && { return std::move(out_); }

 private:
  void error(std::size_t number, std::string_view text, std::string message) {
    out_.errors.push_back(ParseError{number, std::string(text), std::move(message)});
  }

  std::size_t family(std::string_view name) {
    if (const auto it = index_.find(std::string(name)); it != index_.end()) return it->second;
    out_.families.push_back(MetricFamily{std::string(name), MetricType::untyped, {}, {}, {}});
    state_.emplace_back();
    index_.emplace(std::string(name), out_.families.size() - 1);
    return out_.families.size() - 1;
  }

  void comment(std::size_t number, std::string_view text, std::string_view t) {
    std::string_view rest = t.substr(1);
    const std::string_view keyword = next_token(rest);
    if (keyword == "EOF" && trim(rest).empty()) {
      out_.saw_eof = true;
      return;
    }
    if (keyword != "HELP" && keyword != "TYPE" && keyword != "UNIT") return;  // plain comment
    const std::string_view name = next_token(rest);
    if (!valid_metric_name(name)) {
      error(number, text, fmt::format("invalid metric name '{}' in # {}", name, keyword));
      return;
    }
    // The text after exactly one separating blank (HELP text may start with blanks of its own).
    if (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
    std::optional<MetricType> type;
    if (keyword == "TYPE") {
      type = parse_type(trim(rest));
      if (!type) {
        error(number, text, fmt::format("unknown metric type '{}'", trim(rest)));
        return;
      }
    }
    const std::size_t fi = family(name);
    MetricFamily& fam = out_.families[fi];
    FamilyState& st = state_[fi];
    if (keyword == "HELP") {
      if (st.help_declared) {
        error(number, text, fmt::format("second # HELP for '{}'", name));
        return;
      }
      st.help_declared = true;
      fam.help = unescape_help(rest);
    } else if (keyword == "TYPE") {
      if (st.type_declared) {
        error(number, text, fmt::format("second # TYPE for '{}'", name));
        return;
      }
      if (!fam.samples.empty()) {
        error(number, text, fmt::format("# TYPE for '{}' after its samples", name));
        return;
      }
      st.type_declared = true;
      fam.type = *type;
    } else {
      fam.unit = std::string(trim(rest));
    }
  }

  // The family a sample named `name` belongs to: the family of that exact name, else a declared
  // family whose type allows the suffix, else a new untyped family.
  std::size_t family_for_sample(std::string_view name) {
    if (const auto it = index_.find(std::string(name)); it != index_.end()) return it->second;
    static constexpr std::array<std::string_view, 8> kSuffixes{
        "_bucket", "_count", "_sum", "_created", "_total", "_gcount", "_gsum", "_info"};
    for (const std::string_view suffix : kSuffixes) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        const std::string base(name.substr(0, name.size() - suffix.size()));
        if (const auto it = index_.find(base);
            it != index_.end() && type_allows_suffix(out_.families[it->second].type, suffix)) {
          return it->second;
        }
      }
    }
    return family(name);
  }

  // Parses `{...}` starting at s[pos] == '{'. A quoted element with no `=` is the metric name
  // (Prometheus 3 UTF-8 form); it is returned through `name`.
  bool labels(std::string_view s, std::size_t& pos, Labels& out, std::string& name, std::string& err) {
    ++pos;  // '{'
    const auto skip = [&] {
      while (pos < s.size() && is_blank(s[pos])) ++pos;
    };
    while (true) {
      skip();
      if (pos >= s.size()) {
        err = "unterminated label set";
        return false;
      }
      if (s[pos] == '}') {
        ++pos;
        break;
      }
      std::string lname;
      bool quoted = false;
      if (s[pos] == '"') {
        auto q = parse_quoted(s, pos, err);
        if (!q) return false;
        lname = std::move(*q);
        quoted = true;
      } else if (is_label_start(s[pos])) {
        const std::size_t b = pos;
        while (pos < s.size() && is_label_char(s[pos])) ++pos;
        lname = std::string(s.substr(b, pos - b));
      } else {
        err = fmt::format("invalid label name at column {}", pos + 1);
        return false;
      }
      skip();
      if (quoted && (pos >= s.size() || s[pos] != '=')) {
        if (!name.empty()) {
          err = "metric name given twice";
          return false;
        }
        name = std::move(lname);
      } else {
        if (pos >= s.size() || s[pos] != '=') {
          err = fmt::format("expected '=' after label name '{}'", lname);
          return false;
        }
        ++pos;
        skip();
        if (pos >= s.size() || s[pos] != '"') {
          err = fmt::format("expected '\"' to open the value of label '{}'", lname);
          return false;
        }
        auto value = parse_quoted(s, pos, err);
        if (!value) return false;
        const bool duplicate = std::any_of(out.begin(), out.end(), [&](const Label& l) { return l.name == lname; });
        if (duplicate) {
          err = fmt::format("duplicate label '{}'", lname);
          return false;
        }
        out.push_back(Label{std::move(lname), std::move(*value)});
      }
      skip();
      if (pos < s.size() && s[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < s.size() && s[pos] == '}') {
        ++pos;
        break;
      }
      err = "expected ',' or '}' in the label set";
      return false;
    }
    return true;
  }

  void sample(std::size_t number, std::string_view text) {
    std::string_view s = text;
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    std::size_t pos = 0;
    std::string name;
    while (pos < s.size() && is_name_char(s[pos])) ++pos;
    if (pos > 0) {
      if (!is_name_start(s.front())) {
        error(number, text, "invalid metric name");
        return;
      }
      name = std::string(s.substr(0, pos));
    }
    // Blanks may separate the name from `{`; otherwise they separate it from the value.
    std::size_t brace = pos;
    while (brace < s.size() && is_blank(s[brace])) ++brace;
    if (brace < s.size() && s[brace] == '{') pos = brace;
    Labels ls;
    if (pos < s.size() && s[pos] == '{') {
      std::string err;
      if (!labels(s, pos, ls, name, err)) {
        error(number, text, std::move(err));
        return;
      }
    }
    if (name.empty()) {
      error(number, text, "missing metric name");
      return;
    }
    if (pos >= s.size() || !is_blank(s[pos])) {
      error(number, text, pos >= s.size() ? "missing value" : "expected a blank before the value");
      return;
    }
    std::string_view rest = s.substr(pos);
    const std::string_view value_tok = next_token(rest);
    const auto value = parse_float(value_tok);
    if (!value) {
      error(number, text, fmt::format("invalid value '{}'", value_tok));
      return;
    }
    Sample smp;
    smp.value = *value;
    std::string_view ts_tok = next_token(rest);
    if (!ts_tok.empty() && ts_tok != "#") {
      if (out_.format == Format::openmetrics) {
        const auto secs = parse_float(ts_tok);
        if (!secs || !std::isfinite(*secs)) {
          error(number, text, fmt::format("invalid timestamp '{}'", ts_tok));
          return;
        }
        smp.timestamp_ms = std::llround(*secs * 1000.0);
      } else {
        std::int64_t ms = 0;
        const auto [p, ec] = std::from_chars(ts_tok.data(), ts_tok.data() + ts_tok.size(), ms);
        if (ec != std::errc{} || p != ts_tok.data() + ts_tok.size()) {
          error(number, text, fmt::format("invalid timestamp '{}'", ts_tok));
          return;
        }
        smp.timestamp_ms = ms;
      }
      ts_tok = next_token(rest);
    }
    // Anything left must be an exemplar (` # {...} value [ts]`), which is skipped.
    if (!ts_tok.empty() && ts_tok != "#") {
      error(number, text, fmt::format("unexpected '{}' after the value", ts_tok));
      return;
    }

    // An empty label value means the label is absent.
    std::erase_if(ls, [](const Label& l) { return l.value.empty(); });
    std::sort(ls.begin(), ls.end(), [](const Label& a, const Label& b) { return a.name < b.name; });

    const std::size_t fi = family_for_sample(name);
    MetricFamily& fam = out_.families[fi];
    if ((fam.type == MetricType::histogram || fam.type == MetricType::gaugehistogram) &&
        name.ends_with("_bucket")) {
      const std::string* le = find_label(ls, "le");
      if (le == nullptr || !parse_float(*le)) {
        error(number, text, "histogram bucket without a numeric 'le' label");
        return;
      }
    }
    if (fam.type == MetricType::summary && name == fam.name) {
      const std::string* q = find_label(ls, "quantile");
      if (q == nullptr || !parse_float(*q)) {
        error(number, text, "summary sample without a numeric 'quantile' label");
        return;
      }
    }
    smp.name = std::move(name);
    smp.labels = std::move(ls);
    fam.samples.push_back(std::move(smp));
  }

  Exposition out_;
  std::vector<FamilyState> state_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

std::string_view to_string(MetricType t) noexcept {
  switch (t) {
    case MetricType::untyped: return "untyped";
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    case MetricType::summary: return "summary";
    case MetricType::gaugehistogram: return "gaugehistogram";
    case MetricType::info: return "info";
    case MetricType::stateset: return "stateset";
  }
  return "untyped";
}

const std::string* find_label(const Labels& labels, std::string_view name) noexcept {
  for (const Label& l : labels) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}

std::string ParseError::to_string() const { return fmt::format("line {}: {}: {}", line_number, message, line); }

const MetricFamily* Exposition::find(std::string_view family_name) const noexcept {
  for (const MetricFamily& f : families) {
    if (f.name == family_name) return &f;
  }
  return nullptr;
}

std::size_t Exposition::sample_count() const noexcept {
  std::size_t n = 0;
  for (const MetricFamily& f : families) n += f.samples.size();
  return n;
}

Format format_from_content_type(std::string_view content_type) noexcept {
  return content_type.find("application/openmetrics-text") != std::string_view::npos ? Format::openmetrics
                                                                                      : Format::prometheus_text;
}

std::optional<double> parse_float(std::string_view tok) noexcept {
  if (tok.empty()) return std::nullopt;
  bool negative = false;
  if (tok.front() == '+' || tok.front() == '-') {
    negative = tok.front() == '-';
    tok.remove_prefix(1);
    if (tok.empty() || tok.front() == '+' || tok.front() == '-') return std::nullopt;
  }
  if (iequals(tok, "inf") || iequals(tok, "infinity")) {
    const double inf = std::numeric_limits<double>::infinity();
    return negative ? -inf : inf;
  }
  if (iequals(tok, "nan")) return std::numeric_limits<double>::quiet_NaN();
  // std::from_chars is locale-independent, unlike strtod.
  double v = 0;
  const auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // Overflow saturates to infinity and underflow to zero, as Go's ParseFloat does for values.
    const bool tiny = tok.find_first_of("eE") != std::string_view::npos &&
                      tok.find('-', tok.find_first_of("eE")) != std::string_view::npos;
    v = tiny ? 0.0 : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc{} || p != tok.data() + tok.size()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

Exposition parse_exposition(std::string_view text, std::optional<Format> format) {
  if (!format) {
    std::string_view t = text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || is_blank(t.back()))) t.remove_suffix(1);
    const std::size_t nl = t.rfind('\n');
    const std::string_view last = trim(nl == std::string_view::npos ? t : t.substr(nl + 1));
    format = last == "# EOF" ? Format::openmetrics : Format::prometheus_text;
  }
  Parser p(*format);
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    p.line(++number, line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  Exposition e = std::move(p).finish();
  if (e.format == Format::openmetrics && !e.saw_eof) {
    e.errors.push_back(ParseError{number, "", "OpenMetrics exposition does not end with # EOF"});
  }
  return e;
}

}  // namespace splleed::observe
