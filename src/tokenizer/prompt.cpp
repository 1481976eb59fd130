#include "tokenizer/prompt.hpp"

#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace splleed::tokenizer {
namespace {

// A fixed word list (common English words) rather than a dictionary file: prompts must not
// depend on anything installed, and must stay the same from one splleed version to the next.
constexpr std::string_view kWords[] = {
    "the",     "of",       "and",     "to",      "in",       "is",      "that",    "it",
    "for",     "on",       "with",    "as",      "was",      "at",      "by",      "an",
    "be",      "this",     "which",   "or",      "from",     "but",     "not",     "are",
    "have",    "had",      "his",     "they",    "you",      "were",    "her",     "all",
    "she",     "there",    "would",   "their",   "we",       "him",     "been",    "has",
    "when",    "who",      "will",    "more",    "no",       "if",      "out",     "so",
    "said",    "what",     "up",      "its",     "about",    "into",    "than",    "them",
    "can",     "only",     "other",   "new",     "some",     "could",   "time",    "these",
    "two",     "may",      "then",    "do",      "first",    "any",     "my",      "now",
    "such",    "like",     "our",     "over",    "man",      "me",      "even",    "most",
    "made",    "after",    "also",    "did",     "many",     "before",  "must",    "through",
    "back",    "years",    "where",   "much",    "your",     "way",     "well",    "down",
    "should",  "because",  "each",    "just",    "those",    "people",  "how",     "too",
    "little",  "state",    "good",    "very",    "make",     "world",   "still",   "own",
    "see",     "men",      "work",    "long",    "get",      "here",    "between", "both",
    "life",    "being",    "under",   "never",   "day",      "same",    "another", "know",
    "while",   "last",     "might",   "great",   "old",      "year",    "off",     "come",
    "since",   "against",  "go",      "came",    "right",    "used",    "take",    "three",
    "system",  "model",    "server",  "request", "answer",   "question", "data",   "network",
    "memory",  "process",  "number",  "result",  "example",  "problem", "point",   "water",
    "house",   "city",     "country", "river",   "mountain", "light",   "sound",   "color",
    "music",   "story",    "history", "science", "nature",   "energy",  "market",  "money",
    "family",  "friend",   "school",  "student", "teacher",  "book",    "paper",   "letter",
    "morning", "evening",  "winter",  "summer",  "garden",   "window",  "street",  "table",
    "quickly", "slowly",   "carefully", "together", "again", "always",  "often",   "perhaps",
};

// Short tails tried when the next whole word would overshoot.
constexpr std::string_view kFillers[] = {" a", " I", ".", ",", " x", "!", "a",
                                                       " 1", "1", " "};

bool ends_in_space(std::string_view s) {
  return !s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t');
}

class Builder {
 public:
  Builder(const Tokenizer& tok, std::string_view prefix, std::uint64_t seed)
      : tok_(tok), prefix_(prefix), rng_(seed) {}

  // prefix + the first m drawn words.
  std::string text(std::size_t m) {
    // std::mt19937_64's sequence is fixed by the standard; the distributions are not, so the
    // index is taken by modulo (its bias over 200 words is immaterial).
    while (words_.size() < m) words_.push_back(kWords[rng_() % std::size(kWords)]);
    std::string s(prefix_);
    for (std::size_t i = 0; i < m; ++i) {
      if (i > 0 || (!s.empty() && !ends_in_space(s))) s += ' ';
      s += words_[i];
    }
    return s;
  }

  std::string_view word(std::size_t i) {
    text(i + 1);
    return words_[i];
  }

  std::size_t count(const std::string& s) const { return tok_.count(s); }

 private:
  const Tokenizer& tok_;
  std::string_view prefix_;
  std::mt19937_64 rng_;
  std::vector<std::string_view> words_;
};

}  // namespace

std::string prompt_of_length(const Tokenizer& tok, std::size_t n_tokens, std::uint64_t seed) {
  return prompt_of_length(tok, std::string_view(), n_tokens, seed);
}

std::string prompt_of_length(const Tokenizer& tok, std::string_view prefix, std::size_t n,
                             std::uint64_t seed) {
  Builder b(tok, prefix, seed);
  const std::size_t base = b.count(std::string(prefix));
  if (base > n) {
    throw TokenizerError("prompt prefix is " + std::to_string(base) + " tokens, more than the " +
                         std::to_string(n) + " asked for");
  }
  if (base == n) return std::string(prefix);

  // Whole words: find m with count(text(m)) <= n < count(text(m + 1)). Counts need not grow
  // monotonically with m, but count(text(0)) <= n < count(text(hi)) guarantees such an m
  // between 0 and hi, and bisection finds one.
  std::size_t hi = n - base + 1;
  while (b.count(b.text(hi)) <= n) {
    if (hi > 64 * (n + 1)) throw TokenizerError("prompt words do not add tokens");
    hi *= 2;
  }
  std::size_t lo = 0;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    (b.count(b.text(mid)) <= n ? lo : hi) = mid;
  }

  // The next word overshoots: close the gap with part of that word, then with short fillers.
  // Every step strictly adds tokens without passing n, so this ends; if it gets stuck, drop a
  // word and try again from there.
  for (std::size_t m = lo + 1; m-- > 0;) {
    std::string t = b.text(m);
    std::size_t c = b.count(t);
    const std::string_view next = b.word(m);
    const std::string sep = (t.empty() || ends_in_space(t)) ? "" : " ";
    for (std::size_t j = next.size(); j-- > 1;) {  // the longest part that fits
      std::string s = t + sep;
      s += next.substr(0, j);
      const std::size_t cs = b.count(s);
      if (cs > c && cs <= n) {
        t = std::move(s);
        c = cs;
        break;
      }
    }
    while (c < n) {
      bool grew = false;
      for (std::size_t f = 0; f < std::size(kFillers) && !grew; ++f) {
        std::string s = t + std::string(kFillers[f]);
        const std::size_t cs = b.count(s);
        if (cs > c && cs <= n) t = std::move(s), c = cs, grew = true;
      }
      if (!grew) break;
    }
    if (c == n) return t;
  }
  throw TokenizerError("no prompt of exactly " + std::to_string(n) + " tokens was found");
}

}  // namespace splleed::tokenizer
