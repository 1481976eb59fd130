#pragma once
// A plain synchronous Beast HTTP/1.1 client for the simulator's tests. It keeps each HTTP chunk
// of a chunked response apart, so tests can check that every SSE event is its own chunk.
// GCC 12 with -fsanitize reports a false -Wmaybe-uninitialized inside Beast's response parser
// (boost::optional in basic_parser::do_field); it is not in code of ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace splleed::sim::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  bool chunked = false;
  std::string body;                   // the whole body (chunks joined)
  std::vector<std::string> chunks;    // each chunk's data, chunked responses only
  bool complete = false;              // the message ended properly (terminator / full length)
  boost::system::error_code error;    // why not, when it did not

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// "data: X\n\n" -> X; empty optional when the chunk is not exactly one SSE data event.
inline std::optional<std::string> sse_data(std::string_view chunk) {
  constexpr std::string_view head = "data: ", tail = "\n\n";
  if (chunk.size() < head.size() + tail.size() || chunk.substr(0, head.size()) != head ||
      chunk.substr(chunk.size() - tail.size()) != tail)
    return std::nullopt;
  auto data = chunk.substr(head.size(), chunk.size() - head.size() - tail.size());
  if (data.find("\n\n") != std::string_view::npos) return std::nullopt;
  return std::string(data);
}

class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
  }

  tcp::socket& socket() { return socket_; }

  void send(http::verb method, const std::string& target, const std::string& body = {},
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(socket_, req);
  }
  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }

  // Reads the status line and headers of the next response.
  Reply& read_header() {
    start();
    boost::system::error_code ec;
    http::read_header(socket_, buf_, *parser_, ec);
    reply_.error = ec;
    collect_header();
    return reply_;
  }
  // Reads until the response has at least n chunks (or ended).
  Reply& read_chunks(std::size_t n) {
    if (!parser_) read_header();
    while (!reply_.error && !parser_->is_done() && reply_.chunks.size() < n) {
      boost::system::error_code ec;
      http::read_some(socket_, buf_, *parser_, ec);
      reply_.error = ec;
    }
    return reply_;
  }
  // Reads the rest of the response.
  Reply read() {
    if (!parser_) read_header();
    while (!reply_.error && !parser_->is_done()) {
      boost::system::error_code ec;
      http::read_some(socket_, buf_, *parser_, ec);
      reply_.error = ec;
    }
    reply_.complete = !reply_.error && parser_->is_done();
    if (!reply_.chunked) reply_.body = parser_->get().body();
    parser_.reset();
    return std::move(reply_);
  }

  Reply get(const std::string& target) {
    send(http::verb::get, target);
    return read();
  }
  Reply post(const std::string& target, const std::string& body,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    send(http::verb::post, target, body, headers);
    return read();
  }

 private:
  void start() {
    reply_ = Reply{};
    current_.clear();
    parser_.emplace();
    header_cb_ = [this](std::uint64_t, std::string_view, boost::system::error_code&) {
      current_.clear();
    };
    body_cb_ = [this](std::uint64_t remain, std::string_view data, boost::system::error_code&) {
      current_.append(data);
      reply_.body.append(data);
      if (remain == data.size()) reply_.chunks.push_back(std::move(current_)), current_.clear();
      return data.size();
    };
    parser_->on_chunk_header(header_cb_);
    parser_->on_chunk_body(body_cb_);
  }
  void collect_header() {
    if (reply_.error) return;
    const auto& msg = parser_->get();
    reply_.status = static_cast<int>(msg.result_int());
    reply_.chunked = msg.chunked();
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply_.headers[name] = std::string(f.value());
    }
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buf_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::function<void(std::uint64_t, std::string_view, boost::system::error_code&)> header_cb_;
  std::function<std::size_t(std::uint64_t, std::string_view, boost::system::error_code&)> body_cb_;
  std::string current_;
  Reply reply_;
};

}  // namespace splleed::sim::testing
