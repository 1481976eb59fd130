#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <sstream>

#include "sim/metrics.hpp"
#include "sim/server.hpp"

namespace splleed::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxBufferedInput = 1 << 20;  // pipelined input held during a response
constexpr std::uint64_t kMaxBody = 64ull << 20;
constexpr std::uint32_t kMaxHeader = 64 * 1024;

// Token texts: each token is " <word>" with a word drawn from this list (all JSON-safe).
constexpr std::array<std::string_view, 64> kVocabulary = {
    " the",    " of",     " and",    " a",      " to",      " in",     " is",     " river",
    " light",  " stone",  " model",  " token",  " server",  " time",   " over",   " under",
    " quiet",  " bright", " long",   " short",  " north",   " south",  " water",  " fire",
    " city",   " garden", " story",  " window", " engine",  " signal", " paper",  " music",
    " green",  " blue",   " silver", " old",    " new",     " small",  " large",  " fast",
    " slow",   " cloud",  " rain",   " wind",   " mountain", " road",  " bridge", " harbor",
    " lamp",   " clock",  " letter", " number", " market",  " forest", " island", " valley",
    " winter", " summer", " morning", " evening", " voice", " field",  " tower",  " ship"};

// U[0, 1) from 53 random bits (portable, unlike std::uniform_real_distribution).
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// splitmix64: spreads (seed, replica, request number) into independent per-request seeds.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shard

Shard::Shard(const SimConfig& cfg, const Clock& clk, std::size_t idx)
    : config(cfg),
      clock(clk),
      index(idx),
      engine(ctx,
             EngineModel{cfg.ttft_ms * 1e6, cfg.prefill_us_per_token * 1e3, cfg.itl_ms * 1e6,
                         cfg.step_us_per_running * 1e3, cfg.jitter, cfg.max_running,
                         cfg.kv_tokens, cfg.prefix_cache, cfg.spec_tokens, cfg.spec_acceptance},
             mix(cfg.seed ^ mix(idx)), counters),
      log(cfg.record_send_log),
      model_json(json_escape(cfg.model)) {
  step_text.reserve(64 * static_cast<std::size_t>(kMaxSpecTokens + 1));
}

void Shard::add_connection(tcp::socket socket) {
  if (stopping) return;
  boost::system::error_code ec;
  // No Nagle delay: each event must leave when written, or the send log would lie.
  socket.set_option(tcp::no_delay(true), ec);
  // write_some must report would_block instead of blocking the replica's thread.
  socket.non_blocking(true, ec);
  if (ec) return;
  counters.connections_accepted.add();
  std::make_shared<Connection>(*this, std::move(socket))->start();
}

void Shard::shutdown() {
  stopping = true;
  engine.shutdown();
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections.size());
  for (Connection* c : connections)
    if (auto p = c->weak_from_this().lock()) all.push_back(std::move(p));
  for (auto& c : all) c->close();
}

// ---------------------------------------------------------------------------------------------
// Generation

Generation::Generation(std::shared_ptr<Connection> c, GenerationRequest r, std::string response_id,
                       std::uint32_t log_req, std::int64_t created_s, std::uint64_t seed)
    : Job(c->shard().ctx.get_executor(), r.prompt_tokens, r.max_tokens, std::move(r.prefix_blocks)),
      conn(std::move(c)),
      req(std::move(r)),
      id(std::move(response_id)),
      log_request(log_req),
      created(created_s),
      rng(seed) {}

ChunkContext Generation::context() const noexcept {
  return ChunkContext{req.endpoint, id, created, conn->shard().model_json};
}

Emitted Generation::emit_tokens(std::int32_t n) {
  Connection& c = *conn;
  if (c.closed()) return {0, true};
  Shard& shard = c.shard();
  const double p = shard.config.eos_probability;
  const bool first_event = emitted == 0;
  // With speculative decoding an event carries several tokens, as vLLM streams one chunk per
  // engine step; each token draws its EOS chance and word in turn.
  std::string& words = shard.step_text;
  words.clear();
  std::int32_t made = 0;
  bool eos = false, last = false, fault_now = false;
  while (made < n && !last && !fault_now) {
    ++emitted;
    ++made;
    eos = !req.ignore_eos && emitted > req.min_tokens && p > 0 && unit(rng) < p;
    last = eos || emitted >= req.max_tokens;
    fault_now = is_mid_stream(req.fault) && (emitted >= kFaultAfterTokens || last);
    // The EOS token has no text, as in vLLM: its chunk carries only the finish reason.
    if (!eos) words.append(kVocabulary[rng() % kVocabulary.size()]);
  }
  shard.counters.tokens_generated.add(static_cast<std::uint64_t>(made));
  const std::string_view reason = (!last || fault_now) ? "" : eos ? "stop" : "length";

  if (req.stream) {
    const ChunkContext ctx = context();
    UsageCounts usage{req.prompt_tokens, emitted};
    if (req.endpoint == Endpoint::chat && first_event) {
      UsageCounts none{req.prompt_tokens, 0};
      shard.payload.clear();
      append_role_event(shard.payload, ctx, req.continuous_usage ? &none : nullptr);
      c.write_event(*this, false);
    }
    shard.payload.clear();
    append_token_event(shard.payload, ctx, words, reason, req.continuous_usage ? &usage : nullptr);
    c.write_event(*this, !words.empty());
  } else {
    text.append(words);
  }
  if (fault_now) {
    fail();
    return {made, true};
  }
  if (last) {
    finish(reason);
    return {made, true};
  }
  return {made, false};
}

void Generation::finish(std::string_view finish_reason) {
  Connection& c = *conn;
  Shard& shard = c.shard();
  if (c.closed()) return;
  shard.counters.generations_finished.add();
  const UsageCounts usage{req.prompt_tokens, emitted};
  if (!req.stream) {
    c.write_response(http::status::ok, completion_body(context(), text, finish_reason, usage),
                     "application/json", this);
    c.end_response();
    return;
  }
  if (req.include_usage) {
    shard.payload.clear();
    append_usage_event(shard.payload, context(), usage);
    c.write_event(*this, false);
  }
  if (req.fault != Fault::no_done) {
    shard.payload.clear();
    append_done_event(shard.payload);
    c.write_event(*this, false);
  } else {
    shard.counters.faults_injected.add();
  }
  c.write_bytes(kLastChunk);
  c.end_response();
}

void Generation::fail() {
  Connection& c = *conn;
  Shard& shard = c.shard();
  if (c.closed()) return;
  shard.counters.generations_finished.add();
  shard.counters.faults_injected.add();
  switch (req.fault) {
    case Fault::reset:
      c.reset_after_flush();
      return;
    case Fault::stall:
      c.stall();
      return;
    case Fault::error_event:
      if (!req.stream) {
        c.write_response(http::status::internal_server_error,
                         error_body("simulated engine failure", "internal_error", 500),
                         "application/json", this);
        break;
      }
      shard.payload.clear();
      append_error_event(shard.payload);
      c.write_event(*this, false);
      c.write_bytes(kLastChunk);
      break;
    case Fault::malformed:
      if (!req.stream) {
        c.write_response(http::status::ok, "{\"choices\": [", "application/json", this);
        break;
      }
      shard.payload.clear();
      append_malformed_event(shard.payload);
      c.write_event(*this, false);
      c.write_bytes(kLastChunk);
      break;
    default:
      break;
  }
  c.end_response();
}

// ---------------------------------------------------------------------------------------------
// Connection: reading and dispatch

Connection::Connection(Shard& shard, tcp::socket socket) : shard_(shard), socket_(std::move(socket)) {
  shard_.connections.push_front(this);
  registration_ = shard_.connections.begin();
}

Connection::~Connection() { shard_.connections.erase(registration_); }

void Connection::start() { read_more(); }

void Connection::close() {
  if (closed_) return;
  auto self = shared_from_this();  // releasing the job may drop the last other reference
  closed_ = true;
  if (job_) {
    if (shard_.engine.cancel(*job_)) shard_.counters.generations_cancelled.add();
    job_.reset();
  }
  error_code ec;
  socket_.close(ec);
}

void Connection::read_more() {
  if (reading_ || closed_ || in_.size() >= kMaxBufferedInput) return;
  reading_ = true;
  socket_.async_read_some(in_.prepare(kReadChunk),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void Connection::on_read(error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {  // EOF or error: the client is gone, and with it any request in flight
    close();
    return;
  }
  in_.commit(n);
  parse_requests();
  read_more();  // keeps reading during a response, so a disconnect frees the slot at once
}

void Connection::parse_requests() {
  in_parse_ = true;
  while (!busy_ && !closed_ && in_.size() > 0) {
    if (!parser_) {
      parser_.emplace();
      parser_->body_limit(kMaxBody);
      parser_->header_limit(kMaxHeader);
      parser_->eager(true);
      continue_checked_ = false;
    }
    error_code ec;
    std::size_t used = parser_->put(in_.data(), ec);
    in_.consume(used);
    if (!continue_checked_ && (!ec || ec == http::error::need_more) && parser_->is_header_done()) {
      // A client that asked for it (curl does for large bodies) waits for this before the body.
      continue_checked_ = true;
      if (beast::iequals(parser_->get()[http::field::expect], "100-continue") && !parser_->is_done())
        write_bytes("HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (ec == http::error::need_more) break;
    if (ec) {
      keep_alive_ = false;
      busy_ = true;
      request_id_.clear();
      write_response(http::status::bad_request,
                     error_body("malformed HTTP request: " + ec.message(), "invalid_request_error", 400),
                     "application/json", nullptr);
      end_response();
      break;
    }
    if (!parser_->is_done()) {
      if (used == 0) break;
      continue;
    }
    auto req = parser_->release();
    parser_.reset();
    handle(req);
  }
  in_parse_ = false;
}

void Connection::handle(http::request<http::string_body>& req) {
  shard_.counters.requests_received.add();
  busy_ = true;
  keep_alive_ = req.keep_alive();
  request_id_ = std::string(req["X-Request-Id"]);
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));

  auto method_not_allowed = [&] {
    write_response(http::status::method_not_allowed,
                   error_body("Method Not Allowed", "invalid_request_error", 405), "application/json",
                   nullptr);
    end_response();
  };
  if (target == "/health") {
    if (req.method() != http::verb::get) return method_not_allowed();
    write_response(http::status::ok, "", "text/plain", nullptr);
    end_response();
  } else if (target == "/v1/models") {
    if (req.method() != http::verb::get) return method_not_allowed();
    // A limited KV cache is also the longest context a request may use (see handle_generation).
    const std::int64_t kv = shard_.config.kv_tokens;
    write_response(http::status::ok,
                   models_body(shard_.config.model, unix_seconds(),
                               kv > 0 ? std::optional(kv) : std::nullopt),
                   "application/json", nullptr);
    end_response();
  } else if (target == "/metrics") {
    if (req.method() != http::verb::get) return method_not_allowed();
    write_response(http::status::ok, shard_.exporter ? shard_.exporter->render() : std::string(),
                   shard_.exporter ? shard_.exporter->content_type() : "text/plain",
                   nullptr);
    end_response();
  } else if (target == "/gpu/metrics") {  // a simulated GPU, as a DCGM exporter shows it
    if (req.method() != http::verb::get) return method_not_allowed();
    write_response(http::status::ok, shard_.exporter ? shard_.exporter->render_gpu() : std::string(),
                   "text/plain; version=0.0.4; charset=utf-8", nullptr);
    end_response();
  } else if (target == "/v1/completions" || target == "/v1/chat/completions") {
    if (req.method() != http::verb::post) return method_not_allowed();
    handle_generation(req, target == "/v1/completions" ? Endpoint::completions : Endpoint::chat);
  } else {
    write_response(http::status::not_found,
                   error_body("Not Found: " + std::string(req.method_string()) + " " +
                                  std::string(target),
                              "not_found_error", 404),
                   "application/json", nullptr);
    end_response();
  }
}

void Connection::handle_generation(http::request<http::string_body>& req, Endpoint endpoint) {
  auto parsed =
      parse_generation_request(shard_.json, req.body(), endpoint, shard_.config.prefix_cache);
  if (auto* err = std::get_if<RequestError>(&parsed)) {
    write_response(static_cast<http::status>(err->status),
                   error_body(err->message, err->type, err->status), "application/json", nullptr);
    end_response();
    return;
  }
  auto& g = std::get<GenerationRequest>(parsed);
  if (!g.model.empty() && g.model != shard_.config.model) {  // as vLLM answers
    write_response(http::status::not_found,
                   error_body("The model `" + g.model + "` does not exist.", "NotFoundError", 404),
                   "application/json", nullptr);
    end_response();
    return;
  }
  const std::int64_t kv = shard_.config.kv_tokens;
  if (kv > 0 && g.prompt_tokens + g.max_tokens > kv) {  // vLLM's answer past max_model_len
    write_response(http::status::bad_request,
                   error_body(fmt::format("This model's maximum context length is {} tokens. "
                                          "However, you requested {} tokens ({} in the messages, "
                                          "{} in the completion). Please reduce the length of "
                                          "the messages or completion.",
                                          kv, g.prompt_tokens + g.max_tokens, g.prompt_tokens,
                                          g.max_tokens),
                              "invalid_request_error", 400),
                   "application/json", nullptr);
    end_response();
    return;
  }
  if (g.fault == Fault::http_500 || g.fault == Fault::http_429) {
    shard_.counters.faults_injected.add();
    const bool busy = g.fault == Fault::http_429;
    write_response(busy ? http::status::too_many_requests : http::status::internal_server_error,
                   busy ? error_body("simulated rate limit: too many requests", "rate_limit_error", 429)
                        : error_body("simulated internal server error", "internal_error", 500),
                   "application/json", nullptr);
    end_response();
    return;
  }

  const std::uint64_t serial = shard_.next_request++;
  const std::uint64_t seed = mix(shard_.config.seed ^ mix(shard_.index ^ mix(serial)));
  const std::string_view prefix = endpoint == Endpoint::chat ? "chatcmpl-" : "cmpl-";
  // As vLLM: the response id is built from X-Request-Id when the client sent one.
  std::string core = request_id_.empty() ? fmt::format("{:016x}", mix(seed)) : request_id_;
  std::string response_id = std::string(prefix) + json_escape(core);
  std::string log_id = request_id_.empty() ? std::string(prefix) + core : request_id_;
  const std::uint32_t log_request = shard_.log.add_request(std::move(log_id));
  const bool stream = g.stream;
  job_ = std::make_shared<Generation>(shared_from_this(), std::move(g), std::move(response_id),
                                      log_request, unix_seconds(), seed);
  shard_.counters.generations_started.add();
  if (stream) write_stream_header();  // headers go out at once, as vLLM sends them
  if (closed_) return;
  shard_.engine.submit(job_);
}

void Connection::end_response() {
  job_.reset();
  if (closed_) return;
  if (!keep_alive_) {  // busy_ stays set: nothing more is read from this connection
    after_flush_ = AfterFlush::shutdown;
    after_flush();
    return;
  }
  busy_ = false;
  if (in_parse_ || parse_posted_) return;  // the running parse loop picks up the next request
  // Posted, not called: this may run inside an engine step or a write completion.
  parse_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->parse_posted_ = false;
    self->parse_requests();
    self->read_more();
  });
}

void Connection::stall() { job_.reset(); }

void Connection::reset_after_flush() {
  job_.reset();
  after_flush_ = AfterFlush::reset;
  after_flush();
}

// ---------------------------------------------------------------------------------------------
// Connection: writing

void Connection::write_stream_header() {
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::server, "splleed-sim");
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  if (!request_id_.empty()) res.set("X-Request-Id", request_id_);
  res.keep_alive(keep_alive_);
  res.chunked(true);
  std::ostringstream os;
  os << res.base();
  write(os.str(), nullptr);
}

void Connection::write_response(http::status status, std::string body,
                                std::string_view content_type, Generation* g) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::server, "splleed-sim");
  res.set(http::field::content_type, content_type);
  if (!request_id_.empty()) res.set("X-Request-Id", request_id_);
  if (status == http::status::too_many_requests) res.set(http::field::retry_after, "1");
  res.keep_alive(keep_alive_);
  res.body() = std::move(body);
  res.prepare_payload();
  std::ostringstream os;
  os << res;
  if (g) shard_.counters.events.add();
  write(os.str(), g);
}

void Connection::write_event(Generation& g, bool carries_text) {
  Shard& s = shard_;
  s.frame.clear();
  append_http_chunk(s.frame, std::string_view(s.payload.data(), s.payload.size()));
  s.counters.events.add();
  if (carries_text) s.counters.token_events.add();
  write(std::string_view(s.frame.data(), s.frame.size()), &g);
}

void Connection::write(std::string_view bytes, Generation* g) {
  if (closed_) return;
  const bool logged = g && shard_.log.enabled();
  const Nanos before = logged ? shard_.clock.now() : 0;
  std::size_t n = 0;
  if (!writing_) {
    error_code ec;
    n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (would_block(ec)) {
      n = 0;
    } else if (ec) {
      close();
      return;
    }
  }
  bytes_given_ += bytes.size();
  bytes_done_ += n;
  std::size_t index = SendLog::kNone;
  if (g) {
    const std::uint32_t seq = g->seq++;
    if (logged) index = shard_.log.add(g->log_request, seq, before);
  }
  if (n == bytes.size()) {
    if (logged) shard_.log.complete(index, shard_.clock.now());
    return;
  }
  if (g) shard_.counters.writes_blocked.add();
  queued_.append(bytes.data() + n, bytes.size() - n);
  if (logged) pending_.push_back(Pending{index, bytes_given_});
  if (!writing_) start_async_write();
}

void Connection::start_async_write() {
  std::swap(inflight_, queued_);
  queued_.clear();
  writing_ = true;
  asio::async_write(socket_, asio::buffer(inflight_),
                    [self = shared_from_this()](error_code ec, std::size_t n) {
                      self->on_written(ec, n);
                    });
}

void Connection::on_written(error_code ec, std::size_t n) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    close();
    return;
  }
  bytes_done_ += n;
  if (pending_head_ < pending_.size()) {
    const Nanos now = shard_.clock.now();
    while (pending_head_ < pending_.size() && pending_[pending_head_].end <= bytes_done_)
      shard_.log.complete(pending_[pending_head_++].log_index, now);
    if (pending_head_ == pending_.size()) {
      pending_.clear();  // keeps its capacity
      pending_head_ = 0;
    }
  }
  if (!queued_.empty()) {
    start_async_write();
    return;
  }
  after_flush();
}

void Connection::after_flush() {
  if (closed_ || writing_ || !queued_.empty()) return;
  error_code ec;
  switch (after_flush_) {
    case AfterFlush::nothing:
      return;
    case AfterFlush::shutdown:
      // Half-close; the read loop closes the socket when the client does.
      after_flush_ = AfterFlush::nothing;
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      return;
    case AfterFlush::reset:
      after_flush_ = AfterFlush::nothing;
      socket_.set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends RST
      close();
      return;
  }
}

}  // namespace splleed::sim
