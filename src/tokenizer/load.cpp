// Chooses the tokenizer kind from the file.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.hpp"

namespace splleed::tokenizer {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TokenizerError(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw TokenizerError(path.string() + ": read failed");
  return std::move(s).str();
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const char* file : {"tokenizer.json", "tokenizer.model"}) {
      if (std::filesystem::is_regular_file(path / file, ec)) return load_tokenizer(path / file);
    }
    throw TokenizerError(path.string() + ": directory has no tokenizer.json or tokenizer.model");
  }
  if (!std::filesystem::exists(path, ec)) {
    throw TokenizerError(path.string() + ": no such file");
  }
  const std::string ext = path.extension().string();
  if (ext == ".model") return load_sentencepiece(path);
  const std::string bytes = read_file(path);
  if (ext == ".json") return load_hf_tokenizer_json(bytes, path.string());
  // Any other name: a tokenizer.json is a JSON object, anything else is tried as SentencePiece.
  const auto first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && bytes[first] == '{') {
    return load_hf_tokenizer_json(bytes, path.string());
  }
  return load_sentencepiece(path);
}

}  // namespace splleed::tokenizer
