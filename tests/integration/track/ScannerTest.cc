// SPDX-License-Identifier: MIT
// The scanner against real temporary trees: every kind of change is reported
// exactly, and replaying the reported changes on the base gives the disk.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/UniqueFd.h"
#include "track/Scanner.h"

namespace hoard {

// gtest prints Changes readably (found by ADL).
[[maybe_unused]] static void PrintTo(const Change& c, std::ostream* os) {
  *os << changeOpName(c.op) << "(" << displayPath(c.path);
  if (c.op == ChangeOp::kRename) *os << " -> " << displayPath(c.to);
  if (c.op == ChangeOp::kSymlink) *os << " => " << displayPath(c.target);
  if (c.op == ChangeOp::kChmod || c.op == ChangeOp::kCreate || c.op == ChangeOp::kMkdir)
    *os << " mode " << std::oct << c.mode << std::dec;
  *os << ")";
}

namespace track {
namespace {

namespace fs = std::filesystem;

Change mk(ChangeOp op, RelPath path, uint32_t mode = 0) { return Change{op, path, {}, mode, {}}; }
Change ren(RelPath from, RelPath to) { return Change{ChangeOp::kRename, from, to, 0, {}}; }
Change sym(RelPath path, std::string target) {
  return Change{ChangeOp::kSymlink, path, {}, 0, target};
}

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::umask(022);
    char tmpl[] = "/tmp/hoard-scan-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = top_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(root_fd_);
  }
  void TearDown() override {
    // std::filesystem cannot remove paths longer than PATH_MAX; go by fds.
    UniqueFd top(::open(top_.c_str(), O_RDONLY | O_DIRECTORY));
    if (top) removeContents(top.get());
    ::rmdir(top_.c_str());
  }
  static void removeContents(int dirfd) {
    DIR* d = ::fdopendir(::dup(dirfd));
    if (d == nullptr) return;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) {
      if (::unlinkat(dirfd, n.c_str(), 0) == 0) continue;
      UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      if (sub) removeContents(sub.get());
      ::unlinkat(dirfd, n.c_str(), AT_REMOVEDIR);
    }
  }

  // All paths are relative to the root and go through root_fd_, so paths
  // longer than PATH_MAX from / work as well.
  void write(const RelPath& p, const std::string& bytes, mode_t mode = 0644) {
    int fd = ::openat(root_fd_.get(), p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
    ASSERT_GE(fd, 0) << displayPath(p);
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  }
  void mkdir(const RelPath& p, mode_t mode = 0755) {
    ASSERT_EQ(::mkdirat(root_fd_.get(), p.c_str(), mode), 0) << displayPath(p);
  }
  void symlink(const std::string& target, const RelPath& p) {
    ASSERT_EQ(::symlinkat(target.c_str(), root_fd_.get(), p.c_str()), 0) << displayPath(p);
  }
  void rename(const RelPath& a, const RelPath& b) {
    ASSERT_EQ(::renameat(root_fd_.get(), a.c_str(), root_fd_.get(), b.c_str()), 0)
        << displayPath(a);
  }
  void unlink(const RelPath& p) { ASSERT_EQ(::unlinkat(root_fd_.get(), p.c_str(), 0), 0); }
  void rmdir(const RelPath& p) {
    ASSERT_EQ(::unlinkat(root_fd_.get(), p.c_str(), AT_REMOVEDIR), 0);
  }
  void chmod(const RelPath& p, mode_t mode) {
    ASSERT_EQ(::fchmodat(root_fd_.get(), p.c_str(), mode, 0), 0);
  }
  struct stat lstat(const RelPath& p) {
    struct stat st {};
    EXPECT_EQ(::fstatat(root_fd_.get(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0) << displayPath(p);
    return st;
  }
  // Rewrites a file in place with other bytes of the same size and puts its
  // mtime back: size, mtime and inode stay, only ctime moves.
  void rewriteKeepingMtime(const RelPath& p, const std::string& bytes) {
    struct stat before = lstat(p);
    int fd = ::openat(root_fd_.get(), p.c_str(), O_WRONLY | O_NOFOLLOW);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(::futimens(fd, times), 0);
    ::close(fd);
    struct stat after = lstat(p);
    ASSERT_EQ(after.st_size, before.st_size);
    ASSERT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    ASSERT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  }

  Result<ScanResult> scan(const BaseIndex& base, ScanOptions opts = {}) {
    return Scanner(root_, std::move(opts)).scan(base);
  }

  // The base as hoard would record it right now: metadata, targets and hashes.
  BaseIndex snapshotBase() {
    auto r = scan({});
    EXPECT_TRUE(r) << r.error().toString();
    std::vector<BaseEntry> rows;
    for (auto& o : r->observed) {
      BaseEntry b;
      b.path = o.path;
      b.local = o.meta;
      b.symlink_target = o.symlink_target;
      if (o.meta.type == FileType::kFile) {
        auto h = hashFileAt(root_fd_.get(), o.path);
        EXPECT_TRUE(h) << h.error().toString();
        if (h) b.hash = *h;
      }
      rows.push_back(std::move(b));
    }
    return makeBaseIndex(std::move(rows));
  }

  ScanResult scanOk(const BaseIndex& base, ScanOptions opts = {}) {
    auto r = scan(base, std::move(opts));
    EXPECT_TRUE(r) << r.error().toString();
    return r ? std::move(*r) : ScanResult{};
  }

  std::string top_;
  std::string root_;
  UniqueFd root_fd_;
};

// --- replaying changes on a model of the base -------------------------------

struct Node {
  FileType type;
  std::string target;
  bool operator==(const Node&) const = default;
};
using Model = std::map<RelPath, Node>;

Model modelOf(const BaseIndex& base, const RelPath& subtree) {
  Model m;
  for (const auto& [p, b] : base)
    if (isUnder(p, subtree)) m[p] = Node{b.local.type, b.symlink_target};
  return m;
}

Model modelOf(const std::vector<Observed>& observed) {
  Model m;
  for (const auto& o : observed) m[o.path] = Node{o.meta.type, o.symlink_target};
  return m;
}

bool parentExists(const Model& m, const RelPath& p, const RelPath& subtree) {
  std::string_view parent = parentOf(p);
  if (parent.empty() || !isUnder(parent, subtree) || parent == parentOf(subtree)) return true;
  auto it = m.find(RelPath(parent));
  return it != m.end() && it->second.type == FileType::kDir;
}

bool hasChildren(const Model& m, const RelPath& p) {
  auto lo = m.lower_bound(p + "/");
  return lo != m.end() && lo->first.starts_with(p + "/");
}

// Applies `changes` in order, failing the test on any step that could not be
// replayed literally, and returns the result.
Model replay(Model m, const std::vector<Change>& changes, const RelPath& subtree = "") {
  for (const auto& c : changes) {
    SCOPED_TRACE(::testing::PrintToString(c));
    switch (c.op) {
      case ChangeOp::kCreate:
      case ChangeOp::kMkdir:
      case ChangeOp::kSymlink:
        EXPECT_EQ(m.count(c.path), 0u) << "created over an existing entry";
        EXPECT_TRUE(parentExists(m, c.path, subtree)) << "created before its parent";
        m[c.path] = Node{c.op == ChangeOp::kCreate  ? FileType::kFile
                         : c.op == ChangeOp::kMkdir ? FileType::kDir
                                                    : FileType::kSymlink,
                         c.target};
        break;
      case ChangeOp::kWrite:
        EXPECT_TRUE(m.count(c.path) && m[c.path].type == FileType::kFile);
        break;
      case ChangeOp::kChmod:
        EXPECT_EQ(m.count(c.path), 1u);
        break;
      case ChangeOp::kUnlink:
        EXPECT_TRUE(m.count(c.path) && m[c.path].type != FileType::kDir);
        m.erase(c.path);
        break;
      case ChangeOp::kRmdir:
        EXPECT_TRUE(m.count(c.path) && m[c.path].type == FileType::kDir);
        EXPECT_FALSE(hasChildren(m, c.path)) << "directory removed before its children";
        m.erase(c.path);
        break;
      case ChangeOp::kRename: {
        EXPECT_EQ(m.count(c.path), 1u) << "rename of a missing source";
        EXPECT_EQ(m.count(c.to), 0u) << "rename over an existing entry";
        EXPECT_TRUE(parentExists(m, c.to, subtree)) << "renamed before its new parent exists";
        Model moved;
        for (auto it = m.begin(); it != m.end();) {
          if (isUnder(it->first, c.path)) {
            moved[rebase(it->first, c.path, c.to)] = it->second;
            it = m.erase(it);
          } else {
            ++it;
          }
        }
        m.merge(moved);
        break;
      }
      case ChangeOp::kXattr:
        break;
    }
  }
  return m;
}

void expectReplayGivesDisk(const BaseIndex& base, const ScanResult& r,
                           const RelPath& subtree = "") {
  Model got = replay(modelOf(base, subtree), r.changes, subtree);
  Model want = modelOf(r.observed);
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [p, n] : want) {
    auto it = got.find(p);
    if (it == got.end()) {
      ADD_FAILURE() << "replay lacks " << displayPath(p);
    } else {
      EXPECT_EQ(it->second, n) << displayPath(p);
    }
  }
  for (const auto& [p, n] : got)
    if (!want.count(p)) ADD_FAILURE() << "replay has extra " << displayPath(p);
}

size_t indexOf(const std::vector<Change>& changes, const Change& c) {
  auto it = std::find(changes.begin(), changes.end(), c);
  return static_cast<size_t>(it - changes.begin());
}

void expectSameChanges(const std::vector<Change>& got, std::vector<Change> want) {
  auto key = [](const Change& c) {
    return std::tuple(c.path, c.to, static_cast<int>(c.op), c.mode, c.target);
  };
  auto less = [&](const Change& a, const Change& b) { return key(a) < key(b); };
  std::vector<Change> sorted = got;
  std::sort(sorted.begin(), sorted.end(), less);
  std::sort(want.begin(), want.end(), less);
  EXPECT_EQ(sorted, want);
}

// --- tests -------------------------------------------------------------------

TEST_F(ScannerTest, UnchangedTreeReportsNothing) {
  mkdir("a");
  mkdir("a/b");
  write("a/b/one.txt", "one");
  write("a/two", "two two");
  write("top", "");
  symlink("a/two", "link");
  symlink("/nonexistent/dangling", "a/dangling");
  auto base = snapshotBase();
  for (bool verify : {false, true}) {
    ScanOptions o;
    o.verify = verify;
    auto r = scanOk(base, o);
    EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
    EXPECT_TRUE(r.refreshed.empty());
    EXPECT_TRUE(r.skipped.empty());
    EXPECT_EQ(r.observed.size(), 7u);
    EXPECT_EQ(r.stats.dirs, 2u);
    EXPECT_EQ(r.stats.files, 3u);
    EXPECT_EQ(r.stats.symlinks, 2u);
    EXPECT_EQ(r.stats.files_hashed, verify ? 3u : 0u);
    EXPECT_EQ(r.stats.bytes_hashed, verify ? 10u : 0u);
  }
}

TEST_F(ScannerTest, NewEntriesComeParentsFirstWithModesAndTargets) {
  mkdir("a");
  auto base = snapshotBase();
  mkdir("a/new", 0750);
  write("a/new/f", "x", 0600);
  mkdir("a/new/sub");
  write("a/new/sub/g", "y", 0755);
  symlink("../f", "a/new/sub/ln");
  write("rootfile", "z");
  chmod("a/new/f", 0600);  // the umask must not decide the expected mode
  chmod("a/new", 0750);
  chmod("a/new/sub/g", 0755);
  auto r = scanOk(base);
  expectSameChanges(
      r.changes,
      {mk(ChangeOp::kMkdir, "a/new", 0750), mk(ChangeOp::kCreate, "a/new/f", 0600),
       mk(ChangeOp::kMkdir, "a/new/sub", 0755), mk(ChangeOp::kCreate, "a/new/sub/g", 0755),
       sym("a/new/sub/ln", "../f"), mk(ChangeOp::kCreate, "rootfile", 0644)});
  EXPECT_LT(indexOf(r.changes, mk(ChangeOp::kMkdir, "a/new", 0750)),
            indexOf(r.changes, mk(ChangeOp::kMkdir, "a/new/sub", 0755)));
  EXPECT_LT(indexOf(r.changes, mk(ChangeOp::kMkdir, "a/new/sub", 0755)),
            indexOf(r.changes, mk(ChangeOp::kCreate, "a/new/sub/g", 0755)));
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, ContentWriteBySize) {
  write("f", "short");
  auto base = snapshotBase();
  write("f", "longer now");
  auto r = scanOk(base);
  EXPECT_EQ(r.changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
  EXPECT_EQ(r.stats.files_hashed, 0u);  // a size change needs no hash
}

TEST_F(ScannerTest, TouchWithSameBytesIsARefreshNotAWrite) {
  write("f", "same bytes");
  auto base = snapshotBase();
  struct timespec times[2] = {{0, UTIME_OMIT}, {1000000, 5}};
  ASSERT_EQ(::utimensat(root_fd_.get(), "f", times, AT_SYMLINK_NOFOLLOW), 0);
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
  EXPECT_EQ(r.refreshed, std::vector<RelPath>{"f"});
  ASSERT_EQ(r.observed.size(), 1u);
  EXPECT_EQ(r.observed[0].meta.mtime_ns, 1000000LL * 1000000000 + 5);
  ASSERT_TRUE(r.observed[0].hash);
  EXPECT_EQ(*r.observed[0].hash, hashBytes("same bytes"));

  // Without a base hash, or told not to confirm, a metadata change is a write.
  ScanOptions no_confirm;
  no_confirm.confirm_by_hash = false;
  EXPECT_EQ(scanOk(base, no_confirm).changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
  auto unhashed = base;
  unhashed.at("f").hash.reset();
  EXPECT_EQ(scanOk(unhashed).changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
}

TEST_F(ScannerTest, ReplacedByRenameWithSameBytesIsARefresh) {
  write("f", "content");
  auto base = snapshotBase();
  write("f.tmp", "content");
  rename("f.tmp", "f");  // a new inode, as editors save
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
  EXPECT_EQ(r.refreshed, std::vector<RelPath>{"f"});
  write("f.tmp", "CONTENT");
  rename("f.tmp", "f");
  r = scanOk(base);
  EXPECT_EQ(r.changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
}

TEST_F(ScannerTest, ChmodOfFileAndDirectory) {
  write("f", "x");
  mkdir("d");
  auto base = snapshotBase();
  chmod("f", 0600);
  chmod("d", 0700);
  auto r = scanOk(base);
  expectSameChanges(r.changes, {mk(ChangeOp::kChmod, "f", 0600), mk(ChangeOp::kChmod, "d", 0700)});
  EXPECT_TRUE(r.refreshed.empty());
}

TEST_F(ScannerTest, DirectoryTimesAndSizesAreNotChanges) {
  mkdir("d");
  write("d/keep", "k");
  auto base = snapshotBase();
  write("d/new", "n");
  unlink("d/new");  // d's mtime and ctime moved, nothing else did
  auto& d = base.at("d");
  d.local.size = 12345;
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
}

TEST_F(ScannerTest, SameSizeAndMtimeButOtherBytesCaughtByCtimeAndHash) {
  write("f", "AAAA");
  auto base = snapshotBase();
  rewriteKeepingMtime("f", "BBBB");
  // ctime moved, so the metadata check asks the hash, which differs.
  EXPECT_EQ(scanOk(base).changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
  ScanOptions v;
  v.verify = true;
  EXPECT_EQ(scanOk(base, v).changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
}

TEST_F(ScannerTest, OnlyVerifyCatchesBytesThatChangedWithIdenticalMetadata) {
  // The case the hash exists for: every metadata field of the base equals the
  // disk (as if the base was recorded from a stat taken after the bytes
  // changed), but the base hash is of the old bytes.
  write("f", "AAAA");
  auto base = snapshotBase();
  rewriteKeepingMtime("f", "BBBB");
  base.at("f").local = FileMeta::fromStat(lstat("f"));
  ASSERT_EQ(base.at("f").hash, hashBytes("AAAA"));

  auto plain = scanOk(base);
  EXPECT_TRUE(plain.changes.empty()) << ::testing::PrintToString(plain.changes);
  EXPECT_EQ(plain.stats.files_hashed, 0u);

  ScanOptions v;
  v.verify = true;
  auto verified = scanOk(base, v);
  EXPECT_EQ(verified.changes, std::vector<Change>{mk(ChangeOp::kWrite, "f", 0644)});
  ASSERT_EQ(verified.observed.size(), 1u);
  EXPECT_EQ(verified.observed[0].hash, hashBytes("BBBB"));
}

TEST_F(ScannerTest, VerifyFillsInMissingHashesWithoutReportingChanges) {
  write("f", "bytes");
  auto base = snapshotBase();
  base.at("f").hash.reset();
  ScanOptions v;
  v.verify = true;
  auto r = scanOk(base, v);
  EXPECT_TRUE(r.changes.empty());
  ASSERT_EQ(r.observed.size(), 1u);
  EXPECT_EQ(r.observed[0].hash, hashBytes("bytes"));
}

TEST_F(ScannerTest, DeletionsChildrenBeforeParents) {
  mkdir("d");
  mkdir("d/e");
  write("d/e/f", "1");
  write("d/g", "2");
  symlink("g", "d/ln");
  write("d-sibling", "3");  // sorts between "d" and "d/..." and must not confuse the order
  write("keep", "4");
  auto base = snapshotBase();
  fs::remove_all(root_ + "/d");
  unlink("d-sibling");
  auto r = scanOk(base);
  expectSameChanges(r.changes, {mk(ChangeOp::kUnlink, "d/e/f"), mk(ChangeOp::kRmdir, "d/e"),
                                mk(ChangeOp::kUnlink, "d/g"), mk(ChangeOp::kUnlink, "d/ln"),
                                mk(ChangeOp::kRmdir, "d"), mk(ChangeOp::kUnlink, "d-sibling")});
  EXPECT_EQ(r.changes.back(), mk(ChangeOp::kRmdir, "d"));
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, FileRenameIsOneRename) {
  mkdir("a");
  mkdir("b");
  write("a/f", "payload");
  auto base = snapshotBase();
  rename("a/f", "b/g");
  auto r = scanOk(base);
  EXPECT_EQ(r.changes, std::vector<Change>{ren("a/f", "b/g")});
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, RenameThenWriteIsARenameAndAWriteWhenVerifying) {
  write("f", "AAAA");
  auto base = snapshotBase();
  rename("f", "g");
  rewriteKeepingMtime("g", "BBBB");
  ScanOptions v;
  v.verify = true;
  auto r = scanOk(base, v);
  EXPECT_EQ(r.changes, (std::vector<Change>{ren("f", "g"), mk(ChangeOp::kWrite, "g", 0644)}));
  // A file whose size changed is not recognised by inode: unlink + create.
  write("g", "longer content");
  r = scanOk(base);
  expectSameChanges(r.changes, {mk(ChangeOp::kCreate, "g", 0644), mk(ChangeOp::kUnlink, "f")});
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, DirectoryRenameCarriesItsChildren) {
  mkdir("d");
  mkdir("d/sub");
  write("d/sub/x", "x");
  write("d/y", "y");
  write("d/z", "zz");
  auto base = snapshotBase();
  rename("d", "e");
  write("e/y", "changed y");
  unlink("e/z");
  write("e/new", "n");
  auto r = scanOk(base);
  expectSameChanges(r.changes,
                    {ren("d", "e"), mk(ChangeOp::kWrite, "e/y", 0644),
                     mk(ChangeOp::kCreate, "e/new", 0644), mk(ChangeOp::kUnlink, "e/z")});
  EXPECT_EQ(r.changes.front(), ren("d", "e"));
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, NestedMovesReplayLiterally) {
  // mv A/C C; mv A C/A: the inner directory moves out before its old parent
  // moves into it.
  mkdir("A");
  mkdir("A/C");
  write("A/C/f", "f");
  write("A/g", "g");
  write("A/h", "h");
  auto base = snapshotBase();
  rename("A/C", "C");
  rename("A", "C/A");
  auto r = scanOk(base);
  expectSameChanges(r.changes, {ren("A/C", "C"), ren("A", "C/A")});
  expectReplayGivesDisk(base, r);

  // A file moved out of a directory that itself moved: the source path is
  // where the file is after the directory's rename (h stays and identifies B).
  rename("C/A", "B");
  mkdir("Z");
  rename("B/g", "Z/g");
  r = scanOk(base);
  expectReplayGivesDisk(base, r);
  // Which of B and C is renamed first depends on readdir order; either replays.
  ASSERT_EQ(r.changes.size(), 4u) << ::testing::PrintToString(r.changes);
  EXPECT_EQ(std::count_if(r.changes.begin(), r.changes.end(),
                          [](const Change& c) { return c.op == ChangeOp::kRename; }),
            3);
  EXPECT_LT(indexOf(r.changes, mk(ChangeOp::kMkdir, "Z", 0755)), r.changes.size());
  EXPECT_EQ(r.changes.back().to, "Z/g");
}

TEST_F(ScannerTest, HardLinkIsACreateNotARename) {
  write("f", "data");
  auto base = snapshotBase();
  ASSERT_EQ(::linkat(root_fd_.get(), "f", root_fd_.get(), "g", 0), 0);
  auto r = scanOk(base);
  // f's ctime moved (link count), the hash proves it unchanged.
  EXPECT_EQ(r.changes, std::vector<Change>{mk(ChangeOp::kCreate, "g", 0644)});
  EXPECT_EQ(r.refreshed, std::vector<RelPath>{"f"});
}

TEST_F(ScannerTest, TypeChangesAreDeleteThenCreate) {
  write("file2dir", "f");
  mkdir("dir2file");
  write("dir2file/child", "c");
  mkdir("dir2file/sub");
  write("file2link", "l");
  symlink("t", "link2file");
  auto base = snapshotBase();
  unlink("file2dir");
  mkdir("file2dir");
  write("file2dir/inside", "i");
  fs::remove_all(root_ + "/dir2file");
  write("dir2file", "now a file");
  unlink("file2link");
  symlink("somewhere", "file2link");
  unlink("link2file");
  write("link2file", "t");
  auto r = scanOk(base);
  expectSameChanges(r.changes,
                    {mk(ChangeOp::kUnlink, "file2dir"), mk(ChangeOp::kMkdir, "file2dir", 0755),
                     mk(ChangeOp::kCreate, "file2dir/inside", 0644),
                     mk(ChangeOp::kUnlink, "dir2file/child"), mk(ChangeOp::kRmdir, "dir2file/sub"),
                     mk(ChangeOp::kRmdir, "dir2file"), mk(ChangeOp::kCreate, "dir2file", 0644),
                     mk(ChangeOp::kUnlink, "file2link"), sym("file2link", "somewhere"),
                     mk(ChangeOp::kUnlink, "link2file"), mk(ChangeOp::kCreate, "link2file", 0644)});
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, SymlinksAreNotFollowed) {
  const std::string outside = top_ + "/outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((outside + "/deep").c_str(), 0755), 0);
  {
    UniqueFd fd(::open((outside + "/secret").c_str(), O_WRONLY | O_CREAT, 0644));
    ASSERT_TRUE(fd);
  }
  symlink(outside, "out");
  symlink(outside + "/secret", "secret-link");
  auto base = snapshotBase();
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty());
  ASSERT_EQ(r.observed.size(), 2u);
  for (const auto& o : r.observed) {
    EXPECT_EQ(o.meta.type, FileType::kSymlink);
    EXPECT_FALSE(o.path.starts_with("out/"));
  }
  EXPECT_EQ(base.at("out").symlink_target, outside);
  // Retargeting a link is unlink + symlink.
  unlink("out");
  symlink("elsewhere", "out");
  EXPECT_EQ(scanOk(base).changes,
            (std::vector<Change>{mk(ChangeOp::kUnlink, "out"), sym("out", "elsewhere")}));
  // A subtree reached through a symlink is not walked.
  ScanOptions sub;
  sub.subtree = "out/deep";
  auto rs = scanOk(base, sub);
  EXPECT_TRUE(rs.observed.empty());
  EXPECT_TRUE(rs.changes.empty());
}

TEST_F(ScannerTest, HostileNamesRoundTrip) {
  const std::vector<RelPath> names = {
      "\xff\xfe-latin1-\xe9", "new\nline", "tab\there",   "back\\slash",
      std::string(255, 'L'),  " space ",   "\x01\x02ctl", "-rf"};
  mkdir("dir");
  for (const auto& n : names) write("dir/" + n, n);
  mkdir("\xc3(");  // invalid UTF-8 directory name with a child
  write("\xc3(/\x80", "x");
  auto base = snapshotBase();
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
  std::set<RelPath> seen;
  for (const auto& o : r.observed) seen.insert(o.path);
  for (const auto& n : names) EXPECT_TRUE(seen.count("dir/" + n)) << displayPath(n);
  EXPECT_TRUE(seen.count("\xc3(/\x80"));
  // Every kind of change keeps the bytes of the names.
  write("dir/" + names[0], "changed!");
  rename("dir/" + names[1], "dir/" + names[2] + "\xff");
  unlink("dir/" + names[4]);
  write("dir/\nnew\xfe", "n");
  r = scanOk(base);
  expectSameChanges(r.changes, {mk(ChangeOp::kWrite, "dir/" + names[0], 0644),
                                ren("dir/" + names[1], "dir/" + names[2] + "\xff"),
                                mk(ChangeOp::kUnlink, "dir/" + names[4]),
                                mk(ChangeOp::kCreate, "dir/\nnew\xfe", 0644)});
  expectReplayGivesDisk(base, r);
}

TEST_F(ScannerTest, PathsNearPathMaxAndDeeperThanTheFdBudget) {
  // A chain of 200-byte names to ~4000 bytes, and a chain deeper than
  // Scanner::kMaxOpenDirs with side branches that force reopening ancestors.
  RelPath longp;
  while (longp.size() + 202 < 4000) {
    longp = joinPath(longp, std::string(200, static_cast<char>('a' + longp.size() % 26)));
    mkdir(longp);
  }
  const RelPath long_file =
      joinPath(longp, std::string(std::min<size_t>(255, 4090 - longp.size() - 1), 'f'));
  ASSERT_GT(long_file.size(), 4000u);
  write(long_file, "deep");

  RelPath deep;
  std::vector<RelPath> branches;
  for (size_t i = 0; i < 3 * Scanner::kMaxOpenDirs; ++i) {
    deep = joinPath(deep, "d" + std::to_string(i));
    mkdir(deep);
    if (i % 10 == 0) {
      // A sibling directory visited after the deep chain below it.
      RelPath side = joinPath(parentOf(deep), "zz-side" + std::to_string(i));
      mkdir(side);
      write(side + "/leaf", "l");
      branches.push_back(side + "/leaf");
    }
  }
  write(deep + "/bottom", "b");
  auto base = snapshotBase();
  EXPECT_TRUE(base.count(long_file));
  EXPECT_TRUE(base.count(deep + "/bottom"));
  for (const auto& b : branches) EXPECT_TRUE(base.count(b)) << b;

  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
  EXPECT_TRUE(r.skipped.empty());

  write(long_file, "changed deep");
  write(deep + "/bottom2", "b2");
  write(branches.front() + "2", "x");
  r = scanOk(base);
  expectSameChanges(r.changes, {mk(ChangeOp::kWrite, long_file, 0644),
                                mk(ChangeOp::kCreate, deep + "/bottom2", 0644),
                                mk(ChangeOp::kCreate, branches.front() + "2", 0644)});
  EXPECT_TRUE(r.skipped.empty());
}

TEST_F(ScannerTest, SubtreeScanSeesOnlyItsSubtree) {
  mkdir("in");
  mkdir("in/sub");
  write("in/sub/f", "f");
  write("in/g", "g");
  mkdir("out");
  write("out/h", "h");
  auto base = snapshotBase();
  write("in/sub/f", "changed f");
  write("in/new", "n");
  unlink("out/h");
  write("out/new", "n");
  ScanOptions o;
  o.subtree = "in";
  auto r = scanOk(base, o);
  expectSameChanges(
      r.changes, {mk(ChangeOp::kWrite, "in/sub/f", 0644), mk(ChangeOp::kCreate, "in/new", 0644)});
  for (const auto& ob : r.observed) EXPECT_TRUE(isUnder(ob.path, "in")) << ob.path;
  expectReplayGivesDisk(base, r, "in");

  o.subtree = "in/sub/f";  // a file as the subtree
  r = scanOk(base, o);
  EXPECT_EQ(r.changes, std::vector<Change>{mk(ChangeOp::kWrite, "in/sub/f", 0644)});

  chmod("in", 0700);
  o.subtree = "in";
  r = scanOk(base, o);
  EXPECT_LT(indexOf(r.changes, mk(ChangeOp::kChmod, "in", 0700)), r.changes.size());
}

TEST_F(ScannerTest, MissingSubtreeIsDeletedButMissingRootIsAnError) {
  mkdir("gone");
  mkdir("gone/x");
  write("gone/x/f", "f");
  write("stay", "s");
  auto base = snapshotBase();
  fs::remove_all(root_ + "/gone");
  ScanOptions o;
  o.subtree = "gone/x";
  auto r = scanOk(base, o);
  EXPECT_EQ(r.changes, (std::vector<Change>{mk(ChangeOp::kUnlink, "gone/x/f"),
                                            mk(ChangeOp::kRmdir, "gone/x")}));

  o.subtree = "../escape";
  auto bad = scan(base, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);

  auto missing = Scanner(top_ + "/no-such-root").scan(base);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("no-such-root"), std::string::npos);
}

TEST_F(ScannerTest, ExcludedNamesAreInvisibleOnDiskAndInTheBase) {
  write("f", "f");
  write(".hoard-tmp-old", "stale");
  auto base = snapshotBase();
  EXPECT_FALSE(base.count(".hoard-tmp-old"));
  // A base row with an excluded name (from an older hoard) is not "deleted".
  base[".hoard-tmp-gone"] = BaseEntry{".hoard-tmp-gone", base.at("f").local, {}, {}, {}, {}};
  mkdir(".hoard-tmp-dir");
  write(".hoard-tmp-dir/inside", "i");
  write(".hoard-tmp-123", "new temp");
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
  EXPECT_EQ(r.stats.excluded, 3u);

  ScanOptions custom;
  custom.exclude = [](std::string_view name) { return name.ends_with(".o"); };
  write("main.o", "obj");
  r = scanOk(base, custom);
  expectSameChanges(
      r.changes,
      {mk(ChangeOp::kCreate, ".hoard-tmp-123", 0644), mk(ChangeOp::kMkdir, ".hoard-tmp-dir", 0755),
       mk(ChangeOp::kCreate, ".hoard-tmp-dir/inside", 0644),
       mk(ChangeOp::kCreate, ".hoard-tmp-old", 0644), mk(ChangeOp::kUnlink, ".hoard-tmp-gone")});
}

TEST_F(ScannerTest, DirectoryVanishingMidScanIsSkippedNotDeleted) {
  // d1 and d2 are both stat'ed while their parent is read; whichever the walk
  // enters first removes the other before the walk can open it.
  mkdir("p");
  mkdir("p/d1");
  write("p/d1/f1", "1");
  mkdir("p/d2");
  write("p/d2/f2", "2");
  auto base = snapshotBase();
  const std::string parking = top_ + "/parking";
  std::string removed;
  ScanOptions o;
  o.exclude = [&](std::string_view name) {
    if (removed.empty() && (name == "f1" || name == "f2")) {
      removed = name == "f1" ? "p/d2" : "p/d1";
      EXPECT_EQ(::renameat(root_fd_.get(), removed.c_str(), AT_FDCWD, parking.c_str()), 0);
    }
    return false;
  };
  auto r = scanOk(base, o);
  ASSERT_FALSE(removed.empty());
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0].path, removed);
  EXPECT_EQ(r.skipped[0].error.code(), ErrorCode::kNotFound);
  EXPECT_NE(r.skipped[0].error.message().find(removed), std::string::npos);
  // Its base subtree is unknown, not deleted.
  EXPECT_TRUE(r.changes.empty()) << ::testing::PrintToString(r.changes);
}

TEST_F(ScannerTest, SpecialFilesAreIgnored) {
  write("f", "f");
  auto base = snapshotBase();
  ASSERT_EQ(::mkfifoat(root_fd_.get(), "fifo", 0644), 0);
  auto r = scanOk(base);
  EXPECT_TRUE(r.changes.empty());
  EXPECT_EQ(r.stats.others, 1u);
  EXPECT_EQ(r.observed.size(), 1u);
}

TEST_F(ScannerTest, ObservedCanBeLeftOut) {
  write("f", "f");
  ScanOptions o;
  o.collect_observed = false;
  auto r = scanOk({}, o);
  EXPECT_TRUE(r.observed.empty());
  EXPECT_EQ(r.changes, std::vector<Change>{mk(ChangeOp::kCreate, "f", 0644)});
}

}  // namespace
}  // namespace track
}  // namespace hoard
