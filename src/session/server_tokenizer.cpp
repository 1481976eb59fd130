#include "session/server_tokenizer.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load/target_client.hpp"
#include "net/http_client.hpp"
#include "net/url.hpp"
#include "splleed/clock.hpp"

namespace splleed::session {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using tokenizer::TokenizerError;

constexpr std::size_t kExcerptBytes = 200;

// The request body each engine's tokenize endpoint reads.
enum class Shape : std::uint8_t {
  vllm,               // POST /tokenize {"model", "prompt", "add_special_tokens"}
  llama_cpp_python,   // POST /extras/tokenize {"model", "input"} (always adds specials)
  tgi,                // POST /tokenize {"inputs", "add_special_tokens"}
  llamacpp,           // POST /tokenize {"content", "add_special"}
};

std::string_view path_of(Shape s) {
  return s == Shape::llama_cpp_python ? "/extras/tokenize" : "/tokenize";
}

std::string one_line(std::string_view body) {
  std::string s(body.substr(0, kExcerptBytes));
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return s;
}

struct Answer {
  net::SimpleResponse response;
  std::string url;  // what was asked, for messages
};

class ServerTokenizer final : public tokenizer::Tokenizer {
 public:
  ServerTokenizer(TargetConfig target, net::Url url, Shape shape)
      : target_(std::move(target)),
        url_(std::move(url)),
        shape_(shape),
        auth_(load::authorization(target_)),
        options_(load::client_options(target_)) {
    probe();
  }

  std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<std::int32_t> ids = ids_of(ask(text, add_special));
    if (!add_special) strip_forced_specials(ids);
    return ids;
  }

  std::string decode(std::span<const std::int32_t>) const override {
    throw TokenizerError("the server's tokenizer cannot decode: splleed builds prompts by counting");
  }

  std::size_t vocab_size() const override { return 0; }

 private:
  // One keep-alive connection with the event loop that drives it.
  struct Connection {
    explicit Connection(const ServerTokenizer& t) : client(io, t.url_, t.options_, t.clock_) {}
    asio::io_context io;
    net::HttpClient client;
  };

  std::string url_of(Shape s) const {
    std::string base = target_.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + std::string(path_of(s));
  }

  std::string body_for(Shape s, std::string_view text, bool add_special) const {
    json b = json::object();
    switch (s) {
      case Shape::vllm:
        if (!target_.model.empty()) b["model"] = target_.model;
        b["prompt"] = std::string(text);
        b["add_special_tokens"] = add_special;
        break;
      case Shape::llama_cpp_python:
        if (!target_.model.empty()) b["model"] = target_.model;
        b["input"] = std::string(text);
        break;
      case Shape::tgi:
        b["inputs"] = std::string(text);
        b["add_special_tokens"] = add_special;
        break;
      case Shape::llamacpp:
        b["content"] = std::string(text);
        b["add_special"] = add_special;
        break;
    }
    // A prompt cut inside a UTF-8 sequence is sent with U+FFFD, as the server would read it.
    return b.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // One request in shape `s`; transport failures throw, HTTP statuses are left to the caller.
  Answer post(Shape s, std::string_view text, bool add_special) const {
    std::unique_ptr<Connection> c = acquire();
    const std::string body = body_for(s, text, add_special);
    const net::Header auth{"Authorization", auth_};
    const std::span<const net::Header> headers(&auth, auth_.empty() ? 0 : 1);
    Answer a;
    a.url = url_of(s);
    c->io.restart();
    asio::co_spawn(
        c->io,
        [&]() -> asio::awaitable<void> {
          a.response = co_await c->client.post(path_of(s), body, headers);
        },
        asio::detached);
    c->io.run();
    if (a.response.transport.error != net::TransportError::none) {
      throw TokenizerError(fmt::format("POST {} failed: {}", a.url,
                                       a.response.transport.message.empty()
                                           ? std::string(net::to_string(a.response.transport.error))
                                           : a.response.transport.message));
    }
    release(std::move(c));
    return a;
  }

  Answer ask(std::string_view text, bool add_special) const {
    Answer a = post(shape_, text, add_special);
    if (a.response.status != 200) throw http_error(a);
    return a;
  }

  static TokenizerError http_error(const Answer& a) {
    return TokenizerError(fmt::format("POST {} answered HTTP {}{}", a.url, a.response.status,
                                      a.response.body.empty()
                                          ? std::string()
                                          : " (" + one_line(a.response.body) + ")"));
  }

  // The ids of an answer: {"tokens": [ids]} (vLLM, SGLang, llama.cpp, llama-cpp-python) or one
  // {"id", ...} object per token (TGI; llama.cpp with_pieces).
  static std::vector<std::int32_t> ids_of(const Answer& a) {
    const json j = json::parse(a.response.body, nullptr, /*allow_exceptions=*/false);
    const json* list = nullptr;
    if (j.is_array()) {
      list = &j;
    } else if (j.is_object()) {
      if (auto t = j.find("tokens"); t != j.end() && t->is_array()) list = &*t;
    }
    std::vector<std::int32_t> ids;
    bool ok = list != nullptr;
    if (ok) {
      ids.reserve(list->size());
      for (const json& item : *list) {
        const json* id = &item;
        if (item.is_object()) {
          auto f = item.find("id");
          id = f == item.end() ? nullptr : &*f;
        }
        if (id == nullptr || !id->is_number_integer()) {
          ok = false;
          break;
        }
        ids.push_back(id->get<std::int32_t>());
      }
    }
    if (!ok) {
      throw TokenizerError(fmt::format("POST {} answered without a list of token ids: {}", a.url,
                                       one_line(a.response.body)));
    }
    return ids;
  }

  // Finds the endpoint and the special tokens the server adds even when asked not to: the empty
  // string's tokens.
  void probe() {
    Answer a = post(shape_, "", false);
    if (a.response.status == 404 && shape_ == Shape::vllm) {
      // llama-cpp-python serves the OpenAI API without /tokenize.
      Answer extras = post(Shape::llama_cpp_python, "", false);
      if (extras.response.status == 404) {
        throw TokenizerError(fmt::format(
            "the target has no usable tokenize endpoint: POST {} answered HTTP 404{} and POST {} "
            "answered HTTP 404; give a tokenizer file instead",
            a.url, a.response.body.empty() ? "" : " (" + one_line(a.response.body) + ")",
            extras.url));
      }
      shape_ = Shape::llama_cpp_python;
      a = std::move(extras);
    }
    if (a.response.status == 404) {
      throw TokenizerError(fmt::format(
          "the target has no tokenize endpoint: POST {} answered HTTP 404{}; give a tokenizer file "
          "instead",
          a.url, a.response.body.empty() ? "" : " (" + one_line(a.response.body) + ")"));
    }
    if (a.response.status == 200) {
      forced_specials_ = ids_of(a);
    } else if (a.response.status == 401 || a.response.status == 403) {
      throw http_error(a);  // the key is wrong: every later call would fail the same way
    } else {
      // Some servers refuse an empty input (a 4xx): then nothing is known to be forced. A real
      // text must still work, so check one now rather than fail mid-build.
      forced_specials_.clear();
      (void)ids_of(ask("a", false));
    }
  }

  // Takes the forced special tokens off an answer given without specials: at the front (BOS) when
  // they are there, else at the end (EOS).
  void strip_forced_specials(std::vector<std::int32_t>& ids) const {
    const auto& f = forced_specials_;
    if (f.empty() || ids.size() < f.size()) return;
    if (std::equal(f.begin(), f.end(), ids.begin())) {
      ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(f.size()));
    } else if (std::equal(f.begin(), f.end(), ids.end() - static_cast<std::ptrdiff_t>(f.size()))) {
      ids.erase(ids.end() - static_cast<std::ptrdiff_t>(f.size()), ids.end());
    }
  }

  std::unique_ptr<Connection> acquire() const {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<Connection>(*this);
  }

  void release(std::unique_ptr<Connection> c) const {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
  }

  TargetConfig target_;
  net::Url url_;
  Shape shape_;
  std::string auth_;
  net::ClientOptions options_;
  MonotonicClock clock_;
  std::vector<std::int32_t> forced_specials_;  // set once by probe(), read-only after
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace

std::unique_ptr<tokenizer::Tokenizer> make_server_tokenizer(const TargetConfig& target) {
  Shape shape = Shape::vllm;
  switch (target.api) {
    case Api::openai_completions:
    case Api::openai_chat:
    case Api::sglang:
      shape = Shape::vllm;
      break;
    case Api::tgi:
      shape = Shape::tgi;
      break;
    case Api::llamacpp:
      shape = Shape::llamacpp;
      break;
    case Api::ollama_generate:
    case Api::ollama_chat:
    case Api::triton:
      throw TokenizerError(fmt::format(
          "the {} API has no tokenize endpoint: give a tokenizer file instead", to_string(target.api)));
  }
  std::string error;
  auto url = net::Url::parse(target.base_url, &error);
  if (!url) throw TokenizerError(fmt::format("the target URL {} cannot be used: {}", target.base_url, error));
  return std::make_unique<ServerTokenizer>(target, std::move(*url), shape);
}

}  // namespace splleed::session
