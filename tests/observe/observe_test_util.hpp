#pragma once
// Shared test helpers: fixture loading and a canonical text dump of a parsed exposition.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "observe/exposition.hpp"
#include "observe/series_store.hpp"

namespace splleed::observe::test {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string fixture(const std::string& name) {
  return read_text(std::string(SPLLEED_FIXTURES) + "/observe/" + name);
}

inline std::string capture(const std::string& name) {
  return read_text(std::string(SPLLEED_CAPTURES) + "/" + name);
}

// One line per family header and per sample, values in %.17g so the dump is exact.
inline std::string dump(const Exposition& e) {
  std::string out;
  for (const MetricFamily& f : e.families) {
    out += fmt::format("family {} type={} unit={} help={:?}\n", f.name, to_string(f.type), f.unit, f.help);
    for (const Sample& s : f.samples) {
      out += fmt::format("  {} = {:.17g}", series_key(s.name, s.labels), s.value);
      if (s.timestamp_ms) out += fmt::format(" @{}ms", *s.timestamp_ms);
      out += '\n';
    }
  }
  for (const ParseError& err : e.errors) out += "error " + err.to_string() + '\n';
  return out;
}

}  // namespace splleed::observe::test
