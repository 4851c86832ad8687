// SPDX-License-Identifier: MIT
#include "common/RelPath.h"

#include <map>
#include <set>
#include <vector>

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

namespace hoard {
namespace {

TEST(PathLess, ASubtreeIsContiguousWhateverItsSiblingsAreNamed) {
  std::set<RelPath, PathLess> paths = {"dir",       "dir/a",     "dir/b/c",  "dir-x",
                                       "dir.bak",   "dir 2",     "dir 2/z",  "dir0",
                                       "dir\x01",   "dir/\xff",  "dirz",     "di",
                                       "dir-x/in",  "dir.bak/q", "dir/a/b",  ""};
  std::vector<RelPath> in_order(paths.begin(), paths.end());
  // The root, then "di", then "dir" with everything beneath it, then its siblings.
  EXPECT_EQ(in_order[0], "");
  EXPECT_EQ(in_order[1], "di");
  EXPECT_EQ(in_order[2], "dir");
  auto [first, last] = subtreeOf(paths, "dir");
  std::vector<RelPath> sub(first, last);
  EXPECT_EQ(sub, (std::vector<RelPath>{"dir", "dir/a", "dir/a/b", "dir/b/c", "dir/\xff"}));
  // Parents before children, and each sibling's own subtree contiguous too.
  auto [f2, l2] = subtreeOf(paths, "dir 2");
  EXPECT_EQ(std::vector<RelPath>(f2, l2), (std::vector<RelPath>{"dir 2", "dir 2/z"}));
  auto [f3, l3] = subtreeOf(paths, "");
  EXPECT_EQ(static_cast<size_t>(std::distance(f3, l3)), paths.size());
  auto [f4, l4] = subtreeOf(paths, "nothing");
  EXPECT_EQ(f4, l4);
}

TEST(PathLess, IsAStrictWeakOrderThatTreatsSlashAsTheSmallestByte) {
  PathLess less;
  EXPECT_TRUE(less("a/b", "a-b"));
  EXPECT_TRUE(less("a/b", "a b"));
  EXPECT_TRUE(less("a/b", "a.b"));
  EXPECT_TRUE(less("a", "a/b"));
  EXPECT_FALSE(less("a/b", "a"));
  EXPECT_FALSE(less("a", "a"));
  EXPECT_TRUE(less("a\x7f", "a\x80"));  // bytes compare unsigned
  std::map<RelPath, int, PathLess> m = {{"x", 1}, {"x-1", 2}, {"x/1", 3}};
  auto [first, last] = subtreeOf(m, "x");
  EXPECT_EQ(std::distance(first, last), 2);
}

}  // namespace
}  // namespace hoard
