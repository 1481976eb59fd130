#include "load/runner.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "metrics/request_metrics.hpp"
#include "net/http_client.hpp"
#include "net/sse_decoder.hpp"
#include "protocol/adapter.hpp"

namespace splleed::load {

namespace asio = boost::asio;

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

net::ClientOptions client_options(const TargetConfig& t) {
  net::ClientOptions o;
  o.connect_timeout = t.connect_timeout;
  o.read_timeout = t.read_timeout;
  o.insecure = t.insecure;
  return o;
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

struct Runner::Phase {
  std::string id;             // request-id prefix, unique per phase
  std::int32_t concurrency = 1;
  bool warmup = false;
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();  // requests to issue
  std::optional<Nanos> deadline;                                   // stop issuing after this
  std::uint64_t index_base = 0;                                    // first record index
  std::atomic<std::int64_t> next{0};
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
  std::string auth = config_.target.api_key.empty() ? "" : "Bearer " + config_.target.api_key;
  std::vector<net::Header> headers;
  if (!auth.empty()) headers.push_back({"Authorization", auth});
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response = co_await client.get("/v1/models", headers); },
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
  if (config_.target.model.empty()) {
    if (info.served_model.empty()) {
      throw TargetError(fmt::format(
          "{} does not list its models at /v1/models (HTTP {}): give --model.",
          config_.target.base_url, response.status));
    }
    config_.target.model = info.served_model;
  }
  return info;
}

std::vector<RequestRecord> Runner::run_phase(Phase& phase) {
  const net::Url url = parse_target(config_.target);
  auto adapter = protocol::make_adapter(config_.target.api);
  const std::string path(adapter->path());

  // Bodies depend only on the prompt: build each once, not per request.
  std::vector<std::string> bodies;
  bodies.reserve(config_.prompts.size());
  for (const auto& prompt : config_.prompts) {
    bodies.push_back(adapter->build_body({config_.target.model, prompt, config_.sampling}));
  }
  const auto order = prompt_order(config_.prompts.size(), config_.load.seed);
  const std::string auth =
      config_.target.api_key.empty() ? "" : "Bearer " + config_.target.api_key;

  int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int workers = config_.load.workers > 0 ? config_.load.workers : hw;
  workers = std::max(1, std::min(workers, phase.concurrency));

  struct Worker {
    asio::io_context io{1};
    std::unique_ptr<net::HttpClient> client;
    std::deque<RequestRecord> records;  // stable references while slots are suspended
    std::thread thread;
  };
  std::vector<std::unique_ptr<Worker>> pool;
  for (int w = 0; w < workers; ++w) {
    auto worker = std::make_unique<Worker>();
    worker->client = std::make_unique<net::HttpClient>(worker->io, url,
                                                       client_options(config_.target), clock_);
    pool.push_back(std::move(worker));
  }

  auto slot = [&](Worker& worker) -> asio::awaitable<void> {
    StreamHandler handler(adapter->make_parser(), adapter->framing());
    while (!stop_requested_.load(std::memory_order_relaxed)) {
      Nanos now = clock_.now();
      if (phase.deadline && now >= *phase.deadline) break;
      std::int64_t i = phase.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= phase.limit) break;

      RequestRecord& rec = worker.records.emplace_back();
      rec.index = phase.index_base + static_cast<std::uint64_t>(i);
      rec.prompt_index = order[rec.index % order.size()];
      rec.warmup = phase.warmup;
      rec.scheduled = now;  // closed loop: the slot became free now
      rec.request_id = fmt::format("{}-{}", phase.id, rec.index);
      rec.tokens.reserve(static_cast<std::size_t>(config_.sampling.max_tokens) + 8);

      std::array<net::Header, 2> headers{net::Header{"X-Request-Id", rec.request_id},
                                         net::Header{"Authorization", auth}};
      std::span<const net::Header> header_span(headers.data(), auth.empty() ? 1 : 2);
      handler.begin(rec);
      auto tr = co_await worker.client->post_stream(path, header_span, bodies[rec.prompt_index],
                                                    handler);
      handler.finish(tr, stop_requested_.load());
    }
  };

  for (int s = 0; s < phase.concurrency; ++s) {
    Worker& w = *pool[static_cast<std::size_t>(s % workers)];
    asio::co_spawn(w.io, slot(w), asio::detached);
  }
  {
    std::lock_guard lock(stop_mutex_);
    for (auto& w : pool) {
      Worker* wp = w.get();
      active_stoppers_.push_back([wp] { asio::post(wp->io, [wp] { wp->client->shutdown(); }); });
    }
    if (stop_requested_) {
      for (auto& s : active_stoppers_) s();
    }
  }
  for (auto& w : pool) {
    Worker* wp = w.get();
    wp->thread = std::thread([wp] { wp->io.run(); });
  }
  for (auto& w : pool) w->thread.join();
  {
    std::lock_guard lock(stop_mutex_);
    active_stoppers_.clear();
  }

  std::vector<RequestRecord> records;
  for (auto& w : pool) {
    for (auto& r : w->records) records.push_back(std::move(r));
  }
  std::sort(records.begin(), records.end(),
            [](const RequestRecord& a, const RequestRecord& b) { return a.index < b.index; });
  return records;
}

BenchmarkResult Runner::run() {
  BenchmarkResult result;
  result.config = config_;
  const auto& load = config_.load;
  int run_number = 0;
  for (std::int32_t level : load.concurrency) {
    if (stop_requested_) break;
    RunResult run;
    run.mode = load.mode;
    run.concurrency = level;
    run.label = load.mode == LoadMode::latency ? "latency" : fmt::format("concurrency={}", level);

    std::uint64_t issued = 0;
    if (load.warmup > 0) {
      log_(fmt::format("{}: {} warm-up requests", run.label, load.warmup));
      Phase warm;
      warm.id = fmt::format("splleed-r{}-w", run_number);
      warm.concurrency = level;
      warm.warmup = true;
      warm.limit = load.warmup;
      auto records = run_phase(warm);
      issued = records.size();
      for (auto& r : records) run.requests.push_back(std::move(r));
    }

    Phase measure;
    measure.id = fmt::format("splleed-r{}", run_number);
    measure.concurrency = level;
    measure.index_base = issued;
    if (load.num_requests) measure.limit = *load.num_requests;
    const Nanos start = clock_.now();
    if (load.duration) measure.deadline = start + *load.duration;
    log_(load.num_requests ? fmt::format("{}: {} requests", run.label, *load.num_requests)
                           : fmt::format("{}: {:.1f} s", run.label, to_ms(*load.duration) / 1e3));
    auto records = stop_requested_ ? std::vector<RequestRecord>{} : run_phase(measure);
    const Nanos phase_end = clock_.now();

    Nanos window_end = phase_end;
    if (load.duration && !load.num_requests) {
      window_end = std::min(phase_end, start + *load.duration);
    } else {
      Nanos last_end = start;
      for (const auto& r : records)
        if (r.end) last_end = std::max(last_end, *r.end);
      window_end = records.empty() ? phase_end : std::max(last_end, start);
    }
    for (auto& r : records) run.requests.push_back(std::move(r));
    run.summary = metrics::summarize(run.requests, start, window_end);
    result.runs.push_back(std::move(run));
    ++run_number;
  }
  if (stop_requested_) {
    result.interrupted = true;
    std::lock_guard lock(stop_mutex_);
    result.stop_reason = stop_reason_;
  }
  return result;
}

}  // namespace splleed::load
