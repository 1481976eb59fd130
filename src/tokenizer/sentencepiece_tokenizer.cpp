// SentencePiece models through libsentencepiece.
#include <sentencepiece_processor.h>

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode_util.hpp"

namespace splleed::tokenizer {
namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& path) : name_(path.string()) {
    const auto status = sp_.Load(name_);
    if (!status.ok()) {
      throw TokenizerError(name_ + ": not a SentencePiece model: " + status.ToString());
    }
  }

  // SentencePieceProcessor::Encode/Decode are const and keep no per-call state.
  std::vector<std::int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int> pieces;
    const auto status = sp_.Encode(sanitize_utf8(text), &pieces);
    if (!status.ok()) throw TokenizerError(name_ + ": encode: " + status.ToString());
    std::vector<std::int32_t> ids;
    ids.reserve(pieces.size() + 1);
    if (add_special && sp_.bos_id() >= 0) ids.push_back(sp_.bos_id());
    ids.insert(ids.end(), pieces.begin(), pieces.end());
    return ids;
  }

  std::string decode(std::span<const std::int32_t> ids) const override {
    std::vector<int> pieces(ids.begin(), ids.end());
    for (const int id : pieces) {
      if (id < 0 || id >= sp_.GetPieceSize()) {
        throw TokenizerError(name_ + ": decode: id " + std::to_string(id) +
                             " is not in the vocabulary");
      }
    }
    std::string text;
    const auto status = sp_.Decode(pieces, &text);
    if (!status.ok()) throw TokenizerError(name_ + ": decode: " + status.ToString());
    return sanitize_utf8(text);
  }

  std::size_t vocab_size() const override {
    return static_cast<std::size_t>(sp_.GetPieceSize());
  }

 private:
  std::string name_;
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace splleed::tokenizer
