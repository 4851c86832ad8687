// SPDX-License-Identifier: MIT
// Issue 11: the mode and user.* xattrs a decision leaves on both sides. A
// result is the winner's with the winner's mode and xattrs (design: merged
// results "with mode and xattrs as the winning side's"; for a merge the
// winner is the cache, where it has the file): a merged text, a merged
// database, keep-remote, and stash (the cache's copy keeps the cache's).
// The two sides hold different modes and xattrs when the conflict is
// detected, so a test that took either side's for the other fails.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "SqliteMerge.h"
#include "integration/sync/ReconcilerFixture.h"
#include "integration/sync/SqliteChild.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using Xattrs = std::map<std::string, std::string>;

const Xattrs kCacheXattrs = {{"user.tag", "cache"}, {"user.only-cache", "1\n\xff"}};
const Xattrs kRemoteXattrs = {{"user.tag", "remote"}, {"user.only-remote", "2"}};

class ApplyMetadataTest : public ReconcilerTest {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    if (HasFatalFailure()) return;
    std::string probe = remote_root_ + "/.probe";
    put(probe, "");
    if (::setxattr(probe.c_str(), "user.probe", "1", 1, 0) != 0)
      GTEST_SKIP() << "no user xattrs on " << remote_root_;
    fs::remove(probe);
  }
  static Xattrs xattrsOf(const std::string& abs) {
    Xattrs out;
    char names[4096];
    ssize_t n = ::llistxattr(abs.c_str(), names, sizeof names);
    for (ssize_t at = 0; n > 0 && at < n; at += static_cast<ssize_t>(strlen(names + at)) + 1) {
      std::string name(names + at);
      if (name.rfind("user.", 0) != 0) continue;
      char value[4096];
      ssize_t v = ::lgetxattr(abs.c_str(), name.c_str(), value, sizeof value);
      out[name] = v < 0 ? "<error>" : std::string(value, static_cast<size_t>(v));
    }
    return out;
  }
  static void give(const std::string& abs, uint32_t mode, const Xattrs& x) {
    ASSERT_EQ(::chmod(abs.c_str(), mode), 0) << abs;
    for (const auto& [n, v] : x)
      ASSERT_EQ(::setxattr(abs.c_str(), n.c_str(), v.data(), v.size(), 0), 0) << abs << " " << n;
  }
  static uint32_t modeOf(const std::string& abs) {
    struct stat st {};
    return ::lstat(abs.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  // Both sides edited `p` (written by `edit`), each with its own mode and
  // xattrs: one open conflict.
  journal::ConflictRecord conflictWithMetadata(const std::string& p,
                                               const std::function<void(const std::string&,
                                                                        const std::string&)>& edit) {
    edit(cache_ + "/" + p, "L");
    edit(remote_root_ + "/" + p, "R");
    give(cache_ + "/" + p, 0600, kCacheXattrs);
    give(remote_root_ + "/" + p, 0640, kRemoteXattrs);
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    return open.empty() ? journal::ConflictRecord{} : open[0];
  }
  journal::ConflictRecord textConflict() {
    seed({{"doc.txt", "base"}});
    return conflictWithMetadata("doc.txt", [](const std::string& abs, const std::string& who) {
      put(abs, who);
    });
  }
  void expectBothSides(const std::string& p, uint32_t mode, const Xattrs& x) {
    EXPECT_EQ(modeOf(cache_ + "/" + p), mode) << p << " in the cache";
    EXPECT_EQ(modeOf(remote_root_ + "/" + p), mode) << p << " on the remote";
    EXPECT_EQ(xattrsOf(cache_ + "/" + p), x) << p << " in the cache";
    EXPECT_EQ(xattrsOf(remote_root_ + "/" + p), x) << p << " on the remote";
  }
  UniqueFd bytesFd(const std::string& bytes) {
    UniqueFd fd(::memfd_create("merged", MFD_CLOEXEC));
    EXPECT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return fd;
  }
};

TEST_F(ApplyMetadataTest, AMergedTextTakesTheCachesModeAndXattrsOnBothSides) {
  auto c = textConflict();
  ASSERT_TRUE(c.open);
  UniqueFd merged = bytesFd("L and R\r\nmerged");
  Status ok = reconciler_->apply(c.id, ConflictDecision{Resolution::kMerged, merged.get(),
                                                        "git-merge", "git-merge", ""});
  ASSERT_TRUE(ok) << ok.error().toString();
  EXPECT_EQ(local("doc.txt"), "L and R\r\nmerged");
  EXPECT_EQ(remote("doc.txt"), "L and R\r\nmerged");
  expectBothSides("doc.txt", 0600, kCacheXattrs);
  // What both sides hold is the base: nothing moves, metadata included.
  auto again = sync();
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(again.pushed + again.pulled, 0u);
  expectBothSides("doc.txt", 0600, kCacheXattrs);
}

TEST_F(ApplyMetadataTest, KeepRemoteTakesTheRemotesModeAndXattrsOnBothSides) {
  auto c = textConflict();
  ASSERT_TRUE(c.open);
  Status ok = reconciler_->resolve(c.id, Resolution::kKeepRemote);
  ASSERT_TRUE(ok) << ok.error().toString();
  EXPECT_EQ(local("doc.txt"), "R");
  expectBothSides("doc.txt", 0640, kRemoteXattrs);
  EXPECT_TRUE(sync().clean());
  expectBothSides("doc.txt", 0640, kRemoteXattrs);
}

TEST_F(ApplyMetadataTest, StashKeepsEachVersionsOwnModeAndXattrs) {
  auto c = textConflict();
  ASSERT_TRUE(c.open);
  Status ok = reconciler_->resolve(c.id, Resolution::kStash);
  ASSERT_TRUE(ok) << ok.error().toString();
  std::string stash;
  for (auto& e : fs::directory_iterator(cache_))
    if (e.path().filename().string().rfind("doc.conflict-", 0) == 0) stash = e.path().filename();
  ASSERT_FALSE(stash.empty());
  EXPECT_EQ(remote(stash), "L");
  expectBothSides("doc.txt", 0640, kRemoteXattrs);
  expectBothSides(stash, 0600, kCacheXattrs);
}

TEST_F(ApplyMetadataTest, AMergedDatabaseTakesTheCachesModeAndXattrsOnBothSides) {
  runSql(remote_root_ + "/notes.db",
         "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, side TEXT);"
         "INSERT INTO t VALUES (1, 'base');");
  sync();
  auto c = conflictWithMetadata("notes.db", [](const std::string& abs, const std::string& who) {
    runSql(abs, "INSERT INTO t VALUES (" + std::string(who == "L" ? "10" : "20") + ", '" + who +
                    "');");
  });
  ASSERT_TRUE(c.open);
  // The sqlite resolver's merge of the conflict's kept versions.
  resolvers::ConflictView v;
  v.kind = ConflictKind::kContent;
  std::vector<UniqueFd> keep;
  for (auto [object, version] : {std::pair{c.base_object, &v.base},
                                 std::pair{c.local_object, &v.local},
                                 std::pair{c.remote_object, &v.remote}}) {
    ASSERT_TRUE(object);
    auto fd = store_->open(*object);
    ASSERT_TRUE(fd);
    version->type = FileType::kFile;
    version->fd = fd->get();
    keep.push_back(std::move(*fd));
  }
  UniqueFd merged(::memfd_create("merged", MFD_CLOEXEC));
  v.output_fd = merged.get();
  resolvers::SqliteMerge resolver;
  auto d = resolver.resolve(v, nlohmann::json::object());
  ASSERT_TRUE(d && d->kind == resolvers::DecisionKind::kMerged)
      << (d ? d->reason : d.error().toString());
  Status ok = reconciler_->apply(
      c.id, ConflictDecision{Resolution::kMerged, merged.get(), "sqlite", "sqlite", ""});
  ASSERT_TRUE(ok) << ok.error().toString();
  expectBothSides("notes.db", 0600, kCacheXattrs);
  EXPECT_TRUE(sync().clean());
  expectBothSides("notes.db", 0600, kCacheXattrs);
}

// Undo gives each side back its own mode and xattrs, not only its bytes:
// after keep-remote (both sides 0640 with the remote's xattrs) and after a
// merge (both with the cache's), the cache is 0600 with its xattrs again
// and the remote 0640 with its own.
TEST_F(ApplyMetadataTest, UndoPutsBackEachSidesModeAndXattrs) {
  for (bool merged : {false, true}) {
    TearDown();
    SetUp();
    if (IsSkipped()) return;
    SCOPED_TRACE(merged ? "merged" : "keep-remote");
    auto c = textConflict();
    ASSERT_TRUE(c.open);
    UniqueFd m = bytesFd("L and R, merged");
    Status ok = merged ? reconciler_->apply(c.id, ConflictDecision{Resolution::kMerged, m.get(),
                                                                    "git-merge", "git-merge", ""})
                       : reconciler_->resolve(c.id, Resolution::kKeepRemote);
    ASSERT_TRUE(ok) << ok.error().toString();
    ok = reconciler_->undo(c.id);
    ASSERT_TRUE(ok) << ok.error().toString();
    EXPECT_EQ(local("doc.txt"), "L");
    EXPECT_EQ(remote("doc.txt"), "R");
    EXPECT_EQ(modeOf(cache_ + "/doc.txt"), 0600u);
    EXPECT_EQ(modeOf(remote_root_ + "/doc.txt"), 0640u);
    EXPECT_EQ(xattrsOf(cache_ + "/doc.txt"), kCacheXattrs);
    EXPECT_EQ(xattrsOf(remote_root_ + "/doc.txt"), kRemoteXattrs);
    // Decided again on what is there, it applies: the undo left no drift.
    ok = reconciler_->resolve(c.id, Resolution::kKeepLocal);
    ASSERT_TRUE(ok) << ok.error().toString();
    expectBothSides("doc.txt", 0600, kCacheXattrs);
  }
}

}  // namespace
}  // namespace hoard::sync
