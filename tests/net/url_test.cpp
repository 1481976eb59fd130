#include "net/url.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace splleed::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Url parse_ok(std::string_view text) {
  std::string error;
  auto url = Url::parse(text, &error);
  EXPECT_TRUE(url.has_value()) << text << ": " << error;
  EXPECT_TRUE(error.empty());
  return url.value_or(Url{});
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto url = Url::parse(text, &error);
  EXPECT_FALSE(url.has_value()) << text;
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

TEST(Url, HttpWithPortAndPath) {
  Url u = parse_ok("http://127.0.0.1:8080/v1");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.base_path, "/v1");
  EXPECT_EQ(u.origin(), "http://127.0.0.1:8080");
  EXPECT_EQ(u.host_header(), "127.0.0.1:8080");
}

TEST(Url, DefaultPorts) {
  Url http = parse_ok("http://example.com");
  EXPECT_EQ(http.port, "80");
  EXPECT_EQ(http.base_path, "");
  EXPECT_EQ(http.host_header(), "example.com");
  EXPECT_EQ(http.origin(), "http://example.com:80");

  Url https = parse_ok("https://api.example.com/");
  EXPECT_TRUE(https.tls);
  EXPECT_EQ(https.port, "443");
  EXPECT_EQ(https.base_path, "");
  EXPECT_EQ(https.host_header(), "api.example.com");
}

TEST(Url, ExplicitDefaultPortIsOmittedFromHostHeader) {
  EXPECT_EQ(parse_ok("https://h:443").host_header(), "h");
  EXPECT_EQ(parse_ok("http://h:443").host_header(), "h:443");
}

TEST(Url, TrailingSlashesAreRemovedFromBasePath) {
  EXPECT_EQ(parse_ok("http://h:1/").base_path, "");
  EXPECT_EQ(parse_ok("http://h:1/api/v1/").base_path, "/api/v1");
  EXPECT_EQ(parse_ok("http://h:1/api//").base_path, "/api");
}

TEST(Url, SchemeAndHostAreCaseInsensitive) {
  Url u = parse_ok("HTTPS://Example.COM:8443/Path");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.base_path, "/Path");  // paths are case-sensitive
}

TEST(Url, Ipv6Literals) {
  Url u = parse_ok("http://[::1]:8000/v1");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8000");
  EXPECT_EQ(u.base_path, "/v1");
  EXPECT_EQ(u.origin(), "http://[::1]:8000");
  EXPECT_EQ(u.host_header(), "[::1]:8000");

  Url d = parse_ok("https://[2001:db8::a]");
  EXPECT_EQ(d.host, "2001:db8::a");
  EXPECT_EQ(d.port, "443");
  EXPECT_EQ(d.host_header(), "[2001:db8::a]");

  Url mapped = parse_ok("http://[::ffff:127.0.0.1]:80");
  EXPECT_EQ(mapped.host, "::ffff:127.0.0.1");
}

TEST(Url, RejectsCredentialsWithoutEchoingThem) {
  std::string e = parse_error("https://user:s3cret@api.example.com/v1");
  EXPECT_THAT(e, HasSubstr("credentials"));
  EXPECT_THAT(e, HasSubstr("--api-key"));
  EXPECT_THAT(e, Not(HasSubstr("s3cret")));
  parse_error("http://token@host:80");
}

TEST(Url, RejectsOtherSchemes) {
  EXPECT_THAT(parse_error("ftp://host/x"), HasSubstr("'ftp'"));
  EXPECT_THAT(parse_error("ws://host:80"), HasSubstr("http:// or https://"));
  EXPECT_THAT(parse_error("localhost:8080"), HasSubstr("no scheme"));
  EXPECT_THAT(parse_error(""), HasSubstr("no scheme"));
}

TEST(Url, RejectsBadPorts) {
  EXPECT_THAT(parse_error("http://h:0"), HasSubstr("port"));
  EXPECT_THAT(parse_error("http://h:65536"), HasSubstr("port"));
  EXPECT_THAT(parse_error("http://h:80a"), HasSubstr("port"));
  EXPECT_THAT(parse_error("http://h:"), HasSubstr("port"));
  EXPECT_THAT(parse_error("http://[::1]:-1"), HasSubstr("port"));
  EXPECT_EQ(parse_ok("http://h:65535").port, "65535");
  EXPECT_EQ(parse_ok("http://h:0080").port, "80");
}

TEST(Url, RejectsMalformedHosts) {
  EXPECT_THAT(parse_error("http://"), HasSubstr("no host"));
  EXPECT_THAT(parse_error("http://:80"), HasSubstr("no host"));
  EXPECT_THAT(parse_error("http://::1:80"), HasSubstr("brackets"));
  EXPECT_THAT(parse_error("http://[::1:80"), HasSubstr("']'"));
  EXPECT_THAT(parse_error("http://[::1]x"), HasSubstr("after the IPv6"));
  EXPECT_THAT(parse_error("http://[nothex]:80"), HasSubstr("IPv6"));
  EXPECT_THAT(parse_error("http://ho st:80"), HasSubstr("host name"));
}

TEST(Url, RejectsQueryAndFragment) {
  EXPECT_THAT(parse_error("http://h:80/v1?x=1"), HasSubstr("query"));
  EXPECT_THAT(parse_error("http://h:80#frag"), HasSubstr("query or fragment"));
}

TEST(Url, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(Url::parse("ftp://x", nullptr).has_value());
  EXPECT_TRUE(Url::parse("http://x", nullptr).has_value());
}

}  // namespace
}  // namespace splleed::net
