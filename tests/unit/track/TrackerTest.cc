// SPDX-License-Identifier: MIT
// The tracker on a FakeWatcher: every event kind, rename pairing, overflow and
// lost watches, coalescing, sink failures, hostile names. No kernel.

#include "track/Tracker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "track/CollectingSink.h"
#include "track/FakeWatcher.h"

namespace hoard::track {
namespace {

using ::testing::ElementsAre;
using W = FakeWatcher;
using namespace std::chrono_literals;

Change ch(ChangeOp op, RelPath p, RelPath to = {}, uint32_t mode = 0, std::string target = {}) {
  Change c;
  c.op = op;
  c.path = std::move(p);
  c.to = std::move(to);
  c.mode = mode;
  c.target = std::move(target);
  return c;
}
Change create(RelPath p, uint32_t mode) { return ch(ChangeOp::kCreate, p, {}, mode); }
Change mkdir(RelPath p, uint32_t mode) { return ch(ChangeOp::kMkdir, p, {}, mode); }
Change write(RelPath p) { return ch(ChangeOp::kWrite, p); }
Change unlink(RelPath p) { return ch(ChangeOp::kUnlink, p); }
Change rmdir(RelPath p) { return ch(ChangeOp::kRmdir, p); }
Change rename(RelPath a, RelPath b) { return ch(ChangeOp::kRename, a, b); }
Change chmod(RelPath p, uint32_t mode) { return ch(ChangeOp::kChmod, p, {}, mode); }
Change xattr(RelPath p) { return ch(ChangeOp::kXattr, p); }
Change symlink(RelPath p, std::string t) { return ch(ChangeOp::kSymlink, p, {}, 0, t); }

class TrackerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(watcher_.start("/cache", {})); }

  // Feeds one batch through the watcher and the tracker.
  Status feed(std::vector<WatchEvent> batch) {
    watcher_.push(std::move(batch));
    return tracker_.pollOnce(0ms);
  }

  FakeWatcher watcher_;
  CollectingSink sink_;
  Tracker tracker_{watcher_, sink_};
};

TEST_F(TrackerTest, CreatedFileDirAndSymlinkBecomeCreateMkdirSymlink) {
  ASSERT_TRUE(feed({W::created("d", FileType::kDir, 0750), W::created("d/f", FileType::kFile, 0600),
                    W::created("d/l", FileType::kSymlink, 0777, "../target")}));
  EXPECT_THAT(sink_.changes(),
              ElementsAre(mkdir("d", 0750), create("d/f", 0600), symlink("d/l", "../target")));
}

TEST_F(TrackerTest, CreatedWithoutMetadataHasUnknownMode) {
  WatchEvent gone = W::created("f", FileType::kFile);
  gone.meta.reset();  // the file was gone when the event was read
  ASSERT_TRUE(feed({gone}));
  EXPECT_THAT(sink_.changes(), ElementsAre(create("f", 0)));
}

TEST_F(TrackerTest, FifosAndSocketsAreNotTracked) {
  ASSERT_TRUE(feed({W::created("fifo", FileType::kOther, 0644), W::created("f", FileType::kFile)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(create("f", 0644)));
}

TEST_F(TrackerTest, HoardsOwnTemporariesAreNotRecordedOnlyWhereTheyLand) {
  // A pull writes .hoard-tmp-*, sets its mode and mtime, renames it into place.
  ASSERT_TRUE(feed({W::created("d/.hoard-tmp-0a1b2c3d", FileType::kFile, 0600),
                    W::modified("d/.hoard-tmp-0a1b2c3d"),
                    W::attrib("d/.hoard-tmp-0a1b2c3d", FileType::kFile, 0644),
                    W::movedFrom("d/.hoard-tmp-0a1b2c3d", 5),
                    W::movedTo("d/report.txt", 5, FileType::kFile, 0644),
                    W::created(".hoard-tmp-ffff0000", FileType::kFile, 0600),
                    W::deleted(".hoard-tmp-ffff0000")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(create("d/report.txt", 0644)));
}

TEST_F(TrackerTest, ANameThatOnlyContainsTheTemporaryPrefixIsTheUsers) {
  ASSERT_TRUE(feed({W::created("notes.hoard-tmp-1", FileType::kFile, 0644),
                    W::created(".hoard-tmp-dir/f", FileType::kFile, 0644)}));
  // The second is beneath a directory with a temporary's name: still the user's file.
  EXPECT_THAT(sink_.changes(),
              ElementsAre(create("notes.hoard-tmp-1", 0644), create(".hoard-tmp-dir/f", 0644)));
}

TEST_F(TrackerTest, ModifiedBecomesWrite) {
  ASSERT_TRUE(feed({W::modified("f")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(write("f")));
}

TEST_F(TrackerTest, DeletedBecomesUnlinkOrRmdir) {
  ASSERT_TRUE(feed({W::deleted("d/f"), W::deleted("d", true)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(unlink("d/f"), rmdir("d")));
}

TEST_F(TrackerTest, AttribOnUnknownPathIsChmodWithCurrentModeAndXattr) {
  ASSERT_TRUE(feed({W::attrib("f", FileType::kFile, 0600)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(chmod("f", 0600), xattr("f")));
}

TEST_F(TrackerTest, AttribWithUnchangedKnownModeIsOnlyXattr) {
  ASSERT_TRUE(feed({W::created("f", FileType::kFile, 0644)}));
  ASSERT_TRUE(feed({W::attrib("f", FileType::kFile, 0644)}));
  ASSERT_TRUE(feed({W::attrib("f", FileType::kFile, 0755)}));
  EXPECT_THAT(sink_.changes(),
              ElementsAre(create("f", 0644), xattr("f"), chmod("f", 0755), xattr("f")));
}

TEST_F(TrackerTest, AttribOnDirectoryIsChmodOfTheDirectory) {
  ASSERT_TRUE(feed({W::attrib("d", FileType::kDir, 0700)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(chmod("d", 0700), xattr("d")));
}

TEST_F(TrackerTest, AttribOfVanishedPathOrSymlinkOrRootIsIgnored) {
  WatchEvent gone = W::attrib("f", FileType::kFile, 0644);
  gone.meta.reset();
  ASSERT_TRUE(feed({gone, W::attrib("l", FileType::kSymlink, 0777),
                    W::attrib("", FileType::kDir, 0755)}));
  EXPECT_TRUE(sink_.changes().empty());
  EXPECT_EQ(sink_.recordCalls(), 0u);
}

TEST_F(TrackerTest, ModeKnowledgeFollowsRenames) {
  ASSERT_TRUE(feed({W::created("d", FileType::kDir, 0755), W::created("d/f", FileType::kFile, 0640)}));
  ASSERT_TRUE(feed({W::movedFrom("d", 9, true), W::movedTo("e", 9, FileType::kDir, 0755)}));
  sink_.clear();
  ASSERT_TRUE(feed({W::attrib("e/f", FileType::kFile, 0640)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(xattr("e/f")));
}

TEST_F(TrackerTest, RenameHalvesArePairedByCookie) {
  ASSERT_TRUE(feed({W::movedFrom("a", 7), W::movedFrom("b", 8), W::movedTo("y", 8),
                    W::movedTo("x", 7)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(rename("a", "x"), rename("b", "y")));
}

TEST_F(TrackerTest, DirectoryRenameIsOneRename) {
  ASSERT_TRUE(feed({W::movedFrom("src", 3, true), W::movedTo("dst", 3, FileType::kDir, 0755),
                    W::modified("dst/f")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(rename("src", "dst"), write("dst/f")));
}

TEST_F(TrackerTest, UnmatchedMovedFromIsADelete) {
  ASSERT_TRUE(feed({W::movedFrom("f", 11), W::movedTo("elsewhere", 12)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(unlink("f"), create("elsewhere", 0644)));
  EXPECT_TRUE(sink_.rescans().empty());
}

TEST_F(TrackerTest, DirectoryMovedOutIsRmdirAndRescanOfIt) {
  ASSERT_TRUE(feed({W::movedFrom("proj", 5, true)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(rmdir("proj")));
  EXPECT_THAT(sink_.rescans(), ElementsAre("proj"));
}

TEST_F(TrackerTest, HalvesInDifferentBatchesAreNotPaired) {
  // The watcher promises both halves in one batch; a lone half is a move
  // across the root's border.
  ASSERT_TRUE(feed({W::movedFrom("a", 4)}));
  ASSERT_TRUE(feed({W::movedTo("b", 4)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(unlink("a"), create("b", 0644)));
}

TEST_F(TrackerTest, UnmatchedMovedToIsACreateOfItsType) {
  ASSERT_TRUE(feed({W::movedTo("in", 1, FileType::kDir, 0700), W::created("in/x", FileType::kFile),
                    W::movedTo("f", 2, FileType::kFile, 0600),
                    W::movedTo("l", 3, FileType::kSymlink, 0777)}));
  auto got = sink_.changes();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], mkdir("in", 0700));
  EXPECT_EQ(got[1], create("in/x", 0644));
  EXPECT_EQ(got[2], create("f", 0600));
  EXPECT_EQ(got[3].op, ChangeOp::kSymlink);
}

TEST_F(TrackerTest, OverflowAsksForAFullRescanAfterRecordingWhatCameBefore) {
  ASSERT_TRUE(feed({W::created("a", FileType::kFile), W::overflow(), W::watchLost("x")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(create("a", 0644)));
  EXPECT_THAT(sink_.rescans(), ElementsAre(""));
}

TEST_F(TrackerTest, WatchLostAsksForARescanOfTheSubtree) {
  ASSERT_TRUE(feed({W::watchLost("a/b"), W::watchLost("a/b/c"), W::watchLost("z")}));
  EXPECT_THAT(sink_.rescans(), ElementsAre("a/b", "z"));
  EXPECT_EQ(tracker_.stats().rescans, 2u);
}

TEST_F(TrackerTest, RepeatedModifiesBecomeOneWrite) {
  std::vector<WatchEvent> batch(10, W::modified("f"));
  batch.push_back(W::modified("g"));
  batch.push_back(W::modified("f"));
  ASSERT_TRUE(feed(batch));
  EXPECT_THAT(sink_.changes(), ElementsAre(write("f"), write("g")));
}

TEST_F(TrackerTest, WritesAfterCreateAndDuplicateCreatesAreAbsorbed) {
  WatchEvent synthetic = W::created("d/f", FileType::kFile, 0644);
  synthetic.synthetic = true;
  ASSERT_TRUE(feed({W::created("d", FileType::kDir, 0755), synthetic, W::created("d", FileType::kDir, 0755),
                    W::created("d/f", FileType::kFile, 0644), W::modified("d/f"),
                    W::modified("d/f")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(mkdir("d", 0755), create("d/f", 0644)));
}

TEST_F(TrackerTest, ChmodAfterCreateUpdatesTheCreate) {
  ASSERT_TRUE(feed({W::created("f", FileType::kFile, 0644), W::attrib("f", FileType::kFile, 0600),
                    W::attrib("f", FileType::kFile, 0400)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(create("f", 0400)));
}

TEST_F(TrackerTest, RenameEndsCoalescingSoOrderIsKept) {
  ASSERT_TRUE(feed({W::modified("a"), W::movedFrom("a", 1), W::movedTo("b", 1),
                    W::created("a", FileType::kFile, 0644), W::modified("a"), W::modified("b")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(write("a"), rename("a", "b"), create("a", 0644),
                                           write("b")));
}

TEST_F(TrackerTest, DeleteOfParentEndsCoalescingBeneathIt) {
  ASSERT_TRUE(feed({W::created("d", FileType::kDir, 0755), W::created("d/f", FileType::kFile, 0644),
                    W::deleted("d/f"), W::deleted("d", true), W::created("d", FileType::kDir, 0755),
                    W::created("d/f", FileType::kFile, 0644)}));
  EXPECT_THAT(sink_.changes(), ElementsAre(mkdir("d", 0755), create("d/f", 0644), unlink("d/f"),
                                           rmdir("d"), mkdir("d", 0755), create("d/f", 0644)));
}

TEST_F(TrackerTest, SinkFailureKeepsEverythingAndRetryDeliversItInOrder) {
  sink_.failNext(2, Error(ErrorCode::kIo, "journal: disk I/O error", EIO));
  Status s = feed({W::created("a", FileType::kFile, 0644)});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kIo);
  EXPECT_THAT(s.error().message(), ::testing::HasSubstr("kept for retry"));
  EXPECT_EQ(tracker_.pendingCount(), 1u);

  s = feed({W::modified("a"), W::modified("b"), W::movedFrom("b", 2), W::movedTo("c", 2)});
  ASSERT_FALSE(s);
  EXPECT_EQ(tracker_.pendingCount(), 3u);  // the write of a folded into its create
  EXPECT_TRUE(sink_.changes().empty());

  ASSERT_TRUE(tracker_.flush());
  EXPECT_THAT(sink_.changes(), ElementsAre(create("a", 0644), write("b"), rename("b", "c")));
  EXPECT_EQ(tracker_.pendingCount(), 0u);
  TrackerStats st = tracker_.stats();
  EXPECT_EQ(st.record_failures, 2u);
  EXPECT_EQ(st.changes_recorded, 3u);
  EXPECT_EQ(st.events, 5u);
}

TEST_F(TrackerTest, AfterASuccessfulFlushWritesAreReportedAgain) {
  ASSERT_TRUE(feed({W::modified("f")}));
  ASSERT_TRUE(feed({W::modified("f")}));
  EXPECT_THAT(sink_.changes(), ElementsAre(write("f"), write("f")));
}

TEST_F(TrackerTest, HostileNamesPassThroughUnchanged) {
  const RelPath non_utf8 = std::string("caf\xe9-\xff\xfe", 7);
  const RelPath newline = "line1\nline2";
  const RelPath longest = std::string(255, 'n');
  const RelPath deep = "d/" + std::string(255, 'x') + "/" + non_utf8 + "/" + newline;
  ASSERT_TRUE(feed({W::created(non_utf8, FileType::kFile, 0644),
                    W::created(newline, FileType::kFile, 0644),
                    W::created(longest, FileType::kDir, 0755), W::modified(deep),
                    W::movedFrom(non_utf8, 3), W::movedTo(longest + "/" + newline, 3),
                    W::created("l", FileType::kSymlink, 0777, non_utf8 + "\n")}));
  EXPECT_THAT(sink_.changes(),
              ElementsAre(create(non_utf8, 0644), create(newline, 0644), mkdir(longest, 0755),
                          write(deep), rename(non_utf8, longest + "/" + newline),
                          symlink("l", non_utf8 + "\n")));
}

TEST_F(TrackerTest, WatcherErrorIsReturnedByPollOnce) {
  watcher_.failNextRead(Error(ErrorCode::kIo, "inotify: read failed", EIO));
  Status s = tracker_.pollOnce(0ms);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kIo);
}

TEST_F(TrackerTest, ExcludedNamesNeverReachTheSink) {
  FakeWatcher w;
  ASSERT_TRUE(w.start("/cache", {.exclude = [](std::string_view n) {
                        return n.substr(0, 11) == ".hoard-tmp-";
                      }}));
  CollectingSink sink;
  Tracker t(w, sink);
  w.push({W::created("d/.hoard-tmp-1", FileType::kFile), W::modified("d/.hoard-tmp-1"),
          W::movedFrom("d/.hoard-tmp-1", 5), W::movedTo("d/f", 5)});
  ASSERT_TRUE(t.pollOnce(0ms));
  EXPECT_THAT(sink.changes(), ElementsAre(create("d/f", 0644)));
}

// run() on a thread: events pushed from the test thread arrive, a failing sink
// is retried until it takes them, and stop() ends the loop.
TEST(TrackerThreadTest, RunRetriesAFailingSinkAndStopsCleanly) {
  FakeWatcher watcher;
  ASSERT_TRUE(watcher.start("/cache", {}));
  CollectingSink sink;
  sink.failNext(3, Error(ErrorCode::kIo, "journal: disk full", ENOSPC));
  std::vector<Error> reported;
  std::mutex mu;
  TrackerOptions opts;
  opts.retry_initial = 1ms;
  opts.retry_max = 4ms;
  opts.idle_wait = 20ms;
  opts.on_error = [&](const Error& e) {
    std::lock_guard lock(mu);
    reported.push_back(e);
  };
  Tracker tracker(watcher, sink, opts);
  TrackerThread thread(tracker);
  watcher.push({W::created("a", FileType::kFile, 0644), W::modified("b")});
  ASSERT_TRUE(sink.waitForCount(2, 30s));
  watcher.push({W::deleted("a")});
  ASSERT_TRUE(sink.waitForCount(3, 30s));
  ASSERT_TRUE(thread.stop());
  EXPECT_THAT(sink.changes(), ElementsAre(create("a", 0644), write("b"), unlink("a")));
  EXPECT_EQ(sink.failedCalls(), 3u);
  std::lock_guard lock(mu);
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[0].sysErrno(), ENOSPC);
}

TEST(TrackerThreadTest, StopWhileBlockedInReadReturnsPromptly) {
  FakeWatcher watcher;
  ASSERT_TRUE(watcher.start("/cache", {}));
  CollectingSink sink;
  TrackerOptions opts;
  opts.idle_wait = std::chrono::hours(1);  // only wakeup() can end the wait
  Tracker tracker(watcher, sink, opts);
  {
    TrackerThread thread(tracker);
    watcher.push({W::modified("x")});
    ASSERT_TRUE(sink.waitForCount(1, 30s));
    EXPECT_TRUE(thread.stop());
  }
  EXPECT_THAT(sink.changes(), ElementsAre(write("x")));
}

TEST(TrackerThreadTest, RunEndsWithTheWatchersErrorWhenTheWatcherIsNotRunning) {
  FakeWatcher watcher;  // never started
  CollectingSink sink;
  Tracker tracker(watcher, sink);
  Status s = tracker.run();
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
}

TEST(TrackerThreadTest, PendingChangesSurviveAStopWithAFailingSink) {
  FakeWatcher watcher;
  ASSERT_TRUE(watcher.start("/cache", {}));
  CollectingSink sink;
  sink.failNext(1000000, Error(ErrorCode::kIo, "journal: read-only", EROFS));
  TrackerOptions opts;
  opts.retry_initial = 1ms;
  opts.retry_max = 2ms;
  Tracker tracker(watcher, sink, opts);
  {
    TrackerThread thread(tracker);
    watcher.push({W::created("kept", FileType::kFile, 0644)});
    // Wait for a delivery attempt to have failed, so the change is pending.
    for (int i = 0; i < 30000 && sink.failedCalls() == 0; ++i)
      std::this_thread::sleep_for(1ms);
    ASSERT_GT(sink.failedCalls(), 0u);
  }
  EXPECT_EQ(tracker.pendingCount(), 1u);
  sink.failNext(0, Error(ErrorCode::kIo, "healed"));
  ASSERT_TRUE(tracker.flush());
  EXPECT_THAT(sink.changes(), ElementsAre(create("kept", 0644)));
}

}  // namespace
}  // namespace hoard::track
