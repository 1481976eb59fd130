#pragma once
// Event-driven HTTP/1.1 client for one target, used from one worker's io_context (one thread).
// Keep-alive pool, TLS via OpenSSL (certificates verified unless ClientOptions::insecure),
// chunked and content-length bodies, connect and read (idle) timeouts.
//
// Timing contract: on_dispatched is stamped immediately before the request's first byte is written;
// every body callback carries the time read once when that socket read completed, before any parsing.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "net/url.hpp"
#include "splleed/clock.hpp"

namespace splleed::net {

struct ClientOptions {
  Nanos connect_timeout = 10 * kNanosPerSecond;
  Nanos read_timeout = 120 * kNanosPerSecond;  // longest silence between reads once dispatched
  bool insecure = false;                        // skip certificate verification
  std::size_t max_idle_connections = 1024;
};

struct Header {
  std::string_view name;
  std::string_view value;
};

// Receives one response, on the client's thread. Implementations must not block.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // Called just before the request's first byte is written. When a reused keep-alive connection
  // turns out dead before any response byte, the request is retried once on a fresh connection
  // and this is called again: the last call counts.
  virtual void on_dispatched(Nanos t) = 0;
  virtual void on_headers(Nanos t, int status) = 0;
  // De-chunked body bytes from one socket read, stamped when the read completed. Return false to
  // stop reading (the connection is then closed, not reused).
  virtual bool on_body(std::string_view bytes, Nanos received) = 0;
  // Asked when a response has ended cleanly: false closes the connection instead of keeping it
  // for the next request (e.g. a stream that failed: its server may be about to drop it).
  virtual bool reuse_connection() const { return true; }
};

enum class TransportError : std::uint8_t {
  none,
  connect,   // DNS failure, refused, unreachable
  tls,       // handshake or certificate verification failed
  timeout,   // connect or read timeout
  closed,    // connection closed or reset before the response was complete
  protocol,  // malformed HTTP
  aborted,   // the handler stopped reading, or the client was cancelled
};
std::string_view to_string(TransportError e) noexcept;

struct TransportResult {
  TransportError error = TransportError::none;
  std::string message;  // one sentence naming the target and the cause; empty when none
  Nanos completed = 0;  // when the body ended or the error was seen
};

struct SimpleResponse {
  TransportResult transport;
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(boost::asio::io_context& io, Url target, ClientOptions options, const Clock& clock);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` (application/json) to base_path + path and streams the response into `handler`.
  // Reuses an idle keep-alive connection when one is available.
  boost::asio::awaitable<TransportResult> post_stream(std::string_view path,
                                                      std::span<const Header> headers,
                                                      std::string_view body,
                                                      ResponseHandler& handler);

  // A small GET (e.g. /v1/models, /health); the whole body is returned.
  boost::asio::awaitable<SimpleResponse> get(std::string_view path,
                                             std::span<const Header> headers = {});
  // A small POST of `body` (application/json, e.g. /start_profile); the whole answer is returned.
  boost::asio::awaitable<SimpleResponse> post(std::string_view path, std::string_view body,
                                              std::span<const Header> headers = {});

  // Closes idle connections and aborts in-flight requests (they end with TransportError::aborted).
  void shutdown();

 private:
  // get() and post(): the whole answer, collected up to a size limit.
  boost::asio::awaitable<SimpleResponse> simple(bool post, std::string_view path,
                                                std::span<const Header> headers,
                                                std::string_view body);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace splleed::net
