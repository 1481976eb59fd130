#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace splleed::net {

// A parsed http(s) base URL. Credentials in the URL are rejected (keys come from flags/env).
struct Url {
  bool tls = false;
  std::string host;       // without brackets for IPv6
  std::string port;       // always set ("80"/"443" by default)
  std::string base_path;  // no trailing slash; "" for the root

  // Parses scheme://host[:port][/path]. On failure returns nullopt and sets *error to a sentence.
  static std::optional<Url> parse(std::string_view text, std::string* error);
  std::string origin() const;  // scheme://host:port
  std::string host_header() const;
};

}  // namespace splleed::net
