// Request ids: UUID-shaped (servers such as llama-cpp-python reject anything else), and readable.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "load/runner.hpp"

namespace splleed::load {
namespace {

TEST(RequestId, IsUuidShapedAndEncodesRunPhaseAndIndex) {
  EXPECT_EQ(request_id(0, false, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(request_id(3, true, 42), "00000003-0001-4000-8000-00000000002a");
  EXPECT_EQ(request_id(0x1234abcd, false, 0xffffffffffffULL), "1234abcd-0000-4000-8000-ffffffffffff");
  EXPECT_EQ(request_id_prefix(7, true), "00000007-0001-4000-8000-");
  // 8-4-4-4-12 lowercase hex with the version-4 and RFC 4122 variant digits.
  const std::regex uuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (std::uint32_t run = 0; run < 3; ++run)
    for (bool warm : {false, true})
      for (std::uint64_t i = 0; i < 50; ++i) {
        const std::string id = request_id(run, warm, i);
        EXPECT_TRUE(std::regex_match(id, uuid4)) << id;
        EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
      }
}

}  // namespace
}  // namespace splleed::load
