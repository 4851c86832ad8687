// SPDX-License-Identifier: MIT
// The local half of a share on real folders: real SQLite, real inotify, the
// real scanner and store. What a user relies on: every change made while the
// daemon ran, and every change made while it did not, ends up in the change
// log exactly once.

#include "sync/LocalRecorder.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "track/FolderTracker.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class LocalRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-recorder-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/cache";
    fs::create_directories(root_);
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto s = store::BaseStore::open(dir_ + "/store");
    ASSERT_TRUE(s) << s.error().toString();
    store_.emplace(std::move(*s));
    journal::ShareSpec spec;
    spec.name = "docs";
    spec.cache_root = root_;
    spec.remote_root = dir_ + "/remote";
    auto id = journal_->addShare(spec);
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& bytes) {
    std::ofstream(root_ + "/" + rel, std::ios::binary | std::ios::trunc) << bytes;
  }
  void adopt() {
    auto r = adoptAsBase(*journal_, share_, root_, *store_, store::KeepPolicy{});
    ASSERT_TRUE(r) << r.error().toString();
  }
  std::vector<Change> log() {
    auto l = journal_->changes(share_, 0);
    EXPECT_TRUE(l) << l.error().toString();
    std::vector<Change> out;
    for (auto& lc : *l) out.push_back(lc.change);
    return out;
  }
  static Change ch(ChangeOp op, std::string path, std::string to = {}) {
    Change c;
    c.op = op;
    c.path = std::move(path);
    c.to = std::move(to);
    return c;
  }
  // Compares op and paths only (modes are checked where they matter).
  static std::vector<std::string> render(const std::vector<Change>& cs) {
    std::vector<std::string> out;
    for (const auto& c : cs)
      out.push_back(std::string(changeOpName(c.op)) + " " + c.path +
                    (c.to.empty() ? "" : " -> " + c.to));
    return out;
  }

  std::string dir_, root_;
  std::unique_ptr<journal::Journal> journal_;
  std::optional<store::BaseStore> store_;
  int64_t share_ = 0;
  Mutex mu_;
};

TEST_F(LocalRecorderTest, AdoptRecordsEveryEntryAndKeepsTextContent) {
  fs::create_directories(root_ + "/sub");
  write("sub/notes.txt", "hello\n");
  write("image.bin", std::string("\0\1\2\3", 4));
  ASSERT_EQ(symlink("sub/notes.txt", (root_ + "/link").c_str()), 0);
  adopt();
  auto base = journal_->listBase(share_);
  ASSERT_TRUE(base);
  ASSERT_EQ(base->size(), 4u);
  auto notes = journal_->getBase(share_, "sub/notes.txt");
  ASSERT_TRUE(notes && *notes);
  EXPECT_EQ((*notes)->hash, hashBytes("hello\n"));
  ASSERT_TRUE((*notes)->object);  // text: content kept
  auto fd = store_->open(*(*notes)->object);
  ASSERT_TRUE(fd);
  char buf[16] = {};
  EXPECT_EQ(pread(fd->get(), buf, sizeof buf, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "hello\n");
  auto image = journal_->getBase(share_, "image.bin");
  ASSERT_TRUE(image && *image);
  EXPECT_EQ((*image)->hash, hashBytes(std::string("\0\1\2\3", 4)));
  EXPECT_FALSE((*image)->object);  // binary: metadata and hash only
  auto link = journal_->getBase(share_, "link");
  ASSERT_TRUE(link && *link);
  EXPECT_EQ((*link)->local.type, FileType::kSymlink);
  EXPECT_EQ((*link)->symlink_target, "sub/notes.txt");
}

TEST_F(LocalRecorderTest, RescanFindsChangesMadeWhileNotRunning) {
  fs::create_directories(root_ + "/d");
  write("d/a.txt", "a");
  write("b.txt", "b");
  write("gone.txt", "g");
  adopt();
  LocalRecorder rec(*journal_, mu_, share_, root_);
  auto none = rec.rescan("", false);
  ASSERT_TRUE(none) << none.error().toString();
  EXPECT_EQ(none->changes_recorded, 0u);  // an unchanged tree adds nothing

  write("b.txt", "bb");
  fs::rename(root_ + "/d/a.txt", root_ + "/d/renamed.txt");
  fs::remove(root_ + "/gone.txt");
  write("new.txt", "n");
  auto r = rec.rescan("", false);
  ASSERT_TRUE(r) << r.error().toString();
  auto got = render(log());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"create new.txt", "rename d/a.txt -> d/renamed.txt",
                                           "unlink gone.txt", "write b.txt"}));
  // A second rescan adds nothing: the projection already holds the log.
  auto again = rec.rescan("", false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->changes_recorded, 0u);
  EXPECT_EQ(log().size(), 4u);
}

TEST_F(LocalRecorderTest, RescanOnlyAddsWhatTheLogIsMissing) {
  write("kept.txt", "k");
  write("edited.txt", "e");
  adopt();
  LocalRecorder rec(*journal_, mu_, share_, root_);
  // The tracker saw the rename and the edit...
  fs::rename(root_ + "/kept.txt", root_ + "/moved.txt");
  write("edited.txt", "edited");
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kRename, "kept.txt", "moved.txt"),
                                 ch(ChangeOp::kWrite, "edited.txt")}));
  // ...then events were lost while more happened.
  write("lost.txt", "created during an overflow");
  fs::remove(root_ + "/edited.txt");
  rec.rescanNeeded("");
  ASSERT_TRUE(rec.rescanPending());
  auto reports = rec.runPendingRescans();
  ASSERT_TRUE(reports) << reports.error().toString();
  EXPECT_FALSE(rec.rescanPending());
  auto got = render(log());
  std::sort(got.begin(), got.end());
  // The rename is not reported twice; the edited file's delete is caught (and
  // the optimiser turns write+unlink into the unlink).
  EXPECT_EQ(got, (std::vector<std::string>{"create lost.txt", "rename kept.txt -> moved.txt",
                                           "unlink edited.txt"}));
}

TEST_F(LocalRecorderTest, VerifyCatchesSameSizeAndMtimeWithOtherBytes) {
  write("f.txt", "abcd");
  adopt();
  struct stat before;
  ASSERT_EQ(stat((root_ + "/f.txt").c_str(), &before), 0);
  write("f.txt", "wxyz");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ + "/f.txt").c_str(), times, 0), 0);
  // Make the base's ctime match too, as if the base had been recorded after
  // the rewrite: only the bytes can tell.
  auto entry = journal_->getBase(share_, "f.txt");
  ASSERT_TRUE(entry && *entry);
  struct stat after;
  ASSERT_EQ(stat((root_ + "/f.txt").c_str(), &after), 0);
  BaseEntry e = **entry;
  e.local = FileMeta::fromStat(after);
  ASSERT_TRUE(journal_->putBase(share_, e));

  LocalRecorder rec(*journal_, mu_, share_, root_);
  auto plain = rec.rescan("", false);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->changes_recorded, 0u);
  auto verified = rec.rescan("", true);
  ASSERT_TRUE(verified);
  EXPECT_EQ(render(log()), (std::vector<std::string>{"write f.txt"}));
}

TEST_F(LocalRecorderTest, LiveTrackingThenRestartLosesNothing) {
  fs::create_directories(root_ + "/proj");
  write("proj/main.c", "int main(){}");
  adopt();
  {
    LocalRecorder rec(*journal_, mu_, share_, root_);
    auto tracker = track::FolderTracker::start(root_, rec);
    ASSERT_TRUE(tracker) << tracker.error().toString();
    write("proj/main.c", "int main(){return 1;}");
    fs::create_directories(root_ + "/proj/src");
    write("proj/src/util.c", "void f(){}");
    fs::rename(root_ + "/proj/src/util.c", root_ + "/proj/src/helpers.c");
    // Wait for the tracker to make the last change durable.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      std::vector<std::string> got;
      {
        MutexLock lock(mu_);
        got = render(log());
      }
      if (std::find(got.begin(), got.end(), "create proj/src/helpers.c") != got.end()) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "tracker never logged the rename";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE((*tracker)->stop());
  }
  // While "hoardd" is down:
  write("proj/README", "offline notes");
  // Restart: the start-up rescan adds exactly the offline change.
  LocalRecorder rec(*journal_, mu_, share_, root_);
  auto r = rec.rescan("", false);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->changes_recorded, 1u);
  auto got = render(log());
  EXPECT_EQ(got, (std::vector<std::string>{"write proj/main.c", "mkdir proj/src",
                                           "create proj/src/helpers.c", "create proj/README"}));
}

// What the tracker logs when a new directory's scan wins the race with the
// inotify queue (seen in CI): the file under its final name first, then the
// queued rename from a name the log never held. A restart's rescan must not
// log the file a second time: the rename of a name that was not there
// changed nothing.
TEST_F(LocalRecorderTest, ARenameFromANameTheLogNeverHeldDoesNotHideItsDestination) {
  fs::create_directories(root_ + "/proj");
  write("proj/main.c", "int main(){}");
  adopt();
  fs::create_directories(root_ + "/proj/src");
  write("proj/src/helpers.c", "void f(){}");
  ASSERT_TRUE(journal_->recordChanges(
      share_, std::vector<Change>{ch(ChangeOp::kMkdir, "proj/src"),
                                  ch(ChangeOp::kCreate, "proj/src/helpers.c"),
                                  ch(ChangeOp::kRename, "proj/src/util.c", "proj/src/helpers.c")}));
  LocalRecorder rec(*journal_, mu_, share_, root_);
  auto r = rec.rescan("", false);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->changes_recorded, 0u) << ::testing::PrintToString(render(log()));
  // A rename of a name that is there still moves it.
  write("proj/src/old.c", "x");
  ASSERT_TRUE(journal_->recordChanges(
      share_, std::vector<Change>{ch(ChangeOp::kCreate, "proj/src/old.c"),
                                  ch(ChangeOp::kRename, "proj/src/old.c", "proj/src/new.c")}));
  fs::rename(root_ + "/proj/src/old.c", root_ + "/proj/src/new.c");
  r = rec.rescan("", false);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->changes_recorded, 0u) << ::testing::PrintToString(render(log()));
}

TEST_F(LocalRecorderTest, EventsOfHoardsOwnWritesAreNotLoggedButRealEditsAre) {
  write("pulled.txt", "as hoard wrote it");
  adopt();  // the base now records exactly what is on disk, as after a pull
  LocalRecorder rec(*journal_, mu_, share_, root_);
  // The tracker reports the pull's create and attribute events.
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kCreate, "pulled.txt"),
                                 ch(ChangeOp::kXattr, "pulled.txt")}));
  EXPECT_TRUE(log().empty()) << "a file identical to its base is not a local change";
  // The user then edits it: that is one.
  write("pulled.txt", "edited by the user");
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kWrite, "pulled.txt")}));
  EXPECT_EQ(render(log()), (std::vector<std::string>{"write pulled.txt"}));
}

TEST_F(LocalRecorderTest, WritesOfARunningPassListedAsItsOwnAreNotLoggedUntilTheFileChanges) {
  // A pass pulled these files; their base rows wait for the batch commit, so
  // only the own-writes list knows them.
  write("a.txt", "pulled a");
  write("b.txt", "pulled b");
  auto own = std::make_shared<OwnWrites>();
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/a.txt").c_str(), &st), 0);
  own->pending["a.txt"] = FileMeta::fromStat(st);
  ASSERT_EQ(::lstat((root_ + "/b.txt").c_str(), &st), 0);
  own->pending["b.txt"] = FileMeta::fromStat(st);
  LocalRecorder rec(*journal_, mu_, share_, root_, own);
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kCreate, "a.txt"), ch(ChangeOp::kCreate, "b.txt")}));
  EXPECT_TRUE(log().empty()) << "the pass's own files are not local changes";
  // The user edits b.txt before the batch is committed (another size, so
  // other metadata however coarse the clock): that is a change.
  write("b.txt", "the user's own words");
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kWrite, "b.txt")}));
  EXPECT_EQ(render(log()), (std::vector<std::string>{"write b.txt"}));
}

TEST_F(LocalRecorderTest, WritesToANameThatIsGoneAreNotLoggedWhatRemovedItIs) {
  LocalRecorder rec(*journal_, mu_, share_, root_);
  // An unnamed temporary (O_TMPFILE) reports its writes as "#<inode>".
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kWrite, "#2884594"),
                                 ch(ChangeOp::kChmod, "#2884594")}));
  EXPECT_TRUE(log().empty());
  // A file written and then renamed before the events were read: the rename
  // is logged (and the new name's content is compared with the base later).
  write("draft.txt", "text");
  ASSERT_EQ(::rename((root_ + "/draft.txt").c_str(), (root_ + "/final.txt").c_str()), 0);
  ASSERT_TRUE(rec.recordChanges({ch(ChangeOp::kWrite, "draft.txt"),
                                 ch(ChangeOp::kRename, "draft.txt", "final.txt")}));
  EXPECT_EQ(render(log()), (std::vector<std::string>{"rename draft.txt -> final.txt"}));
}

}  // namespace
}  // namespace hoard::sync
