// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <string>

#include "store/KeepPolicy.h"

namespace hoard::store {
namespace {

using Mode = KeepPolicyConfig::Mode;

const std::string kSqliteHead = std::string("SQLite format 3\0", 16) + std::string(84, '\x01');
const std::string kElf = std::string(
                             "\x7f"
                             "ELF\x02\x01\x01\0\0\0",
                             10) +
                         std::string(100, '\0');

TEST(KeepPolicyTest, DefaultKeepsTextBySniffAndExtension) {
  KeepPolicy p;
  auto d = p.decide("notes/todo", 12, "buy milk\nok\n");
  EXPECT_TRUE(d.keep);
  EXPECT_EQ(d.reason, KeepReason::kTextContent);

  d = p.decide("src/main.cc", 10, kElf);  // the extension decides before the sniff
  EXPECT_TRUE(d.keep);
  EXPECT_EQ(d.reason, KeepReason::kTextExtension);

  d = p.decide("doc/README", 3, "");
  EXPECT_EQ(d.reason, KeepReason::kTextExtension);

  d = p.decide("bin/tool", kElf.size(), kElf);
  EXPECT_FALSE(d.keep);
  EXPECT_EQ(d.reason, KeepReason::kBinary);
}

TEST(KeepPolicyTest, UnicodeTextIsTextButInvalidUtf8IsNot) {
  KeepPolicy p;
  std::string greek = "\xce\xb1\xce\xb2\xce\xb3 \xe2\x82\xac \xf0\x9f\x98\x80\n";
  EXPECT_TRUE(p.decide("a/greek", greek.size(), greek).keep);
  std::string latin1 = "caf\xe9 cr\xe8me\n";
  EXPECT_EQ(p.decide("a/latin1", latin1.size(), latin1).reason, KeepReason::kBinary);
  std::string overlong = "a\xc0\xaf";
  EXPECT_FALSE(looksLikeText(overlong, false));
  std::string surrogate = "\xed\xa0\x80";
  EXPECT_FALSE(looksLikeText(surrogate, false));
}

TEST(KeepPolicyTest, CharacterCutAtTheSniffWindowIsStillText) {
  std::string head(KeepPolicy::kSniffBytes - 1, 'a');
  head += "\xe2";  // first byte of a 3-byte character; the rest is beyond the window
  KeepPolicy p;
  EXPECT_TRUE(p.decide("big", 100000, head).keep);
  // The same bytes as the whole file are not valid UTF-8.
  EXPECT_FALSE(p.decide("small", head.size(), head).keep);
}

TEST(KeepPolicyTest, ManyControlBytesMeanBinary) {
  std::string head(1000, 'x');
  for (size_t i = 0; i < 50; ++i) head[i * 20] = '\x01';
  EXPECT_FALSE(looksLikeText(head, false));
  head = std::string(1000, 'x') + "\x1b[0m\f";
  EXPECT_TRUE(looksLikeText(head, false));
}

TEST(KeepPolicyTest, SqliteDatabaseAndSidecars) {
  KeepPolicy p;
  auto d = p.decide("app/data.db", 4096, kSqliteHead);
  EXPECT_TRUE(d.keep);
  EXPECT_EQ(d.reason, KeepReason::kSqlite);

  std::string wal = std::string("\x37\x7f\x06\x82", 4) + std::string(28, '\0');
  EXPECT_EQ(p.decide("app/data.db-wal", 32, wal).reason, KeepReason::kSqlite);
  EXPECT_EQ(p.decide("app/data.db-wal", 0, "").reason, KeepReason::kSqlite);
  std::string journal = std::string("\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", 8) + std::string(20, '\0');
  EXPECT_EQ(p.decide("app/data.db-journal", 28, journal).reason, KeepReason::kSqlite);
  // A -wal name with other bytes is just a binary file.
  EXPECT_EQ(p.decide("app/x-wal", kElf.size(), kElf).reason, KeepReason::kBinary);
}

TEST(KeepPolicyTest, SizeLimitAppliesInEveryMode) {
  KeepPolicyConfig c;
  c.max_size = 100;
  c.include_globs = {"*.bin"};
  KeepPolicy p(c);
  EXPECT_EQ(p.decide("a.txt", 101, "x").reason, KeepReason::kTooLarge);
  EXPECT_EQ(p.decide("a.bin", 101, kElf).reason, KeepReason::kTooLarge);
  EXPECT_TRUE(p.decide("a.txt", 100, "x").keep);
  c.mode = Mode::kAll;
  EXPECT_EQ(KeepPolicy(c).decide("a.bin", 101, kElf).reason, KeepReason::kTooLarge);
}

TEST(KeepPolicyTest, DefaultSizeLimitIsEightMiB) {
  KeepPolicy p;
  EXPECT_TRUE(p.decide("a.txt", uint64_t{8} << 20, "x").keep);
  EXPECT_FALSE(p.decide("a.txt", (uint64_t{8} << 20) + 1, "x").keep);
}

TEST(KeepPolicyTest, GlobsOnBaseNameOrWholePath) {
  KeepPolicyConfig c;
  c.include_globs = {"*.bin", "assets/*"};
  c.exclude_globs = {"*.log", "build/*"};
  KeepPolicy p(c);
  EXPECT_EQ(p.decide("deep/dir/x.bin", kElf.size(), kElf).reason, KeepReason::kIncluded);
  EXPECT_EQ(p.decide("assets/sub/img.png", kElf.size(), kElf).reason, KeepReason::kIncluded);
  EXPECT_EQ(p.decide("other/img.png", kElf.size(), kElf).reason, KeepReason::kBinary);
  EXPECT_EQ(p.decide("var/app.log", 5, "text\n").reason, KeepReason::kExcluded);
  EXPECT_EQ(p.decide("build/sub/main.c", 5, "int\n").reason, KeepReason::kExcluded);
  EXPECT_EQ(p.decide("src/build/main.c", 5, "int\n").reason, KeepReason::kTextExtension);
  // Exclude wins over include.
  c.exclude_globs = {"x.bin"};
  EXPECT_EQ(KeepPolicy(c).decide("d/x.bin", 5, kElf).reason, KeepReason::kExcluded);
}

TEST(KeepPolicyTest, GlobsMatchNonUtf8Names) {
  KeepPolicyConfig c;
  c.exclude_globs = {"\xff*"};
  KeepPolicy p(c);
  EXPECT_EQ(p.decide("dir/\xff\xfe.txt", 3, "abc").reason, KeepReason::kExcluded);
  EXPECT_EQ(p.decide("dir/\xfe\xff.txt", 3, "abc").reason, KeepReason::kTextExtension);
}

TEST(KeepPolicyTest, KeepAllAndKeepNone) {
  KeepPolicyConfig c;
  c.mode = Mode::kAll;
  c.exclude_globs = {"*.iso"};
  EXPECT_EQ(KeepPolicy(c).decide("bin/tool", kElf.size(), kElf).reason, KeepReason::kKeepAll);
  EXPECT_EQ(KeepPolicy(c).decide("x.iso", 5, kElf).reason, KeepReason::kExcluded);
  c.mode = Mode::kNone;
  c.include_globs = {"*"};
  EXPECT_EQ(KeepPolicy(c).decide("a.txt", 5, "hello").reason, KeepReason::kKeepNone);
}

TEST(KeepPolicyTest, ReasonNames) {
  EXPECT_EQ(keepReasonName(KeepReason::kTooLarge), "too-large");
  EXPECT_EQ(keepReasonName(KeepReason::kTextContent), "text-content");
  EXPECT_EQ(keepReasonName(KeepReason::kSqlite), "sqlite");
}

}  // namespace
}  // namespace hoard::store
