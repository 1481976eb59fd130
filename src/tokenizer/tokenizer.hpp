#pragma once
// Client-side tokenizers: count and build prompts in the same tokens the server will see.
// Two kinds: Hugging Face `tokenizer.json` with a byte-level BPE model (GPT-2, Llama 3, Qwen2,
// Mistral-Nemo families) and SentencePiece `.model` files. See docs/design/tokenizer.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace splleed::tokenizer {

// Every failure to load or use a tokenizer. The message names the file (when there is one) and
// the problem, e.g. "tok.json: unsupported pre_tokenizer 'Metaspace'".
class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Immutable after construction; encode/decode/count may be called from several threads at once.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text` (UTF-8; invalid sequences are read as U+FFFD). With add_special, the
  // tokenizer's own framing is added (a tokenizer.json post_processor, e.g. a BOS token; the BOS
  // id of a SentencePiece model). Special tokens written inside the text are always recognised
  // as single tokens (tokenizer.json added_tokens; SentencePiece user-defined symbols).
  virtual std::vector<std::int32_t> encode(std::string_view text, bool add_special) const = 0;

  // Text of `ids`, special tokens included. Bytes that do not form valid UTF-8 (a token sequence
  // cut inside a character) come out as U+FFFD. Throws TokenizerError for an id outside the
  // vocabulary.
  virtual std::string decode(std::span<const std::int32_t> ids) const = 0;

  // encode(text, false).size(): the tokens the text itself occupies.
  virtual std::size_t count(std::string_view text) const { return encode(text, false).size(); }

  // Number of distinct token ids (model vocabulary plus added tokens).
  virtual std::size_t vocab_size() const = 0;
};

// Picks the format by file: a directory is searched for tokenizer.json, then tokenizer.model;
// `*.json` is a Hugging Face tokenizer.json and `*.model` a SentencePiece model; any other name
// is sniffed (a JSON object or a SentencePiece protobuf). Throws TokenizerError naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// A Hugging Face tokenizer.json given as text; `name` prefixes error messages.
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(std::string_view json, std::string_view name);

// A SentencePiece model file.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& path);

}  // namespace splleed::tokenizer
