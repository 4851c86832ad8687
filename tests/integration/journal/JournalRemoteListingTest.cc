// SPDX-License-Identifier: MIT
// The last remote listing of a share (migration 0009), what the FUSE view of
// an on-demand share shows: replaced whole, ordered by path bytes, gone with
// its share.

#include <gtest/gtest.h>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT

ListedEntry file(const std::string& path, uint64_t size) {
  ListedEntry e;
  e.path = path;
  e.meta.type = FileType::kFile;
  e.meta.size = size;
  e.meta.mode = 0640;
  e.meta.mtime_ns = 1'700'000'000'123'456'789;
  e.meta.inode = 42;
  e.data_version = "v1";
  return e;
}

ListedEntry dir(const std::string& path) {
  ListedEntry e;
  e.path = path;
  e.meta.type = FileType::kDir;
  e.meta.mode = 0755;
  return e;
}

TEST(JournalRemoteListingTest, IsReplacedWholeAndReadInPathOrder) {
  TempDir tmp;
  auto j = openOk(tmp.file("j.db"));
  ASSERT_TRUE(j);
  auto share = j->addShare(shareSpec("docs"));
  ASSERT_TRUE(share);
  std::vector<ListedEntry> first = {file("dir.bak/a", 3), dir("dir"), file("dir/a", 7),
                                    dir("dir-x"), file(std::string("n\xff\n", 3), 1)};
  ASSERT_TRUE(j->replaceRemoteListing(*share, first));
  auto got = j->remoteListing(*share);
  ASSERT_TRUE(got) << got.error().toString();
  std::vector<std::string> paths;
  for (auto& e : *got) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"dir", "dir-x", "dir.bak/a", "dir/a",
                                             std::string("n\xff\n", 3)}));
  EXPECT_EQ((*got)[3], file("dir/a", 7));  // every column back as stored

  // The next listing replaces it: what the remote no longer holds goes.
  ASSERT_TRUE(j->replaceRemoteListing(*share, std::vector<ListedEntry>{file("dir/a", 9)}));
  got = j->remoteListing(*share);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].meta.size, 9u);

  // A bad path stores nothing; the listing stays as it was.
  auto bad = j->replaceRemoteListing(*share, std::vector<ListedEntry>{file("ok", 1), file("../x", 1)});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->remoteListing(*share)->size(), 1u);
}

TEST(JournalRemoteListingTest, OneEntryOrASubtreeChangesAndTheShareTakesItAlong) {
  TempDir tmp;
  auto j = openOk(tmp.file("j.db"));
  ASSERT_TRUE(j);
  auto share = j->addShare(shareSpec("docs"));
  ASSERT_TRUE(share);
  ASSERT_TRUE(j->replaceRemoteListing(
      *share, std::vector<ListedEntry>{dir("dir"), file("dir/a", 1), dir("dir-x"),
                                       file("dir-x/a", 1), file("dir.bak", 1)}));
  ASSERT_TRUE(j->putRemoteListed(*share, file("dir/b", 5)));
  auto removed = j->removeRemoteListedUnder(*share, "dir");
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 3);  // dir, dir/a, dir/b; never dir-x or dir.bak
  EXPECT_EQ(j->remoteListing(*share)->size(), 3u);
  ASSERT_TRUE(j->removeShare(*share));
  RawDb raw(tmp.file("j.db"));
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM remote_listing"), "0");
}

TEST(JournalRemoteListingTest, MissesAreKeptInOrderAndBadOnesRefused) {
  TempDir tmp;
  auto j = openOk(tmp.file("j.db"));
  ASSERT_TRUE(j);
  auto share = j->addShare(shareSpec("docs"));
  ASSERT_TRUE(share);
  MissRecord later{0, *share, "dir-x/a", "cat", 200, "failed"};
  MissRecord sooner{0, *share, "dir/a", "python3", 100, "timed-out"};
  ASSERT_TRUE(j->addMiss(later));
  ASSERT_TRUE(j->addMiss(sooner));
  MissRecord bad = later;
  bad.outcome = "maybe";
  auto refused = j->addMiss(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  auto got = j->misses(*share);
  ASSERT_TRUE(got) << got.error().toString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].path, "dir/a");
  EXPECT_EQ((*got)[0].program, "python3");
  EXPECT_EQ((*got)[0].outcome, "timed-out");
  EXPECT_EQ((*got)[1].path, "dir-x/a");
  ASSERT_TRUE(j->removeShare(*share));
  RawDb raw(tmp.file("j.db"));
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM view_misses"), "0");
}

TEST(JournalRemoteListingTest, XattrsAreKeptByteExactAndUnreadOnesStayUnknown) {
  TempDir tmp;
  auto j = openOk(tmp.file("j.db"));
  ASSERT_TRUE(j);
  auto share = j->addShare(shareSpec("docs"));
  ASSERT_TRUE(share);
  ListedEntry with = file("dir/a", 3), none = file("dir-x/a", 4), unread = file("dir.bak/a", 5);
  with.xattrs = std::map<std::string, std::string>{{"user.bin", std::string("\0\xff\n", 3)},
                                                   {"user.empty", ""},
                                                   {"user.note", std::string(70000, 'x')}};
  none.xattrs = std::map<std::string, std::string>{};
  std::vector<ListedEntry> rows{with, none, unread};
  ASSERT_TRUE(j->replaceRemoteListing(*share, rows));
  auto got = j->remoteListing(*share);
  ASSERT_TRUE(got) << got.error().toString();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0], none);  // "dir-x/a" < "dir.bak/a" < "dir/a" by bytes
  EXPECT_EQ((*got)[1], unread);
  EXPECT_FALSE((*got)[1].xattrs.has_value());
  EXPECT_EQ((*got)[2], with);
  // A damaged row is named, not misread.
  RawDb raw(tmp.file("j.db"));
  raw.exec("UPDATE remote_listing SET xattrs = x'00000009757365722e' WHERE path = x'6469722f61'");
  auto bad = j->remoteListing(*share);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(bad.error().message().find("dir/a"), std::string::npos) << bad.error().message();
}

TEST(JournalRemoteListingTest, ReadAnswersAreKeptReplacedAndForgotten) {
  TempDir tmp;
  auto j = openOk(tmp.file("j.db"));
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->putReadAnswer({"totem", "error", 100}));
  ASSERT_TRUE(j->putReadAnswer({"cat", "error", 200}));
  ASSERT_TRUE(j->putReadAnswer({"totem", "error", 300}));  // answered again: replaced
  auto got = j->readAnswers();
  ASSERT_TRUE(got) << got.error().toString();
  ASSERT_EQ(*got, (std::vector<ReadAnswerRecord>{{"cat", "error", 200}, {"totem", "error", 300}}));
  for (ReadAnswerRecord bad : {ReadAnswerRecord{"", "error", 1}, ReadAnswerRecord{"vlc", "wait", 1}}) {
    Status s = j->putReadAnswer(bad);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  }
  ASSERT_TRUE(j->forgetReadAnswer("cat"));
  Status again = j->forgetReadAnswer("cat");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(again.error().message().find("'cat'"), std::string::npos);
  EXPECT_EQ(*j->readAnswers(), (std::vector<ReadAnswerRecord>{{"totem", "error", 300}}));
}

TEST(JournalRemoteListingTest, MigrationTwelveKeepsTheMissesAndAllowsDeclined) {
  TempDir tmp;
  const std::string path = tmp.file("old.db");
  {
    auto j = openOk(path);
    ASSERT_TRUE(j);
  }
  {
    // Back to what 0011 left: the misses table without "declined".
    RawDb raw(path);
    raw.exec("DROP TABLE read_answers; DROP TABLE view_misses;");
    raw.exec("ALTER TABLE remote_listing DROP COLUMN xattrs");  // 0013's
    raw.exec(readBytes(std::string(HOARD_JOURNAL_SCHEMA_DIR) + "/0010_view_misses.sql"));
    raw.exec("INSERT INTO shares (id, name, remote_root, cache_root, state, created_at_ns) VALUES "
             "(7, 'docs', x'2f72', x'2f63', 'online', 1)");
    raw.exec("INSERT INTO view_misses (id, share_id, path, program, at_ns, outcome) VALUES "
             "(3, 7, x'6469722d78ff0a61', 'cat', 5, 'timed-out')");
    raw.exec("PRAGMA user_version = 11");
  }
  auto j = openOk(path);
  ASSERT_TRUE(j);
  auto kept = j->misses(7);
  ASSERT_TRUE(kept) << kept.error().toString();
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0], (MissRecord{3, 7, std::string("dir-x\xff\na", 8), "cat", 5, "timed-out"}));
  ASSERT_TRUE(j->addMiss({0, 7, "dir/a", "cat", 6, "declined"}));
  EXPECT_EQ(j->misses(7)->back().outcome, "declined");
  ASSERT_TRUE(j->putReadAnswer({"cat", "error", 6}));
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.scalar("PRAGMA foreign_key_check"), "");
}

}  // namespace
}  // namespace hoard::journal
