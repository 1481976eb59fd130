// Hugging Face tokenizer.json with a byte-level BPE model. The pipeline follows the `tokenizers`
// library: added tokens are split out of the raw text first, then each remaining segment is
// normalized, pre-tokenized (Split regexes, ByteLevel), BPE-encoded piece by piece, and the
// post-processor frames the result. Regexes run on ICU (UTF-16) in place of Oniguruma: the same
// syntax for these patterns, and the same classes (`\s` is the White_Space property in both, so
// U+000B and U+0085 are spaces; the reference corpus checks it).
//
// Byte-level BPE is done on raw bytes: vocabulary keys and merges are mapped back from GPT-2's
// byte-to-character alphabet once, at load time, so encoding never builds mapped strings.
#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <unicode/normalizer2.h>
#include <unicode/regex.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode_util.hpp"

namespace splleed::tokenizer {
namespace {

using nlohmann::json;

// The pattern ByteLevel applies when use_regex is true (GPT-2's pre-tokenizer).
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// GPT-2's byte <-> character alphabet (`bytes_to_unicode`): printable Latin-1 bytes map to
// themselves, the other 68 bytes to U+0100.. in byte order. It is a fixed 256-entry table, so
// it is built here rather than taken from a library.
struct ByteAlphabet {
  std::array<char32_t, 256> byte_to_char{};
  std::array<std::int16_t, 324> char_to_byte{};  // every mapped character is below U+0144

  ByteAlphabet() {
    char_to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      byte_to_char[static_cast<std::size_t>(b)] =
          printable(b) ? static_cast<char32_t>(b) : next++;
      char_to_byte[byte_to_char[static_cast<std::size_t>(b)]] = static_cast<std::int16_t>(b);
    }
  }

  // The raw bytes a byte-level token string stands for; nullopt if a character is outside the
  // alphabet (such a token is only reachable as an added token).
  std::optional<std::string> to_bytes(std::string_view token) const {
    std::string out;
    out.reserve(token.size());
    std::int32_t i = 0;
    const auto n = static_cast<std::int32_t>(token.size());
    while (i < n) {
      UChar32 c = 0;
      U8_NEXT(token.data(), i, n, c);
      if (c < 0 || static_cast<std::size_t>(c) >= char_to_byte.size() ||
          char_to_byte[static_cast<std::size_t>(c)] < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(char_to_byte[static_cast<std::size_t>(c)]));
    }
    return out;
  }
};

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

std::string type_of(const json& j) {
  if (j.is_object()) {
    auto it = j.find("type");
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return "?";
}

bool flag(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? fallback : it->get<bool>();
}

std::unique_ptr<icu::RegexPattern> compile(std::string_view pattern, bool literal,
                                           const std::string& what) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError perr{};
  std::unique_ptr<icu::RegexPattern> re(icu::RegexPattern::compile(
      icu::UnicodeString::fromUTF8(icu::StringPiece(pattern.data(),
                                                    static_cast<std::int32_t>(pattern.size()))),
      literal ? UREGEX_LITERAL : 0, perr, status));
  if (U_FAILURE(status)) {
    throw TokenizerError(what + ": cannot compile pattern '" + std::string(pattern) +
                         "': " + u_errorName(status) + " at offset " +
                         std::to_string(perr.offset));
  }
  return re;
}

enum class Behavior : std::uint8_t { removed, isolated, merged_with_previous, merged_with_next,
                                     contiguous };

struct SplitStep {
  std::unique_ptr<icu::RegexPattern> pattern;
  Behavior behavior = Behavior::isolated;
  bool invert = false;
};

struct ByteLevelStep {
  bool add_prefix_space = false;
  std::unique_ptr<icu::RegexPattern> gpt2;  // set when use_regex
};

using PreStep = std::variant<SplitStep, ByteLevelStep>;

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
};

// One item of a TemplateProcessing `single` template: the sequence ($A) or fixed special ids.
struct TemplateItem {
  bool is_sequence = false;
  std::vector<std::int32_t> ids;
};

struct Span {
  std::int32_t begin, end;  // UTF-16 offsets
  bool is_match;
};

// Applies a split behavior to the alternating match/non-match spans (the `tokenizers` rules).
std::vector<Span> apply_behavior(std::vector<Span> spans, Behavior behavior) {
  std::vector<Span> out;
  switch (behavior) {
    case Behavior::isolated:
      return spans;
    case Behavior::removed:
      for (const Span& s : spans)
        if (!s.is_match) out.push_back(s);
      return out;
    case Behavior::merged_with_previous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    }
    case Behavior::merged_with_next: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      return out;
    }
    case Behavior::contiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    }
  }
  return spans;
}

// Splits `piece` by `re` and calls emit(std::string_view) with each non-empty part, in order.
// Isolated (the usual behavior) streams parts as they are found; the others need the whole list.
template <typename Emit>
void split_by(const icu::RegexPattern& re, Behavior behavior, bool invert, std::string_view piece,
              Emit&& emit) {
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(piece.data(), static_cast<std::int32_t>(piece.size())));
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(re.matcher(text, status));
  if (U_FAILURE(status)) throw TokenizerError(std::string("regex matcher: ") + u_errorName(status));
  std::string part;
  auto emit_span = [&](std::int32_t begin, std::int32_t end) {
    if (begin == end) return;
    part.clear();
    text.tempSubStringBetween(begin, end).toUTF8String(part);
    emit(std::string_view(part));
  };
  const bool stream = behavior == Behavior::isolated;
  std::vector<Span> spans;
  std::int32_t prev = 0;
  while (m->find()) {
    const std::int32_t b = m->start(status);
    const std::int32_t e = m->end(status);
    if (stream) {
      emit_span(prev, b);
      emit_span(b, e);
    } else {
      if (prev != b) spans.push_back({prev, b, invert});
      spans.push_back({b, e, !invert});
    }
    prev = e;
  }
  if (U_FAILURE(status)) throw TokenizerError(std::string("regex find: ") + u_errorName(status));
  if (stream) {
    emit_span(prev, text.length());
    return;
  }
  if (prev != text.length()) spans.push_back({prev, text.length(), invert});
  for (const Span& s : apply_behavior(std::move(spans), behavior)) emit_span(s.begin, s.end);
}

// Lets the vocabulary map be searched with a string_view (C++20 heterogeneous lookup).
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const json& root, const std::string& name) : name_(name) {
    load_added_tokens(root, name);
    load_normalizer(root.value("normalizer", json()), name);
    load_pre_tokenizer(root.value("pre_tokenizer", json()), name);
    load_model(root.at("model"), name);
    load_post_processor(root.value("post_processor", json()), name);
    load_decoder(root.value("decoder", json()), name);
  }

  std::vector<std::int32_t> encode(std::string_view input, bool add_special) const override {
    const std::string text = sanitize_utf8(input);
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 3 + 4);
    // Added tokens, leftmost-longest (the `tokenizers` AddedVocabulary rule), via a table of
    // candidates per first byte: added-token sets are small and rarely start a byte of text.
    std::size_t segment = 0;  // start of text not yet encoded
    std::size_t i = 0;
    while (i < text.size() && !added_.empty()) {
      const AddedToken* hit = nullptr;
      for (const std::size_t k : added_by_byte_[static_cast<unsigned char>(text[i])]) {
        if (text.compare(i, added_[k].content.size(), added_[k].content) == 0) {
          hit = &added_[k];
          break;  // candidates are sorted longest first
        }
      }
      if (hit == nullptr) {
        ++i;
        continue;
      }
      std::size_t start = i;
      std::size_t stop = i + hit->content.size();
      if (hit->single_word && (word_char_before(text, start) || word_char_at(text, stop))) {
        i = stop;  // the match is discarded; scanning resumes after it, as in `tokenizers`
        continue;
      }
      if (hit->lstrip) start = std::max(whitespace_run_start(text, start), segment);
      if (hit->rstrip) stop = whitespace_run_end(text, stop);
      encode_segment(std::string_view(text).substr(segment, start - segment), ids);
      ids.push_back(hit->id);
      segment = i = stop;
    }
    encode_segment(std::string_view(text).substr(segment), ids);
    if (add_special) {
      for (const auto& tmpl : templates_) {
        std::vector<std::int32_t> framed;
        for (const TemplateItem& item : tmpl) {
          if (item.is_sequence) {
            framed.insert(framed.end(), ids.begin(), ids.end());
          } else {
            framed.insert(framed.end(), item.ids.begin(), item.ids.end());
          }
        }
        ids = std::move(framed);
      }
    }
    return ids;
  }

  std::string decode(std::span<const std::int32_t> ids) const override {
    if (!decoder_error_.empty()) throw TokenizerError(decoder_error_);
    std::string bytes;
    for (const std::int32_t id : ids) {
      if (id < 0 || static_cast<std::size_t>(id) >= id_to_bytes_.size() || !id_known_[id]) {
        throw TokenizerError(name_ + ": decode: id " + std::to_string(id) +
                             " is not in the vocabulary");
      }
      bytes += id_to_bytes_[static_cast<std::size_t>(id)];
    }
    return sanitize_utf8(bytes);
  }

  std::size_t vocab_size() const override { return vocab_size_; }

 private:
  void load_added_tokens(const json& root, const std::string& name) {
    auto it = root.find("added_tokens");
    if (it == root.end() || it->is_null()) return;
    for (const json& t : *it) {
      AddedToken a;
      a.content = t.at("content").get<std::string>();
      a.id = t.at("id").get<std::int32_t>();
      a.single_word = flag(t, "single_word", false);
      a.lstrip = flag(t, "lstrip", false);
      a.rstrip = flag(t, "rstrip", false);
      if (a.content.empty()) throw TokenizerError(name + ": added token with empty content");
      added_.push_back(std::move(a));
    }
    for (std::size_t k = 0; k < added_.size(); ++k) {
      added_by_byte_[static_cast<unsigned char>(added_[k].content[0])].push_back(k);
    }
    for (auto& bucket : added_by_byte_) {
      std::stable_sort(bucket.begin(), bucket.end(), [&](std::size_t a, std::size_t b) {
        return added_[a].content.size() > added_[b].content.size();
      });
    }
  }

  void load_normalizer(const json& j, const std::string& name) {
    if (j.is_null()) return;
    const std::string type = type_of(j);
    if (type == "Sequence") {
      for (const json& n : j.at("normalizers")) load_normalizer(n, name);
      return;
    }
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = nullptr;
    if (type == "NFC") n = icu::Normalizer2::getNFCInstance(status);
    else if (type == "NFD") n = icu::Normalizer2::getNFDInstance(status);
    else if (type == "NFKC") n = icu::Normalizer2::getNFKCInstance(status);
    else if (type == "NFKD") n = icu::Normalizer2::getNFKDInstance(status);
    else throw TokenizerError(name + ": unsupported normalizer '" + type + "'");
    if (U_FAILURE(status)) {
      throw TokenizerError(name + ": ICU normalizer " + type + ": " + u_errorName(status));
    }
    normalizers_.push_back(n);
  }

  void load_pre_tokenizer(const json& j, const std::string& name) {
    if (j.is_null()) {
      throw TokenizerError(name + ": no pre_tokenizer; only byte-level BPE (a ByteLevel "
                                  "pre_tokenizer) is supported");
    }
    const std::string type = type_of(j);
    if (type == "Sequence") {
      for (const json& p : j.at("pretokenizers")) load_pre_tokenizer(p, name);
    } else if (type == "Split") {
      SplitStep s;
      const json& pat = j.at("pattern");
      if (pat.contains("Regex")) {
        s.pattern = compile(pat.at("Regex").get<std::string>(), false, name + ": Split");
      } else if (pat.contains("String")) {
        s.pattern = compile(pat.at("String").get<std::string>(), true, name + ": Split");
      } else {
        throw TokenizerError(name + ": Split pattern is neither Regex nor String");
      }
      const std::string b = j.at("behavior").get<std::string>();
      if (b == "Removed") s.behavior = Behavior::removed;
      else if (b == "Isolated") s.behavior = Behavior::isolated;
      else if (b == "MergedWithPrevious") s.behavior = Behavior::merged_with_previous;
      else if (b == "MergedWithNext") s.behavior = Behavior::merged_with_next;
      else if (b == "Contiguous") s.behavior = Behavior::contiguous;
      else throw TokenizerError(name + ": unsupported Split behavior '" + b + "'");
      s.invert = flag(j, "invert", false);
      pre_.emplace_back(std::move(s));
    } else if (type == "ByteLevel") {
      ByteLevelStep s;
      s.add_prefix_space = flag(j, "add_prefix_space", true);
      if (flag(j, "use_regex", true)) s.gpt2 = compile(kGpt2Pattern, false, name + ": ByteLevel");
      pre_.emplace_back(std::move(s));
    } else {
      throw TokenizerError(name + ": unsupported pre_tokenizer '" + type + "'");
    }
  }

  void load_model(const json& m, const std::string& name) {
    if (pre_.empty() || !std::holds_alternative<ByteLevelStep>(pre_.back())) {
      throw TokenizerError(name + ": the pre_tokenizer must end with ByteLevel (only byte-level "
                                  "BPE is supported)");
    }
    const std::string type = m.contains("type") ? type_of(m) : (m.contains("merges") ? "BPE" : "?");
    if (type != "BPE") throw TokenizerError(name + ": unsupported model '" + type + "'");
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0) {
      throw TokenizerError(name + ": BPE dropout is not supported");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (m.contains(key) && m[key].is_string() && !m[key].get<std::string>().empty()) {
        throw TokenizerError(name + ": BPE " + key + " is not supported");
      }
    }
    ignore_merges_ = flag(m, "ignore_merges", false);
    fuse_unk_ = flag(m, "fuse_unk", false);
    // byte_fallback only matters for characters missing from the vocabulary; a byte-level
    // vocabulary has all 256 bytes, and missing ones fall to unk_token as in `tokenizers`.

    const ByteAlphabet& alphabet = byte_alphabet();
    std::int32_t max_id = -1;
    std::unordered_set<std::int32_t> ids;
    std::vector<std::pair<std::int32_t, std::string>> decoded;  // id -> bytes, for decode()
    const json& vocab = m.at("vocab");
    bytes_to_id_.reserve(vocab.size());
    for (const auto& [token, value] : vocab.items()) {
      const auto id = value.get<std::int32_t>();
      if (id < 0) throw TokenizerError(name + ": negative id for token '" + token + "'");
      max_id = std::max(max_id, id);
      ids.insert(id);
      if (auto bytes = alphabet.to_bytes(token)) {
        decoded.emplace_back(id, *bytes);
        bytes_to_id_.emplace(std::move(*bytes), id);
      } else {
        decoded.emplace_back(id, token);
      }
    }
    // Added tokens decode through the same ByteLevel decoder; they take precedence over the model.
    for (const AddedToken& a : added_) {
      max_id = std::max(max_id, a.id);
      ids.insert(a.id);
      decoded.emplace_back(a.id, alphabet.to_bytes(a.content).value_or(a.content));
    }
    vocab_size_ = ids.size();
    id_to_bytes_.assign(static_cast<std::size_t>(max_id + 1), std::string());
    id_known_.assign(static_cast<std::size_t>(max_id + 1), false);
    for (auto& [id, bytes] : decoded) {
      id_to_bytes_[static_cast<std::size_t>(id)] = std::move(bytes);
      id_known_[static_cast<std::size_t>(id)] = true;
    }
    byte_id_.fill(-1);
    for (int b = 0; b < 256; ++b) {
      auto it = bytes_to_id_.find(std::string(1, static_cast<char>(b)));
      if (it != bytes_to_id_.end()) byte_id_[static_cast<std::size_t>(b)] = it->second;
    }
    if (m.contains("unk_token") && m["unk_token"].is_string()) {
      auto it = vocab.find(m["unk_token"].get<std::string>());
      if (it == vocab.end()) throw TokenizerError(name + ": unk_token is not in the vocabulary");
      unk_id_ = it->get<std::int32_t>();
    }

    const json& merges = m.at("merges");
    merges_.reserve(merges.size());
    std::uint32_t rank = 0;
    for (const json& merge : merges) {
      std::string left, right;
      if (merge.is_string()) {  // "a b" (GPT-2 era files)
        const auto s = merge.get<std::string>();
        const auto sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
          throw TokenizerError(name + ": merge '" + s + "' is not two tokens");
        }
        left = s.substr(0, sp);
        right = s.substr(sp + 1);
      } else if (merge.is_array() && merge.size() == 2) {  // ["a", "b"] (newer files)
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        throw TokenizerError(name + ": merge " + merge.dump() + " is not a pair");
      }
      const auto a = alphabet.to_bytes(left);
      const auto b = alphabet.to_bytes(right);
      if (!a || !b) {
        throw TokenizerError(name + ": merge '" + left + " " + right +
                             "' has characters outside the byte-level alphabet");
      }
      const auto ia = bytes_to_id_.find(*a);
      const auto ib = bytes_to_id_.find(*b);
      const auto im = bytes_to_id_.find(*a + *b);
      if (ia == bytes_to_id_.end() || ib == bytes_to_id_.end() || im == bytes_to_id_.end()) {
        throw TokenizerError(name + ": merge '" + left + " " + right +
                             "' uses or makes a token missing from the vocabulary");
      }
      merges_.emplace(pair_key(ia->second, ib->second), Merge{rank++, im->second});
    }
  }

  void load_post_processor(const json& j, const std::string& name) {
    if (j.is_null()) return;
    const std::string type = type_of(j);
    if (type == "Sequence") {
      for (const json& p : j.at("processors")) load_post_processor(p, name);
    } else if (type == "ByteLevel") {
      // Adjusts offsets only; ids are unchanged.
    } else if (type == "TemplateProcessing") {
      std::vector<TemplateItem> tmpl;
      const json& specials = j.at("special_tokens");
      for (const json& item : j.at("single")) {
        if (item.contains("Sequence")) {
          tmpl.push_back({true, {}});
        } else if (item.contains("SpecialToken")) {
          const auto key = item["SpecialToken"].at("id").get<std::string>();
          auto it = specials.find(key);
          if (it == specials.end()) {
            throw TokenizerError(name + ": TemplateProcessing names special token '" + key +
                                 "' that it does not define");
          }
          tmpl.push_back({false, it->at("ids").get<std::vector<std::int32_t>>()});
        } else {
          throw TokenizerError(name + ": unsupported TemplateProcessing item " + item.dump());
        }
      }
      templates_.push_back(std::move(tmpl));
    } else if (type == "RobertaProcessing" || type == "BertProcessing") {
      const auto cls = j.at("cls").at(1).get<std::int32_t>();
      const auto sep = j.at("sep").at(1).get<std::int32_t>();
      templates_.push_back({{false, {cls}}, {true, {}}, {false, {sep}}});
    } else {
      throw TokenizerError(name + ": unsupported post_processor '" + type + "'");
    }
  }

  void load_decoder(const json& j, const std::string& name) {
    const std::string type = j.is_null() ? "null" : type_of(j);
    // Anything but ByteLevel would decode byte-level tokens differently; encoding still works,
    // so the error is raised when decode() is called, not at load.
    if (type != "ByteLevel") decoder_error_ = name + ": unsupported decoder '" + type + "'";
  }

  // Normalizes, pre-tokenizes and BPE-encodes one segment of text between added tokens.
  void encode_segment(std::string_view segment, std::vector<std::int32_t>& ids) const {
    if (segment.empty()) return;
    pre_tokenize(0, normalize(segment), ids);
  }

  // Runs pre-tokenizer steps [step, end) on `piece` and BPE-encodes each resulting pre-token;
  // pieces go depth first, so no list of all pieces is ever built.
  void pre_tokenize(std::size_t step, std::string_view piece, std::vector<std::int32_t>& ids) const {
    if (piece.empty()) return;
    if (step == pre_.size()) {
      bpe(piece, ids);
      return;
    }
    auto next = [&](std::string_view part) { pre_tokenize(step + 1, part, ids); };
    if (const auto* s = std::get_if<SplitStep>(&pre_[step])) {
      split_by(*s->pattern, s->behavior, s->invert, piece, next);
      return;
    }
    const auto& b = std::get<ByteLevelStep>(pre_[step]);
    std::string prefixed;
    if (b.add_prefix_space && piece[0] != ' ') {
      prefixed.reserve(piece.size() + 1);
      prefixed += ' ';
      prefixed += piece;
      piece = prefixed;
    }
    if (b.gpt2) {
      split_by(*b.gpt2, Behavior::isolated, false, piece, next);
    } else {
      next(piece);
    }
  }

  std::string normalize(std::string_view text) const {
    std::string out(text);
    if (normalizers_.empty()) return out;
    // ASCII text is unchanged by every supported normalization form.
    if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) return out;
    for (const icu::Normalizer2* n : normalizers_) {
      UErrorCode status = U_ZERO_ERROR;
      const icu::UnicodeString u = n->normalize(icu::UnicodeString::fromUTF8(out), status);
      if (U_FAILURE(status)) throw TokenizerError(name_ + ": normalize: " + u_errorName(status));
      out.clear();
      u.toUTF8String(out);
    }
    return out;
  }

  // Byte-level BPE of one pre-token: merges are applied lowest rank first, leftmost first on
  // ties (a heap over candidate pairs, as in `tokenizers`' Word::merge_all), O(n log n).
  void bpe(std::string_view piece, std::vector<std::int32_t>& ids) const {
    if (ignore_merges_ || piece.size() == 1) {
      auto it = bytes_to_id_.find(piece);
      if (it != bytes_to_id_.end()) {
        ids.push_back(it->second);
        return;
      }
    }
    struct Symbol {
      std::int32_t id;
      std::int32_t prev, next;
      bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(piece.size());
    for (const char ch : piece) {
      std::int32_t id = byte_id_[static_cast<unsigned char>(ch)];
      if (id < 0) {
        if (unk_id_ < 0) continue;  // dropped, as `tokenizers` does without an unk_token
        if (fuse_unk_ && !sym.empty() && sym.back().id == unk_id_) continue;
        id = unk_id_;
      }
      const auto idx = static_cast<std::int32_t>(sym.size());
      sym.push_back({id, idx - 1, idx + 1, true});
    }
    if (sym.empty()) return;
    sym.back().next = -1;

    struct Candidate {
      std::uint32_t rank;
      std::int32_t pos;
      std::int32_t new_id;
      bool operator>(const Candidate& o) const {
        return rank != o.rank ? rank > o.rank : pos > o.pos;
      }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto push_pair = [&](std::int32_t pos) {
      const std::int32_t nxt = sym[static_cast<std::size_t>(pos)].next;
      if (nxt < 0) return;
      auto it = merges_.find(pair_key(sym[static_cast<std::size_t>(pos)].id,
                                      sym[static_cast<std::size_t>(nxt)].id));
      if (it != merges_.end()) heap.push({it->second.rank, pos, it->second.id});
    };
    for (std::int32_t p = 0; p + 1 < static_cast<std::int32_t>(sym.size()); ++p) push_pair(p);
    while (!heap.empty()) {
      const Candidate top = heap.top();
      heap.pop();
      Symbol& s = sym[static_cast<std::size_t>(top.pos)];
      if (!s.alive || s.next < 0) continue;
      Symbol& n = sym[static_cast<std::size_t>(s.next)];
      auto it = merges_.find(pair_key(s.id, n.id));
      if (it == merges_.end() || it->second.id != top.new_id) continue;  // stale candidate
      s.id = top.new_id;
      n.alive = false;
      s.next = n.next;
      if (s.next >= 0) sym[static_cast<std::size_t>(s.next)].prev = top.pos;
      if (s.prev >= 0) push_pair(s.prev);
      push_pair(top.pos);
    }
    for (std::int32_t p = 0; p >= 0; p = sym[static_cast<std::size_t>(p)].next) {
      ids.push_back(sym[static_cast<std::size_t>(p)].id);
    }
  }

  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }

  struct Merge {
    std::uint32_t rank;
    std::int32_t id;
  };

  std::string name_;
  std::vector<AddedToken> added_;
  std::array<std::vector<std::size_t>, 256> added_by_byte_;
  std::vector<const icu::Normalizer2*> normalizers_;
  std::vector<PreStep> pre_;
  std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>> bytes_to_id_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::array<std::int32_t, 256> byte_id_{};
  std::int32_t unk_id_ = -1;
  bool ignore_merges_ = false;
  bool fuse_unk_ = false;
  std::vector<std::string> id_to_bytes_;
  std::vector<bool> id_known_;
  std::size_t vocab_size_ = 0;
  std::vector<std::vector<TemplateItem>> templates_;
  std::string decoder_error_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(std::string_view text, std::string_view name) {
  const std::string n(name);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    throw TokenizerError(n + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw TokenizerError(n + ": not a tokenizer.json object");
  if (!root.contains("model")) throw TokenizerError(n + ": no \"model\" in tokenizer.json");
  try {
    return std::make_unique<HfTokenizer>(root, n);
  } catch (const json::exception& e) {
    throw TokenizerError(n + ": unexpected tokenizer.json structure: " + e.what());
  }
}

}  // namespace splleed::tokenizer
