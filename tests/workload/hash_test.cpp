// SHA-256 against published test vectors and the fixture files' digests.
#include <gtest/gtest.h>

#include "workload/error.hpp"
#include "workload/fixtures.hpp"
#include "workload/hash.hpp"

namespace splleed::workload::test {
namespace {

TEST(Sha256, KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FileMatchesSha256sum) {
  // Digests computed with coreutils sha256sum when the fixtures were written.
  EXPECT_EQ(sha256_file_hex(fixture("prompts.txt")),
            "8b63dba7ca7b94af8e884b2a46784d51e78cdc39644805fd2214d8df0b5670d3");
  EXPECT_EQ(sha256_file_hex(fixture("sharegpt.json")),
            "3b7c0a5ea40cde95ad4310b24244f322d165b1e21f31ff532d095356df463ad7");
  EXPECT_THROW(sha256_file_hex(fixture("missing.bin")), WorkloadError);
}

}  // namespace
}  // namespace splleed::workload::test
