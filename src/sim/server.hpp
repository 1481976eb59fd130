#pragma once
// Internals of SimServer: a replica (Shard) owns an io_context run by one thread, an Engine, its
// connections and its send log; everything of a replica runs on that thread, so nothing locks.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "sim/counters.hpp"
#include "sim/engine.hpp"
#include "sim/native_wire.hpp"
#include "sim/request.hpp"
#include "sim/send_log.hpp"
#include "sim/sim_server.hpp"
#include "sim/wire.hpp"

namespace splleed::sim {

class Connection;
class Generation;
class MetricsExporter;
class SimProfiler;

struct Shard {
  Shard(const SimConfig& config, const Clock& clock, std::size_t index);
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void add_connection(boost::asio::ip::tcp::socket socket);
  // Stops the engine and closes every connection; the io_context then runs out of work.
  void shutdown();

  boost::asio::io_context ctx{1};  // run by exactly one thread
  const SimConfig& config;
  const Clock& clock;
  std::size_t index;
  Counters counters;
  Engine engine;
  SendLog log;
  simdjson::dom::parser json;
  fmt::memory_buffer payload;      // the event being formatted (reused)
  fmt::memory_buffer frame;        // ... and its HTTP chunk (reused)
  std::string step_text;           // the text of the tokens of one event (reused)
  // The vocabulary index of each token of one event; -1 for EOS.
  std::array<std::int16_t, kMaxSpecTokens + 1> step_words{};
  MetricsExporter* exporter = nullptr;  // renders GET /metrics over every replica
  SimProfiler* profiler = nullptr;      // POST /start_profile, /stop_profile (every replica)
  std::string model_json;          // config.model, JSON-escaped
  std::list<Connection*> connections;
  std::uint64_t next_request = 0;  // numbers generation requests: ids and per-request seeds
  bool stopping = false;
};

// A generation request in flight: the engine's Job, writing its tokens to its connection.
class Generation final : public Job {
 public:
  Generation(std::shared_ptr<Connection> conn, GenerationRequest req, std::string id,
             std::uint32_t log_request, std::int64_t created, std::uint64_t seed);
  Emitted emit_tokens(std::int32_t n) override;

  ChunkContext context() const noexcept;

  std::shared_ptr<Connection> conn;
  GenerationRequest req;
  std::string id;                 // response id, JSON-safe
  std::uint32_t log_request;      // the send log's index of this request
  std::uint32_t seq = 0;          // next event number
  std::int64_t created;
  std::int32_t emitted = 0;       // tokens produced so far (EOS included)
  std::string text;               // the output so far (non-streaming, TGI, SGLang)
  std::mt19937_64 rng;            // token text and EOS draws

 private:
  // A native API's events for the `made` tokens just drawn (shard().step_words); `final`: the
  // request ends normally with them.
  void emit_native(std::int32_t made, bool final, bool eos);
  NativeSummary summary(bool eos, bool first_event) const;
  void finish(std::string_view finish_reason);
  void fail();
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shard& shard, boost::asio::ip::tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  // At once: cancels the request in flight (freeing its engine slot) and closes the socket.
  void close();
  bool closed() const noexcept { return closed_; }
  Shard& shard() noexcept { return shard_; }

  // Sends shard().payload as one HTTP chunk and logs it as the generation's next event.
  void write_event(Generation& g, bool carries_text);
  // Sends a whole response (status line, headers, body); logged as an event when g is given.
  void write_response(boost::beast::http::status status, std::string body,
                      std::string_view content_type, Generation* g);
  // Sends the header of a chunked streaming response (SSE unless told otherwise).
  void write_stream_header(std::string_view content_type = "text/event-stream");
  void write_bytes(std::string_view bytes) { write(bytes, nullptr); }
  // The response is complete: the next request on this connection may be served.
  void end_response();
  // Resets the connection (RST, no chunk terminator) once everything before has been sent.
  void reset_after_flush();
  // The response stops here for good; the connection stays open until the client or stop().
  void stall();

 private:
  using error_code = boost::system::error_code;
  void read_more();
  void on_read(error_code ec, std::size_t n);
  void parse_requests();
  void handle(boost::beast::http::request<boost::beast::http::string_body>& req);
  // `path_model`: the model named by the path (Triton), empty otherwise.
  void handle_generation(boost::beast::http::request<boost::beast::http::string_body>& req,
                         Endpoint endpoint, std::string_view path_model = {});
  // A non-200 answer in the endpoint's error shape.
  void write_error(Endpoint endpoint, int status, std::string_view message, std::string_view type);
  void write(std::string_view bytes, Generation* g);
  void start_async_write();
  void on_written(error_code ec, std::size_t n);
  void after_flush();

  Shard& shard_;
  boost::asio::ip::tcp::socket socket_;
  std::list<Connection*>::iterator registration_;

  boost::beast::flat_buffer in_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool reading_ = false;     // an async read is pending
  bool busy_ = false;        // a response is in progress; later requests wait in in_
  bool in_parse_ = false;
  bool continue_checked_ = false;  // Expect: 100-continue handled for the request being parsed
  bool parse_posted_ = false;
  bool closed_ = false;
  bool keep_alive_ = true;
  std::string request_id_;   // X-Request-Id of the current request
  std::shared_ptr<Generation> job_;

  // Output, in call order: what the socket would not take at once waits in queued_, and goes
  // out through one async write at a time (inflight_).
  std::string inflight_;
  std::string queued_;
  bool writing_ = false;
  std::uint64_t bytes_given_ = 0;  // bytes passed to write() in total
  std::uint64_t bytes_done_ = 0;   // bytes the kernel accepted in total
  struct Pending {
    std::size_t log_index;
    std::uint64_t end;  // the event is written once bytes_done_ reaches this
  };
  std::vector<Pending> pending_;
  std::size_t pending_head_ = 0;
  enum class AfterFlush : std::uint8_t { nothing, shutdown, reset } after_flush_ = AfterFlush::nothing;
};

}  // namespace splleed::sim
