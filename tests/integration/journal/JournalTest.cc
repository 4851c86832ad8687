// SPDX-License-Identifier: MIT
// The journal on a real SQLite file: opening, migrations, refusal of newer or
// corrupt files, and round-trips of every table with hostile names.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "JournalTestUtil.h"
#include "journal/Journal.h"
#include "journal/Migrations.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: test helpers

// Names a user may really have: not UTF-8, with a newline, 255 bytes, and a
// path of ~4000 bytes (PATH_MAX is 4096 with the cache root in front).
std::vector<std::string> hostilePaths() {
  std::string deep;
  while (deep.size() < 3900) deep += (deep.empty() ? "" : "/") + std::string(200, 'd');
  return {
      std::string("bad\xff\xfe\x80name", 10),
      "line\nbreak",
      std::string(255, 'n'),
      "dir/" + std::string(255, '\xe9'),
      deep + "/" + std::string(90, 'f'),
      "trailing space ",
      "back\\slash",
  };
}

TEST(JournalTest, CreatesWithAllMigrationsAndWalMode) {
  TempDir dir;
  auto j = openOk(dir.file("journal.db"));
  ASSERT_TRUE(j);
  EXPECT_GE(Journal::knownSchemaVersion(), 1);
  auto v = j->schemaVersion();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, Journal::knownSchemaVersion());
  EXPECT_EQ(j->journalId().size(), 32u);
  RawDb raw(dir.file("journal.db"));
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(Journal::knownSchemaVersion()));
  EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key='journal_id'"), j->journalId());
  // 9 from 0001 (base, snapshots, conflicts), 2 from 0005 (resolutions), 2
  // from 0008 (the objects of a resolution's folder trees).
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_master WHERE type='trigger'"), "13");
}

TEST(JournalTest, EmbeddedMigrationsAreTheSchemaFilesByteForByte) {
  auto migrations = detail::migrations();
  ASSERT_FALSE(migrations.empty());
  size_t on_disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOARD_JOURNAL_SCHEMA_DIR)) {
    if (entry.path().extension() == ".sql") ++on_disk;
  }
  EXPECT_EQ(migrations.size(), on_disk);
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
    std::string file =
        std::string(HOARD_JOURNAL_SCHEMA_DIR) + "/" + std::string(migrations[i].name);
    EXPECT_EQ(std::string(migrations[i].sql), readBytes(file)) << file;
  }
  EXPECT_EQ(Journal::knownSchemaVersion(), migrations.back().version);
}

TEST(JournalTest, FailedMigrationRollsBackAndNamesTheFile) {
  TempDir dir;
  std::string path = dir.file("journal.db");
  {
    // An unversioned database that already has a table the first migration creates.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE pins (x)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message().find("0001_initial.sql"), std::string::npos) << j.error().message();
  EXPECT_NE(j.error().message().find(path), std::string::npos) << j.error().message();
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('meta', 'shares')"), "0")
      << "the migration's transaction was rolled back";
}

TEST(JournalTest, SymlinkedJournalPathIsRefused) {
  TempDir dir;
  { auto j = openOk(dir.file("real.db")); }
  ASSERT_EQ(::symlink(dir.file("real.db").c_str(), dir.file("link.db").c_str()), 0);
  auto j = Journal::open(dir.file("link.db"));
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kInvalidArgument);
}

TEST(JournalTest, ReopenKeepsDataAndId) {
  TempDir dir;
  std::string id;
  int64_t share_id = 0;
  {
    auto j = openOk(dir.file("j.db"));
    ASSERT_TRUE(j);
    id = j->journalId();
    auto s = j->addShare(shareSpec("home"));
    ASSERT_TRUE(s);
    share_id = *s;
    ASSERT_TRUE(j->pin(share_id, "docs", 700));
    ASSERT_TRUE(j->putBase(share_id, fileEntry("docs/a", 3)));
  }
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  EXPECT_EQ(j->journalId(), id);
  auto s = j->shareByName("home");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id, share_id);
  auto pins = j->pins(share_id);
  ASSERT_TRUE(pins);
  EXPECT_EQ(*pins, (std::vector<Pin>{{"docs", 700}}));
  auto b = j->getBase(share_id, "docs/a");
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->has_value());
  EXPECT_EQ(**b, fileEntry("docs/a", 3));
}

TEST(JournalTest, DifferentFilesHaveDifferentIds) {
  TempDir dir;
  auto a = openOk(dir.file("a.db"));
  auto b = openOk(dir.file("b.db"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->journalId(), b->journalId());
}

TEST(JournalTest, NewerJournalIsRefusedAndUntouched) {
  TempDir dir;
  std::string path = dir.file("journal.db");
  {
    auto j = openOk(path);
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->addShare(shareSpec("s")));
  }
  {
    RawDb raw(path);
    raw.exec("PRAGMA user_version = 99");
  }
  struct stat st_before;
  ASSERT_EQ(::stat(path.c_str(), &st_before), 0);
  std::string before = readBytes(path);
  ASSERT_FALSE(before.empty());
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kTooNew);
  EXPECT_EQ(j.error().message(),
            "journal " + path +
                " was written by a newer hoard (schema 99, this hoard knows up to " +
                std::to_string(Journal::knownSchemaVersion()) + "); upgrade hoard");
  EXPECT_EQ(readBytes(path), before);
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "99");
  EXPECT_EQ(raw.scalar("SELECT name FROM shares"), "s");
}

TEST(JournalTest, NonSqliteFileIsRefusedAndUntouched) {
  TempDir dir;
  std::string path = dir.file("journal.db");
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage += static_cast<char>((i * 7919) % 251);
  writeBytes(path, garbage);
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(j.error().message().find(path), std::string::npos) << j.error().message();
  EXPECT_EQ(readBytes(path), garbage);
}

TEST(JournalTest, DamagedSqliteFileIsRefusedAndUntouched) {
  TempDir dir;
  std::string path = dir.file("journal.db");
  // A real SQLite header followed by garbage: SQLite itself must notice.
  std::string bytes("SQLite format 3\0", 16);
  for (int i = 0; i < 4096 * 3; ++i) bytes += static_cast<char>(0xA5 ^ (i % 97));
  writeBytes(path, bytes);
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kCorrupt) << j.error().toString();
  EXPECT_NE(j.error().message().find(path), std::string::npos) << j.error().message();
  EXPECT_EQ(readBytes(path), bytes);
}

TEST(JournalTest, TruncatedHeaderIsCorrupt) {
  TempDir dir;
  std::string path = dir.file("journal.db");
  writeBytes(path, "SQLite");
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(readBytes(path), "SQLite");
}

TEST(JournalTest, MissingDirectoryIsAnIoErrorNamingTheFile) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/journal.db");
  auto j = Journal::open(path);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message().find(path), std::string::npos) << j.error().message();
}

// --- shares -------------------------------------------------------------------

TEST(JournalTest, SharesRoundTrip) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  ShareSpec spec = shareSpec("work");
  spec.remote_root = std::string("/mnt/\xff\nremote", 13);
  auto id = j->addShare(spec);
  ASSERT_TRUE(id);
  auto s = j->share(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "work");
  EXPECT_EQ(s->remote_root, spec.remote_root);
  EXPECT_EQ(s->cache_root, spec.cache_root);
  EXPECT_EQ(s->identity, spec.identity);
  EXPECT_EQ(s->state, ShareState::kOffline);
  EXPECT_FALSE(s->user_offline);
  EXPECT_GT(s->created_at_ns, 0);

  auto dup = j->addShare(spec);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kExists);
  EXPECT_NE(dup.error().message().find("work"), std::string::npos);

  ASSERT_TRUE(j->setShareState(*id, ShareState::kReintegrating));
  ASSERT_TRUE(j->setUserOffline(*id, true));
  RemoteIdentity other{"fsid-2", "srv:/x", "cifs", "m2", "/mnt/x\n\xff", "/x"};
  ASSERT_TRUE(j->setRemoteIdentity(*id, other));
  auto s2 = j->shareByName("work");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->state, ShareState::kReintegrating);
  EXPECT_TRUE(s2->user_offline);
  EXPECT_EQ(s2->identity, other);

  // Switched to on demand: the cache moves, the user's folder becomes the view.
  ASSERT_TRUE(j->setShareRoots(*id, "/state/backing/work", spec.cache_root));
  auto s3 = j->shareByName("work");
  ASSERT_TRUE(s3);
  EXPECT_EQ(s3->cache_root, "/state/backing/work");
  EXPECT_EQ(s3->view_root, spec.cache_root);
  EXPECT_TRUE(s3->onDemand());
  EXPECT_EQ(s3->userRoot(), spec.cache_root);
  EXPECT_EQ(j->setShareRoots(*id, "", "/v").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->setShareRoots(12345, "/c", "").error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(j->setShareRoots(*id, spec.cache_root, ""));
  EXPECT_FALSE(j->shareByName("work")->onDemand());

  auto id2 = j->addShare(shareSpec("second"));
  ASSERT_TRUE(id2);
  auto all = j->shares();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "work");
  EXPECT_EQ((*all)[1].name, "second");

  EXPECT_EQ(j->share(12345).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(j->shareByName("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(j->setShareState(12345, ShareState::kOnline).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(j->addShare(ShareSpec{"", "/a", "/b", {}, {}}).error().code(), ErrorCode::kInvalidArgument);
}

TEST(JournalTest, RemoveShareCascadesEverything) {
  TempDir dir;
  std::string path = dir.file("j.db");
  auto j = openOk(path);
  ASSERT_TRUE(j);
  auto id = j->addShare(shareSpec("gone"));
  auto keep = j->addShare(shareSpec("kept"));
  ASSERT_TRUE(id && keep);
  ContentHash obj = hashOf("object");
  for (int64_t s : {*id, *keep}) {
    ASSERT_TRUE(j->pin(s, "p", 1));
    ASSERT_TRUE(j->putBase(s, fileEntry("f", 6, obj)));
    std::vector<Change> ch{Change{ChangeOp::kWrite, "f", {}, 0, {}}};
    ASSERT_TRUE(j->recordChanges(s, ch));
    ASSERT_TRUE(j->takeSnapshot(s, "offline"));
    ConflictRecord c;
    c.share_id = s;
    c.path = "f";
    c.kind = ConflictKind::kContent;
    c.local_object = obj;
    ASSERT_TRUE(j->addConflict(c));
  }
  auto info = j->object(obj);
  ASSERT_TRUE(info && info->has_value());
  EXPECT_EQ((*info)->refcount, 6);
  ASSERT_TRUE(j->removeShare(*id));
  EXPECT_EQ(j->removeShare(*id).error().code(), ErrorCode::kNotFound);
  RawDb raw(path);
  for (const char* table : {"pins", "base", "change_log", "snapshots", "conflicts"}) {
    EXPECT_EQ(raw.scalar(std::string("SELECT count(*) FROM ") + table +
                         " WHERE share_id = " + std::to_string(*id)),
              "0")
        << table;
    EXPECT_EQ(raw.scalar(std::string("SELECT count(*) FROM ") + table +
                         " WHERE share_id = " + std::to_string(*keep)),
              "1")
        << table;
  }
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM snapshot_entries"), "1");
  info = j->object(obj);
  ASSERT_TRUE(info && info->has_value());
  EXPECT_EQ((*info)->refcount, 3) << "the cascade released the removed share's references";
}

// --- pins ------------------------------------------------------------------------

TEST(JournalTest, PinsUpsertListUnpin) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  ASSERT_TRUE(j->pin(*s, "", 0));
  ASSERT_TRUE(j->pin(*s, "b", 1000));
  ASSERT_TRUE(j->pin(*s, "a", 500));
  ASSERT_TRUE(j->pin(*s, "a", 900));  // upsert
  for (const std::string& p : hostilePaths()) ASSERT_TRUE(j->pin(*s, p, 10)) << displayPath(p);
  auto pins = j->pins(*s);
  ASSERT_TRUE(pins);
  ASSERT_EQ(pins->size(), 3 + hostilePaths().size());
  EXPECT_EQ((*pins)[0], (Pin{"b", 1000}));
  EXPECT_EQ((*pins)[1], (Pin{"a", 900}));
  EXPECT_EQ(pins->back(), (Pin{"", 0}));
  for (const std::string& p : hostilePaths()) {
    EXPECT_NE(std::find(pins->begin(), pins->end(), Pin{p, 10}), pins->end()) << displayPath(p);
  }
  auto bad = j->pin(*s, "x", 1001);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("1001"), std::string::npos);
  EXPECT_EQ(j->pin(*s, "x", -1).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->pin(*s, "../x", 1).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->pin(999, "x", 1).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(j->unpin(*s, "a"));
  EXPECT_EQ(j->unpin(*s, "a").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(j->pins(*s)->size(), 2 + hostilePaths().size());
}

// --- base ---------------------------------------------------------------------------

TEST(JournalTest, BaseRoundTripsEveryFieldAndHostileNames) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  std::vector<BaseEntry> entries;
  for (const std::string& p : hostilePaths()) entries.push_back(fileEntry(p, 4096, hashOf(p)));
  BaseEntry link;
  link.path = "link";
  link.local.type = FileType::kSymlink;
  link.local.mode = 0777;
  link.symlink_target = std::string("../\xff\ntarget", 11);
  link.hash = hashOf(link.symlink_target);
  entries.push_back(link);
  BaseEntry d;
  d.path = "dir";
  d.local.type = FileType::kDir;
  d.local.mode = 02755;
  d.local.mtime_ns = -5;  // before 1970
  entries.push_back(d);
  BaseEntry root;  // the share root itself
  root.path = "";
  root.local.type = FileType::kDir;
  entries.push_back(root);
  ASSERT_TRUE(j->putBase(*s, entries));
  for (const BaseEntry& e : entries) {
    auto got = j->getBase(*s, e.path);
    ASSERT_TRUE(got) << got.error().toString();
    ASSERT_TRUE(got->has_value()) << displayPath(e.path);
    EXPECT_EQ(**got, e) << displayPath(e.path);
  }
  auto all = j->listBase(*s);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), entries.size());
  auto missing = j->getBase(*s, "missing");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());

  // Replace one, remove one.
  BaseEntry changed = entries[0];
  changed.local.size = 1;
  changed.hash.reset();
  changed.object.reset();
  ASSERT_TRUE(j->putBase(*s, changed));
  EXPECT_EQ(**j->getBase(*s, changed.path), changed);
  auto removed = j->removeBase(*s, "link");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(*j->removeBase(*s, "link"));
  EXPECT_FALSE(j->getBase(*s, "link")->has_value());
}

TEST(JournalTest, BaseBatchIsAllOrNothing) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  std::vector<BaseEntry> batch{fileEntry("ok1", 1), fileEntry("bad/../x", 1), fileEntry("ok2", 1)};
  auto r = j->putBase(*s, batch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(j->listBase(*s)->empty());
  EXPECT_EQ(j->putBase(4242, fileEntry("x", 1)).error().code(), ErrorCode::kNotFound);
}

TEST(JournalTest, SubtreeQueriesMatchOnlyTheSubtree) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  auto other = j->addShare(shareSpec("other"));
  ASSERT_TRUE(s && other);
  std::vector<std::string> inside{"a", "a/x", "a/y/z", std::string("a/\xff", 3)};
  std::vector<std::string> outside{"ab", "a0", "a.b", "a b", std::string("a\xff", 2),
                                   "b",  "",   "a-"};
  for (const auto& p : inside) ASSERT_TRUE(j->putBase(*s, fileEntry(p, 1)));
  for (const auto& p : outside) ASSERT_TRUE(j->putBase(*s, fileEntry(p, 1)));
  ASSERT_TRUE(j->putBase(*other, fileEntry("a/x", 1)));
  auto under = j->listBaseUnder(*s, "a");
  ASSERT_TRUE(under);
  std::vector<std::string> got;
  for (const auto& e : *under) got.push_back(e.path);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "a/x", "a/y/z", std::string("a/\xff", 3)}));
  auto deeper = j->listBaseUnder(*s, "a/y");
  ASSERT_TRUE(deeper);
  ASSERT_EQ(deeper->size(), 1u);
  EXPECT_EQ((*deeper)[0].path, "a/y/z");
  EXPECT_EQ(j->listBaseUnder(*s, "")->size(), inside.size() + outside.size());

  // Streaming stops at the first error and returns it.
  int seen = 0;
  Status stopped = j->forEachBaseUnder(*s, "a", [&](const BaseEntry&) -> Status {
    if (++seen == 2) return fail(ErrorCode::kAborted, "enough");
    return {};
  });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code(), ErrorCode::kAborted);
  EXPECT_EQ(seen, 2);

  auto n = j->removeBaseUnder(*s, "a");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4);
  auto rest = j->listBase(*s);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->size(), outside.size());
  EXPECT_EQ(j->listBase(*other)->size(), 1u) << "other shares are untouched";
}

// --- objects and reference counts ----------------------------------------------------

int64_t refcount(Journal& j, const ContentHash& id) {
  auto o = j.object(id);
  EXPECT_TRUE(o);
  return o && o->has_value() ? (*o)->refcount : -1;
}

TEST(JournalTest, ObjectRefcountsFollowRowsThroughTriggers) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  ContentHash v1 = hashOf("v1"), v2 = hashOf("v2");
  ASSERT_TRUE(j->putBase(*s, fileEntry("f", 2, v1)));
  EXPECT_EQ(refcount(*j, v1), 1);
  EXPECT_EQ((*j->object(v1))->size, 2u);

  auto snap = j->takeSnapshot(*s, "pre-disconnection");
  ASSERT_TRUE(snap);
  EXPECT_EQ(refcount(*j, v1), 2);

  ASSERT_TRUE(j->dropSnapshot(*snap));
  EXPECT_EQ(refcount(*j, v1), 1);

  ASSERT_TRUE(j->putBase(*s, fileEntry("f", 2, v2)));  // replace the object
  EXPECT_EQ(refcount(*j, v1), 0);
  EXPECT_EQ(refcount(*j, v2), 1);
  auto unref = j->unreferencedObjects();
  ASSERT_TRUE(unref);
  ASSERT_EQ(unref->size(), 1u);
  EXPECT_EQ((*unref)[0].id, v1);

  // A referenced object cannot be forgotten; an unreferenced one can, once.
  auto busy = j->forgetObject(v2);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), ErrorCode::kBusy);
  ASSERT_TRUE(j->forgetObject(v1));
  EXPECT_FALSE(j->object(v1)->has_value());
  EXPECT_EQ(j->forgetObject(v1).error().code(), ErrorCode::kNotFound);

  // The same object under two paths, then conflicts referencing it.
  ASSERT_TRUE(j->putBase(*s, fileEntry("g", 2, v2)));
  EXPECT_EQ(refcount(*j, v2), 2);
  ConflictRecord c;
  c.share_id = *s;
  c.path = "f";
  c.kind = ConflictKind::kContent;
  c.local_object = v2;
  c.base_object = v1;  // forgotten above: the conflict brings the row back
  auto cid = j->addConflict(c);
  ASSERT_TRUE(cid);
  EXPECT_EQ(refcount(*j, v2), 3);
  EXPECT_EQ(refcount(*j, v1), 1);
  EXPECT_FALSE((*j->object(v1))->size.has_value());
  ASSERT_TRUE(j->resolveConflict(*cid, "keep-local"));
  EXPECT_EQ(refcount(*j, v2), 3) << "a resolved conflict still holds its versions";
  auto purged = j->purgeResolvedConflicts(*s);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(refcount(*j, v2), 2);
  EXPECT_EQ(refcount(*j, v1), 0);

  // Removing base rows, one and a subtree, releases too.
  ASSERT_TRUE(j->removeBase(*s, "g"));
  EXPECT_EQ(refcount(*j, v2), 1);
  ASSERT_TRUE(j->removeBaseUnder(*s, ""));
  EXPECT_EQ(refcount(*j, v2), 0);
  EXPECT_EQ(j->unreferencedObjects()->size(), 2u);
}

// --- snapshots -----------------------------------------------------------------------

TEST(JournalTest, SnapshotsCopyTheBaseAtThatInstant) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  auto other = j->addShare(shareSpec("o"));
  ASSERT_TRUE(s && other);
  std::vector<BaseEntry> entries;
  for (const std::string& p : hostilePaths()) entries.push_back(fileEntry(p, 7, hashOf(p)));
  ASSERT_TRUE(j->putBase(*s, entries));
  ASSERT_TRUE(j->putBase(*other, fileEntry("not-in-snapshot", 1)));
  std::vector<Change> ch{Change{ChangeOp::kCreate, "n", {}, 0644, {}}};
  auto seq = j->recordChanges(*s, ch);
  ASSERT_TRUE(seq);
  auto snap = j->takeSnapshot(*s, "offline 2026-11-24");
  ASSERT_TRUE(snap);
  // The base moves on; the snapshot does not.
  ASSERT_TRUE(j->putBase(*s, fileEntry(entries[0].path, 99)));
  ASSERT_TRUE(j->removeBase(*s, entries[1].path));

  auto list = j->snapshots(*s);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, *snap);
  EXPECT_EQ((*list)[0].label, "offline 2026-11-24");
  EXPECT_EQ((*list)[0].through_seq, *seq);
  EXPECT_GT((*list)[0].taken_at_ns, 0);
  auto got = j->snapshotEntries(*snap);
  ASSERT_TRUE(got);
  std::vector<BaseEntry> expected = entries;
  std::sort(expected.begin(), expected.end(),
            [](const BaseEntry& a, const BaseEntry& b) { return a.path < b.path; });
  EXPECT_EQ(*got, expected);
  auto one = j->snapshotEntry(*snap, entries[1].path);
  ASSERT_TRUE(one && one->has_value());
  EXPECT_EQ(**one, entries[1]);
  EXPECT_FALSE(j->snapshotEntry(*snap, "not-in-snapshot")->has_value());
  EXPECT_EQ(j->snapshotEntries(9999).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(j->dropSnapshot(*snap));
  EXPECT_EQ(j->dropSnapshot(*snap).error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(j->snapshots(*s)->empty());
}

// --- conflicts -------------------------------------------------------------------------

TEST(JournalTest, ConflictsRoundTripWithOneOpenPerPath) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  std::vector<int64_t> ids;
  const ConflictKind kinds[] = {ConflictKind::kContent,      ConflictKind::kModifyDelete,
                                ConflictKind::kDeleteModify, ConflictKind::kCreateCreate,
                                ConflictKind::kType,         ConflictKind::kMetadata,
                                ConflictKind::kDirDelete,    ConflictKind::kRenameRename};
  auto paths = hostilePaths();
  for (size_t i = 0; i < paths.size(); ++i) {
    ConflictRecord c;
    c.share_id = *s;
    c.path = paths[i];
    c.kind = kinds[i % 8];
    c.detail = R"({"local":{"size":1},"remote":{"size":2}})";
    c.local_object = hashOf("l" + paths[i]);
    c.remote_object = hashOf("r" + paths[i]);
    auto id = j->addConflict(c);
    ASSERT_TRUE(id) << id.error().toString();
    ids.push_back(*id);
    auto got = j->conflict(*id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->path, paths[i]);
    EXPECT_EQ(got->kind, kinds[i % 8]);
    EXPECT_EQ(conflictKindFromName(conflictKindName(got->kind)), got->kind);
    EXPECT_TRUE(got->open);
    EXPECT_EQ(got->detail, c.detail);
    EXPECT_EQ(got->local_object, c.local_object);
    EXPECT_EQ(got->remote_object, c.remote_object);
    EXPECT_FALSE(got->base_object.has_value());
    EXPECT_GT(got->created_at_ns, 0);
    EXPECT_EQ(got->resolved_at_ns, 0);
  }
  ConflictRecord again;
  again.share_id = *s;
  again.path = paths[0];
  auto dup = j->addConflict(again);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kExists);

  ASSERT_TRUE(j->resolveConflict(ids[0], "stash"));
  auto r = j->conflict(ids[0]);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->open);
  EXPECT_EQ(r->resolution, "stash");
  EXPECT_GT(r->resolved_at_ns, 0);
  EXPECT_EQ(j->resolveConflict(ids[0], "keep-local").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->resolveConflict(ids[1], "").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(j->resolveConflict(424242, "x").error().code(), ErrorCode::kNotFound);

  // Once resolved, the path may conflict again.
  auto id2 = j->addConflict(again);
  ASSERT_TRUE(id2);
  EXPECT_EQ(j->conflict(*id2)->detail, "{}");
  auto open = j->openConflictAt(*s, paths[0]);
  ASSERT_TRUE(open && open->has_value());
  EXPECT_EQ((*open)->id, *id2);
  EXPECT_FALSE(j->openConflictAt(*s, "no-conflict")->has_value());

  auto open_list = j->conflicts(*s, true);
  auto all_list = j->conflicts(*s, false);
  ASSERT_TRUE(open_list && all_list);
  EXPECT_EQ(open_list->size(), paths.size());
  EXPECT_EQ(all_list->size(), paths.size() + 1);
}

// --- transactions -----------------------------------------------------------------------

TEST(JournalTest, NestedTransactionsRollBackOnlyTheirPart) {
  TempDir dir;
  auto j = openOk(dir.file("j.db"));
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  Status outer = j->inTransaction([&]() -> Status {
    if (auto r = j->pin(*s, "kept", 1); !r) return r;
    Status inner = j->inTransaction([&]() -> Status {
      if (auto r = j->pin(*s, "rolled-back", 1); !r) return r;
      return fail(ErrorCode::kAborted, "inner gives up");
    });
    EXPECT_FALSE(inner);
    return j->pin(*s, "also-kept", 2);
  });
  ASSERT_TRUE(outer) << outer.error().toString();
  EXPECT_EQ(*j->pins(*s), (std::vector<Pin>{{"also-kept", 2}, {"kept", 1}}));

  Status failed = j->inTransaction([&]() -> Status {
    if (auto r = j->pin(*s, "x", 1); !r) return r;
    if (auto r = j->putBase(*s, fileEntry("y", 1)); !r) return r;
    return fail(ErrorCode::kAborted, "outer gives up");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kAborted);
  EXPECT_EQ(j->pins(*s)->size(), 2u);
  EXPECT_TRUE(j->listBase(*s)->empty());
}

TEST(JournalTest, ReaderConnectionSeesCommittedData) {
  TempDir dir;
  std::string path = dir.file("j.db");
  auto j = openOk(path);
  ASSERT_TRUE(j);
  auto s = j->addShare(shareSpec("s"));
  ASSERT_TRUE(s);
  RawDb reader(path);
  EXPECT_EQ(reader.scalar("SELECT name FROM shares"), "s");
  ASSERT_TRUE(j->putBase(*s, fileEntry("f", 1)));
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM base"), "1");
}

}  // namespace
}  // namespace hoard::journal
