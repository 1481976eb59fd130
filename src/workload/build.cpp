#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

#include <boost/random/discrete_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tokenizer/prompt.hpp"
#include "workload/hash.hpp"
#include "workload/sources.hpp"
#include "workload/workload.hpp"

namespace splleed::workload {
namespace {

constexpr std::int64_t kDefaultSynthetic = 1000;  // prompts (sessions) when num_prompts is unset

// Independent random streams (see make_engine).
enum Stream : std::uint64_t {
  kInputLen = 1,
  kOutputLen = 2,
  kPromptSeed = 3,
  kGroup = 4,
  kShuffle = 5,
  kPrefixSeed = 6,
};

// Counts whitespace-separated words: the unit of the approximate synthetic mode, where no
// tokenizer is given. Plugged into prompt_of_length so that both modes build text the same way.
class WordCounter final : public tokenizer::Tokenizer {
 public:
  std::vector<std::int32_t> encode(std::string_view text, bool) const override {
    return std::vector<std::int32_t>(count(text), 0);
  }
  std::string decode(std::span<const std::int32_t>) const override {
    throw tokenizer::TokenizerError("word counter: decode is not available");
  }
  std::size_t count(std::string_view text) const override { return count_words(text); }
  std::size_t vocab_size() const override { return 0; }

  static std::size_t count_words(std::string_view text) {
    std::size_t n = 0;
    bool in_word = false;
    for (const char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
    return n;
  }
};

std::string normalise_key(std::string_view key) {
  while (!key.empty() && key.front() == '-') key.remove_prefix(1);
  std::string k(key);
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

std::int64_t parse_int(std::string_view key, std::string_view v, std::int64_t lo, std::int64_t hi) {
  std::int64_t x = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || x < lo || x > hi) {
    throw WorkloadError(fmt::format("--{}: '{}' is not an integer in [{}, {}]", key, v, lo, hi));
  }
  return x;
}

std::uint64_t parse_u64(std::string_view key, std::string_view v) {
  std::uint64_t x = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty()) {
    throw WorkloadError(fmt::format("--{}: '{}' is not a non-negative integer", key, v));
  }
  return x;
}

double parse_double(std::string_view key, std::string_view v) {
  double x = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || !std::isfinite(x)) {
    throw WorkloadError(fmt::format("--{}: '{}' is not a number", key, v));
  }
  return x;
}

bool parse_bool(std::string_view key, std::string_view v) {
  if (v.empty() || v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  throw WorkloadError(fmt::format("--{}: '{}' is not true or false", key, v));
}

// "2s", "500ms", "1.5", "250us", "1m": a bare number is seconds.
Nanos parse_duration(std::string_view key, std::string_view v) {
  std::size_t split = v.size();
  while (split > 0 && std::isalpha(static_cast<unsigned char>(v[split - 1]))) --split;
  const std::string_view unit = v.substr(split);
  const double x = parse_double(key, v.substr(0, split));
  double scale = 1e9;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "s" || unit.empty()) scale = 1e9;
  else if (unit == "m") scale = 60e9;
  else throw WorkloadError(fmt::format("--{}: unknown unit in '{}' (use ns, us, ms, s, m)", key, v));
  if (x < 0) throw WorkloadError(fmt::format("--{}: '{}' must not be negative", key, v));
  return static_cast<Nanos>(std::llround(x * scale));
}

SourceKind parse_source(std::string_view v) {
  if (v == "auto") return SourceKind::automatic;
  if (v == "inline") return SourceKind::inline_prompts;
  if (v == "text") return SourceKind::text;
  if (v == "jsonl") return SourceKind::jsonl;
  if (v == "messages") return SourceKind::messages;
  if (v == "sharegpt") return SourceKind::sharegpt;
  if (v == "synthetic") return SourceKind::synthetic;
  throw WorkloadError(fmt::format(
      "--source: unknown source '{}' (use auto, inline, text, jsonl, messages, sharegpt, synthetic)", v));
}

SourceKind resolve(const WorkloadSpec& s) {
  if (s.source != SourceKind::automatic) return s.source;
  if (!s.prompts.empty()) return SourceKind::inline_prompts;
  if (!s.path.empty()) {
    const std::string ext = s.path.extension().string();
    if (ext == ".jsonl") return SourceKind::jsonl;
    if (ext == ".json") return SourceKind::sharegpt;
    return SourceKind::text;
  }
  return SourceKind::synthetic;
}

std::uint64_t mix(std::uint64_t seed, std::uint64_t i) {
  Engine e = make_engine(seed, i);
  return e();
}

// Fisher-Yates with Boost's uniform_int_distribution: std::shuffle's algorithm is unspecified.
template <class T>
void seeded_shuffle(std::vector<T>& v, std::uint64_t seed) {
  Engine eng = make_engine(seed, kShuffle);
  for (std::size_t i = v.size(); i > 1; --i) {
    boost::random::uniform_int_distribution<std::size_t> pick(0, i - 1);
    std::swap(v[i - 1], v[pick(eng)]);
  }
}

void validate(const WorkloadSpec& s, SourceKind kind) {
  if (s.num_prompts && *s.num_prompts < 1) throw WorkloadError("--num-prompts: must be >= 1");
  if (s.turns < 1) throw WorkloadError("--turns: must be >= 1");
  if (s.turns > 1 && kind != SourceKind::synthetic && kind != SourceKind::sharegpt) {
    throw WorkloadError(fmt::format("--turns: multi-turn sessions need the synthetic or sharegpt "
                                    "source, not {}", to_string(kind)));
  }
  const bool prefix = s.prefix_groups > 0 || s.prefix_len > 0 || s.prefix_zipf.has_value();
  if (prefix) {
    if (kind != SourceKind::synthetic) {
      throw WorkloadError(fmt::format("--prefix-groups: shared prefixes need the synthetic source, "
                                      "not {}", to_string(kind)));
    }
    if (s.prefix_groups < 1) throw WorkloadError("--prefix-groups: must be >= 1 with a prefix");
    if (s.prefix_len < 1) throw WorkloadError("--prefix-len: must be >= 1 with --prefix-groups");
    if (s.prefix_zipf && !(*s.prefix_zipf >= 0)) throw WorkloadError("--prefix-zipf: must be >= 0");
  }
  if (kind == SourceKind::synthetic && !s.input_len) {
    throw WorkloadError("--input-len: the synthetic source needs an input length distribution "
                        "(e.g. --input-len 512 or --input-len uniform:128:1024)");
  }
  if (kind != SourceKind::synthetic && s.input_len) {
    throw WorkloadError(fmt::format("--input-len: only the synthetic source draws input lengths; "
                                    "{} prompts have their own", to_string(kind)));
  }
  const bool needs_file = kind == SourceKind::text || kind == SourceKind::jsonl ||
                          kind == SourceKind::messages || kind == SourceKind::sharegpt;
  if (needs_file && s.path.empty()) {
    throw WorkloadError(fmt::format("--file: the {} source reads a file", to_string(kind)));
  }
  if (kind == SourceKind::inline_prompts && s.prompts.empty()) {
    throw WorkloadError("--prompt: the inline source needs at least one prompt");
  }
  if (!s.output_field.empty() && kind != SourceKind::jsonl) {
    throw WorkloadError("--output-field: only the jsonl source reads an output field");
  }
}

struct Counter {
  const tokenizer::Tokenizer* tok;
  std::optional<std::int64_t> tokens(std::string_view text) const {
    if (tok == nullptr) return std::nullopt;
    return static_cast<std::int64_t>(tok->count(text));
  }
  // ShareGPT lengths as vLLM counts them: with the tokenizer's own framing (e.g. a BOS token);
  // words without a tokenizer.
  std::int64_t framed(std::string_view text) const {
    if (tok == nullptr) return static_cast<std::int64_t>(WordCounter::count_words(text));
    return static_cast<std::int64_t>(tok->encode(text, true).size());
  }
};

std::int32_t to_i32(std::int64_t v) {
  return static_cast<std::int32_t>(std::min<std::int64_t>(v, std::numeric_limits<std::int32_t>::max()));
}

void take_first(std::vector<WorkloadItem>& items, const WorkloadSpec& s) {
  if (s.num_prompts && static_cast<std::int64_t>(items.size()) > *s.num_prompts) {
    items.resize(static_cast<std::size_t>(*s.num_prompts));
  }
}

void apply_output_len(Workload& w, const WorkloadSpec& s) {
  if (!s.output_len) return;
  Engine eng = make_engine(s.seed, kOutputLen);
  for (auto& item : w.items) item.max_tokens = draw_length(*s.output_len, eng);
}

void from_entries(Workload& w, SourceRead r, const WorkloadSpec& s, const Counter& c) {
  w.identity.entries_read = r.entries_read;
  w.identity.skipped = std::move(r.skipped);
  if (s.shuffle) seeded_shuffle(r.entries, s.seed);
  for (auto& e : r.entries) {
    WorkloadItem item;
    item.input_tokens = c.tokens(e.prompt);
    if (!e.messages.empty() && item.input_tokens) {
      // Chat entries: every message's content (the server's chat template comes on top).
      std::int64_t sum = 0;
      for (const auto& m : e.messages) sum += *c.tokens(m.content);
      item.input_tokens = sum;
    }
    item.prompt = std::move(e.prompt);
    item.messages = std::move(e.messages);
    if (e.output_len) item.max_tokens = to_i32(*e.output_len);
    w.items.push_back(std::move(item));
  }
  take_first(w.items, s);
  apply_output_len(w, s);
}

void from_sharegpt(Workload& w, ShareGptRead r, const WorkloadSpec& s, const Counter& c) {
  w.identity.entries_read = r.entries_read;
  w.identity.skipped = std::move(r.skipped);
  if (s.shuffle) seeded_shuffle(r.conversations, s.seed);
  const ShareGptFilter& f = s.sharegpt;
  const bool fixed_output = s.output_len.has_value();
  Engine out_eng = make_engine(s.seed, kOutputLen);
  // Why an exchange is not used (nullptr: it is).
  const auto reject = [&](std::int64_t in, std::int64_t out) -> const char* {
    if (in < f.min_len) return "prompt shorter than min_len";
    if (!fixed_output && out < f.min_len) return "reply shorter than min_len";
    if (in > f.max_prompt_len) return "prompt longer than max_prompt_len";
    if (in + out > f.max_total_len) return "prompt + reply longer than max_total_len";
    if (f.max_output_len && out > *f.max_output_len) return "reply longer than max_output_len";
    return nullptr;
  };
  std::uint64_t session = 0;
  const std::int64_t limit = s.num_prompts.value_or(std::numeric_limits<std::int64_t>::max());
  std::int64_t taken = 0;
  for (auto& conv : r.conversations) {
    if (taken >= limit) break;
    Session sess;
    sess.id = session;
    const std::size_t turns = std::min<std::size_t>(conv.exchanges.size(), static_cast<std::size_t>(s.turns));
    for (std::size_t t = 0; t < turns; ++t) {
      auto& [human, reply] = conv.exchanges[t];
      const std::int64_t in = c.framed(human);
      const std::int64_t out = fixed_output ? draw_length(*s.output_len, out_eng) : c.framed(reply);
      if (const char* why = reject(in, out)) {
        if (t == 0) ++w.identity.skipped[why];
        break;  // a session ends at its first unusable turn
      }
      WorkloadItem item;
      item.input_tokens = c.tokens(human);
      item.prompt = std::move(human);
      item.max_tokens = to_i32(std::max<std::int64_t>(out, 1));
      if (s.turns > 1) {
        item.session = SessionRef{session, static_cast<std::int32_t>(t)};
        item.messages = {Message{"user", item.prompt}};
        sess.items.push_back(w.items.size());
      }
      w.items.push_back(std::move(item));
    }
    const bool used = s.turns > 1 ? !sess.items.empty() : w.items.size() > static_cast<std::size_t>(taken);
    if (!used) continue;
    ++taken;
    if (s.turns > 1) {
      w.sessions.push_back(std::move(sess));
      ++session;
    }
  }
}

void synthetic(Workload& w, const WorkloadSpec& s, const tokenizer::Tokenizer& tok, const Counter& c) {
  const std::int64_t n = s.num_prompts.value_or(kDefaultSynthetic);
  Engine in_eng = make_engine(s.seed, kInputLen);
  Engine out_eng = make_engine(s.seed, kOutputLen);
  Engine group_eng = make_engine(s.seed, kGroup);
  const std::int64_t seed_base = static_cast<std::int64_t>(mix(s.seed, kPromptSeed) >> 1);

  // Shared prefixes: G distinct texts of exactly P tokens.
  std::vector<std::string> prefixes;
  for (std::int32_t g = 0; g < s.prefix_groups; ++g) {
    std::uint64_t pseed = mix(s.seed, kPrefixSeed + 16 * static_cast<std::uint64_t>(g));
    std::string p = tokenizer::prompt_of_length(tok, static_cast<std::size_t>(s.prefix_len), pseed);
    // Distinct seeds give distinct texts in practice; a collision is redrawn, never kept.
    for (int tries = 0; std::find(prefixes.begin(), prefixes.end(), p) != prefixes.end(); ++tries) {
      if (tries > 100) throw WorkloadError("--prefix-groups: cannot make distinct prefixes of this length");
      p = tokenizer::prompt_of_length(tok, static_cast<std::size_t>(s.prefix_len), ++pseed);
    }
    prefixes.push_back(std::move(p));
  }
  std::optional<boost::random::discrete_distribution<std::int32_t, double>> zipf;
  if (s.prefix_zipf && s.prefix_groups > 0) {
    std::vector<double> weights;
    for (std::int32_t g = 0; g < s.prefix_groups; ++g) {
      weights.push_back(1.0 / std::pow(static_cast<double>(g + 1), *s.prefix_zipf));
    }
    zipf.emplace(weights.begin(), weights.end());
  }

  // Draws first, in a fixed order, so that the texts below can be built in any order.
  struct Plan {
    std::optional<std::int32_t> group;
    std::int32_t len = 0;  // drawn input (suffix) length
    std::optional<std::int32_t> max_tokens;
    std::uint64_t session = 0;
    std::int32_t turn = 0;
    std::string text;
    std::optional<std::int64_t> tokens;
  };
  std::vector<Plan> plans;
  plans.reserve(static_cast<std::size_t>(n * s.turns));
  for (std::int64_t i = 0; i < n; ++i) {
    std::optional<std::int32_t> group;
    if (!prefixes.empty()) {
      group = zipf ? (*zipf)(group_eng) : static_cast<std::int32_t>(i % s.prefix_groups);
    }
    for (std::int32_t t = 0; t < s.turns; ++t) {
      Plan p;
      p.group = group;
      p.len = draw_length(*s.input_len, in_eng);
      if (s.output_len) p.max_tokens = draw_length(*s.output_len, out_eng);
      p.session = static_cast<std::uint64_t>(i);
      p.turn = t;
      plans.push_back(std::move(p));
    }
  }

  // Exact-length texts cost several tokenizer passes each; the tokenizer is thread-safe and each
  // text depends only on its own plan and index, so they are built in parallel with the same
  // result as in sequence.
  const auto build_one = [&](std::size_t k) {
    Plan& p = plans[k];
    const std::uint64_t seed = static_cast<std::uint64_t>(seed_base) + k;
    if (p.group && p.turn == 0) {
      const std::string& prefix = prefixes[static_cast<std::size_t>(*p.group)];
      p.text = tokenizer::prompt_of_length(tok, prefix, static_cast<std::size_t>(s.prefix_len + p.len), seed);
    } else {
      p.text = tokenizer::prompt_of_length(tok, static_cast<std::size_t>(p.len), seed);
    }
    p.tokens = c.tokens(p.text);
  };
  {
    const std::size_t workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 16);
    std::atomic<std::size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr error;
    const auto work = [&] {
      for (std::size_t k = next.fetch_add(1); k < plans.size(); k = next.fetch_add(1)) {
        try {
          build_one(k);
        } catch (...) {
          const std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          next = plans.size();
        }
      }
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < std::min(workers, plans.size()); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
  }

  const std::string no_prefix;
  Session sess;
  for (auto& p : plans) {
    WorkloadItem item;
    item.prefix_group = p.group;
    item.max_tokens = p.max_tokens;
    item.input_tokens = p.tokens;
    const std::string& prefix = p.group ? prefixes[static_cast<std::size_t>(*p.group)] : no_prefix;
    if (p.group && p.turn == 0) {
      // One text of P + len tokens that starts with the prefix byte for byte; on chat APIs the
      // prefix is the system message and the rest the user message.
      std::string user = p.text.substr(prefix.size());
      if (!user.empty() && user.front() == ' ') user.erase(0, 1);
      if (s.turns == 1) item.messages = {Message{"system", prefix}, Message{"user", std::move(user)}};
      else item.messages = {Message{"user", std::move(user)}};
    } else if (s.turns > 1) {
      item.messages = {Message{"user", p.text}};
    }
    item.prompt = std::move(p.text);
    if (s.turns > 1) {
      if (p.turn == 0) {
        sess = Session{p.session, {}, prefix};
      }
      item.session = SessionRef{p.session, p.turn};
      sess.items.push_back(w.items.size());
      if (p.turn + 1 == s.turns) w.sessions.push_back(std::move(sess));
    }
    w.items.push_back(std::move(item));
  }
}

std::string inline_hash(const std::vector<std::string>& prompts) {
  std::string all;
  for (const auto& p : prompts) {
    all += p;
    all += '\0';
  }
  return sha256_hex(all);
}

}  // namespace

std::string_view to_string(SourceKind k) noexcept {
  switch (k) {
    case SourceKind::automatic: return "auto";
    case SourceKind::inline_prompts: return "inline";
    case SourceKind::text: return "text";
    case SourceKind::jsonl: return "jsonl";
    case SourceKind::messages: return "messages";
    case SourceKind::sharegpt: return "sharegpt";
    case SourceKind::synthetic: return "synthetic";
  }
  return "?";
}

void set_option(WorkloadSpec& s, std::string_view key_in, std::string_view v) {
  const std::string key = normalise_key(key_in);
  constexpr std::int64_t kMaxI32 = std::numeric_limits<std::int32_t>::max();
  if (key == "source" || key == "dataset_format") s.source = parse_source(v);
  else if (key == "prompt") s.prompts.emplace_back(v);
  else if (key == "file" || key == "path" || key == "dataset") s.path = std::filesystem::path(std::string(v));
  else if (key == "prompt_field") s.prompt_field = std::string(v);
  else if (key == "output_field") s.output_field = std::string(v);
  else if (key == "num_prompts") s.num_prompts = parse_int(key, v, 1, std::numeric_limits<std::int64_t>::max());
  else if (key == "shuffle") s.shuffle = parse_bool(key, v);
  else if (key == "seed") s.seed = parse_u64(key, v);
  else if (key == "input_len") s.input_len = LengthDistribution::parse(v, "--input-len");
  else if (key == "output_len") s.output_len = LengthDistribution::parse(v, "--output-len");
  else if (key == "min_len") s.sharegpt.min_len = static_cast<std::int32_t>(parse_int(key, v, 0, kMaxI32));
  else if (key == "max_prompt_len") s.sharegpt.max_prompt_len = static_cast<std::int32_t>(parse_int(key, v, 1, kMaxI32));
  else if (key == "max_total_len") s.sharegpt.max_total_len = static_cast<std::int32_t>(parse_int(key, v, 1, kMaxI32));
  else if (key == "max_output_len") s.sharegpt.max_output_len = static_cast<std::int32_t>(parse_int(key, v, 1, kMaxI32));
  else if (key == "prefix_groups") s.prefix_groups = static_cast<std::int32_t>(parse_int(key, v, 1, 1'000'000));
  else if (key == "prefix_len") s.prefix_len = static_cast<std::int32_t>(parse_int(key, v, 1, kMaxI32));
  else if (key == "prefix_zipf") {
    const double z = parse_double(key, v);
    if (z < 0) throw WorkloadError(fmt::format("--prefix-zipf: '{}' must be >= 0", v));
    s.prefix_zipf = z;
  } else if (key == "turns") s.turns = static_cast<std::int32_t>(parse_int(key, v, 1, 10'000));
  else if (key == "think_time") s.think_time = parse_duration(key, v);
  else if (key == "approximate") s.approximate = parse_bool(key, v);
  else throw WorkloadError(fmt::format("unknown workload option '{}'", key_in));
}

std::string describe(const WorkloadSpec& s) {
  const SourceKind kind = resolve(s);
  std::string out = fmt::format("source={}", to_string(kind));
  if (kind == SourceKind::inline_prompts) out += fmt::format(" prompts={}", s.prompts.size());
  if (!s.path.empty()) out += fmt::format(" file={}", s.path.string());
  if (kind == SourceKind::jsonl) out += fmt::format(" prompt_field={}", s.prompt_field);
  if (!s.output_field.empty()) out += fmt::format(" output_field={}", s.output_field);
  if (s.num_prompts) out += fmt::format(" num_prompts={}", *s.num_prompts);
  else if (kind == SourceKind::synthetic) out += fmt::format(" num_prompts={}", kDefaultSynthetic);
  if (s.shuffle) out += " shuffle=true";
  out += fmt::format(" seed={}", s.seed);
  if (s.input_len) out += fmt::format(" input_len={}", s.input_len->to_string());
  if (s.output_len) out += fmt::format(" output_len={}", s.output_len->to_string());
  if (kind == SourceKind::sharegpt) {
    out += fmt::format(" min_len={} max_prompt_len={} max_total_len={}", s.sharegpt.min_len,
                       s.sharegpt.max_prompt_len, s.sharegpt.max_total_len);
    if (s.sharegpt.max_output_len) out += fmt::format(" max_output_len={}", *s.sharegpt.max_output_len);
  }
  if (s.prefix_groups > 0) out += fmt::format(" prefix_groups={} prefix_len={}", s.prefix_groups, s.prefix_len);
  if (s.prefix_zipf) out += fmt::format(" prefix_zipf={}", *s.prefix_zipf);
  if (s.turns > 1) out += fmt::format(" turns={} think_time={}ns", s.turns, s.think_time);
  if (s.approximate) out += " approximate=true";
  return out;
}

Workload build_workload(const WorkloadSpec& s, const tokenizer::Tokenizer* tok) {
  const SourceKind kind = resolve(s);
  validate(s, kind);
  Workload w;
  w.think_time = s.think_time;
  WorkloadIdentity& id = w.identity;
  id.source = std::string(to_string(kind));
  id.seed = s.seed;
  id.options = describe(s);
  const Counter counter{tok};
  if (!s.path.empty() && kind != SourceKind::inline_prompts && kind != SourceKind::synthetic) {
    id.path = s.path.string();
    id.sha256 = sha256_file_hex(s.path);
  }
  switch (kind) {
    case SourceKind::inline_prompts: {
      id.sha256 = inline_hash(s.prompts);
      SourceRead r;
      r.entries_read = static_cast<std::int64_t>(s.prompts.size());
      for (const auto& p : s.prompts) r.entries.push_back(SourceEntry{p, {}, std::nullopt, 0});
      from_entries(w, std::move(r), s, counter);
      break;
    }
    case SourceKind::text: from_entries(w, read_text(s.path), s, counter); break;
    case SourceKind::jsonl: from_entries(w, read_jsonl(s.path, s.prompt_field, s.output_field), s, counter); break;
    case SourceKind::messages: from_entries(w, read_messages(s.path), s, counter); break;
    case SourceKind::sharegpt: from_sharegpt(w, read_sharegpt(s.path), s, counter); break;
    case SourceKind::synthetic: {
      const WordCounter words;
      if (tok == nullptr && !s.approximate) {
        throw WorkloadError("--input-len: synthetic prompts of exact token lengths need a tokenizer "
                            "(--tokenizer); without one, --approximate counts words instead");
      }
      id.approximate = tok == nullptr;
      synthetic(w, s, tok != nullptr ? *tok : words, counter);
      break;
    }
    case SourceKind::automatic: break;  // resolved above
  }
  if (w.items.empty()) {
    throw WorkloadError(fmt::format("{}: no usable prompt ({} entries read)",
                                    id.path.empty() ? id.source : id.path, id.entries_read));
  }
  std::vector<std::int64_t> in, out;
  bool all_in = true;
  for (const auto& item : w.items) {
    if (item.input_tokens) in.push_back(*item.input_tokens);
    else all_in = false;
    if (item.max_tokens) out.push_back(*item.max_tokens);
  }
  if (all_in) id.input_tokens = summarize_lengths(in);
  if (!out.empty()) id.output_tokens = summarize_lengths(out);
  return w;
}

std::vector<std::string> Workload::prompts() const {
  std::vector<std::string> p;
  p.reserve(items.size());
  for (const auto& item : items) p.push_back(item.prompt);
  return p;
}

std::vector<std::int32_t> Workload::max_tokens(std::int32_t fallback) const {
  const bool any = std::any_of(items.begin(), items.end(), [](const auto& i) { return i.max_tokens.has_value(); });
  if (!any) return {};
  std::vector<std::int32_t> m;
  m.reserve(items.size());
  for (const auto& item : items) m.push_back(item.max_tokens.value_or(fallback));
  return m;
}

nlohmann::json to_json(const WorkloadIdentity& id) {
  nlohmann::json j;
  j["source"] = id.source;
  j["path"] = id.path.empty() ? nlohmann::json(nullptr) : nlohmann::json(id.path);
  j["sha256"] = id.sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(id.sha256);
  j["seed"] = id.seed;
  j["options"] = id.options;
  j["approximate"] = id.approximate;
  j["entries_read"] = id.entries_read;
  j["skipped"] = id.skipped;
  j["input_tokens"] = id.input_tokens ? to_json(*id.input_tokens) : nlohmann::json(nullptr);
  j["output_tokens"] = id.output_tokens ? to_json(*id.output_tokens) : nlohmann::json(nullptr);
  return j;
}

}  // namespace splleed::workload
