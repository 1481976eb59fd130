#include "splleed/config.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace splleed {

namespace {
constexpr std::array<std::pair<Api, std::string_view>, 8> kApis = {{
    {Api::openai_completions, "openai-completions"},
    {Api::openai_chat, "openai-chat"},
    {Api::tgi, "tgi"},
    {Api::sglang, "sglang"},
    {Api::llamacpp, "llamacpp"},
    {Api::ollama_generate, "ollama-generate"},
    {Api::ollama_chat, "ollama-chat"},
    {Api::triton, "triton"},
}};
}  // namespace

std::string_view to_string(Api api) noexcept {
  for (const auto& [a, name] : kApis)
    if (a == api) return name;
  return "unknown";
}

std::optional<Api> api_from_string(std::string_view s) noexcept {
  for (const auto& [a, name] : kApis)
    if (name == s) return a;
  return std::nullopt;
}

std::string api_names() {
  std::string out;
  for (const auto& [a, name] : kApis) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string_view to_string(LoadMode m) noexcept {
  switch (m) {
    case LoadMode::latency: return "latency";
    case LoadMode::concurrency: return "concurrency";
    case LoadMode::rate: return "rate";
  }
  return "concurrency";
}

std::optional<LoadMode> load_mode_from_string(std::string_view s) noexcept {
  for (LoadMode m : {LoadMode::latency, LoadMode::concurrency, LoadMode::rate})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

std::string_view to_string(Arrival a) noexcept {
  switch (a) {
    case Arrival::constant: return "constant";
    case Arrival::poisson: return "poisson";
    case Arrival::gamma: return "gamma";
  }
  return "poisson";
}

std::optional<Arrival> arrival_from_string(std::string_view s) noexcept {
  for (Arrival a : {Arrival::constant, Arrival::poisson, Arrival::gamma})
    if (to_string(a) == s) return a;
  return std::nullopt;
}

std::string_view to_string(RampShape r) noexcept {
  return r == RampShape::linear ? "linear" : "exponential";
}

std::vector<SloTarget> parse_slos(std::string_view text, std::string* error) {
  static constexpr std::array<std::string_view, 10> kKnown = {
      "ttft", "ttft_from_schedule", "ttst", "itl", "icl", "tpot", "e2e", "e2e_from_schedule",
      "stream_end", "worst_stall"};
  std::vector<SloTarget> out;
  auto fail = [&](std::string msg) {
    if (error) *error = std::move(msg);
    return std::vector<SloTarget>{};
  };
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto part = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    auto colon = part.find(':');
    if (colon == std::string_view::npos)
      return fail("--slo part '" + std::string(part) + "' is not METRIC:VALUE (e.g. ttft:500ms).");
    std::string metric(part.substr(0, colon));
    if (std::find(kKnown.begin(), kKnown.end(), metric) == kKnown.end())
      return fail("--slo names an unknown metric '" + metric + "'.");
    std::string value(part.substr(colon + 1));
    std::size_t used = 0;
    double number = 0;
    try {
      number = std::stod(value, &used);
    } catch (const std::exception&) {
      return fail("--slo value '" + value + "' for " + metric + " is not a number.");
    }
    std::string unit = value.substr(used);
    double scale = 0;
    if (unit.empty() || unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "us") scale = 1e3;
    else if (unit == "ns") scale = 1;
    else return fail("--slo unit '" + unit + "' for " + metric + " is not one of ns, us, ms, s.");
    if (!(number > 0)) return fail("--slo threshold for " + metric + " must be positive.");
    out.push_back({metric, static_cast<Nanos>(number * scale)});
  }
  return out;
}

bool parse_warmup(std::string_view text, LoadConfig& load, std::string* error) {
  const std::string value(text);
  auto fail = [&] {
    if (error)
      *error = "--warmup '" + value + "' is neither a count (e.g. 20) nor a duration (e.g. 30s, 500ms, 2m).";
    return false;
  };
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(value, &used);
  } catch (const std::exception&) {
    return fail();
  }
  const std::string unit = value.substr(used);
  if (unit.empty()) {
    if (number < 0 || number != static_cast<double>(static_cast<std::int32_t>(number))) return fail();
    load.warmup = static_cast<std::int32_t>(number);
    load.warmup_duration.reset();
    return true;
  }
  double scale = 0;
  if (unit == "s") scale = 1e9;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "m" || unit == "min") scale = 60e9;
  else return fail();
  if (!(number > 0)) return fail();
  load.warmup = 0;
  load.warmup_duration = static_cast<Nanos>(number * scale);
  return true;
}

std::string validate(const RunConfig& c) {
  if (c.target.base_url.empty()) return "--base-url is required (e.g. http://127.0.0.1:8000).";
  if (c.sampling.max_tokens < 1)
    return "--max-tokens must be at least 1 (got " + std::to_string(c.sampling.max_tokens) + ").";
  if (c.sampling.min_tokens && (*c.sampling.min_tokens < 0 || *c.sampling.min_tokens > c.sampling.max_tokens))
    return "--min-tokens must be between 0 and --max-tokens (got " +
           std::to_string(*c.sampling.min_tokens) + ").";
  if (c.sampling.temperature && *c.sampling.temperature < 0)
    return "--temperature must not be negative.";
  if (c.sampling.top_p && (*c.sampling.top_p <= 0 || *c.sampling.top_p > 1))
    return "--top-p must be in (0, 1].";
  if (!c.sampling.extra_body.empty()) {
    auto j = nlohmann::json::parse(c.sampling.extra_body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return "--extra-body is not valid JSON: " + c.sampling.extra_body;
    if (!j.is_object()) return "--extra-body must be a JSON object, e.g. '{\"seed\": 1}'.";
  }
  if (c.load.trace) {
    const TraceReplay& t = *c.load.trace;
    if (c.load.mode != LoadMode::rate) return "--trace replays arrivals: it needs --mode rate.";
    if (!c.load.request_rates.empty()) return "--trace and --request-rate exclude each other.";
    if (c.load.ramp) return "--trace and --ramp-up exclude each other.";
    if (t.times.empty()) return "the trace " + t.source + " has no requests.";
    if (!(t.time_scale > 0)) return "--time-scale must be positive.";
    if (!std::is_sorted(t.times.begin(), t.times.end()))
      return "the trace " + t.source + " has timestamps out of order.";
    if (c.prompts.size() != t.times.size())
      return "the trace " + t.source + " needs one prompt per request.";
    if (c.load.max_concurrency && *c.load.max_concurrency < 1)
      return "--max-concurrency must be at least 1.";
    if (c.load.warmup >= static_cast<std::int64_t>(t.times.size()))
      return "--warmup takes every request of the trace " + t.source + ": none would be measured.";
  } else if (c.load.mode == LoadMode::rate) {
    if (c.load.request_rates.empty()) return "--request-rate is required in rate mode.";
    for (double r : c.load.request_rates)
      if (!(r > 0)) return "--request-rate values must be positive.";
    if (c.load.arrival == Arrival::gamma && !(c.load.burstiness > 0))
      return "--burstiness must be positive (1 is Poisson).";
    if (c.load.max_concurrency && *c.load.max_concurrency < 1)
      return "--max-concurrency must be at least 1.";
    if (c.load.ramp) {
      if (!(c.load.ramp->start_rate > 0)) return "--ramp-start-rate must be positive.";
      if (c.load.ramp->duration <= 0) return "--ramp-up must be a positive duration.";
    }
  } else {
    if (c.load.concurrency.empty()) return "--concurrency needs at least one level.";
    for (auto level : c.load.concurrency)
      if (level < 1)
        return "--concurrency levels must be positive (got " + std::to_string(level) + ").";
  }
  if (!c.load.num_requests && !c.load.duration && !c.load.trace)
    return "give --num-requests or --duration to bound each run.";
  if (c.load.num_requests && *c.load.num_requests < 1)
    return "--num-requests must be at least 1 (got " + std::to_string(*c.load.num_requests) + ").";
  if (c.load.duration && *c.load.duration <= 0) return "--duration must be positive.";
  if (c.load.warmup < 0) return "--warmup must not be negative.";
  if (c.load.warmup_duration) {
    if (*c.load.warmup_duration <= 0) return "--warmup must be a positive duration.";
    if (c.load.warmup > 0) return "--warmup is a count or a duration, not both.";
    if (c.load.trace) return "with --trace, --warmup is a count of the trace's first requests.";
  }
  if (!c.prompt_max_tokens.empty()) {
    if (c.prompt_max_tokens.size() != c.prompts.size())
      return "per-prompt output lengths must number one per prompt.";
    for (auto n : c.prompt_max_tokens)
      if (n < 1) return "every per-prompt output length must be at least 1 (got " +
                        std::to_string(n) + ").";
  }
  if (!c.prompt_messages.empty() && c.prompt_messages.size() != c.prompts.size())
    return "per-prompt chat messages must number one list per prompt.";
  if (!c.prompt_input_tokens.empty() && c.prompt_input_tokens.size() != c.prompts.size())
    return "per-prompt input token counts must number one per prompt.";
  for (const ConversationPlan& conv : c.conversations) {
    if (conv.turns.empty()) return "every multi-turn conversation needs at least one turn.";
    for (auto p : conv.turns)
      if (p >= c.prompts.size())
        return "conversation " + std::to_string(conv.id) + " names prompt " + std::to_string(p) +
               ", which does not exist.";
  }
  if (!c.conversations.empty()) {
    if (c.target.api != Api::openai_chat && c.target.api != Api::ollama_chat)
      return "multi-turn conversations (--turns) send chat history: use --api openai-chat or "
             "ollama-chat.";
    if (c.load.trace) return "--trace and multi-turn conversations (--turns) exclude each other.";
  }
  if (c.think_time < 0) return "--think-time must not be negative.";
  if (c.load.workers < 0) return "--workers must not be negative.";
  if (c.load.busy_poll < 0 || c.load.busy_poll > 10 * kNanosPerMilli)
    return "--busy-poll-us must be between 0 and 10000 (10 ms).";
  if (c.prompts.empty()) return "no prompts: give --prompt at least once.";
  if (!(c.stats.confidence > 0 && c.stats.confidence < 1))
    return "--confidence must be between 0 and 1 (e.g. 0.95).";
  if (c.stats.trials < 1) return "--trials must be at least 1.";
  if (c.target.connect_timeout <= 0 || c.target.read_timeout <= 0)
    return "timeouts must be positive.";
  return {};
}

}  // namespace splleed
