#include "sim/request.hpp"

#include <array>
#include <limits>
#include <utility>

#include <simdjson.h>

#include "sim/prefix_cache.hpp"

namespace splleed::sim {

namespace {

constexpr std::array<std::pair<Fault, std::string_view>, 8> kFaults = {{
    {Fault::none, "none"},
    {Fault::http_500, "http_500"},
    {Fault::http_429, "http_429"},
    {Fault::error_event, "error_event"},
    {Fault::reset, "reset"},
    {Fault::malformed, "malformed"},
    {Fault::stall, "stall"},
    {Fault::no_done, "no_done"},
}};

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

RequestError bad(std::string message) { return RequestError{400, std::move(message)}; }

// A field that is absent or JSON null is "not given", as in the OpenAI API.
std::optional<element> field(const object& obj, std::string_view key) {
  auto r = obj.at_key(key);
  if (r.error() != simdjson::SUCCESS) return std::nullopt;
  element e = r.value_unsafe();
  if (e.is_null()) return std::nullopt;
  return e;
}

// Each reader returns an error message, empty on success.
std::string read_bool(const object& obj, std::string_view key, bool& out) {
  auto e = field(obj, key);
  if (!e) return {};
  if (e->type() != element_type::BOOL) return "'" + std::string(key) + "' must be true or false.";
  out = e->get_bool().value_unsafe();
  return {};
}

std::string read_int(const object& obj, std::string_view key, std::int32_t& out, bool& present) {
  present = false;
  auto e = field(obj, key);
  if (!e) return {};
  auto v = e->get_int64();
  if (v.error() != simdjson::SUCCESS) return "'" + std::string(key) + "' must be an integer.";
  std::int64_t x = v.value_unsafe();
  if (x < std::numeric_limits<std::int32_t>::min() || x > std::numeric_limits<std::int32_t>::max())
    return "'" + std::string(key) + "' is out of range.";
  out = static_cast<std::int32_t>(x);
  present = true;
  return {};
}

// Prompt bytes or ids -> tokens (and, when `blocks` is given, prefix-cache block hashes).
// `prompt` may be a string, a list with one string, a list of token ids, or a list with one list
// of token ids; several prompts in one request are refused.
std::string prompt_tokens_of(const element& prompt, std::int64_t& tokens,
                             std::vector<std::uint64_t>* blocks, std::string_view key = "prompt") {
  const std::string k = "'" + std::string(key) + "'";
  if (prompt.type() == element_type::STRING) {
    std::string_view text = prompt.get_string().value_unsafe();
    tokens = prompt_tokens_for_bytes(text.size());
    if (blocks) *blocks = prefix_block_hashes(text);
    return {};
  }
  if (prompt.type() != element_type::ARRAY)
    return k + " must be a string, a list of strings or a list of token ids.";
  simdjson::dom::array items;
  if (prompt.get_array().get(items) != simdjson::SUCCESS) return k + " must be a list.";
  std::size_t n = items.size();
  if (n == 0) return k + " must not be an empty list.";
  element first;
  if (items.at(0).get(first) != simdjson::SUCCESS) return k + " must not be an empty list.";
  if (first.type() == element_type::INT64 || first.type() == element_type::UINT64) {
    std::vector<std::int64_t> ids;
    if (blocks) ids.reserve(n);
    for (element id : items) {
      if (id.type() == element_type::INT64) {
        if (blocks) ids.push_back(id.get_int64().value_unsafe());
      } else if (id.type() == element_type::UINT64) {
        if (blocks) ids.push_back(static_cast<std::int64_t>(id.get_uint64().value_unsafe()));
      } else {
        return k + " token ids must all be integers.";
      }
    }
    tokens = static_cast<std::int64_t>(n);
    if (blocks) *blocks = prefix_block_hashes(ids);
    return {};
  }
  if (n != 1)
    return "the simulator serves one prompt per request; " + k + " has " + std::to_string(n) + ".";
  if (first.type() == element_type::STRING || first.type() == element_type::ARRAY)
    return prompt_tokens_of(first, tokens, blocks, key);
  return k + " must be a string, a list of strings or a list of token ids.";
}

// Chat: the concatenated text of every message's content (a string, or parts with "text").
std::string message_tokens_of(const element& messages, std::int64_t& tokens,
                              std::vector<std::uint64_t>* blocks) {
  std::string text;  // the concatenation, kept only for block hashes
  if (messages.type() != element_type::ARRAY) return "'messages' must be a list of messages.";
  simdjson::dom::array list;
  if (messages.get_array().get(list) != simdjson::SUCCESS) return "'messages' must be a list of messages.";
  if (list.size() == 0) return "'messages' must not be empty.";
  std::uint64_t bytes = 0;
  for (element m : list) {
    object message;
    if (m.get_object().get(message) != simdjson::SUCCESS) return "each message must be an object.";
    auto content = field(message, "content");
    if (!content) continue;
    std::string_view s;
    simdjson::dom::array parts;
    if (content->get_string().get(s) == simdjson::SUCCESS) {
      bytes += s.size();
      if (blocks) text.append(s);
    } else if (content->get_array().get(parts) == simdjson::SUCCESS) {
      for (element part : parts) {
        object p;
        if (part.get_object().get(p) != simdjson::SUCCESS) return "each content part must be an object.";
        auto part_text = field(p, "text");
        std::string_view t;
        if (part_text && part_text->get_string().get(t) == simdjson::SUCCESS) {
          bytes += t.size();
          if (blocks) text.append(t);
        }
      }
    } else {
      return "a message 'content' must be a string or a list of parts.";
    }
  }
  tokens = prompt_tokens_for_bytes(bytes);
  if (blocks) *blocks = prefix_block_hashes(text);
  return {};
}


// A nested options object (TGI `parameters`, SGLang `sampling_params`, Ollama `options`); absent
// or null leaves `out` empty.
std::string sub_object(const object& obj, std::string_view key, std::optional<object>& out) {
  auto e = field(obj, key);
  if (!e) return {};
  object o;
  if (e->get_object().get(o) != simdjson::SUCCESS) return "'" + std::string(key) + "' must be an object.";
  out = o;
  return {};
}

// The native APIs' prompt and generation limits (see request.hpp).
std::string parse_native(const object& obj, GenerationRequest& req, bool prefix_blocks) {
  std::vector<std::uint64_t>* blocks = prefix_blocks ? &req.prefix_blocks : nullptr;
  std::string err;
  bool present = false;
  auto prompt_from = [&](std::string_view key) -> std::string {
    auto p = field(obj, key);
    if (!p) return "'" + std::string(key) + "' is required.";
    return prompt_tokens_of(*p, req.prompt_tokens, blocks, key);
  };
  // Engines' "no limit" (a negative count) is the simulator's default: it must end somewhere.
  auto limit = [&](const object& o, std::string_view key) -> std::string {
    std::int32_t v = kDefaultMaxTokens;
    if (err = read_int(o, key, v, present); !err.empty()) return err;
    if (present) req.max_tokens = v < 0 ? kDefaultMaxTokens : v;
    return {};
  };
  switch (req.endpoint) {
    case Endpoint::tgi: {
      req.stream = true;  // /generate_stream
      if (err = prompt_from("inputs"); !err.empty()) return err;
      std::optional<object> params;
      if (err = sub_object(obj, "parameters", params); !err.empty()) return err;
      if (params) {
        if (err = read_int(*params, "max_new_tokens", req.max_tokens, present); !err.empty()) return err;
      }
      return {};
    }
    case Endpoint::sglang: {
      if (!field(obj, "text") && !field(obj, "input_ids")) return "'text' or 'input_ids' is required.";
      if (err = prompt_from(field(obj, "text") ? "text" : "input_ids"); !err.empty()) return err;
      if (err = read_bool(obj, "stream", req.stream); !err.empty()) return err;
      std::optional<object> params;
      if (err = sub_object(obj, "sampling_params", params); !err.empty()) return err;
      if (params) {
        if (err = read_int(*params, "max_new_tokens", req.max_tokens, present); !err.empty()) return err;
        if (err = read_int(*params, "min_new_tokens", req.min_tokens, present); !err.empty()) return err;
        if (err = read_bool(*params, "ignore_eos", req.ignore_eos); !err.empty()) return err;
      }
      return {};
    }
    case Endpoint::llamacpp:
      if (err = prompt_from("prompt"); !err.empty()) return err;
      if (err = read_bool(obj, "stream", req.stream); !err.empty()) return err;
      if (err = read_bool(obj, "ignore_eos", req.ignore_eos); !err.empty()) return err;
      return limit(obj, "n_predict");
    case Endpoint::ollama_generate:
    case Endpoint::ollama_chat: {
      if (req.model.empty()) return "'model' is required.";
      if (req.endpoint == Endpoint::ollama_chat) {
        auto messages = field(obj, "messages");
        if (!messages) return "'messages' is required.";
        if (err = message_tokens_of(*messages, req.prompt_tokens, blocks); !err.empty()) return err;
      } else if (err = prompt_from("prompt"); !err.empty()) {
        return err;
      }
      req.stream = true;  // Ollama streams unless told not to
      if (err = read_bool(obj, "stream", req.stream); !err.empty()) return err;
      std::optional<object> options;
      if (err = sub_object(obj, "options", options); !err.empty()) return err;
      if (options) return limit(*options, "num_predict");
      return {};
    }
    case Endpoint::triton:
      req.stream = true;  // generate_stream
      if (err = prompt_from("text_input"); !err.empty()) return err;
      if (err = read_int(obj, "max_tokens", req.max_tokens, present); !err.empty()) return err;
      if (err = read_int(obj, "min_tokens", req.min_tokens, present); !err.empty()) return err;
      return read_bool(obj, "ignore_eos", req.ignore_eos);
    case Endpoint::completions:
    case Endpoint::chat:
      break;
  }
  return {};
}

}  // namespace

std::string_view to_string(Endpoint e) noexcept {
  switch (e) {
    case Endpoint::completions: return "/v1/completions";
    case Endpoint::chat: return "/v1/chat/completions";
    case Endpoint::tgi: return "/generate_stream";
    case Endpoint::sglang: return "/generate";
    case Endpoint::llamacpp: return "/completion";
    case Endpoint::ollama_generate: return "/api/generate";
    case Endpoint::ollama_chat: return "/api/chat";
    case Endpoint::triton: return "/v2/models/{model}/generate_stream";
  }
  return "unknown";
}

std::optional<Fault> fault_from_string(std::string_view s) noexcept {
  for (const auto& [f, name] : kFaults)
    if (name == s) return f;
  return std::nullopt;
}

std::string_view to_string(Fault f) noexcept {
  for (const auto& [x, name] : kFaults)
    if (x == f) return name;
  return "unknown";
}

std::variant<GenerationRequest, RequestError> parse_generation_request(
    simdjson::dom::parser& parser, std::string_view body, Endpoint endpoint, bool prefix_blocks) {
  auto doc = parser.parse(body.data(), body.size());
  if (doc.error() != simdjson::SUCCESS)
    return bad(std::string("the request body is not valid JSON (") +
               simdjson::error_message(doc.error()) + ").");
  element root = doc.value_unsafe();
  object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS)
    return bad("the request body must be a JSON object.");

  GenerationRequest req;
  req.endpoint = endpoint;
  if (auto model = field(obj, "model")) {
    if (model->type() != element_type::STRING) return bad("'model' must be a string.");
    req.model = std::string(model->get_string().value_unsafe());
  }

  std::string err;
  if (!is_openai(endpoint)) {
    if (err = parse_native(obj, req, prefix_blocks); !err.empty()) return bad(std::move(err));
    if (req.max_tokens < 1)
      return bad("the maximum number of new tokens must be at least 1, got " +
                 std::to_string(req.max_tokens) + ".");
    if (req.min_tokens < 0 || req.min_tokens > req.max_tokens)
      return bad("the minimum number of new tokens must be between 0 and " +
                 std::to_string(req.max_tokens) + ", got " + std::to_string(req.min_tokens) + ".");
    if (!req.stream)
      return bad(std::string("the simulator serves ") + std::string(to_string(endpoint)) +
                 " streaming only; set \"stream\": true.");
  } else if (endpoint == Endpoint::completions) {
    auto prompt = field(obj, "prompt");
    if (!prompt) return bad("'prompt' is required.");
    err = prompt_tokens_of(*prompt, req.prompt_tokens, prefix_blocks ? &req.prefix_blocks : nullptr);
  } else {
    auto messages = field(obj, "messages");
    if (!messages) return bad("'messages' is required.");
    err = message_tokens_of(*messages, req.prompt_tokens, prefix_blocks ? &req.prefix_blocks : nullptr);
  }
  if (!err.empty()) return bad(std::move(err));

  if (is_openai(endpoint)) {
    bool present = false;
    if (err = read_int(obj, "max_tokens", req.max_tokens, present); !err.empty()) return bad(err);
    if (!present && endpoint == Endpoint::chat) {
      if (err = read_int(obj, "max_completion_tokens", req.max_tokens, present); !err.empty())
        return bad(err);
    }
    if (req.max_tokens < 1)
      return bad("max_tokens must be at least 1, got " + std::to_string(req.max_tokens) + ".");
    if (err = read_int(obj, "min_tokens", req.min_tokens, present); !err.empty()) return bad(err);
    if (req.min_tokens < 0 || req.min_tokens > req.max_tokens)
      return bad("min_tokens must be between 0 and max_tokens=" + std::to_string(req.max_tokens) +
                 ", got " + std::to_string(req.min_tokens) + ".");
    std::int32_t n = 1;
    if (err = read_int(obj, "n", n, present); !err.empty()) return bad(err);
    if (n != 1) return bad("the simulator supports n = 1 only.");

    if (err = read_bool(obj, "stream", req.stream); !err.empty()) return bad(err);
    if (err = read_bool(obj, "ignore_eos", req.ignore_eos); !err.empty()) return bad(err);
    if (auto so = field(obj, "stream_options")) {
      object opts;
      if (so->get_object().get(opts) != simdjson::SUCCESS)
        return bad("'stream_options' must be an object.");
      if (err = read_bool(opts, "include_usage", req.include_usage); !err.empty()) return bad(err);
      if (err = read_bool(opts, "continuous_usage_stats", req.continuous_usage); !err.empty())
        return bad(err);
    }
  }

  if (auto fault = field(obj, "sim_fault")) {
    std::string names;
    for (const auto& [f, name] : kFaults) {
      if (!names.empty()) names += ", ";
      names += name;
    }
    if (fault->type() != element_type::STRING) return bad("'sim_fault' must be one of: " + names + ".");
    auto name = fault->get_string().value_unsafe();
    auto f = fault_from_string(name);
    if (!f) return bad("unknown sim_fault '" + std::string(name) + "'; expected one of: " + names + ".");
    req.fault = *f;
  }
  return req;
}

}  // namespace splleed::sim
