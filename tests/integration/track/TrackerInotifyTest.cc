// SPDX-License-Identifier: MIT
// The real InotifyWatcher and Tracker on temporary folders: bursts, renames,
// moves across the root's border, hostile and deep names, a real queue
// overflow, directories removed and recreated, and lost watches (ENOSPC and an
// unmount, each provoked in a child process with its own user namespace so the
// machine's limits are never touched).

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "common/UniqueFd.h"
#include "track/CollectingSink.h"
#include "track/FolderTracker.h"
#include "track/InotifyWatcher.h"

namespace hoard::track {
namespace {

using namespace std::chrono_literals;
constexpr auto kWait = 120s;  // generous: a loaded 2-core CI machine

// Removes everything beneath `dir_fd` through directory fds, so paths longer
// than PATH_MAX go too.
void removeContents(int dir_fd) {
  int list_fd = ::dup(dir_fd);
  DIR* d = ::fdopendir(list_fd);
  if (d == nullptr) return;
  std::vector<std::pair<std::string, bool>> entries;
  while (struct dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    struct stat st;
    bool is_dir = ::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    entries.emplace_back(n, is_dir);
  }
  ::closedir(d);
  for (auto& [n, is_dir] : entries) {
    if (is_dir) {
      int sub = ::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        removeContents(sub);
        ::close(sub);
      }
      ::unlinkat(dir_fd, n.c_str(), AT_REMOVEDIR);
    } else {
      ::unlinkat(dir_fd, n.c_str(), 0);
    }
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hoard-track-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    if (path_.empty()) return;
    int fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      removeContents(fd);
      ::close(fd);
    }
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Sets an fs.inotify sysctl for as long as it lives (root only); a no-op
// when the file cannot be written.
class SysctlGuard {
 public:
  SysctlGuard(std::string file, long value) : file_(std::move(file)) {
    std::ifstream in(file_);
    if (!(in >> old_)) return;
    std::ofstream out(file_);
    out << value;
    out.flush();
    active_ = static_cast<bool>(out);
  }
  ~SysctlGuard() { restore(); }
  void restore() {
    if (!active_) return;
    std::ofstream out(file_);
    out << old_;
    active_ = false;
  }
  bool active() const { return active_; }
  long old() const { return old_; }

 private:
  std::string file_;
  long old_ = 0;
  bool active_ = false;
};

void writeFile(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
}

void appendFile(const std::string& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
}

bool has(const std::vector<Change>& cs, ChangeOp op, const RelPath& path, const RelPath& to = {}) {
  return std::any_of(cs.begin(), cs.end(), [&](const Change& c) {
    return c.op == op && c.path == path && (op != ChangeOp::kRename || c.to == to);
  });
}

// Index of the first change matching, or -1.
ptrdiff_t indexOf(const std::vector<Change>& cs, ChangeOp op, const RelPath& path) {
  for (size_t i = 0; i < cs.size(); ++i)
    if (cs[i].op == op && cs[i].path == path) return static_cast<ptrdiff_t>(i);
  return -1;
}

std::string describe(const std::vector<Change>& cs) {
  std::string s;
  for (const Change& c : cs) {
    s += std::string(changeOpName(c.op)) + " " + displayPath(c.path);
    if (c.op == ChangeOp::kRename) s += " -> " + displayPath(c.to);
    s += "\n";
  }
  return s;
}

// Every path beneath `root` (files, dirs, symlinks), share-relative.
void walk(int dir_fd, const RelPath& rel, std::set<RelPath>& out) {
  int list_fd = ::dup(dir_fd);
  DIR* d = ::fdopendir(list_fd);
  ASSERT_NE(d, nullptr);
  std::vector<std::string> dirs;
  while (struct dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    out.insert(joinPath(rel, n));
    if (de->d_type == DT_DIR) dirs.push_back(n);
  }
  ::closedir(d);
  for (const std::string& n : dirs) {
    UniqueFd sub(::openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    ASSERT_TRUE(sub.valid());
    walk(sub.get(), joinPath(rel, n), out);
  }
}

class TrackerInotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty()) << "mkdtemp failed";
    startTracking();
  }
  void TearDown() override {
    if (ft_) {
      EXPECT_TRUE(ft_->stop());
    }
  }

  void startTracking() {
    auto ft = FolderTracker::start(root_.path(), sink_);
    ASSERT_TRUE(ft) << ft.error().toString();
    ft_ = std::move(*ft);
  }

  // Waits until `pred` holds on the recorded changes; fails the test with the
  // changes seen otherwise.
  void waitFor(const std::function<bool(const std::vector<Change>&)>& pred,
               const std::string& what) {
    bool ok = sink_.waitUntil(
        [&](const std::vector<Change>& cs, const std::vector<RelPath>&) { return pred(cs); }, kWait);
    ASSERT_TRUE(ok) << "timed out waiting for " << what << "; got:\n" << describe(sink_.changes());
  }
  void waitForChange(ChangeOp op, const RelPath& path, const RelPath& to = {}) {
    waitFor([&](const std::vector<Change>& cs) { return has(cs, op, path, to); },
            std::string(changeOpName(op)) + " " + displayPath(path));
  }

  TempDir root_;
  CollectingSink sink_;
  std::unique_ptr<FolderTracker> ft_;
};

TEST_F(TrackerInotifyTest, BurstOfTenThousandFilesInNewNestedDirectoriesMissesNothing) {
  // The kernel queue's size is the kernel's business and overflow has its own
  // test: give this instance room so that what is tested here is the
  // watch-then-list of new directories, not the queue.
  ft_->stop();
  ft_.reset();
  {
    SysctlGuard queue("/proc/sys/fs/inotify/max_queued_events", 1 << 20);
    startTracking();
  }  // the limit is read when the instance is made; restored at once

  constexpr int kDirs = 100, kFilesPerDir = 100;
  std::set<RelPath> expected;
  for (int i = 0; i < kDirs; ++i) {
    // mkdir -p g<i/10>/s<i>/leaf, then fill leaf at once: the files race the
    // watcher's watch on the brand-new directories.
    std::string g = "g" + std::to_string(i / 10);
    std::string s = g + "/s" + std::to_string(i);
    std::string leaf = s + "/leaf";
    ::mkdir((root_ / g).c_str(), 0755);
    ASSERT_EQ(::mkdir((root_ / s).c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ / leaf).c_str(), 0755), 0);
    for (int f = 0; f < kFilesPerDir; ++f) {
      std::string rel = leaf + "/f" + std::to_string(f);
      writeFile(root_ / rel, rel);
    }
  }
  UniqueFd rfd(::open(root_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  walk(rfd.get(), "", expected);
  ASSERT_EQ(expected.size(), 10u + 2u * kDirs + static_cast<size_t>(kDirs * kFilesPerDir));

  auto created = [](const std::vector<Change>& cs) {
    std::set<RelPath> out;
    for (const Change& c : cs)
      if (c.op == ChangeOp::kCreate || c.op == ChangeOp::kMkdir) out.insert(c.path);
    return out;
  };
  bool all = sink_.waitUntil(
      [&](const std::vector<Change>& cs, const std::vector<RelPath>& rescans) {
        if (!rescans.empty()) return true;
        // Cheap count first: this runs under the sink's lock after every delivery.
        size_t n = 0;
        for (const Change& c : cs) n += c.op == ChangeOp::kCreate || c.op == ChangeOp::kMkdir;
        return n >= expected.size() && created(cs).size() >= expected.size();
      },
      kWait);
  std::set<RelPath> got = created(sink_.changes());
  ASSERT_TRUE(sink_.rescans().empty()) << "the watcher overflowed or lost a watch";
  ASSERT_TRUE(all) << "reported " << got.size() << " of " << expected.size();
  EXPECT_EQ(got, expected);
  // Beyond creates, only writes of the same files: nothing else was done.
  for (const Change& c : sink_.changes()) {
    ASSERT_TRUE(c.op == ChangeOp::kCreate || c.op == ChangeOp::kMkdir || c.op == ChangeOp::kWrite)
        << changeOpName(c.op) << " " << c.path;
    ASSERT_TRUE(expected.count(c.path)) << c.path;
  }
  EXPECT_EQ(ft_->watchCount(), 1u + 10u + 2u * kDirs);
}

TEST_F(TrackerInotifyTest, RenamesOfFilesAndDirectoriesFollowTheNewNames) {
  ASSERT_EQ(::mkdir((root_ / "d").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((root_ / "d/inner").c_str(), 0755), 0);
  writeFile(root_ / "d/inner/x", "x");
  writeFile(root_ / "f", "f");
  waitForChange(ChangeOp::kCreate, "f");
  waitForChange(ChangeOp::kCreate, "d/inner/x");
  size_t watches = ft_->watchCount();

  ASSERT_EQ(::rename((root_ / "f").c_str(), (root_ / "g").c_str()), 0);
  ASSERT_EQ(::rename((root_ / "d").c_str(), (root_ / "e").c_str()), 0);
  appendFile(root_ / "e/inner/x", "more");
  writeFile(root_ / "e/inner/new", "n");
  ASSERT_EQ(::mkdir((root_ / "e/inner/sub").c_str(), 0755), 0);
  writeFile(root_ / "e/inner/sub/y", "y");
  waitForChange(ChangeOp::kCreate, "e/inner/sub/y");
  waitForChange(ChangeOp::kWrite, "e/inner/x");

  auto cs = sink_.changes();
  ptrdiff_t rn = indexOf(cs, ChangeOp::kRename, "d");
  ASSERT_GE(rn, 0) << describe(cs);
  EXPECT_EQ(cs[static_cast<size_t>(rn)].to, "e");
  EXPECT_TRUE(has(cs, ChangeOp::kRename, "f", "g")) << describe(cs);
  EXPECT_TRUE(has(cs, ChangeOp::kCreate, "e/inner/new")) << describe(cs);
  EXPECT_TRUE(has(cs, ChangeOp::kMkdir, "e/inner/sub")) << describe(cs);
  for (size_t i = static_cast<size_t>(rn) + 1; i < cs.size(); ++i)
    EXPECT_FALSE(isUnder(cs[i].path, "d")) << "stale path after the rename:\n" << describe(cs);
  EXPECT_EQ(ft_->watchCount(), watches + 1);  // e/inner/sub; d's watches moved, not added
}

TEST_F(TrackerInotifyTest, RenameChainIsReportedInOrder) {
  writeFile(root_ / "A", "a");
  waitForChange(ChangeOp::kCreate, "A");
  ASSERT_EQ(::rename((root_ / "A").c_str(), (root_ / "B").c_str()), 0);
  ASSERT_EQ(::rename((root_ / "B").c_str(), (root_ / "C").c_str()), 0);
  waitForChange(ChangeOp::kRename, "B", "C");
  auto cs = sink_.changes();
  ptrdiff_t ab = indexOf(cs, ChangeOp::kRename, "A");
  ptrdiff_t bc = indexOf(cs, ChangeOp::kRename, "B");
  ASSERT_GE(ab, 0) << describe(cs);
  EXPECT_EQ(cs[static_cast<size_t>(ab)].to, "B");
  EXPECT_LT(ab, bc);
}

TEST_F(TrackerInotifyTest, CreateThenDeleteIsReportedAsBoth) {
  writeFile(root_ / "tmp", "t");
  ASSERT_EQ(::unlink((root_ / "tmp").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ / "tmpdir").c_str(), 0755), 0);
  ASSERT_EQ(::rmdir((root_ / "tmpdir").c_str()), 0);
  waitForChange(ChangeOp::kRmdir, "tmpdir");
  auto cs = sink_.changes();
  ptrdiff_t c = indexOf(cs, ChangeOp::kCreate, "tmp");
  ptrdiff_t u = indexOf(cs, ChangeOp::kUnlink, "tmp");
  ASSERT_GE(c, 0) << describe(cs);
  EXPECT_LT(c, u);
  EXPECT_LT(indexOf(cs, ChangeOp::kMkdir, "tmpdir"), indexOf(cs, ChangeOp::kRmdir, "tmpdir"));
  EXPECT_EQ(ft_->watchCount(), 1u);
}

TEST_F(TrackerInotifyTest, MovesIntoAndOutOfTheRoot) {
  TempDir outside;
  writeFile(outside / "file", "from outside");
  ASSERT_EQ(::mkdir((outside / "tree").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((outside / "tree/sub").c_str(), 0755), 0);
  writeFile(outside / "tree/sub/deep", "d");
  ASSERT_EQ(::symlink("sub/deep", (outside / "tree/link").c_str()), 0);

  ASSERT_EQ(::rename((outside / "file").c_str(), (root_ / "file").c_str()), 0);
  ASSERT_EQ(::rename((outside / "tree").c_str(), (root_ / "tree").c_str()), 0);
  waitForChange(ChangeOp::kCreate, "tree/sub/deep");
  auto cs = sink_.changes();
  EXPECT_TRUE(has(cs, ChangeOp::kCreate, "file")) << describe(cs);
  ptrdiff_t mk = indexOf(cs, ChangeOp::kMkdir, "tree");
  ASSERT_GE(mk, 0) << describe(cs);
  EXPECT_EQ(cs[static_cast<size_t>(mk)].mode, 0700u);
  EXPECT_TRUE(has(cs, ChangeOp::kMkdir, "tree/sub")) << describe(cs);
  ptrdiff_t ln = indexOf(cs, ChangeOp::kSymlink, "tree/link");
  ASSERT_GE(ln, 0) << describe(cs);
  EXPECT_EQ(cs[static_cast<size_t>(ln)].target, "sub/deep");
  EXPECT_EQ(ft_->watchCount(), 3u);

  // Changes inside the moved-in tree are seen.
  appendFile(root_ / "tree/sub/deep", "+");
  waitForChange(ChangeOp::kWrite, "tree/sub/deep");

  ASSERT_EQ(::rename((root_ / "file").c_str(), (outside / "file2").c_str()), 0);
  ASSERT_EQ(::rename((root_ / "tree").c_str(), (outside / "tree2").c_str()), 0);
  waitForChange(ChangeOp::kRmdir, "tree");
  waitForChange(ChangeOp::kUnlink, "file");
  EXPECT_TRUE(sink_.waitUntil(
      [](const std::vector<Change>&, const std::vector<RelPath>& r) {
        return std::find(r.begin(), r.end(), "tree") != r.end();
      },
      kWait));
  EXPECT_EQ(ft_->watchCount(), 1u);  // the moved-out tree is no longer watched

  // What happens out there is not ours: a marker made afterwards inside the
  // root is reported, nothing from the moved-out tree is.
  writeFile(outside / "tree2/sub/deep", "changed outside");
  writeFile(root_ / "marker", "m");
  waitForChange(ChangeOp::kCreate, "marker");
  for (const Change& c : sink_.changes()) EXPECT_FALSE(isUnder(c.path, "tree2")) << c.path;
  size_t after_out = indexOf(sink_.changes(), ChangeOp::kRmdir, "tree");
  auto all = sink_.changes();
  for (size_t i = after_out + 1; i < all.size(); ++i)
    EXPECT_FALSE(isUnder(all[i].path, "tree")) << describe(all);
}

TEST_F(TrackerInotifyTest, HostileNamesArriveByteForByte) {
  const std::string longest(255, 'L');
  const std::string non_utf8("bad-\xff\xfe-\xc3\x28", 9);
  const std::string newline = "two\nlines";
  ASSERT_EQ(::mkdir((root_ / non_utf8).c_str(), 0755), 0);
  writeFile(root_ / (non_utf8 + "/" + longest), "255");
  writeFile(root_ / newline, "nl");
  // Recorded first, so that the rename below is seen by a directory already
  // watched and the write is not folded into its create.
  waitForChange(ChangeOp::kCreate, newline);
  waitForChange(ChangeOp::kCreate, non_utf8 + "/" + longest);
  ASSERT_EQ(::rename((root_ / newline).c_str(), (root_ / (non_utf8 + "/" + newline)).c_str()), 0);
  appendFile(root_ / (non_utf8 + "/" + longest), "+");
  waitForChange(ChangeOp::kRename, newline, non_utf8 + "/" + newline);
  waitForChange(ChangeOp::kWrite, non_utf8 + "/" + longest);
  auto cs = sink_.changes();
  EXPECT_TRUE(has(cs, ChangeOp::kMkdir, non_utf8)) << describe(cs);
  EXPECT_TRUE(has(cs, ChangeOp::kCreate, non_utf8 + "/" + longest)) << describe(cs);
  EXPECT_TRUE(has(cs, ChangeOp::kCreate, newline)) << describe(cs);
}

TEST_F(TrackerInotifyTest, PathsNearPathMaxAreTracked) {
  // Built with mkdirat/openat from directory fds: the absolute path is longer
  // than PATH_MAX, the share-relative one just under it.
  UniqueFd cur(::open(root_.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(cur.valid());
  RelPath rel;
  for (int i = 0; rel.size() + 151 <= 3930; ++i) {
    std::string comp = std::to_string(i) + std::string(150 - std::to_string(i).size(), 'p');
    ASSERT_EQ(::mkdirat(cur.get(), comp.c_str(), 0755), 0) << std::strerror(errno);
    rel = joinPath(rel, comp);
    UniqueFd next(::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(next.valid());
    cur = std::move(next);
  }
  const std::string name(PATH_MAX - 16 - rel.size() - 1, 'f');  // the file's RelPath: 4080 bytes
  ASSERT_LT(name.size(), 256u);
  const RelPath file = joinPath(rel, name);
  ASSERT_GT(root_.path().size() + 1 + file.size(), static_cast<size_t>(PATH_MAX));
  ASSERT_LT(file.size(), static_cast<size_t>(PATH_MAX));
  {
    UniqueFd fd(::openat(cur.get(), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd.valid()) << std::strerror(errno);
    ASSERT_EQ(::write(fd.get(), "deep", 4), 4);
  }
  waitForChange(ChangeOp::kCreate, file);
  {
    UniqueFd fd(::openat(cur.get(), name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    // The create is recorded, so this write is a change of its own.
    ASSERT_EQ(::write(fd.get(), "er", 2), 2);
  }
  ASSERT_EQ(::fchmodat(cur.get(), name.c_str(), 0640, 0), 0);
  ASSERT_EQ(::unlinkat(cur.get(), name.c_str(), 0), 0);
  waitForChange(ChangeOp::kUnlink, file);
  auto cs = sink_.changes();
  ptrdiff_t c = indexOf(cs, ChangeOp::kCreate, file);
  EXPECT_EQ(cs[static_cast<size_t>(c)].mode, 0600u);
  EXPECT_TRUE(has(cs, ChangeOp::kWrite, file)) << describe(cs);
  EXPECT_TRUE(has(cs, ChangeOp::kMkdir, rel)) << describe(cs);
}

TEST_F(TrackerInotifyTest, WatchedDirectoryRemovedAndRecreatedIsWatchedAgain) {
  ASSERT_EQ(::mkdir((root_ / "w").c_str(), 0755), 0);
  writeFile(root_ / "w/old", "o");
  waitForChange(ChangeOp::kCreate, "w/old");
  ASSERT_EQ(::unlink((root_ / "w/old").c_str()), 0);
  ASSERT_EQ(::rmdir((root_ / "w").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ / "w").c_str(), 0700), 0);
  writeFile(root_ / "w/new", "n");
  waitForChange(ChangeOp::kCreate, "w/new");
  // And later changes in the new directory still arrive.
  writeFile(root_ / "w/later", "l");
  waitForChange(ChangeOp::kCreate, "w/later");
  auto cs = sink_.changes();
  ptrdiff_t rm = indexOf(cs, ChangeOp::kRmdir, "w");
  ASSERT_GE(rm, 0) << describe(cs);
  EXPECT_LT(indexOf(cs, ChangeOp::kUnlink, "w/old"), rm);
  bool remade = false;
  for (size_t i = static_cast<size_t>(rm) + 1; i < cs.size(); ++i)
    remade |= cs[i].op == ChangeOp::kMkdir && cs[i].path == "w" && cs[i].mode == 0700;
  EXPECT_TRUE(remade) << describe(cs);
  EXPECT_EQ(ft_->watchCount(), 2u);
}

TEST_F(TrackerInotifyTest, ExcludedTempFilesAreNotReportedButTheirRenameIsACreate) {
  ft_->stop();
  ft_.reset();
  FolderTracker::Options opts;
  opts.watch.exclude = [](std::string_view n) { return n.rfind(".hoard-tmp-", 0) == 0; };
  auto ft = FolderTracker::start(root_.path(), sink_, opts);
  ASSERT_TRUE(ft);
  ft_ = std::move(*ft);
  ASSERT_EQ(::mkdir((root_ / ".hoard-tmp-dir").c_str(), 0755), 0);
  writeFile(root_ / ".hoard-tmp-dir/x", "x");
  writeFile(root_ / ".hoard-tmp-1", "content");
  ASSERT_EQ(::rename((root_ / ".hoard-tmp-1").c_str(), (root_ / "final").c_str()), 0);
  waitForChange(ChangeOp::kCreate, "final");
  for (const Change& c : sink_.changes()) EXPECT_EQ(c.path.find(".hoard-tmp-"), std::string::npos);
  EXPECT_EQ(ft_->watchCount(), 1u);
}

// The overflow is provoked for real: the watcher is not read while more events
// are made than its queue holds.
TEST(InotifyOverflowTest, QueueOverflowIsReportedAndWatchingResumes) {
  TempDir root;
  ASSERT_FALSE(root.path().empty());
  ASSERT_EQ(::mkdir((root / "flood").c_str(), 0755), 0);
  InotifyWatcher watcher;
  long limit;
  {
    SysctlGuard small("/proc/sys/fs/inotify/max_queued_events", 64);
    ASSERT_TRUE(watcher.start(root.path(), {}));
    limit = small.active() ? 64 : small.old();
  }  // restored at once: the limit is taken when the instance is made
  ASSERT_LT(limit, 1 << 22) << "max_queued_events too large to overflow in a test";
  CollectingSink sink;
  Tracker tracker(watcher, sink);

  // After the flood, a directory the watcher never hears of: its event is lost.
  for (long i = 0; i < limit + 100; ++i) writeFile(root / ("flood/f" + std::to_string(i)), "");
  ASSERT_EQ(::mkdir((root / "unseen").c_str(), 0755), 0);

  for (int i = 0; i < 1000 && sink.rescans().empty(); ++i) ASSERT_TRUE(tracker.pollOnce(100ms));
  ASSERT_EQ(sink.rescans(), std::vector<RelPath>{""});
  // After the overflow the watcher rebuilt its watches: "unseen" is watched.
  EXPECT_EQ(watcher.watchCount(), 3u);
  sink.clear();
  writeFile(root / "unseen/after", "a");
  for (int i = 0; i < 1000 && !has(sink.changes(), ChangeOp::kCreate, "unseen/after"); ++i)
    ASSERT_TRUE(tracker.pollOnce(100ms));
  EXPECT_TRUE(has(sink.changes(), ChangeOp::kCreate, "unseen/after")) << describe(sink.changes());
}

// Runs `fn` in a forked child inside new user and mount namespaces (root
// there, mapped to root here), so inotify limits and mounts can be changed
// for it alone. Returns what `fn` wrote to the pipe, or an error text.
std::string runIsolated(const std::function<std::string()>& fn) {
  int p[2];
  if (::pipe(p) != 0) return "ERROR pipe";
  pid_t pid = ::fork();
  if (pid < 0) return "ERROR fork";
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    auto put = [](const char* file, const std::string& s) {
      int fd = ::open(file, O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
      if (fd >= 0) ::close(fd);
      return ok;
    };
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      out = std::string("ERROR unshare: ") + std::strerror(errno);
    } else if (!put("/proc/self/setgroups", "deny") || !put("/proc/self/uid_map", "0 0 1") ||
               !put("/proc/self/gid_map", "0 0 1")) {
      out = "ERROR id maps";
    } else if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      out = std::string("ERROR make-private: ") + std::strerror(errno);
    } else {
      out = fn();
    }
    (void)!::write(p[1], out.data(), out.size());
    ::close(p[1]);
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) out += "\nERROR child status " + std::to_string(status);
  return out;
}

std::string eventLines(const std::vector<WatchEvent>& evs) {
  std::string s;
  for (const WatchEvent& e : evs)
    s += std::string(watchEventKindName(e.kind)) + " " + displayPath(e.path) + "\n";
  return s;
}

// Reads until an event of `kind` at `path` arrives (or 60 s pass).
std::string readUntil(InotifyWatcher& w, WatchEventKind kind, const RelPath& path) {
  std::string log;
  for (int i = 0; i < 600; ++i) {
    auto evs = w.readEvents(100ms);
    if (!evs) return log + "ERROR " + evs.error().toString() + "\n";
    log += eventLines(*evs);
    for (const WatchEvent& e : *evs)
      if (e.kind == kind && e.path == path) return log;
  }
  return log + "TIMEOUT\n";
}

TEST(InotifyWatchLostTest, RunningOutOfWatchesIsReportedPerSubtree) {
  TempDir root;
  ASSERT_FALSE(root.path().empty());
  for (const char* d : {"a", "b", "c", "d"}) ASSERT_EQ(::mkdir((root / d).c_str(), 0755), 0);
  std::string out = runIsolated([&]() -> std::string {
    std::ofstream lim("/proc/sys/user/max_inotify_watches");
    lim << 3;  // the root and two of the four directories
    lim.close();
    if (!lim) return "ERROR cannot lower max_inotify_watches";
    InotifyWatcher w;
    if (Status s = w.start(root.path(), {}); !s) return "ERROR start " + s.error().toString();
    auto first = w.readEvents(0ms);
    if (!first) return "ERROR read";
    std::string s = eventLines(*first);
    s += "count " + std::to_string(w.watchCount()) + "\n";
    ::mkdir((root / "e").c_str(), 0755);
    s += readUntil(w, WatchEventKind::kWatchLost, "e");
    return s;
  });
  ASSERT_EQ(out.find("ERROR"), std::string::npos) << out;
  ASSERT_EQ(out.find("TIMEOUT"), std::string::npos) << out;
  int lost = 0;
  for (const char* d : {"a", "b", "c", "d"})
    lost += out.find(std::string("watch_lost ") + d + "\n") != std::string::npos;
  EXPECT_EQ(lost, 2) << out;
  EXPECT_NE(out.find("count 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("created e\n"), std::string::npos) << out;
  EXPECT_NE(out.find("watch_lost e\n"), std::string::npos) << out;
}

TEST(InotifyWatchLostTest, AWatchTheKernelDropsIsReported) {
  // An unmount beneath the root drops the watch on the mounted directory
  // (IN_UNMOUNT, IN_IGNORED) without hoard asking.
  TempDir root;
  ASSERT_FALSE(root.path().empty());
  ASSERT_EQ(::mkdir((root / "mnt").c_str(), 0755), 0);
  std::string out = runIsolated([&]() -> std::string {
    if (::mount("tmpfs", (root / "mnt").c_str(), "tmpfs", 0, nullptr) != 0)
      return std::string("ERROR mount: ") + std::strerror(errno);
    ::mkdir((root / "mnt/inside").c_str(), 0755);
    InotifyWatcher w;
    if (Status s = w.start(root.path(), {}); !s) return "ERROR start " + s.error().toString();
    std::string s = "count " + std::to_string(w.watchCount()) + "\n";
    if (::umount2((root / "mnt").c_str(), MNT_DETACH) != 0)
      return std::string("ERROR umount: ") + std::strerror(errno);
    s += readUntil(w, WatchEventKind::kWatchLost, "mnt");
    return s;
  });
  ASSERT_EQ(out.find("ERROR"), std::string::npos) << out;
  ASSERT_EQ(out.find("TIMEOUT"), std::string::npos) << out;
  EXPECT_NE(out.find("count 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("watch_lost mnt\n"), std::string::npos) << out;
}

TEST(InotifyWatcherTest, StartOnAMissingRootFailsNamingIt) {
  InotifyWatcher w;
  Status s = w.start("/tmp/hoard-track-does-not-exist-\xff", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(s.error().message().find("hoard-track-does-not-exist-\\xff"), std::string::npos)
      << s.error().message();
  EXPECT_EQ(w.readEvents(0ms).error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace hoard::track
