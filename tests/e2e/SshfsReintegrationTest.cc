// SPDX-License-Identifier: MIT
// The whole engine against a real network filesystem: a share whose remote is
// an sshfs mount of our own sshd. Preload, the link cut mid-session, edits
// made offline in the cache, third-party edits made on the server side, the
// link restored, reintegration checked byte for byte on the server.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "e2e/SshfsFixture.h"
#include "sync/ShareSetup.h"

namespace hoard::e2e {
namespace {

namespace fs = std::filesystem;

class SshfsReintegrationTest : public SshfsTest {
 protected:
  void SetUp() override {
    SshfsTest::SetUp();
    if (HasFatalFailure()) return;
    char tmpl[] = "/tmp/hoard-e2e-share-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto s = store::BaseStore::open(dir_ + "/store");
    ASSERT_TRUE(s) << s.error().toString();
    store_ = std::make_unique<store::BaseStore>(std::move(*s));
  }
  void TearDown() override {
    rt_.reset();
    SshfsTest::TearDown();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void openRuntime() {
    remote::DeadlineRemoteFs::Deadlines d;
    d.metadata = std::chrono::seconds(3);
    d.transfer_idle = std::chrono::seconds(5);
    auto rt = sync::ShareRuntime::open(*journal_, mu_, share_, *store_, pool_, d, "laptop");
    ASSERT_TRUE(rt) << rt.error().toString();
    rt_ = std::move(*rt);
  }
  sync::ReconcileReport sync() {
    auto r = rt_->reconciler().run();
    EXPECT_TRUE(r) << r.error().toString();
    return r ? *r : sync::ReconcileReport{};
  }
  std::string cache(const std::string& rel) { return readFileBytes(cache_ + "/" + rel); }

  std::string dir_, cache_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<store::BaseStore> store_;
  hoard::Mutex mu_;
  int64_t share_ = 0;
  std::shared_ptr<remote::WorkerPool> pool_ = std::make_shared<remote::WorkerPool>(
      remote::WorkerPool::Options{4, 64, "e2e-remote"});
  std::unique_ptr<sync::ShareRuntime> rt_;
};

TEST_F(SshfsReintegrationTest, OfflineWorkAndThirdPartyEditsReintegrateByteForByte) {
  // The server's content before the laptop ever saw it.
  ASSERT_TRUE(writeFileBytes(serverPath("report.txt"), "report v1\n"));
  fs::create_directories(serverPath("notes"));
  ASSERT_TRUE(writeFileBytes(serverPath("notes/monday.txt"), "monday\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("shared.txt"), "shared v1\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("old-name.txt"), "to be renamed\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("gone.txt"), "to be deleted offline\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("a.txt"), "a\n"));

  // Share, preload.
  auto id = sync::createShare(*journal_, mu_, "work", mountPath(), cache_, *pool_);
  ASSERT_TRUE(id) << id.error().toString() << "\n" << harness().logs();
  share_ = *id;
  openRuntime();
  ASSERT_TRUE(rt_->reconciler().recover());
  auto pre = sync();
  ASSERT_FALSE(pre.stopped) << pre.stopped->toString() << "\n" << harness().logs();
  EXPECT_EQ(cache("report.txt"), "report v1\n");
  EXPECT_EQ(cache("notes/monday.txt"), "monday\n");

  // The link goes. A pass now stops as offline: it neither hangs nor deletes.
  ASSERT_TRUE(harness().cutLink()) << harness().logs();
  auto offline = sync();
  ASSERT_TRUE(offline.stopped) << "a pass over a cut link must stop";
  EXPECT_TRUE(offline.stopped->code() == ErrorCode::kOffline ||
              offline.stopped->code() == ErrorCode::kTimeout)
      << offline.stopped->toString();

  // Offline work in the cache (the tracker's part: the rename in the log).
  ASSERT_TRUE(writeFileBytes(cache_ + "/report.txt", "report v2, written on the train\n"));
  ASSERT_TRUE(writeFileBytes(cache_ + "/notes/tuesday.txt", "tuesday, offline\n"));
  fs::rename(cache_ + "/old-name.txt", cache_ + "/new-name.txt");
  fs::remove(cache_ + "/gone.txt");
  ASSERT_TRUE(writeFileBytes(cache_ + "/shared.txt", "shared: my version\n"));
  {
    hoard::MutexLock lock(mu_);
    ASSERT_TRUE(journal_->recordChanges(
        share_, std::vector<Change>{{ChangeOp::kRename, "old-name.txt", "new-name.txt", 0, ""}}));
  }
  // A colleague works on the server meanwhile.
  ASSERT_TRUE(writeFileBytes(serverPath("a.txt"), "a, edited by a colleague\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("shared.txt"), "shared: their version\n"));
  ASSERT_TRUE(writeFileBytes(serverPath("notes/colleague.txt"), "from the server\n"));

  // The link comes back.
  ASSERT_TRUE(harness().restoreLink()) << harness().logs();
  ASSERT_TRUE(harness().waitUntilReachable()) << harness().logs();
  sync::ReconcileReport back;
  for (int attempt = 0; attempt < 5; ++attempt) {  // sshfs may need a moment to reconnect
    back = sync();
    if (!back.stopped) break;
  }
  ASSERT_FALSE(back.stopped) << back.stopped->toString() << "\n" << harness().logs();

  // Byte for byte, on the server's own disk.
  EXPECT_EQ(readFileBytes(serverPath("report.txt")), "report v2, written on the train\n");
  EXPECT_EQ(readFileBytes(serverPath("notes/tuesday.txt")), "tuesday, offline\n");
  EXPECT_EQ(readFileBytes(serverPath("new-name.txt")), "to be renamed\n");
  EXPECT_FALSE(pathExists(serverPath("old-name.txt")));
  EXPECT_FALSE(pathExists(serverPath("gone.txt")));
  EXPECT_EQ(back.renamed_remote, 1u);
  // The colleague's work reached the cache.
  EXPECT_EQ(cache("a.txt"), "a, edited by a colleague\n");
  EXPECT_EQ(cache("notes/colleague.txt"), "from the server\n");
  // The overlap is a conflict; both versions are intact until it is decided.
  ASSERT_EQ(back.new_conflicts.size(), 1u);
  EXPECT_EQ(cache("shared.txt"), "shared: my version\n");
  EXPECT_EQ(readFileBytes(serverPath("shared.txt")), "shared: their version\n");
  EXPECT_EQ(countTemps(harness().exportPath()), 0u);

  ASSERT_TRUE(rt_->reconciler().resolve(back.new_conflicts[0], sync::Resolution::kKeepLocal));
  EXPECT_EQ(readFileBytes(serverPath("shared.txt")), "shared: my version\n");
  auto settled = sync();
  EXPECT_TRUE(settled.clean()) << (settled.stopped ? settled.stopped->toString() : "");
  EXPECT_EQ(settled.pushed + settled.pulled, 0u);
}

}  // namespace
}  // namespace hoard::e2e
