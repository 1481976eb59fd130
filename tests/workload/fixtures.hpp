#pragma once
// Paths of the workload fixtures and the fixture tokenizers.
#include <filesystem>
#include <memory>

#include "tokenizer/tokenizer.hpp"

namespace splleed::workload::test {

inline std::filesystem::path fixture(const char* name) {
  return std::filesystem::path(SPLLEED_FIXTURES) / "workload" / name;
}

inline std::unique_ptr<tokenizer::Tokenizer> fixture_tokenizer(const char* name) {
  return tokenizer::load_tokenizer(std::filesystem::path(SPLLEED_FIXTURES) / "tokenizer" / name);
}

}  // namespace splleed::workload::test
