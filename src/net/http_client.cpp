#include "net/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

#include "net/handler_memory.hpp"
#include "net/idle_queue.hpp"
#include "splleed/version.hpp"

namespace splleed::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

std::string_view to_string(TransportError e) noexcept {
  switch (e) {
    case TransportError::none: return "none";
    case TransportError::connect: return "connect";
    case TransportError::tls: return "tls";
    case TransportError::timeout: return "timeout";
    case TransportError::closed: return "closed";
    case TransportError::protocol: return "protocol";
    case TransportError::aborted: return "aborted";
  }
  return "unknown";
}

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);
// Token streams arrive a few hundred bytes per read; a larger body just takes more reads. The read
// buffer is the connection's (it keeps a partial header or chunk line between reads); the body
// buffer is the client's, shared by its connections, because it is empty whenever a request
// suspends: the bytes parsed from one read are handed to the handler before the next read.
constexpr std::size_t kReadBufferSize = 8 * 1024;   // bytes asked of one socket read
constexpr std::size_t kBodyBufferSize = 8 * 1024;   // de-chunked body bytes per on_body call
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kGetBodyLimit = 64 * 1024 * 1024;

using SteadyTime = std::chrono::steady_clock::time_point;

// Compared after every parser step: built once, because converting the enum looks up its category.
const error_code kNeedBuffer = http::error::need_buffer;
const error_code kNeedMore = http::error::need_more;

struct Outcome {
  TransportResult result;
  bool reusable = false;   // the response ended cleanly and the server keeps the connection
  bool retryable = false;  // the peer was gone before any response byte (closed while idle)
};

// Resumes the request's coroutine with the response's outcome.
using DoneHandler = asio::async_result<asio::use_awaitable_t<>, void(Outcome)>::handler_type;

bool is_eof(const error_code& ec);
bool peer_gone(const error_code& ec);
std::string ms_text(Nanos ns);

// What a connection's reads need from their client (HttpClient::Impl owns it and outlives the
// requests it serves).
struct ReadContext {
  const Clock* clock = nullptr;
  std::string name;  // host:port, for messages
  Nanos read_timeout = 0;
  char* body_buffer = nullptr;  // kBodyBufferSize bytes, shared by the client's connections

  TransportResult error(TransportError e, std::string message) const {
    return TransportResult{e, std::move(message), clock->now()};
  }
  TransportResult aborted() const {
    return error(TransportError::aborted,
                 "the request to " + name + " was aborted because the client is shutting down.");
  }
  std::string read_timeout_message() const {
    return "no data from " + name + " for " + ms_text(read_timeout) + " (read timeout).";
  }
};

// One keep-alive connection. Owned by a shared_ptr so that the deadline timer's handler can hold a
// weak_ptr: the connection may be dropped while a wait is still queued.
//
// A response is read by plain callbacks, not by the request's coroutine: one socket read after
// another until the response ends, then the coroutine resumes once with the outcome. A coroutine
// suspension per read costs more than the read's own bookkeeping, and the read operation lives in
// the connection's HandlerMemory, so reading allocates nothing.
struct Connection final : std::enable_shared_from_this<Connection>, IdleTask {
  Connection(asio::io_context& io, ssl::context* tls_context, const ReadContext& context)
      : resolver(io), socket(io), timer(io), ctx(context) {
    if (tls_context) tls.emplace(socket, *tls_context);
    read_buffer.reserve(kReadBufferSize);
  }

  template <class Buffers>
  auto write(const Buffers& buffers) {
    return tls ? asio::async_write(*tls, buffers, kToken) : asio::async_write(socket, buffers, kToken);
  }

  // Reads the response to the request just written into `h`; the coroutine resumes when it ends.
  asio::awaitable<Outcome> read_response(ResponseHandler& h) {
    handler = &h;
    any_bytes = false;
    new_parser();
    read_buffer.clear();
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Outcome)>(
        [this](DoneHandler done) { start_read(std::move(done)); }, asio::use_awaitable);
  }

  // IdleTask: the parse of the last read, deferred by the thread's IdleQueue.
  void run_deferred() override {
    DoneHandler done = std::move(*parked);
    parked.reset();
    parse(std::move(done));
  }
  void post_deferred() override {
    DoneHandler done = std::move(*parked);
    parked.reset();
    // The handler owns the request's coroutine, which owns this connection.
    asio::post(socket.get_executor(),
               [this, done = std::move(done)]() mutable { parse(std::move(done)); });
  }

  // Deadline watchdog. Operations only move `deadline` forward, so a read costs no timer
  // operation; the timer wakes at the old deadline, sees the new one and sleeps again. When the
  // deadline has passed, pending I/O is cancelled and `timed_out` tells why it ended.
  void arm(Nanos timeout) {
    if (timeout <= 0) {  // a non-positive timeout disables the limit
      disarm();
      return;
    }
    const SteadyTime d = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout);
    deadline = d;
    timed_out = false;
    if (!watching || d < timer.expiry()) {
      watching = true;
      timer.expires_at(d);  // cancels a pending wait, whose handler then does nothing
      wait();
    }
  }
  void disarm() {
    deadline = SteadyTime::max();
    if (watching) {
      watching = false;
      timer.cancel();
    }
  }
  void wait() {
    timer.async_wait([weak = weak_from_this()](const error_code& ec) {
      if (ec == asio::error::operation_aborted) return;
      if (auto self = weak.lock()) self->on_timer();
    });
  }
  void on_timer() {
    if (!watching) return;
    if (std::chrono::steady_clock::now() < deadline) {
      timer.expires_at(deadline);
      wait();
      return;
    }
    watching = false;
    timed_out = true;
    cancel_io();
  }
  void cancel_io() {
    error_code ignored;
    resolver.cancel();
    socket.cancel(ignored);
  }
  void close() {
    disarm();
    resolver.cancel();
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Whether an idle connection can carry a request: no byte and no FIN waiting. A peer that
  // closed an idle connection is caught here, before anything is dispatched on it.
  bool idle_and_open() {
    char byte = 0;
    error_code ec;
    socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    return ec == asio::error::would_block;
  }

  tcp::resolver resolver;
  tcp::socket socket;
  std::optional<ssl::stream<tcp::socket&>> tls;
  asio::steady_timer timer;
  SteadyTime deadline = SteadyTime::max();
  bool watching = false;
  bool timed_out = false;
  bool aborted = false;        // the client was shut down during an operation on it
  bool host_mismatch = false;  // TLS: the chain verified but the name did not match
  std::size_t active_index = 0;

  std::string request;  // serialized request header, reused
  boost::beast::flat_buffer read_buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;  // one per response

 private:
  // The completion handler of one socket read: it carries the coroutine's handler from read to
  // read and allocates its operation in the connection's HandlerMemory.
  struct ReadOp {
    Connection* c;
    DoneHandler done;
    using allocator_type = HandlerAllocator<char>;
    allocator_type get_allocator() const noexcept { return allocator_type(c->read_memory); }
    void operator()(const error_code& ec, std::size_t n) { c->on_read(std::move(done), ec, n); }
  };

  void new_parser() {
    auto& p = parser.emplace();
    p.eager(true);
    p.header_limit(kHeaderLimit);
    p.body_limit(boost::none);  // streams are unbounded
    rewind_body();
    headers_seen = false;
  }
  void rewind_body() {
    auto& b = parser->get().body();
    b.data = ctx.body_buffer;
    b.size = kBodyBufferSize;
    b.more = true;
  }

  void start_read(DoneHandler done) {
    // A deadline that passed while the parse waited in the IdleQueue measured the client's own
    // delay, not the server's silence: the watchdog starts again with this read.
    if (timed_out) arm(ctx.read_timeout);
    const std::size_t room = read_buffer.capacity() - read_buffer.size();
    const auto buffers = read_buffer.prepare(room > 0 ? room : kReadBufferSize);
    if (tls) {
      tls->async_read_some(buffers, ReadOp{this, std::move(done)});
    } else {
      socket.async_read_some(buffers, ReadOp{this, std::move(done)});
    }
  }

  // Ends the response. The coroutine may release this connection: nothing may follow.
  static void finish(DoneHandler done, Outcome out) { std::move(done)(std::move(out)); }
  static void finish(DoneHandler done, TransportResult result) {
    Outcome out;
    out.result = std::move(result);
    finish(std::move(done), std::move(out));
  }
  void on_read(DoneHandler done, const error_code& ec, std::size_t n) {
    const Nanos t = ctx.clock->now();  // once per read, before any parsing
    if (aborted) return finish(std::move(done), ctx.aborted());
    if (ec) return finish(std::move(done), read_failed(ec, t));
    arm(ctx.read_timeout);
    read_buffer.commit(n);
    any_bytes = true;
    received = t;
    if (IdleQueue* parse_queue = IdleQueue::current(); parse_queue && parse_queue->behind()) {
      // Other reads are waiting: parse when the loop has nothing else ready, so that they are
      // timestamped first.
      parked.emplace(std::move(done));
      parse_queue->defer(*this);
      return;
    }
    parse(std::move(done));
  }

  Outcome read_failed(const error_code& ec, Nanos t) {
    Outcome out;
    if (ec == asio::error::operation_aborted && timed_out) {
      out.result = ctx.error(TransportError::timeout, ctx.read_timeout_message());
      return out;
    }
    if (!any_bytes) {
      out.retryable = peer_gone(ec);
      out.result = ctx.error(TransportError::closed, ctx.name +
                                                         " closed the connection before "
                                                         "responding (" +
                                                         ec.message() + ").");
      return out;
    }
    if (is_eof(ec) && parser->is_header_done()) {
      error_code eof_ec;
      parser->put_eof(eof_ec);  // completes a body delimited by the end of the connection
      if (!eof_ec) {
        out.result.completed = t;
        return out;  // not reusable: the server closed it
      }
    }
    out.result = ctx.error(TransportError::closed, ctx.name +
                                                       " closed the connection before the "
                                                       "response was complete (" +
                                                       ec.message() + ").");
    return out;
  }

  // Parses what the last read brought, hands the body bytes to the handler, and reads on or
  // ends the response.
  void parse(DoneHandler done) {
    // shutdown() may have been called from a handler callback, between two reads.
    if (aborted) return finish(std::move(done), ctx.aborted());
    // The outcome is decided inside the try and acted on after it: finishing resumes the
    // request's coroutine, which must not run inside this try or its catch.
    bool keep_reading = true;
    error_code malformed;
    std::optional<std::string> failed;  // what a throwing handler said
    try {
      // Hands the body bytes parsed so far to the handler and rewinds the body buffer.
      auto flush = [&] {
        const std::size_t filled = kBodyBufferSize - parser->get().body().size;
        rewind_body();
        return filled == 0 ||
               handler->on_body(std::string_view(ctx.body_buffer, filled), received);
      };
      while (read_buffer.size() > 0) {
        error_code parse_ec;
        const std::size_t used = parser->put(read_buffer.data(), parse_ec);
        read_buffer.consume(used);
        if (!headers_seen && parser->is_header_done()) {
          const int status = parser->get().result_int();
          if (status >= 100 && status < 200 && status != 101) {  // interim response: skip it
            new_parser();
            continue;
          }
          headers_seen = true;
          handler->on_headers(received, status);
        }
        if (parse_ec == kNeedBuffer) {
          if (!flush()) {
            keep_reading = false;
            break;
          }
          continue;
        }
        if (parse_ec == kNeedMore) break;
        if (parse_ec) {
          malformed = parse_ec;
          break;
        }
        if (parser->is_done() || used == 0) break;
      }
      if (keep_reading && !malformed) keep_reading = flush();
    } catch (const std::exception& e) {  // a handler that failed: the request fails, not the loop
      failed = e.what();
    }

    if (failed) {
      return finish(std::move(done), ctx.error(TransportError::protocol,
                                               "reading the response from " + ctx.name +
                                                   " failed: " + *failed));
    }
    if (malformed) {
      return finish(std::move(done),
                    ctx.error(TransportError::protocol, "malformed HTTP response from " +
                                                            ctx.name + ": " +
                                                            malformed.message() + "."));
    }
    if (parser->is_done()) {
      Outcome out;
      out.result.completed = received;
      // A handler that stopped reading gets the connection closed, as promised.
      out.reusable = keep_reading && parser->keep_alive() && read_buffer.size() == 0 &&
                     handler->reuse_connection();
      return finish(std::move(done), std::move(out));
    }
    if (!keep_reading) {
      return finish(std::move(done),
                    ctx.error(TransportError::aborted,
                              "the response handler stopped reading the response from " +
                                  ctx.name + "."));
    }
    if (aborted) return finish(std::move(done), ctx.aborted());
    start_read(std::move(done));
  }

  const ReadContext& ctx;
  HandlerMemory read_memory;  // the pending read's operation
  // The response being read.
  ResponseHandler* handler = nullptr;
  bool headers_seen = false;
  bool any_bytes = false;
  Nanos received = 0;                 // when the last read completed
  std::optional<DoneHandler> parked;  // while the parse waits in the IdleQueue
};

bool is_eof(const error_code& ec) {
  // A TLS peer that closes without close_notify reports stream_truncated; for HTTP framing that
  // is the same as EOF (the parser decides whether the body was complete).
  return ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

bool peer_gone(const error_code& ec) {
  return is_eof(ec) || ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string ms_text(Nanos ns) { return std::to_string(ns / kNanosPerMilli) + " ms"; }

// Discards the response body of get() and post() beyond kGetBodyLimit.
class Collector final : public ResponseHandler {
 public:
  void on_dispatched(Nanos) override {}
  void on_headers(Nanos, int s) override { status = s; }
  bool on_body(std::string_view bytes, Nanos) override {
    if (body.size() + bytes.size() > kGetBodyLimit) {
      too_large = true;
      return false;
    }
    body.append(bytes);
    return true;
  }
  int status = 0;
  std::string body;
  bool too_large = false;
};

}  // namespace

struct HttpClient::Impl {
  Impl(asio::io_context& ioc, Url target, ClientOptions options, const Clock& c)
      : io(ioc), url(std::move(target)), opt(options), clock(c) {
    const std::string origin = url.origin();
    reads.clock = &clock;
    reads.name = origin.substr(origin.find("://") + 3);
    reads.read_timeout = opt.read_timeout;
    reads.body_buffer = body_buffer.get();
    host_header = url.host_header();
    if (url.tls) {
      tls_context.emplace(ssl::context::tls_client);
      tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3);
      SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
      error_code ignored;  // without CA paths, verification fails later with a clear reason
      if (!opt.insecure) tls_context->set_default_verify_paths(ignored);
    }
  }

  ~Impl() {
    for (auto& c : idle) c->close();
    for (auto& c : active) c->close();
  }

  asio::awaitable<TransportResult> request(bool post, std::string_view path,
                                           std::span<const Header> headers, std::string_view body,
                                           ResponseHandler& handler);
  asio::awaitable<TransportResult> connect(Connection& c);
  asio::awaitable<Outcome> exchange(Connection& c, std::string_view body, ResponseHandler& handler);
  std::optional<std::string> serialize(Connection& c, bool post, std::string_view path,
                                       std::span<const Header> headers, std::size_t body_size);
  std::shared_ptr<Connection> take_idle();
  void track(const std::shared_ptr<Connection>& c);
  void untrack(Connection& c);
  void release(std::shared_ptr<Connection> c, bool reusable);

  TransportResult error(TransportError e, std::string message) const {
    return reads.error(e, std::move(message));
  }

  asio::io_context& io;
  Url url;
  ClientOptions opt;
  const Clock& clock;
  std::string host_header;
  std::optional<ssl::context> tls_context;
  std::unique_ptr<char[]> body_buffer{new char[kBodyBufferSize]};  // see kBodyBufferSize
  ReadContext reads;  // what the connections' reads need; its name (host:port) is for messages
  std::vector<std::shared_ptr<Connection>> idle;    // most recently used last
  std::vector<std::shared_ptr<Connection>> active;  // in flight; shutdown() cancels them
  bool shut_down = false;
};

std::shared_ptr<Connection> HttpClient::Impl::take_idle() {
  while (!idle.empty()) {
    std::shared_ptr<Connection> c = std::move(idle.back());
    idle.pop_back();
    if (c->idle_and_open()) return c;
    c->close();
  }
  return nullptr;
}

void HttpClient::Impl::track(const std::shared_ptr<Connection>& c) {
  c->active_index = active.size();
  active.push_back(c);
}

void HttpClient::Impl::untrack(Connection& c) {
  const std::size_t i = c.active_index;
  if (i + 1 != active.size()) {
    active[i] = std::move(active.back());
    active[i]->active_index = i;
  }
  active.pop_back();
}

void HttpClient::Impl::release(std::shared_ptr<Connection> c, bool reusable) {
  c->disarm();
  if (reusable && !shut_down && idle.size() < opt.max_idle_connections) {
    idle.push_back(std::move(c));
  } else {
    c->close();
  }
}

// The request header is written by hand into a reused string rather than through
// beast::http::request: the fields container allocates per field on every request, and this
// way header and body go out in one gather write without copying the body.
std::optional<std::string> HttpClient::Impl::serialize(Connection& c, bool post,
                                                       std::string_view path,
                                                       std::span<const Header> headers,
                                                       std::size_t body_size) {
  bool caller_accept = false;
  bool caller_type = false;
  bool caller_agent = false;
  for (const Header& h : headers) {
    if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), [](char ch) {
          return is_token_char(static_cast<unsigned char>(ch));
        })) {
      return "the request header name '" + std::string(h.name) + "' is not a valid HTTP token.";
    }
    if (h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      return "the value of request header '" + std::string(h.name) + "' contains a line break.";
    }
    for (std::string_view reserved : {"Host", "Content-Length", "Transfer-Encoding", "Connection"}) {
      if (iequals(h.name, reserved)) {
        return "the request header '" + std::string(h.name) + "' is set by the HTTP client.";
      }
    }
    caller_accept |= iequals(h.name, "Accept");
    caller_type |= iequals(h.name, "Content-Type");
    caller_agent |= iequals(h.name, "User-Agent");
  }

  std::string& r = c.request;
  r.clear();
  r += post ? "POST " : "GET ";
  r += url.base_path;
  if (path.empty() || path.front() != '/') r += '/';
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += host_header;
  r += "\r\n";
  if (!caller_agent) {
    r += "User-Agent: splleed/";
    r += kVersion;
    r += "\r\n";
  }
  if (!caller_accept) r += post ? "Accept: text/event-stream\r\n" : "Accept: */*\r\n";
  if (post) {
    if (!caller_type) r += "Content-Type: application/json\r\n";
    std::array<char, 24> digits{};
    auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), body_size);
    (void)ec;
    r += "Content-Length: ";
    r.append(digits.data(), end);
    r += "\r\n";
  }
  for (const Header& h : headers) {
    r += h.name;
    r += ": ";
    r += h.value;
    r += "\r\n";
  }
  r += "\r\n";
  return std::nullopt;
}

asio::awaitable<TransportResult> HttpClient::Impl::connect(Connection& c) {
  c.arm(opt.connect_timeout);
  auto timed_out_result = [&] {
    return error(TransportError::timeout,
                 "connecting to " + reads.name + " timed out after " +
                     ms_text(opt.connect_timeout) + ".");
  };

  auto [resolve_ec, endpoints] = co_await c.resolver.async_resolve(url.host, url.port, kToken);
  if (c.aborted) co_return reads.aborted();
  if (resolve_ec) {
    if (c.timed_out) co_return timed_out_result();
    co_return error(TransportError::connect,
                    "cannot resolve " + url.host + ": " + resolve_ec.message() + ".");
  }

  auto [connect_ec, endpoint] = co_await asio::async_connect(c.socket, endpoints, kToken);
  (void)endpoint;
  if (c.aborted) co_return reads.aborted();
  if (connect_ec) {
    if (c.timed_out) co_return timed_out_result();
    co_return error(TransportError::connect,
                    "cannot connect to " + reads.name + ": " + connect_ec.message() + ".");
  }
  error_code ignored;
  c.socket.set_option(tcp::no_delay(true), ignored);
  c.socket.non_blocking(true, ignored);  // only for the idle check; async I/O is unaffected

  if (c.tls) {
    SSL* native = c.tls->native_handle();
    if (!is_ip_literal(url.host)) SSL_set_tlsext_host_name(native, url.host.c_str());  // SNI
    if (opt.insecure) {
      c.tls->set_verify_mode(ssl::verify_none, ignored);
    } else {
      c.tls->set_verify_mode(ssl::verify_peer, ignored);
      c.tls->set_verify_callback(
          [&c, check = ssl::host_name_verification(url.host)](bool preverified,
                                                              ssl::verify_context& ctx) {
            const bool ok = check(preverified, ctx);
            if (preverified && !ok) c.host_mismatch = true;
            return ok;
          },
          ignored);
    }
    auto [handshake_ec] = co_await c.tls->async_handshake(ssl::stream_base::client, kToken);
    if (c.aborted) co_return reads.aborted();
    if (handshake_ec) {
      if (c.timed_out) co_return timed_out_result();
      std::string reason;
      const long verify = SSL_get_verify_result(native);
      if (c.host_mismatch) {
        reason = "the certificate does not match the host name " + url.host;
      } else if (!opt.insecure && verify != X509_V_OK) {
        reason = std::string("certificate verification failed (") +
                 X509_verify_cert_error_string(verify) + ")";
      } else {
        reason = handshake_ec.message();
      }
      co_return error(TransportError::tls,
                      "TLS handshake with " + reads.name + " failed: " + reason +
                          (opt.insecure ? "." : "; --insecure skips certificate verification."));
    }
  }
  co_return TransportResult{};
}

asio::awaitable<Outcome> HttpClient::Impl::exchange(Connection& c, std::string_view body,
                                                    ResponseHandler& handler) {
  Outcome out;
  auto fail = [&](TransportError e, std::string message) {
    out.result = error(e, std::move(message));
    return out;
  };
  c.arm(opt.read_timeout);
  handler.on_dispatched(clock.now());
  const std::array<asio::const_buffer, 2> request{asio::buffer(c.request), asio::buffer(body)};
  auto [write_ec, written] = co_await c.write(request);
  (void)written;
  if (c.aborted) {
    out.result = reads.aborted();
    co_return out;
  }
  if (write_ec) {
    if (c.timed_out) co_return fail(TransportError::timeout, reads.read_timeout_message());
    out.retryable = peer_gone(write_ec);
    co_return fail(TransportError::closed,
                   "cannot send the request to " + reads.name + ": " + write_ec.message() + ".");
  }

  co_return co_await c.read_response(handler);
}

asio::awaitable<TransportResult> HttpClient::Impl::request(bool post, std::string_view path,
                                                           std::span<const Header> headers,
                                                           std::string_view body,
                                                           ResponseHandler& handler) {
  if (shut_down) co_return reads.aborted();
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<Connection> c = take_idle();
    const bool reused = c != nullptr;
    if (!c) c = std::make_shared<Connection>(io, tls_context ? &*tls_context : nullptr, reads);
    if (auto bad = serialize(*c, post, path, headers, body.size())) {
      if (reused) release(std::move(c), true);
      co_return error(TransportError::protocol, std::move(*bad));
    }
    track(c);
    if (!reused) {
      TransportResult connected = co_await connect(*c);
      if (connected.error != TransportError::none) {
        untrack(*c);
        c->close();
        co_return connected;
      }
    }
    Outcome outcome = co_await exchange(*c, body, handler);
    untrack(*c);
    release(std::move(c), outcome.reusable);
    // A reused connection that the server closed while idle, seen before any response byte:
    // send once more on a fresh connection, as HTTP clients do.
    if (outcome.retryable && reused && attempt == 0 && !shut_down) continue;
    co_return std::move(outcome.result);
  }
}

HttpClient::HttpClient(asio::io_context& io, Url target, ClientOptions options, const Clock& clock)
    : impl_(std::make_unique<Impl>(io, std::move(target), options, clock)) {}

HttpClient::~HttpClient() = default;

asio::awaitable<TransportResult> HttpClient::post_stream(std::string_view path,
                                                         std::span<const Header> headers,
                                                         std::string_view body,
                                                         ResponseHandler& handler) {
  co_return co_await impl_->request(true, path, headers, body, handler);
}

asio::awaitable<SimpleResponse> HttpClient::get(std::string_view path,
                                                std::span<const Header> headers) {
  co_return co_await simple(false, path, headers, {});
}

asio::awaitable<SimpleResponse> HttpClient::post(std::string_view path, std::string_view body,
                                                 std::span<const Header> headers) {
  co_return co_await simple(true, path, headers, body);
}

asio::awaitable<SimpleResponse> HttpClient::simple(bool post, std::string_view path,
                                                   std::span<const Header> headers,
                                                   std::string_view body) {
  Collector collector;
  SimpleResponse response;
  response.transport = co_await impl_->request(post, path, headers, body, collector);
  if (collector.too_large) {
    response.transport.error = TransportError::protocol;
    response.transport.message = "the response from " + impl_->reads.name + " is larger than " +
                                 std::to_string(kGetBodyLimit >> 20) + " MiB.";
  }
  response.status = collector.status;
  response.body = std::move(collector.body);
  co_return response;
}

void HttpClient::shutdown() {
  Impl& d = *impl_;
  d.shut_down = true;
  for (auto& c : d.idle) c->close();
  d.idle.clear();
  for (auto& c : d.active) {
    c->aborted = true;
    c->close();  // pending operations end with operation_aborted; later ones fail at once
  }
}

}  // namespace splleed::net
