#include "net/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

// Hand-written: Boost.URL is not among the available libraries, and a base URL needs only
// scheme, host, port and path (no query, fragment, percent-decoding or relative resolution).

namespace splleed::net {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

bool valid_reg_name(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_ipv6_literal(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isxdigit(c) || c == ':' || c == '.';
  });
}

bool parse_port(std::string_view text, std::string* out) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    return false;
  }
  *out = std::to_string(value);
  return true;
}

// The host as it appears in a URL or Host header: IPv6 literals in brackets.
std::string bracketed(const Url& url) {
  return url.host.find(':') == std::string::npos ? url.host : "[" + url.host + "]";
}

}  // namespace

std::optional<Url> Url::parse(std::string_view text, std::string* error) {
  const std::string quoted = "'" + std::string(text) + "'";
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    fail(error, "the URL " + quoted + " has no scheme: write it as http://host:port or " +
                    "https://host:port.");
    return std::nullopt;
  }
  Url url;
  const std::string scheme = lower(text.substr(0, scheme_end));
  if (scheme == "https") {
    url.tls = true;
  } else if (scheme != "http") {
    fail(error, "the URL scheme '" + std::string(text.substr(0, scheme_end)) +
                    "' is not supported: use http:// or https://.");
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  // The URL is not echoed here: it holds a secret.
  if (authority.find('@') != std::string_view::npos) {
    fail(error, "the URL contains credentials (user:password@), which are not accepted: pass the "
                "API key with --api-key or the SPLLEED_API_KEY environment variable instead.");
    return std::nullopt;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    fail(error, "the URL " + quoted +
                    " has a query or fragment: give only scheme://host:port/base-path.");
    return std::nullopt;
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      fail(error, "the URL " + quoted + " has an IPv6 address without its closing ']'.");
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    if (!valid_ipv6_literal(host)) {
      fail(error, "the URL " + quoted + " has an invalid IPv6 address '" + std::string(host) +
                      "'.");
      return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        fail(error, "the URL " + quoted + " has unexpected text after the IPv6 address.");
        return std::nullopt;
      }
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos) {
      fail(error, "the URL " + quoted + " has an IPv6 address without brackets: write it as " +
                      "http://[::1]:8080.");
      return std::nullopt;
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (!valid_reg_name(host)) {
      fail(error, "the URL " + quoted + " has an invalid host name '" + std::string(host) + "'.");
      return std::nullopt;
    }
  }
  if (host.empty()) {
    fail(error, "the URL " + quoted + " has no host.");
    return std::nullopt;
  }
  if (has_port) {
    if (!parse_port(port_text, &url.port)) {
      fail(error, "the URL " + quoted + " has an invalid port '" + std::string(port_text) +
                      "': it must be a number from 1 to 65535.");
      return std::nullopt;
    }
  } else {
    url.port = url.tls ? "443" : "80";
  }
  url.host = lower(host);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

std::string Url::origin() const {
  return std::string(tls ? "https://" : "http://") + bracketed(*this) + ":" + port;
}

std::string Url::host_header() const {
  const bool default_port = port == (tls ? "443" : "80");
  return default_port ? bracketed(*this) : bracketed(*this) + ":" + port;
}

}  // namespace splleed::net
