#pragma once
// Prompts of an exact token length, for workloads that fix the input length.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/tokenizer.hpp"

namespace splleed::tokenizer {

// Text of English words drawn from a fixed list with `seed`, such that
// tok.encode(text, false).size() == n_tokens exactly. The same tokenizer, n_tokens and seed give
// the same text on every platform. Throws TokenizerError if no such text is found (not expected
// for a real tokenizer; the result is always checked, never assumed).
std::string prompt_of_length(const Tokenizer& tok, std::size_t n_tokens, std::uint64_t seed);

// The same, starting with `prefix` (kept byte for byte; a space separates it from the words
// unless it ends in whitespace); n_tokens counts the prefix too. Throws TokenizerError if the
// prefix alone is longer than n_tokens.
std::string prompt_of_length(const Tokenizer& tok, std::string_view prefix, std::size_t n_tokens,
                             std::uint64_t seed);

}  // namespace splleed::tokenizer
