// SPDX-License-Identifier: MIT
#include "common/Hash.h"

#include <gtest/gtest.h>

namespace hoard {
namespace {

TEST(Hash, Blake2b256KnownAnswer) {
  // BLAKE2b-256 of the empty string and of "abc" (RFC 7693 parameters, 32-byte digest).
  EXPECT_EQ(hashBytes("").hex(),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(hashBytes("abc").hex(),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Hash, IncrementalEqualsOneShot) {
  Hasher h;
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(h.finish(), hashBytes("hello world"));
  EXPECT_NE(hashBytes("hello world"), hashBytes("hello worle"));
}

TEST(Hash, HexAndRawRoundTrip) {
  ContentHash h = hashBytes("x");
  EXPECT_EQ(ContentHash::fromHex(h.hex()).value(), h);
  EXPECT_EQ(ContentHash::fromRaw(h.raw()).value(), h);
  EXPECT_EQ(ContentHash::fromHex("zz").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ContentHash::fromRaw("short").error().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace hoard
