#include "load/runner.hpp"

#include "load/event_loop.hpp"
#include "load/target_client.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "metrics/request_metrics.hpp"
#include "metrics/run_checks.hpp"
#include "stats/summary.hpp"
#include <ctime>
#include "net/http_client.hpp"
#include "net/sse_decoder.hpp"
#include "protocol/adapter.hpp"
#include "load/schedule.hpp"

namespace splleed::load {

namespace asio = boost::asio;

std::string request_id_prefix(std::uint32_t run_number, bool warmup) {
  return fmt::format("{:08x}-{:04x}-4000-8000-", run_number, warmup ? 1 : 0);
}

std::string request_id(std::uint32_t run_number, bool warmup, std::uint64_t index) {
  return fmt::format("{}{:012x}", request_id_prefix(run_number, warmup), index);
}

std::vector<std::uint32_t> prompt_order(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  // Fisher-Yates over mt19937_64 (whose output the standard fixes) with a plain modulo: the tiny
  // bias is irrelevant for ordering prompts, and the result is the same on every platform.
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(rng() % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

namespace {

constexpr std::size_t kErrorBodyExcerpt = 512;

Nanos thread_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<Nanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

// A trace is replayed in its own order.
std::vector<std::uint32_t> identity_order(std::size_t n) {
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  return order;
}

net::Url parse_target(const TargetConfig& t) {
  std::string error;
  auto url = net::Url::parse(t.base_url, &error);
  if (!url) throw TargetError(error);
  return *url;
}

// Feeds one response into a RequestRecord: framing, protocol parsing, HTTP errors. One per worker
// slot, reused across requests so that its buffers are allocated once.
class StreamHandler final : public net::ResponseHandler {
 public:
  StreamHandler(std::unique_ptr<protocol::StreamParser> parser, protocol::Framing framing)
      : parser_(std::move(parser)), framing_(framing) {}

  // Multi-turn: where the reply's text goes (nullptr: nowhere). See StreamParser::keep_text.
  void keep_text(std::string* out) { parser_->keep_text(out); }

  void begin(RequestRecord& rec) {
    rec_ = &rec;
    parser_->reset();
    sse_.reset();
    ndjson_.reset();
    done_ = false;
    success_status_ = false;
    error_body_.clear();
  }

  void on_dispatched(Nanos t) override { rec_->dispatched = t; }

  void on_headers(Nanos t, int status) override {
    rec_->headers = t;
    rec_->http_status = status;
    success_status_ = status >= 200 && status < 300;
  }

  bool on_body(std::string_view bytes, Nanos received) override {
    if (!success_status_) {
      auto room = kErrorBodyExcerpt - std::min(kErrorBodyExcerpt, error_body_.size());
      error_body_.append(bytes.substr(0, room));
      return true;
    }
    // After the terminal event keep reading to the end of the body, so the connection can be
    // reused; after an error, stop.
    if (done_) return rec_->status == RequestStatus::ok;
    auto on_payload = [&](std::string_view payload) {
      if (parser_->on_event(payload, received, *rec_) == protocol::EventOutcome::done) {
        done_ = true;
        return false;
      }
      return true;
    };
    if (framing_ == protocol::Framing::sse) {
      sse_.feed(bytes, [&](const net::SseEvent& e) { return on_payload(e.data); });
    } else {
      ndjson_.feed(bytes, on_payload);
    }
    return !done_ || rec_->status == RequestStatus::ok;
  }

  // A stream that ended cleanly is kept for the next request only if it went as a stream should:
  // a successful status that delivered no event at all is a failure the server may still be
  // cleaning up after (llama-cpp-python then drops the connection under the next request), and
  // one whose terminal event was an error closes it too. HTTP error answers keep it.
  bool reuse_connection() const override {
    if (!success_status_) return true;
    if (done_) return rec_->status == RequestStatus::ok;
    return rec_->events > 0;
  }

  // Decides the request's final status once the transport is done with it.
  void finish(const net::TransportResult& tr, bool stopping) {
    RequestRecord& rec = *rec_;
    if (!rec.headers) {
      rec.status = status_for_transport(tr.error, stopping);
      rec.error = tr.message;
      return;
    }
    if (!success_status_) {
      rec.status = RequestStatus::http_error;
      rec.error = fmt::format("HTTP {}: {}", rec.http_status, excerpt(error_body_));
      if (tr.error == net::TransportError::none) rec.end = tr.completed;
      return;
    }
    if (done_) return;  // the parser decided (terminal event, in-band error, malformed event)
    if (tr.error == net::TransportError::none) {
      auto on_payload = [&](std::string_view payload) {
        if (parser_->on_event(payload, tr.completed, rec) == protocol::EventOutcome::done)
          done_ = true;
        return !done_;
      };
      if (framing_ == protocol::Framing::sse) {
        sse_.finish([&](const net::SseEvent& e) { return on_payload(e.data); });
      } else {
        ndjson_.finish(on_payload);
      }
      if (!done_) parser_->on_body_end(tr.completed, rec);
      return;
    }
    rec.status = status_for_transport(tr.error, stopping);
    if (tr.error == net::TransportError::closed) {
      rec.error = fmt::format("connection closed mid-stream after {} events: {}", rec.events,
                              tr.message);
    } else {
      rec.error = fmt::format("{} (after {} events)", tr.message, rec.events);
    }
  }

 private:
  static RequestStatus status_for_transport(net::TransportError e, bool stopping) {
    switch (e) {
      case net::TransportError::connect:
      case net::TransportError::tls:
        return RequestStatus::connect_error;
      case net::TransportError::timeout:
        return RequestStatus::timeout;
      case net::TransportError::aborted:
        return stopping ? RequestStatus::incomplete : RequestStatus::cancelled;
      case net::TransportError::closed:
      case net::TransportError::protocol:
      case net::TransportError::none:
        break;
    }
    return RequestStatus::protocol_error;
  }

  static std::string excerpt(std::string_view body) {
    std::string out;
    for (char c : body) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (body.size() >= kErrorBodyExcerpt) out += "...";
    return out;
  }

  std::unique_ptr<protocol::StreamParser> parser_;
  protocol::Framing framing_;
  net::SseDecoder sse_;
  net::NdjsonDecoder ndjson_;
  RequestRecord* rec_ = nullptr;
  bool done_ = false;
  bool success_status_ = false;
  std::string error_body_;
};

}  // namespace

// One phase of one level: which requests to issue and how.
struct PhasePlan {
  std::string id;                   // request-id prefix, unique per phase
  bool warmup = false;
  std::uint64_t index_base = 0;     // first record index
  // Closed loop: `concurrency` slots issue requests until `limit` or `deadline`.
  std::int32_t concurrency = 1;
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();
  std::optional<Nanos> deadline;
  std::atomic<std::int64_t> next{0};  // next request number (multi-turn: of every turn)
  std::atomic<std::int64_t> next_conversation{0};  // multi-turn: conversations started
  std::uint64_t session_base = 0;  // multi-turn: first session number (after the warm-up's)
  // Open loop: one request per absolute intended send time, never refused for lack of a slot.
  bool open_loop = false;
  std::vector<Nanos> arrivals;
  std::optional<std::int32_t> max_concurrency;  // excess arrivals wait in the client
  std::optional<Nanos> ramp_end;                // arrivals before this belong to the ramp-up
};

Runner::Runner(RunConfig config, const Clock& clock, std::function<void(const std::string&)> log)
    : config_(std::move(config)), clock_(clock), log_(std::move(log)) {
  if (!log_) log_ = [](const std::string&) {};
  if (config_.load.mode == LoadMode::latency) config_.load.concurrency = {1};
}

Runner::~Runner() = default;

void Runner::stop(std::string reason) {
  std::vector<std::function<void()>> stoppers;
  {
    std::lock_guard lock(stop_mutex_);
    if (stop_requested_.exchange(true)) return;
    stop_reason_ = std::move(reason);
    stoppers = active_stoppers_;
  }
  for (auto& s : stoppers) s();
}

TargetInfo Runner::preflight() {
  net::Url url = parse_target(config_.target);
  asio::io_context io;
  net::HttpClient client(io, url, client_options(config_.target), clock_);
  net::SimpleResponse response;
  const std::string auth = authorization(config_.target);
  std::vector<net::Header> headers;
  if (!auth.empty()) headers.push_back({"Authorization", auth});
  // Triton has no model list: its model's readiness is the check, and the model must be named.
  const bool triton = config_.target.api == Api::triton;
  if (triton && config_.target.model.empty())
    throw TargetError("Triton serves each model under its own path: give --model.");
  const std::string probe_path =
      triton ? "/v2/models/" + config_.target.model + "/ready" : std::string("/v1/models");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response = co_await client.get(probe_path, headers); },
      asio::detached);
  io.run();

  if (response.transport.error != net::TransportError::none) {
    throw TargetError(fmt::format("cannot reach {}: {}. Is the server running at that address?",
                                  config_.target.base_url, response.transport.message));
  }
  TargetInfo info;
  if (response.status >= 200 && response.status < 300) {
    auto j = nlohmann::json::parse(response.body, nullptr, false);
    if (!j.is_discarded() && j.contains("data") && j["data"].is_array() && !j["data"].empty() &&
        j["data"][0].contains("id") && j["data"][0]["id"].is_string()) {
      info.served_model = j["data"][0]["id"].get<std::string>();
    }
  } else if (response.status == 401 || response.status == 403) {
    throw TargetError(fmt::format(
        "{} refused the request with HTTP {}: check the API key (--api-key or $SPLLEED_API_KEY).",
        config_.target.base_url, response.status));
  }
  if (triton) {
    if (response.status < 200 || response.status >= 300)
      throw TargetError(fmt::format("{} says model '{}' is not ready (HTTP {} from {}).",
                                    config_.target.base_url, config_.target.model, response.status,
                                    probe_path));
    return info;
  }
  // Native APIs that serve one model take no model name; the list is only informative there.
  const bool model_optional = config_.target.api == Api::tgi ||
                              config_.target.api == Api::sglang ||
                              config_.target.api == Api::llamacpp;
  if (config_.target.model.empty()) {
    if (info.served_model.empty() && !model_optional) {
      throw TargetError(fmt::format(
          "{} does not list its models at /v1/models (HTTP {}): give --model.",
          config_.target.base_url, response.status));
    }
    config_.target.model = info.served_model;
  }
  return info;
}

namespace {

// Everything a phase's workers read and nobody writes.
struct PhaseContext {
  const RunConfig& config;
  const Clock& clock;
  PhasePlan& plan;
  const protocol::ProtocolAdapter& adapter;
  std::string path;
  std::vector<std::string> bodies;  // one per prompt: bodies depend only on the prompt
  // One per prompt: the output length its requests ask for exactly (protocol::output_length_ask);
  // empty where max_tokens is only a cap.
  std::vector<std::optional<std::int32_t>> exact_output;
  std::vector<std::uint32_t> order;
  std::vector<std::uint32_t> conversation_order;  // multi-turn: seeded order of conversations
  std::string auth;
  const std::atomic<bool>& stop;
  const RecordSink& record_sink;
};

// A worker thread's share of a phase. Only its own thread touches it once started.
class Worker {
 public:
  Worker(const PhaseContext& ctx, const net::Url& url, std::int32_t cap)
      : ctx_(ctx),
        client_(io_, url, client_options(ctx.config.target), ctx.clock),
        pacer_timer_(io_),
        probe_timer_(io_),
        cap_(cap) {
    wakeup_delays_.reserve(4096);
  }

  // Lateness of a periodic timer on this event loop: how promptly the loop wakes up (client
  // health). Ends when the phase's last task does. Each firing is a wake-up of its own and
  // re-arms the kernel timer, which at one stream costs about as much as a token event: so the
  // first kQuickSamples come every 20 ms (a verdict after 0.4 s), the rest every 100 ms.
  asio::awaitable<void> wakeup_probe() {
    constexpr std::size_t kQuickSamples = 20;
    while (active_tasks_ > 0) {
      const Nanos period =
          (wakeup_delays_.size() < kQuickSamples ? 20 : 100) * kNanosPerMilli;
      const Nanos due = ctx_.clock.now() + period;
      probe_timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(due)));
      auto [ec] = co_await probe_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      wakeup_delays_.push_back(static_cast<double>(ctx_.clock.now() - due));
    }
  }
  const std::vector<double>& wakeup_delays() const { return wakeup_delays_; }
  // Every slot, pacer and open-loop request is a task; the probe stops with the last one.
  void begin_task() { ++active_tasks_; }
  void end_task() {
    if (--active_tasks_ == 0) probe_timer_.cancel();
  }

  boost::asio::io_context& io() { return io_; }
  std::deque<RequestRecord>& records() { return records_; }

  // Aborts in-flight requests and wakes the pacer. Runs on the worker's thread.
  void halt() {
    client_.shutdown();
    pacer_timer_.cancel();
    probe_timer_.cancel();
    for (auto* t : think_timers_) t->cancel();
  }

  asio::awaitable<void> closed_loop_slot() {
    auto handler = acquire_handler();
    PhasePlan& plan = ctx_.plan;
    if (!ctx_.config.conversations.empty()) {
      // Multi-turn: the slot runs whole conversations, one after another.
      ThinkTimer think(*this);
      while (!ctx_.stop.load(std::memory_order_relaxed)) {
        const auto c = static_cast<std::size_t>(plan.next_conversation.fetch_add(1));
        const ConversationPlan& conv =
            ctx_.config.conversations[ctx_.conversation_order[c % ctx_.conversation_order.size()]];
        if (!co_await run_conversation(conv, plan.session_base + c, std::nullopt, *handler,
                                       think.timer))
          break;
      }
      release_handler(std::move(handler));
      end_task();
      co_return;
    }
    while (!ctx_.stop.load(std::memory_order_relaxed)) {
      const Nanos now = ctx_.clock.now();
      if (plan.deadline && now >= *plan.deadline) break;
      const std::int64_t i = plan.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= plan.limit) break;
      RequestRecord& rec = new_record(static_cast<std::uint64_t>(i), now);  // slot freed now
      co_await execute(rec, *handler);
    }
    release_handler(std::move(handler));
    end_task();
  }

  // Sends arrivals first, first + stride, ... at their intended times.
  asio::awaitable<void> pacer(std::size_t first, std::size_t stride) {
    const auto& arrivals = ctx_.plan.arrivals;
    int started_without_waiting = 0;
    for (std::size_t i = first; i < arrivals.size(); i += stride) {
      if (ctx_.stop.load(std::memory_order_relaxed)) break;
      // An arrival already due leaves at once: waiting on an expired timer would still queue
      // behind every ready handler of the loop, which at high rates is most of the lag.
      if (ctx_.clock.now() < arrivals[i]) {
        started_without_waiting = 0;
        pacer_timer_.expires_at(std::chrono::steady_clock::time_point(
            std::chrono::nanoseconds(arrivals[i])));
        // A cancelled wait (stop) is seen through ctx_.stop just below.
        (void)co_await pacer_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ctx_.stop.load(std::memory_order_relaxed)) break;
      } else if (++started_without_waiting == 32) {
        // Behind schedule: let the requests in flight read their sockets now and then, so that
        // catching up does not starve them.
        started_without_waiting = 0;
        co_await asio::post(io_, asio::use_awaitable);
        if (ctx_.stop.load(std::memory_order_relaxed)) break;
      }
      if (cap_ > 0 && in_flight_ >= cap_) {
        waiting_.push_back(i);  // its lateness shows as schedule lag; it is never skipped
        continue;
      }
      start_open(i);
    }
    end_task();
  }

  // Arrivals still queued in the client when the run stopped: kept, never sent.
  void record_unsent() {
    for (std::size_t i : waiting_) {
      RequestRecord& rec = conversations() ? new_conversation_record(i) : new_record(i, ctx_.plan.arrivals[i]);
      rec.status = RequestStatus::incomplete;
      rec.error = "not sent: the run stopped while it waited for a free slot";
    }
    waiting_.clear();
  }

 private:
  RequestRecord& new_record(std::uint64_t i, Nanos scheduled) {
    const std::uint64_t index = ctx_.plan.index_base + i;
    return new_record(i, scheduled, ctx_.order[index % ctx_.order.size()]);
  }

  RequestRecord& new_record(std::uint64_t i, Nanos scheduled, std::uint32_t prompt_index) {
    const PhasePlan& plan = ctx_.plan;
    RequestRecord& rec = records_.emplace_back();
    rec.index = plan.index_base + i;
    rec.prompt_index = prompt_index;
    if (!ctx_.config.prompt_input_tokens.empty() && ctx_.config.prompt_input_tokens[prompt_index] >= 0)
      rec.client_prompt_tokens = ctx_.config.prompt_input_tokens[prompt_index];
    rec.warmup = plan.warmup;
    rec.ramp_up = plan.ramp_end && scheduled < *plan.ramp_end;
    rec.scheduled = scheduled;
    rec.request_id = fmt::format("{}{:012x}", plan.id, rec.index);
    rec.exact_output_tokens = ctx_.exact_output[prompt_index];
    const std::int32_t max_tokens = ctx_.config.prompt_max_tokens.empty()
                                        ? ctx_.config.sampling.max_tokens
                                        : ctx_.config.prompt_max_tokens[rec.prompt_index];
    rec.tokens.reserve(static_cast<std::size_t>(max_tokens) + 8);
    return rec;
  }

  asio::awaitable<void> execute(RequestRecord& rec, StreamHandler& handler) {
    co_await execute(rec, handler, ctx_.bodies[rec.prompt_index]);
  }

  asio::awaitable<void> execute(RequestRecord& rec, StreamHandler& handler, std::string_view body) {
    std::array<net::Header, 2> headers{net::Header{"X-Request-Id", rec.request_id},
                                       net::Header{"Authorization", ctx_.auth}};
    std::span<const net::Header> header_span(headers.data(), ctx_.auth.empty() ? 1 : 2);
    handler.begin(rec);
    auto tr = co_await client_.post_stream(ctx_.path, header_span, body, handler);
    handler.finish(tr, ctx_.stop.load());
    if (ctx_.record_sink) ctx_.record_sink(rec);
  }

  void start_open(std::size_t i) {
    ++in_flight_;
    begin_task();
    if (conversations()) {
      asio::co_spawn(io_, open_conversation(i), asio::detached);
    } else {
      asio::co_spawn(io_, open_request(i), asio::detached);
    }
  }

  bool conversations() const { return !ctx_.config.conversations.empty(); }

  // A think-time timer that halt() cancels while it lives.
  struct ThinkTimer {
    explicit ThinkTimer(Worker& w) : worker(w), timer(w.io_) { worker.think_timers_.push_back(&timer); }
    ~ThinkTimer() { std::erase(worker.think_timers_, &timer); }
    ThinkTimer(const ThinkTimer&) = delete;
    ThinkTimer& operator=(const ThinkTimer&) = delete;
    Worker& worker;
    asio::steady_timer timer;
  };

  // Open loop, multi-turn: arrival i starts a conversation; its later turns follow its replies.
  asio::awaitable<void> open_conversation(std::size_t i) {
    auto handler = acquire_handler();
    {
      ThinkTimer think(*this);
      const ConversationPlan& conv = ctx_.config.conversations[ctx_.conversation_order[i % ctx_.conversation_order.size()]];
      const auto session =
          ctx_.plan.session_base + static_cast<std::uint64_t>(ctx_.plan.next_conversation.fetch_add(1));
      (void)co_await run_conversation(conv, session, ctx_.plan.arrivals[i], *handler, think.timer);
    }
    end_open(std::move(handler));
  }

  // The end of an open-loop arrival (one request or one conversation): its handler goes back to
  // the pool and its slot to the first arrival waiting for one.
  void end_open(std::unique_ptr<StreamHandler> handler) {
    release_handler(std::move(handler));
    --in_flight_;
    while (!waiting_.empty() && in_flight_ < cap_ && !ctx_.stop.load(std::memory_order_relaxed)) {
      std::size_t next = waiting_.front();
      waiting_.pop_front();
      start_open(next);
    }
    end_task();
  }

  // A record for a conversation that never started (open loop, stopped while it waited).
  RequestRecord& new_conversation_record(std::size_t arrival) {
    const ConversationPlan& conv = ctx_.config.conversations[ctx_.conversation_order[arrival % ctx_.conversation_order.size()]];
    const auto i = static_cast<std::uint64_t>(ctx_.plan.next.fetch_add(1, std::memory_order_relaxed));
    RequestRecord& rec = new_record(i, ctx_.plan.arrivals[arrival], conv.turns.front());
    rec.session = ctx_.plan.session_base +
                  static_cast<std::uint64_t>(ctx_.plan.next_conversation.fetch_add(1));
    rec.turn = 0;
    return rec;
  }

  // Sends one conversation's turns in order: turn k+1 leaves once turn k's reply has ended plus
  // the think time, with the history (earlier user messages and the replies received) as chat
  // messages. `session`: its number in the run (a workload conversation sent twice is two
  // sessions). `first`: turn 0's intended time (open loop); none: now (closed loop). A failed
  // turn ends the conversation. Returns false when the phase has no more requests to send (its
  // request limit or deadline was reached, or the run stopped).
  asio::awaitable<bool> run_conversation(const ConversationPlan& conv, std::uint64_t session,
                                         std::optional<Nanos> first, StreamHandler& handler,
                                         asio::steady_timer& think) {
    PhasePlan& plan = ctx_.plan;
    const RunConfig& config = ctx_.config;
    std::vector<std::string> replies;
    replies.reserve(conv.turns.size());
    for (std::size_t k = 0; k < conv.turns.size(); ++k) {
      if (ctx_.stop.load(std::memory_order_relaxed)) co_return false;
      Nanos scheduled = ctx_.clock.now();
      if (k == 0 && first) scheduled = *first;
      if (k > 0 && config.think_time > 0) {
        scheduled += config.think_time;
        think.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(scheduled)));
        (void)co_await think.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ctx_.stop.load(std::memory_order_relaxed)) co_return false;
      }
      if (plan.deadline && ctx_.clock.now() >= *plan.deadline) co_return false;
      const std::int64_t i = plan.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= plan.limit) co_return false;
      const std::uint32_t prompt = conv.turns[k];
      RequestRecord& rec = new_record(static_cast<std::uint64_t>(i), scheduled, prompt);
      rec.session = session;
      rec.turn = static_cast<std::int32_t>(k);
      const std::int32_t max_tokens =
          config.prompt_max_tokens.empty() ? config.sampling.max_tokens : config.prompt_max_tokens[prompt];
      std::string reply;
      const bool last = k + 1 == conv.turns.size();
      if (!last) {
        // Room for the reply up front, so that keeping its text does not allocate per token.
        reply.reserve(static_cast<std::size_t>(max_tokens) * 32 + 256);
        handler.keep_text(&reply);
      }
      if (k == 0) {
        co_await execute(rec, handler);
      } else {
        // The history makes this turn's prompt longer than the item the client counted.
        rec.client_prompt_tokens.reset();
        std::vector<ChatMessage> messages;
        messages.reserve(2 * k + 2);
        if (!conv.system_prompt.empty()) messages.push_back({"system", conv.system_prompt});
        for (std::size_t j = 0; j < k; ++j) {
          messages.push_back({"user", config.prompts[conv.turns[j]]});
          messages.push_back({"assistant", replies[j]});
        }
        messages.push_back({"user", config.prompts[prompt]});
        SamplingParams sampling = config.sampling;
        sampling.max_tokens = max_tokens;
        if (sampling.min_tokens) sampling.min_tokens = std::min(*sampling.min_tokens, max_tokens);
        const std::string body =
            ctx_.adapter.build_body({config.target.model, config.prompts[prompt], sampling, messages});
        co_await execute(rec, handler, body);
      }
      handler.keep_text(nullptr);
      if (rec.status != RequestStatus::ok) co_return true;
      replies.push_back(std::move(reply));
    }
    co_return true;
  }

  asio::awaitable<void> open_request(std::size_t i) {
    auto handler = acquire_handler();
    RequestRecord& rec = new_record(i, ctx_.plan.arrivals[i]);
    co_await execute(rec, *handler);
    end_open(std::move(handler));
  }

  std::unique_ptr<StreamHandler> acquire_handler() {
    if (free_handlers_.empty())
      return std::make_unique<StreamHandler>(ctx_.adapter.make_parser(), ctx_.adapter.framing());
    auto h = std::move(free_handlers_.back());
    free_handlers_.pop_back();
    return h;
  }
  void release_handler(std::unique_ptr<StreamHandler> h) { free_handlers_.push_back(std::move(h)); }

  const PhaseContext& ctx_;
  // One thread runs this loop and only it touches the sockets and timers (other threads only
  // post to it, e.g. halt()), so the reactor's per-descriptor locks are skipped; posting stays
  // thread-safe.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  net::HttpClient client_;
  asio::steady_timer pacer_timer_;
  asio::steady_timer probe_timer_;
  std::int32_t active_tasks_ = 0;
  std::vector<double> wakeup_delays_;  // ns
  std::int32_t cap_;  // open loop: most requests in flight on this worker (0: no cap)
  std::int32_t in_flight_ = 0;
  std::deque<std::size_t> waiting_;
  std::deque<RequestRecord> records_;  // stable references while requests are suspended
  std::vector<std::unique_ptr<StreamHandler>> free_handlers_;
  std::vector<asio::steady_timer*> think_timers_;  // multi-turn waits in progress
};

}  // namespace

Runner::PhaseOutput Runner::run_phase(PhasePlan& plan) {
  const net::Url url = parse_target(config_.target);
  auto adapter = protocol::make_adapter(config_.target);
  PhaseContext ctx{config_, clock_, plan, *adapter, std::string(adapter->path()), {}, {},
                   config_.load.trace ? identity_order(config_.prompts.size())
                                      : prompt_order(config_.prompts.size(), config_.load.seed),
                   {},
                   authorization(config_.target),
                   stop_requested_, record_sink_};
  ctx.bodies.reserve(config_.prompts.size());
  SamplingParams sampling = config_.sampling;
  ctx.exact_output.reserve(config_.prompts.size());
  for (std::size_t i = 0; i < config_.prompts.size(); ++i) {
    if (!config_.prompt_max_tokens.empty()) {
      sampling.max_tokens = config_.prompt_max_tokens[i];
      // A global minimum above this prompt's own target would make the engine reject it.
      if (config_.sampling.min_tokens)
        sampling.min_tokens = std::min(*config_.sampling.min_tokens, sampling.max_tokens);
    }
    ctx.exact_output.push_back(protocol::output_length_ask(config_.target.api, sampling).exact
                                   ? std::optional(sampling.max_tokens)
                                   : std::nullopt);
    std::span<const ChatMessage> messages;
    if (!config_.prompt_messages.empty()) messages = config_.prompt_messages[i];
    ctx.bodies.push_back(
        adapter->build_body({config_.target.model, config_.prompts[i], sampling, messages}));
  }
  if (!config_.conversations.empty())
    ctx.conversation_order = prompt_order(config_.conversations.size(), config_.load.seed);

  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int workers = config_.load.workers > 0 ? config_.load.workers : hw;
  if (!plan.open_loop) workers = std::min(workers, plan.concurrency);
  if (plan.open_loop && plan.max_concurrency) workers = std::min(workers, *plan.max_concurrency);
  if (plan.open_loop)
    workers = std::min<int>(workers, static_cast<int>(std::max<std::size_t>(1, plan.arrivals.size())));
  workers = std::max(1, workers);

  std::vector<std::unique_ptr<Worker>> pool;
  for (int w = 0; w < workers; ++w) {
    std::int32_t cap = 0;
    if (plan.max_concurrency) {
      cap = *plan.max_concurrency / workers + (w < *plan.max_concurrency % workers ? 1 : 0);
    }
    pool.push_back(std::make_unique<Worker>(ctx, url, cap));
  }
  if (plan.open_loop) {
    for (int w = 0; w < workers; ++w) {
      pool[static_cast<std::size_t>(w)]->begin_task();
      asio::co_spawn(pool[static_cast<std::size_t>(w)]->io(),
                     pool[static_cast<std::size_t>(w)]->pacer(static_cast<std::size_t>(w),
                                                              static_cast<std::size_t>(workers)),
                     asio::detached);
    }
  } else {
    for (int s = 0; s < plan.concurrency; ++s) {
      Worker& w = *pool[static_cast<std::size_t>(s % workers)];
      w.begin_task();
      asio::co_spawn(w.io(), w.closed_loop_slot(), asio::detached);
    }
  }
  for (auto& w : pool) asio::co_spawn(w->io(), w->wakeup_probe(), asio::detached);
  {
    std::lock_guard lock(stop_mutex_);
    for (auto& w : pool) {
      Worker* wp = w.get();
      active_stoppers_.push_back([wp] { asio::post(wp->io(), [wp] { wp->halt(); }); });
    }
    if (stop_requested_) {
      for (auto& s : active_stoppers_) s();
    }
  }
  PhaseOutput out;
  out.worker_cpu_ns.assign(pool.size(), 0);
  const Nanos wall_start = clock_.now();
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    Worker* wp = pool[i].get();
    Nanos* cpu = &out.worker_cpu_ns[i];
    threads.emplace_back([wp, cpu, busy_poll = config_.load.busy_poll] {
      const Nanos c0 = thread_cpu_now();
      const EventLoopStats loop = run_event_loop(wp->io(), busy_poll);
      // Busy time: polling with nothing ready (precision mode) is waiting, not work.
      *cpu = std::max<Nanos>(0, thread_cpu_now() - c0 - loop.idle_poll_ns);
    });
  }
  for (auto& t : threads) t.join();
  out.wall_ns = clock_.now() - wall_start;
  {
    std::lock_guard lock(stop_mutex_);
    active_stoppers_.clear();
  }

  auto& records = out.records;
  for (auto& w : pool) {
    w->record_unsent();
    for (auto& r : w->records()) records.push_back(std::move(r));
    out.wakeup_delays_ns.insert(out.wakeup_delays_ns.end(), w->wakeup_delays().begin(),
                                w->wakeup_delays().end());
  }
  std::sort(records.begin(), records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
  return out;
}

ClientHealth assess_client_health(const Runner::PhaseOutput& phase,
                                  const std::vector<RequestRecord>& records,
                                  std::optional<double> requested_rate,
                                  std::optional<std::int32_t> max_concurrency) {
  ClientHealth h;
  std::vector<double> lag;
  Nanos first = 0, last = 0, first_sched = 0, last_sched = 0;
  std::size_t dispatched = 0;
  for (const auto& r : records) {
    if (r.warmup || r.ramp_up || !r.dispatched || !r.scheduled) continue;
    lag.push_back(to_ms(*r.dispatched - *r.scheduled));
    const bool first_one = dispatched == 0;
    first = first_one ? *r.dispatched : std::min(first, *r.dispatched);
    last = first_one ? *r.dispatched : std::max(last, *r.dispatched);
    first_sched = first_one ? *r.scheduled : std::min(first_sched, *r.scheduled);
    last_sched = first_one ? *r.scheduled : std::max(last_sched, *r.scheduled);
    ++dispatched;
  }
  h.schedule_lag = stats::summarize(lag);
  std::vector<double> wake;
  for (double ns : phase.wakeup_delays_ns) wake.push_back(ns / 1e6);
  h.wakeup_delay = stats::summarize(wake);
  for (Nanos cpu : phase.worker_cpu_ns)
    h.worker_cpu.push_back(phase.wall_ns > 0 ? static_cast<double>(cpu) / phase.wall_ns : 0.0);

  std::vector<std::string> reasons;
  std::string cap_note;
  if (requested_rate) {
    h.requested_rate = *requested_rate;
    auto rate_over = [&](Nanos a, Nanos b) {
      return b > a ? static_cast<double>(dispatched - 1) / (static_cast<double>(b - a) / 1e9) : 0.0;
    };
    if (dispatched > 1) h.delivered_rate = rate_over(first, last);
    // A random schedule's own rate over a finite run differs from the target by chance, so the
    // delivered rate is judged against the rate the schedule itself asked for over these requests.
    const double scheduled_rate = dispatched > 1 ? rate_over(first_sched, last_sched) : 0.0;
    const double gap_ms = 1e3 / h.requested_rate;
    const bool late = h.schedule_lag.count >= 20 && h.schedule_lag.p99 > std::max(1.0, 0.1 * gap_ms);
    const bool slow = dispatched >= 50 && h.delivered_rate < 0.9 * scheduled_rate;
    if (max_concurrency && (late || slow)) {
      // Waiting for one of the user's slots is the cap at work, not the client falling behind.
      cap_note = fmt::format(
          "Requests waited for one of the {} --max-concurrency slots: {:.1f} of {:.1f} req/s "
          "delivered, {:.2f} ms late at p99, so the server saw fewer arrivals than scheduled.",
          *max_concurrency, h.delivered_rate, scheduled_rate, h.schedule_lag.p99);
    } else {
      if (slow)
        reasons.push_back(fmt::format("it delivered {:.1f} req/s of the {:.1f} req/s scheduled",
                                      h.delivered_rate, scheduled_rate));
      // In open loop, lateness beyond a tenth of the mean gap distorts the arrival process.
      if (late)
        reasons.push_back(fmt::format("requests left {:.2f} ms late at p99", h.schedule_lag.p99));
    }
  }
  if (h.wakeup_delay.count >= 20 && h.wakeup_delay.p99 > 5.0)
    reasons.push_back(fmt::format("its event loop woke {:.1f} ms late at p99", h.wakeup_delay.p99));
  for (std::size_t i = 0; i < h.worker_cpu.size(); ++i) {
    if (h.worker_cpu[i] > 0.9) {
      reasons.push_back(fmt::format("worker {} was busy {:.0f}% of the time", i, h.worker_cpu[i] * 100));
      break;
    }
  }
  if (!reasons.empty()) {
    h.client_limited = true;
    h.verdict = "The client may have limited these results: " + reasons.front();
    for (std::size_t i = 1; i < reasons.size(); ++i) h.verdict += "; " + reasons[i];
    h.verdict += ".";
  }
  if (!cap_note.empty()) h.verdict = h.verdict.empty() ? cap_note : h.verdict + " " + cap_note;
  return h;
}

namespace {
std::string trial_note(std::int32_t trial, std::int32_t trials) {
  return trials > 1 ? fmt::format(" (trial {}/{})", trial + 1, trials) : std::string();
}
}  // namespace

BenchmarkResult Runner::run() {
  BenchmarkResult result;
  result.config = config_;
  const auto& load = config_.load;
  const bool open_loop = load.mode == LoadMode::rate;
  // Open-loop arrivals start a little after planning, so that thread start-up is not charged to
  // the first request as schedule lag.
  constexpr Nanos kOpenLoopLead = 2 * kNanosPerMilli;
  // Per-prompt output lengths (a workload's or a trace's) that the API can only cap: say so once.
  if (!config_.prompt_max_tokens.empty()) {
    if (const auto ask = protocol::output_length_ask(config_.target.api, config_.sampling);
        !ask.exact)
      log_(fmt::format("output lengths are caps, not exact ({}); produced lengths are not checked",
                       ask.note));
  }

  const std::size_t levels = load.trace    ? 1
                             : open_loop ? load.request_rates.size()
                                         : load.concurrency.size();
  const std::int32_t trials = std::max(1, config_.stats.trials);
  // Multi-turn, open loop: an arrival starts a conversation, so request counts become counts of
  // conversations (rounded up) of the longest conversation's turns.
  std::size_t turns = 1;
  for (const ConversationPlan& c : config_.conversations) turns = std::max(turns, c.turns.size());
  const bool per_conversation = open_loop && !config_.conversations.empty();
  auto arrivals_for = [&](std::size_t requests) {
    return per_conversation ? (requests + turns - 1) / turns : requests;
  };
  int run_number = -1;
  for (std::size_t level = 0; level < levels && !stop_requested_; ++level)
  for (std::int32_t trial = 0; trial < trials && !stop_requested_; ++trial) {
    ++run_number;
    RunResult run;
    run.trial = trial;
    run.mode = load.mode;
    if (load.trace) {
      // The trace's own mean rate, which client health judges the delivered rate against.
      const auto& times = load.trace->times;
      run.concurrency = 0;
      if (times.size() > 1 && times.back() > times.front())
        run.request_rate = static_cast<double>(times.size() - 1) /
                           (static_cast<double>(times.back() - times.front()) / 1e9);
      run.label = "trace";
    } else if (open_loop) {
      run.concurrency = 0;
      run.request_rate = load.request_rates[level];
      run.label = fmt::format("rate={:g}", *run.request_rate);
    } else {
      run.concurrency = load.concurrency[level];
      run.label = load.mode == LoadMode::latency ? "latency"
                                                 : fmt::format("concurrency={}", run.concurrency);
    }
    ScheduleSpec spec;
    if (open_loop && !load.trace) {
      spec.rate = *run.request_rate;
      spec.arrival = load.arrival;
      spec.burstiness = load.burstiness;
      spec.seed = load.seed + static_cast<std::uint64_t>(run_number);
    }

    std::uint64_t issued = 0, warm_sessions = 0;
    if (load.warmup > 0 || load.warmup_duration) {
      log_(load.warmup_duration
               ? fmt::format("{}{}: warm-up for {:.1f} s", run.label, trial_note(trial, trials),
                             to_ms(*load.warmup_duration) / 1e3)
               : fmt::format("{}{}: {} warm-up requests", run.label, trial_note(trial, trials),
                             load.warmup));
      PhasePlan warm;
      warm.id = request_id_prefix(run_number, true);
      warm.warmup = true;
      const std::optional<std::size_t> warm_count =
          load.warmup_duration ? std::nullopt
                               : std::optional<std::size_t>(static_cast<std::size_t>(load.warmup));
      if (load.trace) {
        // The trace's first requests, at their own times.
        warm.open_loop = true;
        warm.max_concurrency = load.max_concurrency;
        const Nanos t0 = clock_.now() + kOpenLoopLead;
        for (std::size_t i = 0; i < *warm_count; ++i) warm.arrivals.push_back(t0 + load.trace->times[i]);
      } else if (open_loop) {
        warm.open_loop = true;
        warm.max_concurrency = load.max_concurrency;
        const Nanos t0 = clock_.now() + kOpenLoopLead;
        std::optional<std::size_t> warm_arrivals = warm_count;
        if (per_conversation && !load.warmup_duration) {
          warm_arrivals = arrivals_for(static_cast<std::size_t>(load.warmup));
          warm.limit = load.warmup;
        }
        for (Nanos off : arrival_times(spec, warm_arrivals, load.warmup_duration))
          warm.arrivals.push_back(t0 + off);
      } else {
        warm.concurrency = run.concurrency;
        if (warm_count) warm.limit = static_cast<std::int64_t>(*warm_count);
        if (load.warmup_duration) warm.deadline = clock_.now() + *load.warmup_duration;
      }
      auto records = std::move(run_phase(warm).records);
      warm_sessions = static_cast<std::uint64_t>(warm.next_conversation.load());
      issued = records.size();
      for (auto& r : records) run.requests.push_back(std::move(r));
      if (stop_requested_) {
        result.runs.push_back(std::move(run));
        break;
      }
    }

    if (hooks_.before) hooks_.before(run);
    PhasePlan measure;
    measure.id = request_id_prefix(run_number, false);
    measure.index_base = issued;
    measure.session_base = warm_sessions;
    Nanos start = clock_.now();
    Nanos ramp = 0;
    if (load.trace) {
      // The rest of the trace, re-based so that its first request leaves at the phase start.
      measure.open_loop = true;
      measure.max_concurrency = load.max_concurrency;
      start += kOpenLoopLead;
      const auto& times = load.trace->times;
      const std::size_t first = static_cast<std::size_t>(load.warmup);
      std::size_t last = times.size();
      if (load.num_requests) last = std::min(last, first + static_cast<std::size_t>(*load.num_requests));
      for (std::size_t i = first; i < last; ++i) {
        const Nanos off = times[i] - times[first];
        if (load.duration && off >= *load.duration) break;
        measure.arrivals.push_back(start + off);
      }
    } else if (open_loop) {
      measure.open_loop = true;
      measure.max_concurrency = load.max_concurrency;
      start += kOpenLoopLead;
      std::optional<std::size_t> count;
      std::optional<Nanos> horizon;
      if (load.ramp) {
        spec.ramp = *load.ramp;
        ramp = load.ramp->duration;
        measure.ramp_end = start + ramp;
      }
      if (load.num_requests) {
        std::size_t ramp_count = ramp > 0 ? arrival_times(spec, std::nullopt, ramp).size() : 0;
        count = ramp_count + arrivals_for(static_cast<std::size_t>(*load.num_requests));
      }
      if (load.duration) horizon = ramp + *load.duration;
      for (Nanos off : arrival_times(spec, count, horizon)) measure.arrivals.push_back(start + off);
    } else {
      measure.concurrency = run.concurrency;
      if (load.num_requests) measure.limit = *load.num_requests;
      if (load.duration) measure.deadline = start + *load.duration;
    }
    const Nanos steady_start = start + ramp;
    log_(load.trace ? fmt::format("{}{}: replaying {} requests", run.label,
                                  trial_note(trial, trials), measure.arrivals.size())
         : load.num_requests
             ? fmt::format("{}{}: {} requests", run.label, trial_note(trial, trials),
                           *load.num_requests)
             : fmt::format("{}{}: {:.1f} s", run.label, trial_note(trial, trials),
                           to_ms(*load.duration) / 1e3));
    PhaseOutput phase_out = run_phase(measure);
    auto& records = phase_out.records;
    const Nanos phase_end = clock_.now();

    Nanos window_end = phase_end;
    if (load.duration && !load.num_requests) {
      window_end = std::min(phase_end, steady_start + *load.duration);
    } else {
      Nanos last_end = steady_start;
      for (const auto& r : records)
        if (r.end && !r.ramp_up) last_end = std::max(last_end, *r.end);
      window_end = records.empty() ? phase_end : last_end;
    }
    if (ramp > 0) {
      std::vector<RequestRecord> ramp_records;
      for (const auto& r : records) {
        if (!r.ramp_up) continue;
        ramp_records.push_back(r);
        ramp_records.back().ramp_up = false;  // summarize() skips ramp-up records
      }
      run.ramp_up = metrics::summarize(ramp_records, start, steady_start, config_.stats);
    }
    run.client_health =
        assess_client_health(phase_out, records, run.request_rate, load.max_concurrency);
    for (auto& r : records) run.requests.push_back(std::move(r));
    run.summary = metrics::summarize(run.requests, steady_start, window_end, config_.stats);
    metrics::check_run(run);
    if (hooks_.after) hooks_.after(run);
    result.runs.push_back(std::move(run));
  }
  if (stop_requested_) {
    result.interrupted = true;
    std::lock_guard lock(stop_mutex_);
    result.stop_reason = stop_reason_;
  }
  return result;
}

}  // namespace splleed::load
