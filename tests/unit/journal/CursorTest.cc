// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "journal/Cursor.h"

namespace hoard::journal {
namespace {

TEST(CursorTest, RoundTrips) {
  Cursor c{"0123456789abcdef0123456789abcdef", 42};
  EXPECT_EQ(c.toString(), "0123456789abcdef0123456789abcdef:42");
  auto parsed = Cursor::parse(c.toString());
  ASSERT_TRUE(parsed) << parsed.error().toString();
  EXPECT_EQ(*parsed, c);
  auto zero = Cursor::parse("0123456789abcdef0123456789abcdef:0");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->seq, 0);
}

TEST(CursorTest, RejectsMalformed) {
  for (const char* bad :
       {"", ":", "abc:1", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef:",
        "0123456789abcdef0123456789abcdef:-1", "0123456789ABCDEF0123456789abcdef:1",
        "0123456789abcdef0123456789abcdef:1x", "0123456789abcdef0123456789abcdeg:1",
        "0123456789abcdef0123456789abcdef:99999999999999999999"}) {
    auto r = Cursor::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(r.error().message().find("cursor"), std::string::npos);
  }
}

}  // namespace
}  // namespace hoard::journal
