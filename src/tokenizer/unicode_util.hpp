#pragma once
// UTF-8 helpers shared by the tokenizers (ICU does the Unicode work).
#include <cstddef>
#include <string>
#include <string_view>

namespace splleed::tokenizer {

// `text` if it is valid UTF-8, else a copy with each maximal invalid subsequence replaced by
// U+FFFD (the Unicode "maximal subpart" practice, also Rust's from_utf8_lossy).
std::string sanitize_utf8(std::string_view text);

// Whether the code point that ends at byte `pos` / starts at byte `pos` is a word character
// (Unicode regex `\w`, as `tokenizers` checks single_word added tokens); false at the ends.
bool word_char_before(std::string_view text, std::size_t pos);
bool word_char_at(std::string_view text, std::size_t pos);

// The start of the run of White_Space code points that ends at `pos`, and the end of the run
// that starts at `pos` (`pos` itself when there is none).
std::size_t whitespace_run_start(std::string_view text, std::size_t pos);
std::size_t whitespace_run_end(std::string_view text, std::size_t pos);

}  // namespace splleed::tokenizer
