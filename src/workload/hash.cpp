#include "workload/hash.hpp"

#include <array>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "workload/error.hpp"

namespace splleed::workload {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

Ctx start() {
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw WorkloadError("SHA-256: OpenSSL could not start a digest");
  }
  return ctx;
}

void update(EVP_MD_CTX* ctx, const char* data, std::size_t n) {
  if (EVP_DigestUpdate(ctx, data, n) != 1) throw WorkloadError("SHA-256: OpenSSL update failed");
}

std::string finish(EVP_MD_CTX* ctx) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md.data(), &len) != 1) {
    throw WorkloadError("SHA-256: OpenSSL final failed");
  }
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  const Ctx ctx = start();
  update(ctx.get(), bytes.data(), bytes.size());
  return finish(ctx.get());
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WorkloadError(fmt::format("{}: cannot open", path.string()));
  const Ctx ctx = start();
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) update(ctx.get(), buf.data(), static_cast<std::size_t>(n));
  }
  if (in.bad()) throw WorkloadError(fmt::format("{}: read error", path.string()));
  return finish(ctx.get());
}

}  // namespace splleed::workload
