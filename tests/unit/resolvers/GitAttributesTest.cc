// SPDX-License-Identifier: MIT
// The gitattributes(5) rules git-merge needs, checked against what
// `git check-attr` answers for the same files (set / unset / value).
#include "GitAttributes.h"

#include <gtest/gtest.h>

namespace hoard::resolvers {
namespace {

using Files = std::vector<GitAttributes::File>;

TEST(GitAttributes, APatternWithoutSlashMatchesTheNameAtAnyDepth) {
  GitAttributes a(Files{{"", "*.txt -merge\n"}});
  EXPECT_EQ(a.lookup("a.txt", "merge"), "unset");
  EXPECT_EQ(a.lookup("deep/er/a.txt", "merge"), "unset");
  EXPECT_EQ(a.lookup("a.txt.bak", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("a.txt", "diff"), std::nullopt);
}

TEST(GitAttributes, APatternWithASlashIsRelativeToItsFile) {
  GitAttributes a(Files{{"", "/top.md merge=union\ndocs/*.md -merge\n"}});
  EXPECT_EQ(a.lookup("top.md", "merge"), "union");
  EXPECT_EQ(a.lookup("sub/top.md", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("docs/a.md", "merge"), "unset");
  EXPECT_EQ(a.lookup("docs/deeper/a.md", "merge"), std::nullopt);  // '*' stops at '/'
  EXPECT_EQ(a.lookup("x/docs/a.md", "merge"), std::nullopt);
}

TEST(GitAttributes, DoubleStarAndSiblingsThatShareAPrefix) {
  GitAttributes a(Files{{"", "dir/** -merge\n**/gen/*.c binary\n"}});
  EXPECT_EQ(a.lookup("dir/a", "merge"), "unset");
  EXPECT_EQ(a.lookup("dir/b/c", "merge"), "unset");
  EXPECT_EQ(a.lookup("dir", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("dir-x/a", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("dir.bak/a", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("gen/x.c", "binary"), "set");
  EXPECT_EQ(a.lookup("a/b/gen/x.c", "binary"), "set");
}

TEST(GitAttributes, LaterLinesAndDeeperFilesWin) {
  GitAttributes a(Files{{"sub", "*.txt merge=text\n"},  // given out of order on purpose
                        {"", "*.txt -merge\nkeep.txt !merge\n"}});
  EXPECT_EQ(a.lookup("a.txt", "merge"), "unset");
  EXPECT_EQ(a.lookup("keep.txt", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("sub/a.txt", "merge"), "text");
  EXPECT_EQ(a.lookup("sub-x/a.txt", "merge"), "unset");
}

TEST(GitAttributes, BinaryIsAMacroAndRootFilesDefineMore) {
  GitAttributes a(Files{{"", "[attr]lockfile -merge -diff\n*.png binary\nCargo.lock lockfile\n"},
                        {"sub", "[attr]ignored -merge\n*.x ignored\n"}});
  EXPECT_EQ(a.lookup("i.png", "binary"), "set");
  EXPECT_EQ(a.lookup("i.png", "merge"), "unset");
  EXPECT_EQ(a.lookup("i.png", "text"), "unset");
  EXPECT_EQ(a.lookup("Cargo.lock", "merge"), "unset");
  EXPECT_EQ(a.lookup("sub/a.x", "ignored"), "set");
  EXPECT_EQ(a.lookup("sub/a.x", "merge"), std::nullopt);  // macros only from the root file
}

TEST(GitAttributes, CommentsBlankLinesCrlfAndOddPatterns) {
  GitAttributes a(Files{{"",
                         "# a comment *.txt -merge\r\n\r\n   \t\n"
                         "*.txt\tmerge=union   text\r\n"
                         "!*.txt -merge\n"        // negative patterns are forbidden: skipped
                         "build/ -merge\n"        // a directory pattern never matches a file
                         "\"q u.txt\" -merge\n"}});  // quoted: not understood, skipped
  EXPECT_EQ(a.lookup("a.txt", "merge"), "union");
  EXPECT_EQ(a.lookup("a.txt", "text"), "set");
  EXPECT_EQ(a.lookup("build", "merge"), std::nullopt);
  EXPECT_EQ(a.lookup("q u.txt", "merge"), "union");
}

TEST(GitAttributes, NamesAreBytes) {
  GitAttributes a(Files{{"caf\xe9", "*.txt -merge\n"}});
  EXPECT_EQ(a.lookup("caf\xe9/\xff.txt", "merge"), "unset");
  EXPECT_EQ(a.lookup("cafe/\xff.txt", "merge"), std::nullopt);
}

TEST(GitAttributes, FilesForListsEveryAncestorRootFirst) {
  EXPECT_EQ(GitAttributes::filesFor("a.txt"), std::vector<RelPath>{".gitattributes"});
  EXPECT_EQ(GitAttributes::filesFor("a/b/c.txt"),
            (std::vector<RelPath>{".gitattributes", "a/.gitattributes", "a/b/.gitattributes"}));
}

}  // namespace
}  // namespace hoard::resolvers
