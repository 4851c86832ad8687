// SPDX-License-Identifier: MIT
// Names that sort between a directory and its children in byte order
// ("dir" < "dir 2" < "dir-x" < "dir.bak" < "dir/a", because ' ', '-' and '.'
// come before '/'): every subtree operation of the reconciler must see the
// whole subtree and nothing of the siblings.

#include <filesystem>

#include <gtest/gtest.h>

#include "integration/sync/ReconcilerFixture.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

class PathOrderTest : public ReconcilerTest {
 protected:
  // `dir` with children, and siblings whose names sort between `dir` and
  // `dir/...` in byte order, each with content of its own.
  void seedWithSiblings(const std::string& dir) {
    seed({{dir + "/a.txt", "a"},
          {dir + "/sub/b.txt", "b"},
          {dir + "-old.txt", "sibling file"},
          {dir + "-x/c.txt", "c"},
          {dir + ".bak/d.txt", "d"},
          {dir + " 2/e.txt", "e"}});
  }
  void expectSiblingsUntouched(const std::string& dir) {
    for (const auto& [p, bytes] : std::map<std::string, std::string>{
             {dir + "-old.txt", "sibling file"},
             {dir + "-x/c.txt", "c"},
             {dir + ".bak/d.txt", "d"},
             {dir + " 2/e.txt", "e"}}) {
      EXPECT_EQ(local(p), bytes) << p;
      EXPECT_EQ(remote(p), bytes) << p;
    }
  }
};

TEST_F(PathOrderTest, RenameReplayCarriesTheWholeSubtreeAndAColleaguesEdit) {
  seedWithSiblings("src");
  fs::rename(cache_ + "/src", cache_ + "/lib");
  logged({Change{ChangeOp::kRename, "src", "lib", 0, ""}});
  remote("src/a.txt", "a, edited by a colleague");
  auto r = sync();
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(r.new_conflicts.empty());
  EXPECT_EQ(r.renamed_remote, 1u);
  EXPECT_EQ(remote("lib/a.txt"), "a, edited by a colleague");
  EXPECT_EQ(local("lib/a.txt"), "a, edited by a colleague");
  EXPECT_EQ(remote("lib/sub/b.txt"), "b");
  EXPECT_FALSE(remoteExists("src"));
  expectSiblingsUntouched("src");
  expectConverged();
  EXPECT_TRUE(openConflicts().empty());
}

TEST_F(PathOrderTest, DeletingADirectoryAColleagueAddedToIsADirDeleteConflict) {
  seedWithSiblings("d");
  fs::remove_all(cache_ + "/d");
  remote("d/added.txt", "the colleague's new file");
  auto r = sync();
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].path, "d");
  EXPECT_EQ(open[0].kind, journal::ConflictKind::kDirDelete);
  EXPECT_EQ(remote("d/added.txt"), "the colleague's new file");
  EXPECT_EQ(remote("d/a.txt"), "a");
  expectSiblingsUntouched("d");
  (void)r;
}

TEST_F(PathOrderTest, AnOpenConflictHoldsItsSubtreeAndNotItsSiblings) {
  seedWithSiblings("dir");
  fs::remove_all(cache_ + "/dir");
  remote("dir/added.txt", "new");
  sync();
  ASSERT_EQ(openConflicts().size(), 1u);
  // While it waits: edits beneath it wait, edits of the siblings go on.
  remote("dir/sub/b.txt", "b2");
  local("dir-old.txt", "sibling edited");
  local("dir.bak/d.txt", "d2");
  remote("dir 2/e.txt", "e2");
  auto r = sync();
  EXPECT_TRUE(r.failed.empty());
  EXPECT_EQ(remote("dir-old.txt"), "sibling edited");
  EXPECT_EQ(remote("dir.bak/d.txt"), "d2");
  EXPECT_EQ(local("dir 2/e.txt"), "e2");
  EXPECT_FALSE(localExists("dir"));  // the local deletion stays as it was
  EXPECT_EQ(remote("dir/sub/b.txt"), "b2");
  EXPECT_GT(r.waiting, 0u);
}

TEST_F(PathOrderTest, ResolvingADirConflictTouchesNoSibling) {
  seedWithSiblings("dir");
  fs::remove_all(cache_ + "/dir");
  remote("dir/added.txt", "new");
  sync();
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  ASSERT_TRUE(reconciler_->resolve(open[0].id, Resolution::kKeepRemote));
  EXPECT_EQ(local("dir/added.txt"), "new");
  EXPECT_EQ(local("dir/a.txt"), "a");
  expectSiblingsUntouched("dir");
  expectConverged();
}

TEST_F(PathOrderTest, EvictOfADirectoryIsNotStoppedByASiblingsChangesNorTakesTheSibling) {
  seedWithSiblings("dir");
  ASSERT_TRUE(journal_->pin(share_, "dir-x", 500));
  local("dir-old.txt", "unsent edit of a sibling");
  logged({Change{ChangeOp::kWrite, "dir-old.txt", "", 0, ""}});
  auto freed = reconciler_->evict("dir");
  ASSERT_TRUE(freed) << freed.error().toString();
  EXPECT_EQ(*freed, 2u);  // "a" and "b"
  EXPECT_FALSE(localExists("dir"));
  EXPECT_EQ(local("dir-old.txt"), "unsent edit of a sibling");
  EXPECT_EQ(local("dir.bak/d.txt"), "d");
  EXPECT_EQ(local("dir 2/e.txt"), "e");
  auto base = journal_->getBase(share_, "dir.bak/d.txt");
  ASSERT_TRUE(base && *base);
}

}  // namespace
}  // namespace hoard::sync
