#pragma once
// SHA-256 (OpenSSL EVP) of workload sources, so that a result names exactly the data it ran.
#include <filesystem>
#include <string>
#include <string_view>

namespace splleed::workload {

// Lower-case hex digest of `bytes`.
std::string sha256_hex(std::string_view bytes);
// Lower-case hex digest of the file's contents, read in chunks. Throws WorkloadError naming the
// file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace splleed::workload
