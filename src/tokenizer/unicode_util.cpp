#include "tokenizer/unicode_util.hpp"

#include <cstdint>

#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

namespace splleed::tokenizer {
namespace {

// Unicode regex `\w` (UTS #18; the Rust regex crate and ICU agree): Alphabetic, marks, decimal
// digits, connector punctuation and the joiners.
bool word_char(UChar32 c) {
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL);
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  const auto n = static_cast<std::int32_t>(text.size());
  std::int32_t i = 0;
  while (i < n) {
    UChar32 c = 0;
    U8_NEXT(text.data(), i, n, c);
    if (c < 0) {
      std::string out;
      icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), n)).toUTF8String(out);
      return out;
    }
  }
  return std::string(text);
}

bool word_char_before(std::string_view text, std::size_t pos) {
  if (pos == 0) return false;
  auto i = static_cast<std::int32_t>(pos);
  UChar32 c = 0;
  U8_PREV(text.data(), 0, i, c);
  return c >= 0 && word_char(c);
}

bool word_char_at(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return false;
  auto i = static_cast<std::int32_t>(pos);
  UChar32 c = 0;
  U8_NEXT(text.data(), i, static_cast<std::int32_t>(text.size()), c);
  return c >= 0 && word_char(c);
}

std::size_t whitespace_run_start(std::string_view text, std::size_t pos) {
  auto i = static_cast<std::int32_t>(pos);
  while (i > 0) {
    std::int32_t j = i;
    UChar32 c = 0;
    U8_PREV(text.data(), 0, j, c);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    i = j;
  }
  return static_cast<std::size_t>(i);
}

std::size_t whitespace_run_end(std::string_view text, std::size_t pos) {
  auto i = static_cast<std::int32_t>(pos);
  const auto n = static_cast<std::int32_t>(text.size());
  while (i < n) {
    std::int32_t j = i;
    UChar32 c = 0;
    U8_NEXT(text.data(), j, n, c);
    if (c < 0 || !u_isUWhiteSpace(c)) break;
    i = j;
  }
  return static_cast<std::size_t>(i);
}

}  // namespace splleed::tokenizer
