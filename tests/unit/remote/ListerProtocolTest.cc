// SPDX-License-Identifier: MIT
// What hoard-lister sends: records survive any bytes in a name, and a
// stream that is truncated, miscounted or malformed is refused with the line.

#include <gtest/gtest.h>

#include "remote/ListerProtocol.h"

namespace hoard::remote {
namespace {

ListerEntry entry(const std::string& path, FileType type, uint64_t size) {
  ListerEntry e;
  e.path = path;
  e.meta.type = type;
  e.meta.size = size;
  e.meta.mode = 0755;
  e.meta.mtime_ns = 1700000000123456789;
  e.meta.ctime_ns = 1700000000987654321;
  e.meta.inode = 4242;
  e.dev = 2049;
  return e;
}

std::string stream(const std::vector<ListerEntry>& entries, const std::string& marker = "id-1\n") {
  std::string s = listerHeader(marker, true);
  for (const auto& e : entries) s += listerEntryLine(e);
  return s + listerEndLine(entries.size());
}

TEST(ListerProtocolTest, RecordsSurviveAnyBytesAndAnyChunking) {
  ListerEntry unlisted;
  unlisted.path = "locked dir";
  unlisted.meta.type = FileType::kDir;
  unlisted.unlisted_errno = 13;
  std::vector<ListerEntry> in = {
      entry("dir", FileType::kDir, 0),
      entry("dir-x", FileType::kFile, 3),
      entry(std::string("new\nline \xff\xfe name"), FileType::kFile, 12),
      entry("dir/a link", FileType::kSymlink, 7),
      entry("dir/fifo", FileType::kOther, 0),
      unlisted,
  };
  std::string s = stream(in);
  for (size_t chunk : {size_t(1), size_t(7), s.size()}) {
    ListerParser p;
    for (size_t at = 0; at < s.size(); at += chunk)
      ASSERT_TRUE(p.feed(std::string_view(s).substr(at, chunk))) << "chunk " << chunk;
    EXPECT_TRUE(p.complete());
    ASSERT_TRUE(p.marker().has_value());
    EXPECT_EQ(*p.marker(), "id-1\n");
    EXPECT_EQ(p.entries(), in) << "chunk " << chunk;
  }
}

TEST(ListerProtocolTest, ARootWithoutAMarkerSaysSo) {
  ListerParser p;
  ASSERT_TRUE(p.feed(listerHeader("", false) + listerEndLine(0)));
  EXPECT_TRUE(p.complete());
  EXPECT_FALSE(p.marker().has_value());
}

TEST(ListerProtocolTest, ATruncatedStreamIsNeverComplete) {
  std::string s = stream({entry("a", FileType::kFile, 1), entry("b", FileType::kFile, 2)});
  std::string cut = s.substr(0, s.rfind("end"));
  ListerParser p;
  ASSERT_TRUE(p.feed(cut));
  EXPECT_FALSE(p.complete()) << "no end line: not the tree";
}

TEST(ListerProtocolTest, BadStreamsAreRefusedNamingTheLine) {
  struct Case {
    std::string text, says;
  };
  std::string header = listerHeader("m", true);
  std::string good = listerEntryLine(entry("a", FileType::kFile, 1));
  std::vector<Case> cases = {
      {"rsync 3\n", "line 1: not a hoard-lister header"},
      {"hoard-lister 2 -\n", "line 1: protocol 2, this hoard speaks 1"},
      {"hoard-lister 1 zz\n", "line 1: the marker is not hex"},
      {header + good + "end 2\n", "line 3: the end line counts 2 records, 1 came"},
      {header + "e f 644 1 2 3 4 5 6\n", "line 2: a malformed entry"},          // odd hex
      {header + "e x 644 1 2 3 4 5 61\n", "line 2: a malformed entry"},         // type
      {header + "e f 9x4 1 2 3 4 5 61\n", "line 2: a malformed entry"},         // mode
      {header + "e f 644 -1 2 3 4 5 61\n", "line 2: a malformed entry"},        // size
      {header + "e f 644 1 2 3 4 5\n", "line 2: a malformed entry"},            // fields
      {header + "u x 61\n", "line 2: a malformed unlisted record"},
      {header + "q 1\n", "line 2: an unknown record"},
      {header + "end 0\nend 0\n", "line 3: text after the end line"},
  };
  for (const auto& c : cases) {
    ListerParser p;
    auto r = p.feed(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << c.text << " -> " << r.error().message();
  }
}

TEST(ListerProtocolTest, HoardsOwnNamesAreLeftOut) {
  EXPECT_TRUE(listerSkips(".hoard-tmp-123", false));
  EXPECT_TRUE(listerSkips(".hoard-tmp-123", true));
  EXPECT_TRUE(listerSkips(".hoard-share-id", true));
  EXPECT_FALSE(listerSkips(".hoard-share-id", false)) << "only the root's marker is hoard's";
  EXPECT_FALSE(listerSkips(".hoard-tm", true));
  EXPECT_FALSE(listerSkips("notes.hoard-tmp-1", false));
}

}  // namespace
}  // namespace hoard::remote
