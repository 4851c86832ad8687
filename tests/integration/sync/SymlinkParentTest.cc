// SPDX-License-Identifier: MIT
// A conflict under a parent that became a symlink (issue 9, point 12): one
// side replaced the directory `dir` by a symlink to a directory elsewhere,
// the other edited `dir/a.txt`. That is a `type` conflict on `dir` itself,
// every built-in resolution settles it, and nothing is ever written through
// the link: the directory it points to stays byte for byte as it was.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/sync/ReconcilerFixture.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

struct Case {
  bool link_in_cache;  // the cache replaced dir by the link (else the remote did)
  Resolution how;
};

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  std::string side = info.param.link_in_cache ? "LinkInCache" : "LinkOnRemote";
  std::string how(resolutionName(info.param.how));
  std::erase(how, '-');
  return side + "_" + how;
}

std::string bytesOf(const std::string& abs) {
  std::ifstream in(abs, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every entry beneath `root` (symlinks not followed) with its bytes, its
// link target or "<dir>".
std::map<std::string, std::string> treeOf(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root);
    if (e.is_symlink())
      out[rel] = "-> " + fs::read_symlink(e.path()).string();
    else if (e.is_directory())
      out[rel] = "<dir>";
    else
      out[rel] = bytesOf(e.path());
  }
  return out;
}

// The one entry of `root` whose name starts with `prefix`, or "".
std::string entryStartingWith(const std::string& root, const std::string& prefix) {
  std::string found;
  for (auto& e : fs::directory_iterator(root)) {
    std::string name = e.path().filename();
    if (name.rfind(prefix, 0) == 0) {
      EXPECT_TRUE(found.empty()) << "two entries start with " << prefix;
      found = name;
    }
  }
  return found;
}

class SymlinkParentTest : public ReconcilerTest, public ::testing::WithParamInterface<Case> {
 protected:
  void SetUp() override {
    ReconcilerTest::SetUp();
    if (HasFatalFailure()) return;
    // Siblings that sort between `dir` and `dir/` must not be swept along.
    seed({{"dir/a.txt", "base a\n"}, {"dir/b.txt", "b\n"}, {"dir-x.txt", "x\n"},
          {"dir.bak/c.txt", "c\n"}});
    // The link's target holds names like the directory's: a write through
    // the link would show here.
    elsewhere_ = dir_ + "/elsewhere";
    put(elsewhere_ + "/a.txt", "outside a, no final newline");
    put(elsewhere_ + "/keep.txt", "outside\r\n");
    elsewhere_before_ = treeOf(elsewhere_);
  }

  // The side that keeps a directory edits dir/a.txt; the other side replaces
  // dir by a symlink to elsewhere_.
  void diverge(bool link_in_cache) {
    const std::string& link_root = link_in_cache ? cache_ : remote_root_;
    fs::remove_all(link_root + "/dir");
    ASSERT_EQ(::symlink(elsewhere_.c_str(), (link_root + "/dir").c_str()), 0);
    if (link_in_cache)
      remote("dir/a.txt", "theirs\n");
    else
      local("dir/a.txt", "mine\n");
  }

  bool isLink(const std::string& abs) { return fs::is_symlink(fs::symlink_status(abs)); }

  std::string elsewhere_;
  std::map<std::string, std::string> elsewhere_before_;
};

TEST_P(SymlinkParentTest, IsATypeConflictOnTheDirectoryAndEachResolutionSettlesIt) {
  const Case c = GetParam();
  diverge(c.link_in_cache);
  if (HasFatalFailure()) return;

  ReconcileReport r = sync();  // sync() fails the test on any failed path
  ASSERT_FALSE(r.stopped) << r.stopped->toString();
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].path, "dir");
  EXPECT_EQ(open[0].kind, journal::ConflictKind::kType);
  // Until it is decided, each side keeps what it has.
  const std::string& link_root = c.link_in_cache ? cache_ : remote_root_;
  const std::string& dir_root = c.link_in_cache ? remote_root_ : cache_;
  EXPECT_TRUE(isLink(link_root + "/dir"));
  EXPECT_EQ(get(dir_root + "/dir/a.txt"), c.link_in_cache ? "theirs\n" : "mine\n");
  EXPECT_EQ(local("dir-x.txt"), "x\n");
  EXPECT_EQ(remote("dir.bak/c.txt"), "c\n");
  EXPECT_EQ(treeOf(elsewhere_), elsewhere_before_);

  // A second pass waits on it: no failures, no retry storm, no second conflict.
  r = sync();
  EXPECT_FALSE(r.stopped);
  EXPECT_GT(r.waiting, 0u);
  EXPECT_EQ(openConflicts().size(), 1u);

  auto done = reconciler_->resolve(open[0].id, c.how);
  ASSERT_TRUE(done) << done.error().toString();
  EXPECT_TRUE(openConflicts().empty());
  EXPECT_EQ(treeOf(elsewhere_), elsewhere_before_) << "written through the link";

  // Which version holds `dir` on both sides now, and what was stashed.
  const bool link_wins = c.link_in_cache == (c.how == Resolution::kKeepLocal);
  const std::string dir_bytes = c.link_in_cache ? "theirs\n" : "mine\n";
  for (const std::string& root : {cache_, remote_root_}) {
    if (link_wins) {
      ASSERT_TRUE(isLink(root + "/dir")) << root;
      EXPECT_EQ(fs::read_symlink(root + "/dir"), elsewhere_);
    } else {
      ASSERT_FALSE(isLink(root + "/dir")) << root;
      EXPECT_EQ(get(root + "/dir/a.txt"), dir_bytes) << root;
      EXPECT_EQ(get(root + "/dir/b.txt"), "b\n") << root;
    }
    const std::string stashed = entryStartingWith(root, "dir.conflict-laptop-");
    if (c.how != Resolution::kStash) {
      EXPECT_EQ(stashed, "") << root;
      continue;
    }
    ASSERT_NE(stashed, "") << root;
    // Stash keeps the remote's version at the path and the cache's beside it.
    if (c.link_in_cache) {
      EXPECT_TRUE(isLink(root + "/" + stashed)) << root;
    } else {
      EXPECT_EQ(get(root + "/" + stashed + "/a.txt"), "mine\n") << root;
    }
  }
  EXPECT_EQ(local("dir-x.txt"), "x\n");
  EXPECT_EQ(remote("dir.bak/c.txt"), "c\n");

  // Settled: the next pass finds nothing to do and the sides are equal.
  r = sync();
  EXPECT_TRUE(r.clean()) << (r.stopped ? r.stopped->toString() : "");
  EXPECT_EQ(r.pushed + r.pulled + r.deleted_local + r.deleted_remote, 0u);
  auto remote_tree = treeOf(remote_root_);
  std::erase_if(remote_tree, [](const auto& kv) { return kv.first.rfind(".hoard-", 0) == 0; });
  EXPECT_EQ(treeOf(cache_), remote_tree);
  EXPECT_EQ(treeOf(elsewhere_), elsewhere_before_);
}

INSTANTIATE_TEST_SUITE_P(
    EverySideAndResolution, SymlinkParentTest,
    ::testing::Values(Case{true, Resolution::kKeepLocal}, Case{true, Resolution::kKeepRemote},
                      Case{true, Resolution::kStash}, Case{false, Resolution::kKeepLocal},
                      Case{false, Resolution::kKeepRemote}, Case{false, Resolution::kStash}),
    caseName);

}  // namespace
}  // namespace hoard::sync
