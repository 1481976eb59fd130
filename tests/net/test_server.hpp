#pragma once
// A scripted HTTP/1.1 server for the HttpClient tests. It listens on 127.0.0.1 (port 0) and runs on
// the same io_context as the client under test, so one thread drives both sides and every
// interleaving is decided by I/O completion order, never by sleeping. A script is a coroutine run
// once per accepted connection; it reads requests and writes raw response bytes, which lets a test
// produce exactly the framing, splits, closes and resets it needs.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
// GCC 12 with sanitizers reports a false -Wmaybe-uninitialized inside Beast's request parser
// (a boost::optional content length); the warning is located in these headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#pragma GCC diagnostic pop
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace splleed::net::testing {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Installs a fresh self-signed certificate (EC P-256, CN=localhost, SAN localhost and
// 127.0.0.1, valid one hour either side of now) and its key into a server context.
inline void use_self_signed_certificate(ssl::context& ctx) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  if (!key || !cert) throw std::runtime_error("cannot create a test key or certificate");
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  if (!san) throw std::runtime_error("cannot create the subjectAltName extension");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(x, key.get(), EVP_sha256()) == 0) throw std::runtime_error("cannot sign");
  if (SSL_CTX_use_certificate(ctx.native_handle(), x) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.native_handle(), key.get()) != 1) {
    throw std::runtime_error("cannot install the test certificate");
  }
}

// Wakes a coroutine waiting for a condition that another party changes (one waiter at a time).
class Gate {
 public:
  explicit Gate(asio::io_context& io) : timer_(io) {
    timer_.expires_at(std::chrono::steady_clock::time_point::max());
  }
  void notify() { timer_.cancel(); }
  template <class Pred>
  asio::awaitable<void> wait(Pred pred) {
    while (!pred()) co_await timer_.async_wait(kTuple);
  }

 private:
  asio::steady_timer timer_;
};

// One accepted connection, as a script sees it.
class ServerConn {
 public:
  ServerConn(tcp::socket socket, ssl::context* tls, int index,
             std::vector<http::request<http::string_body>>& log)
      : socket_(std::move(socket)), index_(index), log_(log) {
    if (tls) tls_.emplace(socket_, *tls);
  }

  int index() const { return index_; }
  bool tls() const { return tls_.has_value(); }

  asio::awaitable<bool> handshake() {
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, kTuple);
    co_return !ec;
  }

  // Reads one request into the server's log; false when the client closed or sent garbage.
  asio::awaitable<bool> read_request() {
    http::request<http::string_body> req;
    auto [ec, n] = tls_ ? co_await http::async_read(*tls_, buffer_, req, kTuple)
                        : co_await http::async_read(socket_, buffer_, req, kTuple);
    (void)n;
    if (ec) co_return false;
    log_.push_back(std::move(req));
    co_return true;
  }

  asio::awaitable<bool> write(std::string_view bytes) {
    auto [ec, n] = tls_ ? co_await asio::async_write(*tls_, asio::buffer(bytes), kTuple)
                        : co_await asio::async_write(socket_, asio::buffer(bytes), kTuple);
    (void)n;
    co_return !ec;
  }

  // Reads and discards until the client closes the connection (or it fails).
  asio::awaitable<void> wait_for_close() {
    char sink[512];
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(sink), kTuple);
      (void)n;
      if (ec) co_return;
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  // Closes with an RST instead of a FIN.
  void reset() {
    boost::system::error_code ignored;
    socket_.set_option(asio::socket_base::linger(true, 0), ignored);
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  boost::beast::flat_buffer buffer_;
  int index_;
  std::vector<http::request<http::string_body>>& log_;
};

class TestServer {
 public:
  using Script = std::function<asio::awaitable<void>(ServerConn&)>;

  TestServer(asio::io_context& io, Script script, ssl::context* tls = nullptr)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)), tls_(tls) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(std::string_view base_path = "") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
           std::string(base_path);
  }
  int accepted() const { return accepted_; }
  int tls_failures() const { return tls_failures_; }
  const std::vector<http::request<http::string_body>>& requests() const { return requests_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      const int index = accepted_++;
      asio::co_spawn(io_, serve(std::move(socket), index), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, int index) {
    ServerConn conn(std::move(socket), tls_, index, requests_);
    if (conn.tls() && !co_await conn.handshake()) {
      ++tls_failures_;
      co_return;
    }
    co_await script_(conn);
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  Script script_;
  ssl::context* tls_;
  int accepted_ = 0;
  int tls_failures_ = 0;
  std::vector<http::request<http::string_body>> requests_;
};

// Runs several tasks concurrently on `io` until all complete; results in the order given. The
// server's accept loop keeps the context busy, so the last completion stops it; a generous guard
// turns a hang into a failure instead of a stuck test.
template <class T>
std::vector<T> run_all(asio::io_context& io, std::vector<asio::awaitable<T>> tasks) {
  // Shared with the handlers, which may outlive this call if a task hangs.
  struct State {
    explicit State(asio::io_context& ctx, std::size_t n) : guard(ctx), results(n) {}
    asio::steady_timer guard;
    std::vector<std::optional<T>> results;
    std::size_t done = 0;
    bool hung = false;
    std::exception_ptr failure;
  };
  const std::size_t n = tasks.size();
  auto state = std::make_shared<State>(io, n);
  state->guard.expires_after(std::chrono::seconds(30));
  state->guard.async_wait([&io, state](const boost::system::error_code& ec) {
    if (!ec) {
      state->hung = true;
      io.stop();
    }
  });
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(io, std::move(tasks[i]), [&io, state, i, n](std::exception_ptr e, T value) {
      if (e && !state->failure) state->failure = e;
      state->results[i] = std::move(value);
      if (++state->done == n) {
        state->guard.cancel();
        io.stop();
      }
    });
  }
  io.restart();
  io.run();
  if (state->failure) std::rethrow_exception(state->failure);
  if (state->hung) throw std::runtime_error("the client task did not complete within 30 s");
  std::vector<T> out;
  for (auto& r : state->results) out.push_back(std::move(*r));
  return out;
}

template <class T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  std::vector<asio::awaitable<T>> tasks;
  tasks.push_back(std::move(task));
  return std::move(run_all(io, std::move(tasks)).front());
}

}  // namespace splleed::net::testing
