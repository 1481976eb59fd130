#include "net/http_client.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/alloc_counter.hpp"
#include "net/steady_stream.hpp"
#include "net/test_server.hpp"
#include "splleed/version.hpp"

namespace splleed::net {
namespace {

using ::testing::HasSubstr;
using testing::Gate;
using testing::ServerConn;
using testing::TestServer;
using testing::run;
using testing::run_all;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using Task = asio::awaitable<void>;

constexpr std::string_view kChunkedHeader =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

std::string chunk(std::string_view payload) {
  std::ostringstream os;
  os << std::hex << payload.size() << "\r\n" << payload << "\r\n";
  return os.str();
}

std::string with_length(int status, std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

struct Recorder final : ResponseHandler {
  struct Read {
    std::string bytes;
    Nanos t;
  };
  void on_dispatched(Nanos t) override { dispatched.push_back(t); }
  void on_headers(Nanos t, int s) override {
    headers = t;
    status = s;
    if (headers_hook) headers_hook();
  }
  bool on_body(std::string_view bytes, Nanos t) override {
    body.append(bytes);
    reads.push_back({std::string(bytes), t});
    return body_hook ? body_hook(bytes) : true;
  }
  std::vector<Nanos> dispatched;
  std::optional<Nanos> headers;
  int status = 0;
  std::string body;
  std::vector<Read> reads;
  std::function<void()> headers_hook;
  std::function<bool(std::string_view)> body_hook;
};

Url url_of(const TestServer& server, std::string_view base = "/v1") {
  std::string error;
  auto u = Url::parse(server.url(base), &error);
  EXPECT_TRUE(u) << error;
  return *u;
}

ClientOptions short_timeouts() {
  ClientOptions o;
  o.connect_timeout = 2 * kNanosPerSecond;
  o.read_timeout = 5 * kNanosPerSecond;
  return o;
}

constexpr std::string_view kBody = R"({"prompt":"hi","stream":true})";

asio::awaitable<TransportResult> post(HttpClient& client, Recorder& rec,
                                      std::span<const Header> headers = {}) {
  co_return co_await client.post_stream("/completions", headers, kBody, rec);
}

// Answers every request on a connection with `response`, keeping the connection open.
TestServer::Script answer_all(std::string response) {
  return [response](ServerConn& c) -> Task {
    while (co_await c.read_request()) {
      if (!co_await c.write(response)) co_return;
    }
  };
}

TEST(HttpClient, ChunkedStreamAndRequestHeaders) {
  asio::io_context io;
  const std::string response =
      std::string(kChunkedHeader) + chunk("data: a\n\n") + chunk("data: b\n\n") + "0\r\n\r\n";
  TestServer server(io, answer_all(response));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  const std::array<Header, 2> headers{Header{"Authorization", "Bearer k"},
                                      Header{"X-Request-Id", "r-1"}};
  TransportResult r = run(io, post(client, rec, headers));

  EXPECT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_TRUE(r.message.empty());
  EXPECT_EQ(rec.status, 200);
  EXPECT_EQ(rec.body, "data: a\n\ndata: b\n\n");

  ASSERT_EQ(server.requests().size(), 1u);
  const auto& req = server.requests()[0];
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(std::string(req.target()), "/v1/completions");
  EXPECT_EQ(req.version(), 11);
  EXPECT_EQ(std::string(req[http::field::host]), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(std::string(req[http::field::content_type]), "application/json");
  EXPECT_EQ(std::string(req[http::field::accept]), "text/event-stream");
  EXPECT_EQ(std::string(req[http::field::content_length]), std::to_string(kBody.size()));
  EXPECT_EQ(std::string(req[http::field::user_agent]), std::string("splleed/") + kVersion);
  EXPECT_EQ(std::string(req[http::field::authorization]), "Bearer k");
  EXPECT_EQ(std::string(req["X-Request-Id"]), "r-1");
  EXPECT_EQ(req.body(), kBody);
}

TEST(HttpClient, TimestampsAreOrdered) {
  asio::io_context io;
  std::string response(kChunkedHeader);
  for (int i = 0; i < 20; ++i) response += chunk("data: " + std::to_string(i) + "\n\n");
  response += kLastChunk;
  TestServer server(io, answer_all(response));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  ASSERT_EQ(rec.dispatched.size(), 1u);
  ASSERT_TRUE(rec.headers);
  ASSERT_FALSE(rec.reads.empty());
  EXPECT_LE(rec.dispatched[0], *rec.headers);
  Nanos last = *rec.headers;
  for (const auto& read : rec.reads) {
    EXPECT_LE(last, read.t);
    last = read.t;
  }
  EXPECT_LE(last, r.completed);
}

// The clock is read once per socket read: with a fake clock advanced only between the server's
// writes, and each write sent only after the client has consumed the previous one, every body
// callback carries exactly the time of the write that produced it.
TEST(HttpClient, BodyTimeIsTheTimeOfItsRead) {
  asio::io_context io;
  FakeClock clock(1'000 * kNanosPerMilli);
  Recorder rec;
  Gate gate(io);
  rec.headers_hook = [&] { gate.notify(); };
  rec.body_hook = [&](std::string_view) {
    gate.notify();
    return true;
  };
  const std::vector<std::string> events{"data: one\n\n", "data: two\n\n", "data: three\n\n",
                                        "data: four\n\n"};
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    clock.advance(kNanosPerMilli);
    co_await c.write(kChunkedHeader);
    co_await gate.wait([&] { return rec.headers.has_value(); });
    std::size_t sent = 0;
    for (const auto& e : events) {
      clock.advance(kNanosPerMilli);
      co_await c.write(chunk(e));
      sent += e.size();
      co_await gate.wait([&] { return rec.body.size() >= sent; });
    }
    clock.advance(kNanosPerMilli);
    co_await c.write(kLastChunk);
    co_await c.wait_for_close();
  });
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  TransportResult r = run(io, post(client, rec));
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  const Nanos t0 = 1'000 * kNanosPerMilli;
  EXPECT_EQ(rec.dispatched.at(0), t0);
  EXPECT_EQ(*rec.headers, t0 + kNanosPerMilli);
  ASSERT_EQ(rec.reads.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(rec.reads[i].bytes, events[i]);
    EXPECT_EQ(rec.reads[i].t, t0 + static_cast<Nanos>(i + 2) * kNanosPerMilli);
  }
  EXPECT_EQ(r.completed, t0 + static_cast<Nanos>(events.size() + 2) * kNanosPerMilli);
}

TEST(HttpClient, CaptureServedInOddChunksArrivesIntact) {
  const auto path = std::filesystem::path(SPLLEED_CAPTURES) / "llamacpp-server-b4748" /
                    "v1_completions_stream_stopword.sse";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string capture = ss.str();
  ASSERT_GT(capture.size(), 1000u);

  asio::io_context io;
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(kChunkedHeader);
    // Chunk sizes 1, 2, 3, ... with extensions; each write cuts through chunk framing.
    std::string framed;
    std::size_t size = 1;
    for (std::size_t pos = 0; pos < capture.size(); pos += size, ++size) {
      const std::string_view piece = std::string_view(capture).substr(pos, size);
      std::ostringstream os;
      os << std::hex << piece.size() << ";ext=" << size << "\r\n" << piece << "\r\n";
      framed += os.str();
    }
    framed += "0\r\nX-Trailer: t\r\n\r\n";
    for (std::size_t pos = 0; pos < framed.size(); pos += 97) {
      co_await c.write(std::string_view(framed).substr(pos, 97));
    }
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(rec.body, capture);
}

TEST(HttpClient, ContentLengthBodyAndLargeBody) {
  asio::io_context io;
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 1000) big[i] = static_cast<char>('a' + i % 26);
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(with_length(200, "{\"ok\":true}"));
    co_await c.read_request();
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) +
                             "\r\n\r\n";
    co_await c.write(head);
    for (std::size_t pos = 0; pos < big.size(); pos += 300'000) {
      co_await c.write(std::string_view(big).substr(pos, 300'000));
    }
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder small;
  TransportResult r1 = run(io, post(client, small));
  ASSERT_EQ(r1.error, TransportError::none) << r1.message;
  EXPECT_EQ(small.body, "{\"ok\":true}");
  Recorder large;
  TransportResult r2 = run(io, post(client, large));
  ASSERT_EQ(r2.error, TransportError::none) << r2.message;
  EXPECT_EQ(large.body, big);
  EXPECT_GT(large.reads.size(), 1u);
  for (const auto& read : large.reads) EXPECT_LE(read.bytes.size(), 16u * 1024u);
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClient, BodyDelimitedByClose) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: x\n\n");
    co_await c.write("data: y\n\n");
    c.close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(rec.body, "data: x\n\ndata: y\n\n");
  Recorder again;
  TransportResult r2 = run(io, post(client, again));
  EXPECT_EQ(r2.error, TransportError::none) << r2.message;
  EXPECT_EQ(server.accepted(), 2);  // the closed connection was not reused
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  asio::io_context io;
  TestServer server(io, answer_all(with_length(200, "ok")));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  for (int i = 0; i < 3; ++i) {
    Recorder rec;
    TransportResult r = run(io, post(client, rec));
    ASSERT_EQ(r.error, TransportError::none) << r.message;
    EXPECT_EQ(rec.body, "ok");
  }
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(HttpClient, AHandlerCanRefuseToReuseTheConnection) {
  struct Refusing final : ResponseHandler {
    void on_dispatched(Nanos) override {}
    void on_headers(Nanos, int) override {}
    bool on_body(std::string_view bytes, Nanos) override {
      body.append(bytes);
      return true;
    }
    bool reuse_connection() const override { return reuse; }
    std::string body;
    bool reuse = true;
  };
  asio::io_context io;
  TestServer server(io, answer_all(with_length(200, "ok")));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  for (bool reuse : {false, true, true}) {
    Refusing h;
    h.reuse = reuse;
    TransportResult r = run(io, client.post_stream("/completions", {}, kBody, h));
    ASSERT_EQ(r.error, TransportError::none) << r.message;
    EXPECT_EQ(h.body, "ok");
  }
  // The first connection was closed after its response; the second carried the last two.
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, ConnectionCloseHeaderIsHonoured) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    // Announces close but leaves the socket open: the client must not send on it again.
    while (co_await c.read_request()) co_await c.write(with_length(200, "ok", "Connection: close\r\n"));
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  for (int i = 0; i < 2; ++i) {
    Recorder rec;
    TransportResult r = run(io, post(client, rec));
    ASSERT_EQ(r.error, TransportError::none) << r.message;
  }
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, IdleConnectionClosedByServerIsReplaced) {
  asio::io_context io;
  Gate gate(io);
  bool closed = false;
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(with_length(200, "first"));
    if (c.index() == 0) {
      c.close();  // keep-alive timeout on the server side
      closed = true;
      gate.notify();
      co_return;
    }
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder one;
  ASSERT_EQ(run(io, post(client, one)).error, TransportError::none);
  run(io, [&]() -> asio::awaitable<int> {
    co_await gate.wait([&] { return closed; });
    co_return 0;
  }());
  Recorder two;
  TransportResult r = run(io, post(client, two));
  EXPECT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(two.body, "first");
  EXPECT_EQ(two.dispatched.size(), 1u);  // seen closed before anything was sent on it
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, ReusedConnectionDeadBeforeResponseIsRetriedOnce) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    if (c.index() == 0) {
      co_await c.write(with_length(200, "first"));
      co_await c.read_request();  // the second request arrives as the server gives up on it
      c.close();
      co_return;
    }
    co_await c.write(with_length(200, "second"));
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder one;
  ASSERT_EQ(run(io, post(client, one)).error, TransportError::none);
  Recorder two;
  TransportResult r = run(io, post(client, two));
  EXPECT_EQ(r.error, TransportError::none) << r.message;
  EXPECT_EQ(two.body, "second");
  EXPECT_EQ(two.dispatched.size(), 2u);  // the retry is dispatched afresh
  EXPECT_LE(two.dispatched[0], two.dispatched[1]);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, RetryHappensOnlyOnce) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    if (c.index() == 0) {
      co_await c.write(with_length(200, "first"));
      co_await c.read_request();
    }
    c.close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder one;
  ASSERT_EQ(run(io, post(client, one)).error, TransportError::none);
  Recorder two;
  TransportResult r = run(io, post(client, two));
  EXPECT_EQ(r.error, TransportError::closed);
  EXPECT_THAT(r.message, HasSubstr("closed the connection before responding"));
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, FreshConnectionClosedBeforeResponseIsNotRetried) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    c.close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::closed);
  EXPECT_THAT(r.message, HasSubstr("127.0.0.1:" + std::to_string(server.port())));
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_FALSE(rec.headers);
}

TEST(HttpClient, ErrorStatusesDeliverTheirBody) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(with_length(404, "{\"error\":\"no such model\"}"));
    co_await c.read_request();
    co_await c.write("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunk("{\"error\":") + chunk("\"boom\"}") + std::string(kLastChunk));
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder a;
  TransportResult ra = run(io, post(client, a));
  EXPECT_EQ(ra.error, TransportError::none) << ra.message;
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "{\"error\":\"no such model\"}");
  Recorder b;
  TransportResult rb = run(io, post(client, b));
  EXPECT_EQ(rb.error, TransportError::none) << rb.message;
  EXPECT_EQ(b.status, 500);
  EXPECT_EQ(b.body, "{\"error\":\"boom\"}");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClient, ResetMidStreamIsClosed) {
  asio::io_context io;
  Recorder rec;
  Gate gate(io);
  rec.body_hook = [&](std::string_view) {
    gate.notify();
    return true;
  };
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(std::string(kChunkedHeader) + chunk("data: partial\n\n") + "20\r\nhalf");
    co_await gate.wait([&] { return !rec.body.empty(); });
    c.reset();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::closed) << r.message;
  EXPECT_THAT(r.message, HasSubstr("before the response was complete"));
  EXPECT_THAT(rec.body, HasSubstr("data: partial"));
  EXPECT_GT(r.completed, 0);
}

TEST(HttpClient, CloseMidContentLengthIsClosed) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a few");
    c.close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::closed) << r.message;
  EXPECT_EQ(rec.body, "only a few");
}

TEST(HttpClient, ReadTimeoutWhenServerGoesSilent) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(std::string(kChunkedHeader) + chunk("data: first\n\n"));
    co_await c.wait_for_close();  // silent until the client gives up
  });
  MonotonicClock clock;
  ClientOptions o = short_timeouts();
  o.read_timeout = 200 * kNanosPerMilli;
  HttpClient client(io, url_of(server), o, clock);
  Recorder rec;
  const auto start = std::chrono::steady_clock::now();
  TransportResult r = run(io, post(client, rec));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error, TransportError::timeout) << r.message;
  EXPECT_THAT(r.message, HasSubstr("200 ms"));
  EXPECT_EQ(rec.body, "data: first\n\n");
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(HttpClient, ReadTimeoutBeforeHeaders) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  ClientOptions o = short_timeouts();
  o.read_timeout = 150 * kNanosPerMilli;
  HttpClient client(io, url_of(server), o, clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::timeout) << r.message;
  EXPECT_FALSE(rec.headers);
}

TEST(HttpClient, ConnectionRefused) {
  asio::io_context io;
  unsigned short port = 0;
  {
    testing::tcp::acceptor probe(io, testing::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  MonotonicClock clock;
  HttpClient client(io, *Url::parse("http://127.0.0.1:" + std::to_string(port), nullptr),
                    short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::connect);
  EXPECT_EQ(r.message, "cannot connect to 127.0.0.1:" + std::to_string(port) +
                           ": Connection refused.");
  EXPECT_TRUE(rec.dispatched.empty());
}

TEST(HttpClient, DnsFailure) {
  asio::io_context io;
  MonotonicClock clock;
  HttpClient client(io, *Url::parse("http://no-such-host.invalid:8080", nullptr),
                    short_timeouts(), clock);
  SimpleResponse r = run(io, client.get("/health"));
  EXPECT_EQ(r.transport.error, TransportError::connect) << r.transport.message;
  EXPECT_THAT(r.transport.message, HasSubstr("cannot resolve no-such-host.invalid"));
}

TEST(HttpClient, MalformedResponsesAreProtocolErrors) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    if (c.index() == 0) {
      co_await c.write("HTTP/1.1 2x0 OK\r\n\r\n");
    } else {
      co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    }
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder a;
  TransportResult ra = run(io, post(client, a));
  EXPECT_EQ(ra.error, TransportError::protocol) << ra.message;
  EXPECT_THAT(ra.message, HasSubstr("malformed HTTP response"));
  Recorder b;
  TransportResult rb = run(io, post(client, b));
  EXPECT_EQ(rb.error, TransportError::protocol) << rb.message;
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, HandlerStoppingClosesTheConnection) {
  asio::io_context io;
  Gate gate(io);
  Recorder rec;
  rec.body_hook = [&](std::string_view) {
    gate.notify();
    return false;
  };
  TestServer server(io, [&](ServerConn& c) -> Task {
    co_await c.read_request();
    if (c.index() == 0) {
      co_await c.write(std::string(kChunkedHeader) + chunk("data: {\"error\":1}\n\n"));
      co_await c.wait_for_close();
    } else {
      co_await c.write(with_length(200, "ok"));
      co_await c.wait_for_close();
    }
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::aborted);
  EXPECT_THAT(r.message, HasSubstr("stopped reading"));
  Recorder next;
  TransportResult r2 = run(io, post(client, next));
  EXPECT_EQ(r2.error, TransportError::none) << r2.message;
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClient, AHandlerThatThrowsFailsItsRequestNotTheLoop) {
  asio::io_context io;
  TestServer server(io, answer_all(std::string(kChunkedHeader) + chunk("data: 1\n\n") +
                                   std::string(kLastChunk)));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  rec.body_hook = [](std::string_view) -> bool { throw std::runtime_error("record store full"); };
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::protocol);
  EXPECT_THAT(r.message, HasSubstr("record store full"));
  EXPECT_THAT(r.message, HasSubstr(server.url("").substr(7)));  // names the target
  Recorder next;
  TransportResult r2 = run(io, post(client, next));
  EXPECT_EQ(r2.error, TransportError::none) << r2.message;
  EXPECT_EQ(next.body, "data: 1\n\n");
}

TEST(HttpClient, ShutdownAbortsInFlightAndLaterRequests) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(std::string(kChunkedHeader) + chunk("data: 1\n\n"));
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  rec.headers_hook = [&] { asio::post(io, [&] { client.shutdown(); }); };
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::aborted) << r.message;
  EXPECT_THAT(r.message, HasSubstr("shutting down"));
  Recorder later;
  TransportResult r2 = run(io, post(client, later));
  EXPECT_EQ(r2.error, TransportError::aborted);
  EXPECT_TRUE(later.dispatched.empty());
}

TEST(HttpClient, ShutdownCalledFromAHandlerAborts) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(std::string(kChunkedHeader) + chunk("data: 1\n\n"));
    co_await c.wait_for_close();  // silent: only the shutdown can end the request
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  Recorder rec;
  rec.body_hook = [&](std::string_view) {
    client.shutdown();
    return true;
  };
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::aborted) << r.message;
  EXPECT_EQ(rec.body, "data: 1\n\n");
}

TEST(HttpClient, ShutdownDuringConnectAborts) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task { co_await c.wait_for_close(); });
  const unsigned short port = server.port();
  MonotonicClock clock;
  HttpClient client(io, *Url::parse("https://127.0.0.1:" + std::to_string(port), nullptr),
                    short_timeouts(), clock);
  Recorder rec;
  TransportResult r = run(io, [&]() -> asio::awaitable<TransportResult> {
    auto pending = client.post_stream("/x", {}, kBody, rec);
    asio::post(io, [&] { client.shutdown(); });
    co_return co_await std::move(pending);
  }());
  EXPECT_EQ(r.error, TransportError::aborted) << r.message;
}

TEST(HttpClient, ConnectTimeoutCoversTlsHandshake) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task { co_await c.wait_for_close(); });
  MonotonicClock clock;
  ClientOptions o = short_timeouts();
  o.connect_timeout = 200 * kNanosPerMilli;
  HttpClient client(io, *Url::parse("https://127.0.0.1:" + std::to_string(server.port()), nullptr),
                    o, clock);
  Recorder rec;
  TransportResult r = run(io, post(client, rec));
  EXPECT_EQ(r.error, TransportError::timeout) << r.message;
  EXPECT_THAT(r.message, HasSubstr("connecting to 127.0.0.1"));
  EXPECT_TRUE(rec.dispatched.empty());
}

TEST(HttpClient, GetReturnsStatusAndBody) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(with_length(200, "{\"status\":\"ok\"}"));
    co_await c.read_request();
    co_await c.write(with_length(503, "loading"));
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server, ""), short_timeouts(), clock);
  SimpleResponse ok = run(io, client.get("/health"));
  EXPECT_EQ(ok.transport.error, TransportError::none) << ok.transport.message;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"status\":\"ok\"}");
  const std::array<Header, 1> auth{Header{"Authorization", "Bearer k"}};
  SimpleResponse busy = run(io, client.get("health", auth));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.body, "loading");
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[0].method(), http::verb::get);
  EXPECT_EQ(std::string(server.requests()[0].target()), "/health");
  EXPECT_EQ(std::string(server.requests()[1].target()), "/health");
  EXPECT_EQ(std::string(server.requests()[1][http::field::authorization]), "Bearer k");
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClient, PostReturnsStatusAndBody) {
  asio::io_context io;
  TestServer server(io, [](ServerConn& c) -> Task {
    co_await c.read_request();
    co_await c.write(with_length(404, "{\"detail\":\"Not Found\"}"));
    co_await c.wait_for_close();
  });
  MonotonicClock clock;
  HttpClient client(io, url_of(server, ""), short_timeouts(), clock);
  SimpleResponse r = run(io, client.post("/start_profile", "{\"output_dir\":\"/t\"}"));
  EXPECT_EQ(r.transport.error, TransportError::none) << r.transport.message;
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"detail\":\"Not Found\"}");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method(), http::verb::post);
  EXPECT_EQ(std::string(server.requests()[0].target()), "/start_profile");
  EXPECT_EQ(server.requests()[0].body(), "{\"output_dir\":\"/t\"}");
}

TEST(HttpClient, ConcurrentRequestsUseTheirOwnConnectionsThenReuseThem) {
  asio::io_context io;
  TestServer server(io, answer_all(std::string(kChunkedHeader) + chunk("data: x\n\n") +
                                   std::string(kLastChunk)));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  std::array<Recorder, 3> recs;
  for (int round = 0; round < 2; ++round) {
    std::vector<asio::awaitable<TransportResult>> tasks;
    for (auto& rec : recs) {
      rec.body.clear();
      tasks.push_back(post(client, rec));
    }
    for (const auto& r : run_all(io, std::move(tasks))) {
      EXPECT_EQ(r.error, TransportError::none) << r.message;
    }
    for (const auto& rec : recs) EXPECT_EQ(rec.body, "data: x\n\n");
  }
  EXPECT_EQ(server.accepted(), 3);
  EXPECT_EQ(server.requests().size(), 6u);
}

TEST(HttpClient, IdleConnectionsBeyondTheLimitAreClosed) {
  asio::io_context io;
  TestServer server(io, answer_all(with_length(200, "ok")));
  MonotonicClock clock;
  ClientOptions o = short_timeouts();
  o.max_idle_connections = 1;
  HttpClient client(io, url_of(server), o, clock);
  std::array<Recorder, 2> recs;
  for (int round = 0; round < 2; ++round) {
    std::vector<asio::awaitable<TransportResult>> tasks;
    for (auto& rec : recs) tasks.push_back(post(client, rec));
    for (const auto& r : run_all(io, std::move(tasks))) EXPECT_EQ(r.error, TransportError::none);
  }
  EXPECT_EQ(server.accepted(), 3);
}

TEST(HttpClient, InvalidRequestHeadersAreRejectedBeforeConnecting) {
  asio::io_context io;
  TestServer server(io, answer_all(with_length(200, "ok")));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  const std::array<Header, 1> injected{Header{"X-Id", "a\r\nEvil: 1"}};
  Recorder rec;
  TransportResult r = run(io, post(client, rec, injected));
  EXPECT_EQ(r.error, TransportError::protocol);
  EXPECT_THAT(r.message, HasSubstr("X-Id"));
  const std::array<Header, 1> host{Header{"host", "other"}};
  TransportResult r2 = run(io, post(client, rec, host));
  EXPECT_EQ(r2.error, TransportError::protocol);
  EXPECT_EQ(server.accepted(), 0);
}

// Steady state of a stream: after warm-up, a read and its body callback allocate nothing (the
// server side's coroutines run on the same thread and do not allocate either once warm).
TEST(HttpClient, StreamingReadsDoNotAllocateInSteadyState) {
  asio::io_context io;
  Gate gate(io);
  testing::CountingHandler handler(gate);
  TestServer server(io, testing::steady_stream(gate, handler));
  MonotonicClock clock;
  HttpClient client(io, url_of(server), short_timeouts(), clock);
  TransportResult r = run(io, client.post_stream("/completions", {}, kBody, handler));
  ASSERT_EQ(r.error, TransportError::none) << r.message;
  ASSERT_EQ(handler.reads, testing::kSteadyEvents);
  EXPECT_EQ(handler.marks[59], handler.marks[20]) << "allocations between read 20 and read 59";
}

}  // namespace
}  // namespace splleed::net
