#pragma once
// A strict little reader of Prometheus text format 0.0.4 for the simulator's tests: it records
// every problem instead of skipping it, so a test can assert the exposition is clean.
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace splleed::sim::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::vector<std::string> order;              // family names in TYPE order
  std::map<std::string, std::string> types;    // family -> counter|gauge|histogram|...
  std::map<std::string, std::string> helps;    // family -> help text
  std::vector<Sample> samples;
  std::vector<std::string> errors;

  // The value of the one sample with this name whose labels include `labels`.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    std::optional<double> found;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (!match) continue;
      if (found) return std::nullopt;  // ambiguous
      found = s.value;
    }
    return found;
  }
  double at(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    auto v = value(name, labels);
    return v ? *v : -1.0;
  }
};

// The family a sample belongs to: histogram samples end in _bucket, _count or _sum.
inline std::string family_of(const Exposition& e, const std::string& sample) {
  for (std::string_view suffix : {"_bucket", "_count", "_sum"}) {
    if (sample.size() > suffix.size() && sample.ends_with(suffix)) {
      std::string base = sample.substr(0, sample.size() - suffix.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return sample;
}

inline bool valid_name(std::string_view n, bool colons) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

inline Exposition parse_exposition(std::string_view text) {
  Exposition e;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why) { e.errors.push_back("line " + std::to_string(line_no) + ": " + why); };
  if (!text.empty() && text.back() != '\n') {
    e.errors.push_back("the body does not end with a newline");
  }
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      auto sp = rest.find(' ');
      if (sp == std::string_view::npos) {
        fail("metadata without text");
        continue;
      }
      std::string name(rest.substr(0, sp));
      std::string arg(rest.substr(sp + 1));
      if (!valid_name(name, true)) fail("bad metric name " + name);
      if (line[2] == 'H') {
        if (e.helps.count(name)) fail("second HELP for " + name);
        e.helps[name] = arg;
      } else {
        if (e.types.count(name)) fail("second TYPE for " + name);
        if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" && arg != "untyped")
          fail("unknown type " + arg);
        e.types[name] = arg;
        e.order.push_back(name);
      }
      continue;
    }
    if (line.starts_with("#")) continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (!valid_name(s.name, true)) fail("bad sample name " + s.name);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        // Whitespace may follow the separating comma (dcgm-exporter writes `gpu="0", UUID=...`).
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t k = i;
        while (i < line.size() && line[i] != '=') ++i;
        std::string key(line.substr(k, i - k));
        if (!valid_name(key, false)) fail("bad label name " + key);
        if (i + 1 >= line.size() || line[i + 1] != '"') {
          fail("label value not quoted");
          break;
        }
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        if (s.labels.count(key)) fail("label repeated: " + key);
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) {
        fail("unterminated labels");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      fail("no value");
      continue;
    }
    std::string value(line.substr(i + 1));
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0') fail("bad value '" + value + "'");
    if (!e.types.count(family_of(e, s.name))) fail("sample before its TYPE: " + s.name);
    e.samples.push_back(std::move(s));
  }
  return e;
}

// Cumulative buckets that never decrease, end at +Inf and equal _count. Empty when consistent.
inline std::string check_histogram(const Exposition& e, const std::string& name) {
  double prev = -1, inf = -1, last_le = -1e300;
  int buckets = 0;
  for (const auto& s : e.samples) {
    if (s.name != name + "_bucket") continue;
    ++buckets;
    auto le = s.labels.find("le");
    if (le == s.labels.end()) return name + ": a bucket without le";
    double bound = std::strtod(le->second.c_str(), nullptr);
    if (bound <= last_le) return name + ": bounds not increasing at " + le->second;
    last_le = bound;
    if (s.value < prev) return name + ": buckets not cumulative at le=" + le->second;
    prev = s.value;
    if (le->second == "+Inf") inf = s.value;
  }
  if (buckets == 0) return name + ": no buckets";
  if (inf < 0) return name + ": no +Inf bucket";
  auto count = e.value(name + "_count");
  if (!count || *count != inf) return name + ": _count differs from the +Inf bucket";
  if (!e.value(name + "_sum")) return name + ": no _sum";
  return {};
}

}  // namespace splleed::sim::testing
