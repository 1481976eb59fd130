#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <sstream>
#include <utility>

#include "sim/metrics.hpp"
#include "sim/profiler.hpp"
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

// The native generation endpoints with a fixed path.
std::optional<Endpoint> native_endpoint(std::string_view target) {
  if (target == "/generate_stream") return Endpoint::tgi;
  if (target == "/generate") return Endpoint::sglang;
  if (target == "/completion" || target == "/completions") return Endpoint::llamacpp;
  if (target == "/api/generate") return Endpoint::ollama_generate;
  if (target == "/api/chat") return Endpoint::ollama_chat;
  return std::nullopt;
}

// %XX in a path segment.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Triton's per-model paths: /v2/models/{model}[/versions/{v}]/{generate_stream|ready} ->
// (model, last segment).
std::optional<std::pair<std::string, std::string_view>> triton_path(std::string_view target) {
  constexpr std::string_view kPrefix = "/v2/models/";
  if (target.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = target.substr(kPrefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  std::string_view model = rest.substr(0, slash);
  std::string_view tail = rest.substr(slash + 1);
  if (tail.substr(0, 9) == "versions/") {
    const auto next = tail.find('/', 9);
    if (next == std::string_view::npos) return std::nullopt;
    tail = tail.substr(next + 1);
  }
  if (tail != "generate_stream" && tail != "ready") return std::nullopt;
  return std::make_pair(percent_decode(model), tail);
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
      rng(seed) {
  // The whole output is kept for non-streaming answers and for TGI's generated_text and SGLang's
  // cumulative text: room for it up front (no word is longer than 9 bytes), so tokens do not
  // allocate.
  if (!req.stream || req.endpoint == Endpoint::tgi || req.endpoint == Endpoint::sglang)
    text.reserve(static_cast<std::size_t>(std::min(req.max_tokens, 1 << 16)) * 9);
}

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
    std::int16_t word = -1;
    if (!eos) {
      word = static_cast<std::int16_t>(rng() % kVocabulary.size());
      words.append(kVocabulary[static_cast<std::size_t>(word)]);
    }
    shard.step_words[static_cast<std::size_t>(made - 1)] = word;
  }
  shard.counters.tokens_generated.add(static_cast<std::uint64_t>(made));
  const std::string_view reason = (!last || fault_now) ? "" : eos ? "stop" : "length";

  if (!is_openai(req.endpoint)) {
    emit_native(made, last && !fault_now, eos);
  } else if (req.stream) {
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

NativeSummary Generation::summary(bool eos, bool first_event) const {
  using steady = std::chrono::steady_clock;
  const auto now = steady::now();
  // The engine stamps the first token after this call returns: a one-event request's is now.
  const auto first = first_event ? now : first_token();
  auto ns = [](steady::duration d) {
    return static_cast<Nanos>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  NativeSummary s;
  s.eos = eos;
  s.prompt_tokens = req.prompt_tokens;
  s.completion_tokens = emitted;
  s.prompt_computed = first_prefill_tokens() < 0 ? req.prompt_tokens : first_prefill_tokens();
  s.cached_tokens = req.prompt_tokens - s.prompt_computed;
  s.queue_ns = ns(first_admission() - arrival());
  s.prefill_ns = ns(first - first_admission());
  s.decode_ns = ns(now - first);
  s.total_ns = ns(now - arrival());
  return s;
}

void Generation::emit_native(std::int32_t made, bool final, bool eos) {
  Connection& c = *conn;
  Shard& shard = c.shard();
  const std::string_view model = shard.model_json;
  const std::int64_t before = emitted - made;
  NativeSummary sum;
  if (final) sum = summary(eos, before == 0);
  const NativeSummary* end = final ? &sum : nullptr;
  if (req.endpoint == Endpoint::sglang) {
    // One event per engine step, with the cumulative text (as SGLang streams).
    text.append(shard.step_text);
    const double e2e_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - arrival()).count();
    shard.payload.clear();
    append_sglang_event(shard.payload, id, text, req.prompt_tokens, emitted,
                        req.prompt_tokens - (first_prefill_tokens() < 0 ? req.prompt_tokens
                                                                        : first_prefill_tokens()),
                        end, e2e_s);
    c.write_event(*this, !shard.step_text.empty());
    return;
  }
  // The other APIs send one event per token, even for a speculative step's several tokens.
  std::int64_t unix_ns = 0;
  if (is_ollama(req.endpoint)) {
    unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  }
  for (std::int32_t k = 0; k < made; ++k) {
    const std::int16_t word = shard.step_words[static_cast<std::size_t>(k)];
    const std::string_view tok = word < 0 ? std::string_view() : kVocabulary[static_cast<std::size_t>(word)];
    const std::int32_t token_id = word < 0 ? kEosTokenId : kFirstWordId + word;
    const std::int64_t index = before + k + 1;
    const bool last_token = k == made - 1;
    shard.payload.clear();
    switch (req.endpoint) {
      case Endpoint::tgi:
        // The EOS token is streamed as TGI's special token, carrying the details.
        text.append(tok);
        append_tgi_token_event(shard.payload, index, token_id, word < 0 ? kEosText : tok, word < 0,
                               last_token ? end : nullptr, text);
        break;
      case Endpoint::llamacpp:
        if (word >= 0) append_llamacpp_token_event(shard.payload, tok, token_id, index, req.prompt_tokens);
        break;
      case Endpoint::ollama_generate:
      case Endpoint::ollama_chat:
        if (word >= 0)
          append_ollama_event(shard.payload, req.endpoint == Endpoint::ollama_chat, model, unix_ns,
                              tok, nullptr);
        break;
      case Endpoint::triton:
        if (word >= 0) append_triton_event(shard.payload, model, tok);
        break;
      default:
        break;
    }
    // llama.cpp, Ollama and Triton do not stream the EOS token.
    if (shard.payload.size() > 0) c.write_event(*this, word >= 0);
  }
  if (!final) return;
  shard.payload.clear();
  if (req.endpoint == Endpoint::llamacpp) {
    append_llamacpp_final_event(shard.payload, model, sum);
  } else if (is_ollama(req.endpoint)) {
    append_ollama_event(shard.payload, req.endpoint == Endpoint::ollama_chat, model, unix_ns, "",
                        &sum);
  }
  if (shard.payload.size() > 0) c.write_event(*this, false);
}

void Generation::finish(std::string_view finish_reason) {
  Connection& c = *conn;
  Shard& shard = c.shard();
  if (c.closed()) return;
  shard.counters.generations_finished.add();
  const UsageCounts usage{req.prompt_tokens, emitted};
  if (!is_openai(req.endpoint)) {
    // The final event went out with the last token; of the native APIs only SGLang ends with
    // [DONE], the others' streams end with the body.
    if (req.endpoint == Endpoint::sglang && req.fault != Fault::no_done) {
      shard.payload.clear();
      append_done_event(shard.payload);
      c.write_event(*this, false);
    } else if (req.fault == Fault::no_done) {
      shard.counters.faults_injected.add();
    }
    c.write_bytes(kLastChunk);
    c.end_response();
    return;
  }
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
      if (is_openai(req.endpoint)) {
        append_error_event(shard.payload);
      } else {
        append_native_error_event(shard.payload, req.endpoint);
      }
      c.write_event(*this, false);
      c.write_bytes(kLastChunk);
      break;
    case Fault::malformed:
      if (!req.stream) {
        c.write_response(http::status::ok, "{\"choices\": [", "application/json", this);
        break;
      }
      shard.payload.clear();
      if (is_openai(req.endpoint)) {
        append_malformed_event(shard.payload);
      } else {
        append_native_malformed_event(shard.payload, req.endpoint);
      }
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
  } else if (target == "/tokenize") {
    if (req.method() != http::verb::post) return method_not_allowed();
    const TokenizeReply r =
        tokenize_reply(req.body(), shard_.config.model, shard_.config.kv_tokens);
    write_response(static_cast<http::status>(r.status), r.body, "application/json", nullptr);
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
  } else if (target == "/start_profile" || target == "/stop_profile") {
    if (req.method() != http::verb::post) return method_not_allowed();
    auto [status, body] = target == "/start_profile" ? shard_.profiler->start(req.body())
                                                     : shard_.profiler->stop();
    write_response(static_cast<http::status>(status), std::move(body), "text/plain", nullptr);
    end_response();
  } else if (target == "/v1/completions" || target == "/v1/chat/completions") {
    if (req.method() != http::verb::post) return method_not_allowed();
    handle_generation(req, target == "/v1/completions" ? Endpoint::completions : Endpoint::chat);
  } else if (auto native = native_endpoint(target)) {
    if (req.method() != http::verb::post) return method_not_allowed();
    handle_generation(req, *native);
  } else if (auto triton = triton_path(target)) {
    const bool ready = triton->second == "ready";
    if (req.method() != (ready ? http::verb::get : http::verb::post)) return method_not_allowed();
    if (triton->first != shard_.config.model) {  // Triton's answer for a model it does not serve
      write_error(Endpoint::triton, 400,
                  "Request for unknown model: '" + triton->first + "' is not found", "");
    } else if (ready) {
      write_response(http::status::ok, "", "text/plain", nullptr);
      end_response();
    } else {
      handle_generation(req, Endpoint::triton, triton->first);
    }
  } else if (target == "/v2/health/ready" || target == "/v2/health/live") {
    if (req.method() != http::verb::get) return method_not_allowed();
    write_response(http::status::ok, "", "text/plain", nullptr);
    end_response();
  } else {
    write_response(http::status::not_found,
                   error_body("Not Found: " + std::string(req.method_string()) + " " +
                                  std::string(target),
                              "not_found_error", 404),
                   "application/json", nullptr);
    end_response();
  }
}

void Connection::write_error(Endpoint endpoint, int status, std::string_view message,
                             std::string_view type) {
  write_response(static_cast<http::status>(status),
                 is_openai(endpoint) ? error_body(message, type, status)
                                     : native_error_body(endpoint, message, type, status),
                 "application/json", nullptr);
  end_response();
}

void Connection::handle_generation(http::request<http::string_body>& req, Endpoint endpoint,
                                   std::string_view path_model) {
  auto parsed =
      parse_generation_request(shard_.json, req.body(), endpoint, shard_.config.prefix_cache);
  if (auto* err = std::get_if<RequestError>(&parsed)) {
    // TGI answers validation errors with 422.
    const int status = endpoint == Endpoint::tgi && err->status == 400 ? 422 : err->status;
    return write_error(endpoint, status, err->message, err->type);
  }
  auto& g = std::get<GenerationRequest>(parsed);
  if (!path_model.empty()) g.model = std::string(path_model);
  // TGI, SGLang and llama.cpp serve their one model whatever the body names.
  const bool checks_model = is_openai(endpoint) || is_ollama(endpoint);
  if (checks_model && !g.model.empty() && g.model != shard_.config.model) {
    if (is_ollama(endpoint))  // as Ollama answers
      return write_error(endpoint, 404, "model '" + g.model + "' not found", "");
    // as vLLM answers
    return write_error(endpoint, 404, "The model `" + g.model + "` does not exist.", "NotFoundError");
  }
  const std::int64_t kv = shard_.config.kv_tokens;
  if (kv > 0 && g.prompt_tokens + g.max_tokens > kv) {  // vLLM's answer past max_model_len
    return write_error(endpoint, endpoint == Endpoint::tgi ? 422 : 400,
                       fmt::format("This model's maximum context length is {} tokens. "
                                   "However, you requested {} tokens ({} in the messages, "
                                   "{} in the completion). Please reduce the length of "
                                   "the messages or completion.",
                                   kv, g.prompt_tokens + g.max_tokens, g.prompt_tokens,
                                   g.max_tokens),
                       "invalid_request_error");
  }
  if (g.fault == Fault::http_500 || g.fault == Fault::http_429) {
    shard_.counters.faults_injected.add();
    if (g.fault == Fault::http_429)
      return write_error(endpoint, 429, "simulated rate limit: too many requests", "rate_limit_error");
    return write_error(endpoint, 500, "simulated internal server error", "internal_error");
  }

  const std::uint64_t serial = shard_.next_request++;
  const std::uint64_t seed = mix(shard_.config.seed ^ mix(shard_.index ^ mix(serial)));
  const std::string_view prefix = endpoint == Endpoint::chat          ? "chatcmpl-"
                                  : endpoint == Endpoint::completions ? "cmpl-"
                                                                      : "";
  // As vLLM: the response id is built from X-Request-Id when the client sent one.
  std::string core = request_id_.empty() ? fmt::format("{:016x}", mix(seed)) : request_id_;
  std::string response_id = std::string(prefix) + json_escape(core);
  std::string log_id = request_id_.empty() ? std::string(prefix) + core : request_id_;
  const std::uint32_t log_request = shard_.log.add_request(std::move(log_id));
  const bool stream = g.stream;
  job_ = std::make_shared<Generation>(shared_from_this(), std::move(g), std::move(response_id),
                                      log_request, unix_seconds(), seed);
  shard_.counters.generations_started.add();
  // Headers go out at once, as vLLM sends them.
  if (stream) write_stream_header(native_content_type(endpoint));
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

void Connection::write_stream_header(std::string_view content_type) {
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::server, "splleed-sim");
  res.set(http::field::content_type, content_type);
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
