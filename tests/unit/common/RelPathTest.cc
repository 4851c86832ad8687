// SPDX-License-Identifier: MIT
#include "common/RelPath.h"

#include <gtest/gtest.h>

namespace hoard {
namespace {

TEST(RelPath, ValidatesComponents) {
  EXPECT_TRUE(validateRelPath(""));
  EXPECT_TRUE(validateRelPath("a/b/c"));
  EXPECT_TRUE(validateRelPath(std::string("a\nb/\xff\xfe")));
  EXPECT_EQ(validateRelPath("/a").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(validateRelPath("a/"));
  EXPECT_FALSE(validateRelPath("a//b"));
  EXPECT_FALSE(validateRelPath("a/../b"));
  EXPECT_FALSE(validateRelPath("./a"));
  EXPECT_FALSE(validateRelPath(std::string("a\0b", 3)));
}

TEST(RelPath, SplitsAndJoins) {
  EXPECT_EQ(parentOf("a/b/c"), "a/b");
  EXPECT_EQ(parentOf("c"), "");
  EXPECT_EQ(baseName("a/b/c"), "c");
  EXPECT_EQ(baseName("c"), "c");
  EXPECT_EQ(joinPath("", "x"), "x");
  EXPECT_EQ(joinPath("a/b", "x"), "a/b/x");
}

TEST(RelPath, IsUnderRespectsComponentBoundaries) {
  EXPECT_TRUE(isUnder("a/b", "a"));
  EXPECT_TRUE(isUnder("a", "a"));
  EXPECT_TRUE(isUnder("anything", ""));
  EXPECT_FALSE(isUnder("ab", "a"));
  EXPECT_FALSE(isUnder("a", "a/b"));
  EXPECT_EQ(rebase("a/b/c", "a/b", "x"), "x/c");
  EXPECT_EQ(rebase("a/b", "a/b", "x/y"), "x/y");
  EXPECT_EQ(rebase("a/b", "a", ""), "b");
}

TEST(RelPath, DisplayEscapesWhatIsNotPrintable) {
  EXPECT_EQ(displayPath("plain/name.txt"), "plain/name.txt");
  EXPECT_EQ(displayPath("new\nline"), "new\\nline");
  EXPECT_EQ(displayPath("bad\xff"), "bad\\xff");
  EXPECT_EQ(displayPath("back\\slash"), "back\\\\slash");
  EXPECT_EQ(displayPath("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 kept
  EXPECT_EQ(displayPath("\xc3"), "\\xc3");                // truncated sequence escaped
}

}  // namespace
}  // namespace hoard
