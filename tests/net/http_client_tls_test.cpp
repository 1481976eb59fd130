#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/test_server.hpp"

namespace splleed::net {
namespace {

using ::testing::HasSubstr;
using testing::ServerConn;
using testing::TestServer;
using testing::run;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using Task = asio::awaitable<void>;

struct Collect final : ResponseHandler {
  void on_dispatched(Nanos t) override { dispatched = t; }
  void on_headers(Nanos t, int s) override {
    headers = t;
    status = s;
  }
  bool on_body(std::string_view bytes, Nanos t) override {
    body.append(bytes);
    last = t;
    return true;
  }
  Nanos dispatched = -1, headers = -1, last = -1;
  int status = 0;
  std::string body;
};

class Tls : public ::testing::Test {
 protected:
  Tls() : server_tls(ssl::context::tls_server) { testing::use_self_signed_certificate(server_tls); }

  Url url(const TestServer& server, std::string_view host = "127.0.0.1") {
    return *Url::parse("https://" + std::string(host) + ":" + std::to_string(server.port()),
                       nullptr);
  }
  static ClientOptions options(bool insecure) {
    ClientOptions o;
    o.connect_timeout = 5 * kNanosPerSecond;
    o.read_timeout = 5 * kNanosPerSecond;
    o.insecure = insecure;
    return o;
  }

  asio::io_context io;
  ssl::context server_tls;
  MonotonicClock clock;
};

TestServer::Script stream_twice() {
  return [](ServerConn& c) -> Task {
    while (co_await c.read_request()) {
      co_await c.write(
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          "9\r\ndata: a\n\n\r\n9\r\ndata: b\n\n\r\n0\r\n\r\n");
    }
  };
}

TEST_F(Tls, SelfSignedCertificateFailsVerificationByDefault) {
  TestServer server(io, stream_twice(), &server_tls);
  HttpClient client(io, url(server), options(false), clock);
  Collect h;
  TransportResult r = run(io, client.post_stream("/v1/completions", {}, "{}", h));
  EXPECT_EQ(r.error, TransportError::tls) << r.message;
  EXPECT_THAT(r.message, HasSubstr("TLS handshake with 127.0.0.1:" + std::to_string(server.port())));
  EXPECT_THAT(r.message, HasSubstr("self-signed certificate"));
  EXPECT_THAT(r.message, HasSubstr("--insecure"));
  EXPECT_EQ(h.dispatched, -1);  // nothing was sent
}

TEST_F(Tls, SelfSignedCertificateFailsForHostNameToo) {
  TestServer server(io, stream_twice(), &server_tls);
  HttpClient client(io, url(server, "localhost"), options(false), clock);
  SimpleResponse r = run(io, client.get("/health"));
  EXPECT_EQ(r.transport.error, TransportError::tls) << r.transport.message;
  EXPECT_THAT(r.transport.message, HasSubstr("localhost"));
}

TEST_F(Tls, InsecureSkipsVerificationAndKeepsConnectionsAlive) {
  TestServer server(io, stream_twice(), &server_tls);
  HttpClient client(io, url(server), options(true), clock);
  for (int i = 0; i < 2; ++i) {
    Collect h;
    TransportResult r = run(io, client.post_stream("/v1/completions", {}, "{}", h));
    ASSERT_EQ(r.error, TransportError::none) << r.message;
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, "data: a\n\ndata: b\n\n");
    EXPECT_LE(h.dispatched, h.headers);
    EXPECT_LE(h.headers, h.last);
    EXPECT_LE(h.last, r.completed);
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST_F(Tls, InsecureWorksWithHostNameAndSni) {
  TestServer server(io, stream_twice(), &server_tls);
  HttpClient client(io, url(server, "localhost"), options(true), clock);
  Collect h;
  TransportResult r = run(io, client.post_stream("/v1/completions", {}, "{}", h));
  // localhost may resolve to ::1 first; the client falls back to 127.0.0.1.
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(h.body, "data: a\n\ndata: b\n\n");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(std::string(server.requests()[0][boost::beast::http::field::host]),
            "localhost:" + std::to_string(server.port()));
}

TEST_F(Tls, BodyEndingWithTcpCloseWithoutCloseNotify) {
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write("HTTP/1.1 200 OK\r\n\r\ndata: eof-delimited\n\n");
    c.close();  // no TLS close_notify
  }, &server_tls);
  HttpClient client(io, url(server), options(true), clock);
  Collect h;
  TransportResult r = run(io, client.post_stream("/v1/completions", {}, "{}", h));
  EXPECT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(h.body, "data: eof-delimited\n\n");
}

}  // namespace
}  // namespace splleed::net
