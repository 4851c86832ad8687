// SPDX-License-Identifier: MIT
// git-merge with on_conflict=markers through the engine (issue 12): the real
// resolver merges the versions the conflict kept in the store, the cache
// gets the merge with markers, the remote stays, the conflict stays open as
// merging; a keep-local then takes the user's edit of it, and refuses a file
// still holding markers unless forced.

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "GitMerge.h"
#include "integration/sync/ReconcilerFixture.h"
#include "sync/ConflictDetail.h"
#include "sync/GitAttributesFiles.h"

namespace hoard::sync {
namespace {

#define ASSERT_OK(expr)                         \
  do {                                          \
    Status ok_ = (expr);                        \
    ASSERT_TRUE(ok_) << ok_.error().toString(); \
  } while (0)

const std::string kBase = "title\r\none\r\ntwo\r\nthree\r\nfour\r\nfive\r\nsix\r\nend";
const std::string kLocal = "TITLE\r\none\r\ntwo\r\nmine\r\nfour\r\nfive\r\nsix\r\nend";
const std::string kRemote = "title\r\none\r\ntwo\r\ntheirs\r\nfour\r\nfive\r\nsix\r\nEND";
const std::string kWithMarkers =
    "TITLE\r\none\r\ntwo\r\n<<<<<<< cache\r\nmine\r\n=======\r\ntheirs\r\n>>>>>>> remote\r\n"
    "four\r\nfive\r\nsix\r\nEND";

class ApplyMarkersTest : public ReconcilerTest {
 protected:
  journal::ConflictRecord conflict() {
    seed({{"doc.txt", kBase}, {"doc.txt.bak", "sibling"}});
    local("doc.txt", kLocal);
    remote("doc.txt", kRemote);
    sync();
    auto open = openConflicts();
    EXPECT_EQ(open.size(), 1u);
    return open.empty() ? journal::ConflictRecord{} : open[0];
  }
  journal::ConflictRecord reread(int64_t id) {
    auto c = journal_->conflict(id);
    EXPECT_TRUE(c);
    return c ? *c : journal::ConflictRecord{};
  }
  // The conflict as the resolver chain shows it: each version from the store.
  resolvers::Version version(const std::optional<ContentHash>& object) {
    resolvers::Version v;
    if (!object) return v;
    auto fd = store_->open(*object);
    EXPECT_TRUE(fd);
    if (!fd) return v;
    v.type = FileType::kFile;
    v.fd = fd->get();
    fds_.push_back(std::move(*fd));
    return v;
  }
  // git-merge with on_conflict=markers on conflict `c`, applied.
  Status merge(const journal::ConflictRecord& c) {
    resolvers::ConflictView v;
    v.id = c.id;
    v.path = c.path;
    v.kind = hoard::ConflictKind::kContent;
    v.base = version(c.base_object);
    v.local = version(c.local_object);
    v.remote = version(c.remote_object);
    UniqueFd out(::memfd_create("merged", MFD_CLOEXEC));
    v.output_fd = out.get();
    resolvers::GitMerge gm;
    auto d = gm.resolve(v, {{"on_conflict", "markers"}});
    EXPECT_TRUE(d);
    EXPECT_EQ(d->kind, resolvers::DecisionKind::kMarkers);
    return reconciler_->apply(c.id, ConflictDecision{Resolution::kMarkers, out.get(), d->reason, "git-merge", {}});
  }
  std::vector<UniqueFd> fds_;
};

TEST_F(ApplyMarkersTest, TheCacheGetsTheMergeWithMarkersAndTheConflictStaysOpenMerging) {
  auto c = conflict();
  ASSERT_OK(merge(c));
  EXPECT_EQ(local("doc.txt"), kWithMarkers);
  EXPECT_EQ(remote("doc.txt"), kRemote);
  auto now = reread(c.id);
  EXPECT_TRUE(now.open);
  ConflictDetail d = decodeDetail(now.detail);
  EXPECT_TRUE(d.merging);
  EXPECT_EQ(d.note, "1 hunk conflicts: the cache gets the merge with markers");
  EXPECT_EQ(d.local.hash, hashBytes(kWithMarkers));
  EXPECT_EQ(now.local_object, hashBytes(kWithMarkers));
  EXPECT_EQ(d.remote.hash, hashBytes(kRemote));
  // A pass leaves the path alone while it merges.
  auto pass = sync();
  EXPECT_EQ(pass.waiting, 1u);
  EXPECT_EQ(remote("doc.txt"), kRemote);
  EXPECT_EQ(local("doc.txt.bak"), "sibling");
  EXPECT_TRUE(reread(c.id).open);
}

TEST_F(ApplyMarkersTest, KeepLocalRefusesAFileStillHoldingMarkersUnlessForced) {
  auto c = conflict();
  ASSERT_OK(merge(c));
  auto refused = reconciler_->resolve(c.id, Resolution::kKeepLocal);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kBusy);
  EXPECT_NE(refused.error().message().find("doc.txt still holds conflict markers (line 4)"),
            std::string::npos)
      << refused.error().message();
  EXPECT_EQ(remote("doc.txt"), kRemote);
  EXPECT_TRUE(reread(c.id).open);
  ConflictDecision forced{Resolution::kKeepLocal, -1, {}, "keep-local", {}};
  forced.force = true;
  ASSERT_OK(reconciler_->apply(c.id, forced));
  EXPECT_EQ(remote("doc.txt"), kWithMarkers);
  EXPECT_FALSE(reread(c.id).open);
  expectConverged();
}

TEST_F(ApplyMarkersTest, KeepLocalAfterTheUserEditedTheMergeTakesTheEdit) {
  auto c = conflict();
  ASSERT_OK(merge(c));
  const std::string edited = "TITLE\r\none\r\ntwo\r\nmine and theirs\r\nfour\r\nfive\r\nsix\r\nEND";
  local("doc.txt", edited);
  sync();  // the edit is seen by a pass first: still held
  ASSERT_OK(reconciler_->resolve(c.id, Resolution::kKeepLocal));
  EXPECT_EQ(local("doc.txt"), edited);
  EXPECT_EQ(remote("doc.txt"), edited);
  EXPECT_FALSE(reread(c.id).open);
  auto base = journal_->getBase(share_, "doc.txt");
  ASSERT_TRUE(base && *base);
  EXPECT_EQ((*base)->hash, hashBytes(edited));
  EXPECT_TRUE(sync().clean());
  expectConverged();
}

TEST_F(ApplyMarkersTest, KeepLocalOfAMergeStillRefusesAColleaguesLaterSave) {
  auto c = conflict();
  ASSERT_OK(merge(c));
  local("doc.txt", "resolved\n");
  remote("doc.txt", "the colleague saved again\n");
  auto refused = reconciler_->resolve(c.id, Resolution::kKeepLocal);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(remote("doc.txt"), "the colleague saved again\n");
  EXPECT_EQ(local("doc.txt"), "resolved\n");
  EXPECT_TRUE(reread(c.id).open);
}

TEST_F(ApplyMarkersTest, AnEditInTheCacheSinceDetectionIsNotOverwrittenByTheMerge) {
  auto c = conflict();
  local("doc.txt", "typed after the conflict\n");
  auto refused = merge(c);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(local("doc.txt"), "typed after the conflict\n");
  EXPECT_EQ(remote("doc.txt"), kRemote);
  auto now = reread(c.id);
  EXPECT_TRUE(now.open);
  EXPECT_FALSE(decodeDetail(now.detail).merging);
}

TEST_F(ApplyMarkersTest, GitAttributesAreReadFromTheCacheRootToTheLeaf) {
  ASSERT_EQ(::mkdir((cache_ + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((cache_ + "/sub-x").c_str(), 0755), 0);
  local(".gitattributes", "*.txt -merge\r\n*.log merge=union\n");
  local("sub/.gitattributes", "*.txt merge=text\n");
  ASSERT_EQ(::symlink("/etc/passwd", (cache_ + "/sub-x/.gitattributes").c_str()), 0);
  auto a = readGitAttributes(*local_fs_, "sub/a.txt");
  ASSERT_TRUE(a) << a.error().toString();
  EXPECT_EQ(a->lookup("sub/a.txt", "merge"), "text");
  EXPECT_EQ(a->lookup("sub/b.log", "merge"), "union");
  auto x = readGitAttributes(*local_fs_, "sub-x/a.txt");
  ASSERT_TRUE(x) << x.error().toString();
  EXPECT_EQ(x->lookup("sub-x/a.txt", "merge"), "unset");
  auto none = readGitAttributes(*local_fs_, "no/such/dir/a.txt");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->lookup("no/such/dir/a.txt", "merge"), "unset");
}

}  // namespace
}  // namespace hoard::sync
