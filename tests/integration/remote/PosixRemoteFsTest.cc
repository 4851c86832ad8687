// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/xattr.h>

#include <iostream>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <thread>

#include "common/UniqueFd.h"
#include "integration/remote/TempDir.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {
namespace {

using namespace std::chrono_literals;
using testing::countTemps;
using testing::exists;
using testing::rawList;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

// A local file to feed replaceFile, and to receive fetchFile.
class LocalFile {
 public:
  explicit LocalFile(const TempDir& dir, const std::string& content = {}) {
    path_ = dir / ("local-" + std::to_string(counter_++));
    writeFile(path_, content);
    fd_.reset(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
  }
  int fd() const { return fd_.get(); }
  std::string content() const { return readFile(path_); }

 private:
  static inline std::atomic<int> counter_{0};
  std::string path_;
  UniqueFd fd_;
};

class PosixRemoteFsTest : public ::testing::TestWithParam<PosixRemoteFs::Resolve> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(root_.path().empty());
    ASSERT_FALSE(local_.path().empty());
    PosixRemoteFs::Options o;
    o.resolve = GetParam();
    fs_ = std::make_unique<PosixRemoteFs>(root_.path(), o);
  }
  std::string r(const std::string& rel) const { return root_ / rel; }

  Result<Stat> put(const RelPath& p, const std::string& content, const Expect& e) {
    LocalFile src(local_, content);
    return fs_->replaceFile(p, src.fd(), e, ReplaceOptions{}, {});
  }

  TempDir root_;
  TempDir local_;
  std::unique_ptr<PosixRemoteFs> fs_;
};

TEST_P(PosixRemoteFsTest, LstatReportsTypesTargetsAndMissing) {
  ASSERT_TRUE(writeFile(r("f"), "hello", 0640));
  ASSERT_EQ(::mkdir(r("d").c_str(), 0750), 0);
  ASSERT_EQ(::symlink("/etc/passwd", r("l").c_str()), 0);

  auto f = fs_->lstat("f");
  ASSERT_TRUE(f) << f.error().toString();
  EXPECT_EQ(f->meta.type, FileType::kFile);
  EXPECT_EQ(f->meta.size, 5u);
  EXPECT_EQ(f->meta.mode, 0640u);
  EXPECT_FALSE(f->data_version.empty());

  auto d = fs_->lstat("d");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->meta.type, FileType::kDir);
  auto l = fs_->lstat("l");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->meta.type, FileType::kSymlink);
  EXPECT_EQ(l->symlink_target, "/etc/passwd");
  auto root = fs_->lstat("");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->meta.type, FileType::kDir);

  auto missing = fs_->lstat("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
  auto bad = fs_->lstat("a/../f");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(PosixRemoteFsTest, ListDirGivesNamesAndTypesAndHidesInternalFiles) {
  ASSERT_TRUE(writeFile(r("f"), "x"));
  ASSERT_EQ(::mkdir(r("d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("f", r("l").c_str()), 0);
  ASSERT_TRUE(writeFile(r(".hoard-tmp-abc"), "partial"));
  ASSERT_TRUE(writeFile(r(".hoard-share-id"), "id\n"));
  ASSERT_TRUE(writeFile(r("d/.hoard-share-id"), "not the marker: only the root's is hidden"));
  auto list = fs_->listDir("");
  ASSERT_TRUE(list) << list.error().toString();
  std::sort(list->begin(), list->end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0], (DirEntry{"d", FileType::kDir}));
  EXPECT_EQ((*list)[1], (DirEntry{"f", FileType::kFile}));
  EXPECT_EQ((*list)[2], (DirEntry{"l", FileType::kSymlink}));
  auto sub = fs_->listDir("d");
  ASSERT_TRUE(sub);
  ASSERT_EQ(sub->size(), 1u);
  EXPECT_EQ((*sub)[0].name, ".hoard-share-id");
  auto not_dir = fs_->listDir("f");
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().code(), ErrorCode::kNotFound);
}

TEST_P(PosixRemoteFsTest, WalkListsSubtreeParentsFirstWithoutDescendingSymlinks) {
  TempDir outside;
  ASSERT_TRUE(writeFile(outside / "secret", "s"));
  ASSERT_EQ(::mkdir(r("a").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(r("a/b").c_str(), 0755), 0);
  ASSERT_TRUE(writeFile(r("a/b/c"), "ccc"));
  ASSERT_TRUE(writeFile(r("a/x"), "x"));
  ASSERT_TRUE(writeFile(r("a/b/.hoard-tmp-1"), "junk"));
  ASSERT_EQ(::symlink(outside.path().c_str(), r("a/out").c_str()), 0);
  auto w = fs_->walk("");
  ASSERT_TRUE(w) << w.error().toString();
  std::vector<std::string> paths;
  for (const auto& e : *w) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a/b", "a/out", "a/x", "a/b/c"}));
  auto c = std::find_if(w->begin(), w->end(), [](const WalkEntry& e) { return e.path == "a/b/c"; });
  ASSERT_NE(c, w->end());
  EXPECT_EQ(c->stat.meta.size, 3u);
  auto sub = fs_->walk("a/b");
  ASSERT_TRUE(sub);
  ASSERT_EQ(sub->size(), 1u);
  EXPECT_EQ((*sub)[0].path, "a/b/c");
}

TEST_P(PosixRemoteFsTest, FetchCopiesEveryByteWithProgress) {
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
  ASSERT_TRUE(writeFile(r("big"), big));
  LocalFile out(local_);
  uint64_t last = 0;
  size_t calls = 0;
  auto st = fs_->fetchFile("big", out.fd(), [&](uint64_t b) {
    EXPECT_GE(b, last);
    last = b;
    ++calls;
    return true;
  });
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(out.content(), big);
  EXPECT_EQ(last, big.size());
  EXPECT_GE(calls, 1u);
  EXPECT_EQ(st->meta.size, big.size());
  auto now = fs_->lstat("big");
  ASSERT_TRUE(now);
  EXPECT_EQ(st->data_version, now->data_version);

  ASSERT_EQ(::symlink("big", r("link").c_str()), 0);
  LocalFile out2(local_);
  auto via_link = fs_->fetchFile("link", out2.fd(), {});
  ASSERT_FALSE(via_link);
  EXPECT_EQ(via_link.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(out2.content(), "");
}

TEST_P(PosixRemoteFsTest, ReplaceCreatesAndReplacesWithModeMtimeAndVersion) {
  ReplaceOptions o;
  o.mode = 0600;
  o.mtime_ns = 1'500'000'000'123'456'789;
  LocalFile src(local_, "first");
  auto created = fs_->replaceFile("f", src.fd(), Expect::absent(), o, {});
  ASSERT_TRUE(created) << created.error().toString();
  EXPECT_EQ(readFile(r("f")), "first");
  struct stat st;
  ASSERT_EQ(::stat(r("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  auto now = fs_->lstat("f");
  ASSERT_TRUE(now);
  EXPECT_EQ(created->data_version, now->data_version);

  auto replaced = put("f", "second, longer", Expect::version(created->data_version));
  ASSERT_TRUE(replaced) << replaced.error().toString();
  EXPECT_EQ(readFile(r("f")), "second, longer");
  EXPECT_NE(replaced->data_version, created->data_version);
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

// An unnamed temporary written (and synced) by the caller gets its name
// without a copy; a name already taken is a conflict and stays untouched.
TEST_P(PosixRemoteFsTest, LinkNewFileNamesAnUnnamedTemporaryOrRefusesATakenName) {
  ASSERT_EQ(::mkdir(r("d").c_str(), 0755), 0);
  UniqueFd tmp(::open(root_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_TRUE(tmp) << std::strerror(errno);
  const std::string bytes = "fetched from the server\n";
  ASSERT_EQ(::write(tmp.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::fsync(tmp.get()), 0);
  struct stat tmp_st;
  ASSERT_EQ(::fstat(tmp.get(), &tmp_st), 0);
  ReplaceOptions o;
  o.mode = 0640;
  o.mtime_ns = 1'600'000'000'000'000'007;
  auto linked = fs_->linkNewFile("d/new.txt", tmp.get(), o);
  ASSERT_TRUE(linked) << linked.error().toString();
  EXPECT_EQ(readFile(r("d/new.txt")), bytes);
  struct stat st;
  ASSERT_EQ(::stat(r("d/new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, tmp_st.st_ino) << "linked, not copied";
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  auto now = fs_->lstat("d/new.txt");
  ASSERT_TRUE(now);
  EXPECT_EQ(linked->data_version, now->data_version);

  ASSERT_TRUE(writeFile(r("d/taken.txt"), "the user's own file"));
  UniqueFd other(::open(root_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_TRUE(other);
  ASSERT_EQ(::write(other.get(), "x", 1), 1);
  auto refused = fs_->linkNewFile("d/taken.txt", other.get(), o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict) << refused.error().toString();
  EXPECT_EQ(readFile(r("d/taken.txt")), "the user's own file");

  // A file that cannot be linked (an ordinary one) is copied instead.
  LocalFile plain(local_, "copied, not linked");
  auto copied = fs_->linkNewFile("d/copied.txt", plain.fd(), o);
  ASSERT_TRUE(copied) << copied.error().toString();
  EXPECT_EQ(readFile(r("d/copied.txt")), "copied, not linked");
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

TEST_P(PosixRemoteFsTest, ReplaceOnStaleBaseIsConflictTargetUntouchedNoTemp) {
  auto base = put("f", "base", Expect::absent());
  ASSERT_TRUE(base);
  // A third party rewrites the file on the server.
  ASSERT_TRUE(writeFile(r("f"), "theirs"));
  auto mine = put("f", "mine", Expect::version(base->data_version));
  ASSERT_FALSE(mine);
  EXPECT_EQ(mine.error().code(), ErrorCode::kConflict) << mine.error().toString();
  EXPECT_EQ(readFile(r("f")), "theirs");
  EXPECT_EQ(countTemps(root_.path()), 0u);

  auto created_meanwhile = put("f", "mine", Expect::absent());
  ASSERT_FALSE(created_meanwhile);
  EXPECT_EQ(created_meanwhile.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFile(r("f")), "theirs");

  ASSERT_EQ(::unlink(r("f").c_str()), 0);
  auto deleted_meanwhile = put("f", "mine", Expect::version(base->data_version));
  ASSERT_FALSE(deleted_meanwhile);
  EXPECT_EQ(deleted_meanwhile.error().code(), ErrorCode::kConflict);
  EXPECT_FALSE(exists(r("f")));
  EXPECT_EQ(countTemps(root_.path()), 0u);

  ASSERT_EQ(::mkdir(r("dir").c_str(), 0755), 0);
  auto over_dir = put("dir", "mine", Expect::anything());
  ASSERT_FALSE(over_dir);
  EXPECT_EQ(over_dir.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

TEST_P(PosixRemoteFsTest, ConcurrentReaderSeesOnlyWholeOldOrNewContent) {
  const std::string a(1 << 20, 'a');
  const std::string b((1 << 20) + 4096, 'b');
  ASSERT_TRUE(put("f", a, Expect::absent()));
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      std::string got = readFile(r("f"));
      if (got != a && got != b) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(put("f", i % 2 ? a : b, Expect::anything()));
  }
  // Make sure the reader overlapped at least a few replaces.
  while (reads.load() < 20) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "a reader saw a truncated or mixed file";
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

TEST_P(PosixRemoteFsTest, MkdirRmdirUnlinkWithCompareAndSwap) {
  ASSERT_TRUE(fs_->mkdir("d", 0750));
  struct stat st;
  ASSERT_EQ(::stat(r("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  auto again = fs_->mkdir("d", 0750);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kExists);

  auto f = put("d/f", "x", Expect::absent());
  ASSERT_TRUE(f);
  auto not_empty = fs_->rmdir("d", Expect::anything());
  ASSERT_FALSE(not_empty);
  EXPECT_EQ(not_empty.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(exists(r("d/f")));

  ASSERT_TRUE(writeFile(r("d/f"), "changed by someone else"));
  auto stale = fs_->unlink("d/f", Expect::version(f->data_version));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFile(r("d/f")), "changed by someone else");

  auto cur = fs_->lstat("d/f");
  ASSERT_TRUE(cur);
  ASSERT_TRUE(fs_->unlink("d/f", Expect::version(cur->data_version)));
  EXPECT_FALSE(exists(r("d/f")));
  auto gone = fs_->unlink("d/f", Expect::version(cur->data_version));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kConflict);

  auto is_dir = fs_->unlink("d", Expect::anything());
  ASSERT_FALSE(is_dir);
  EXPECT_EQ(is_dir.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(fs_->rmdir("d", Expect::anything()));
  EXPECT_FALSE(exists(r("d")));
}

TEST_P(PosixRemoteFsTest, RenameChecksBothEnds) {
  auto a = put("a", "A", Expect::absent());
  ASSERT_TRUE(a);
  ASSERT_TRUE(put("b", "B", Expect::absent()));

  auto onto_existing = fs_->rename("a", "b", Expect::version(a->data_version), Expect::absent());
  ASSERT_FALSE(onto_existing);
  EXPECT_EQ(onto_existing.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFile(r("a")), "A");
  EXPECT_EQ(readFile(r("b")), "B");

  auto wrong_source =
      fs_->rename("a", "c", Expect::version("posix:0:0:0:0:file"), Expect::absent());
  ASSERT_FALSE(wrong_source);
  EXPECT_EQ(wrong_source.error().code(), ErrorCode::kConflict);
  EXPECT_FALSE(exists(r("c")));

  ASSERT_TRUE(fs_->mkdir("sub", 0755));
  ASSERT_TRUE(fs_->rename("a", "sub/c", Expect::version(a->data_version), Expect::absent()));
  EXPECT_FALSE(exists(r("a")));
  EXPECT_EQ(readFile(r("sub/c")), "A");

  auto b = fs_->lstat("b");
  ASSERT_TRUE(b);
  auto c = fs_->lstat("sub/c");
  ASSERT_TRUE(c);
  ASSERT_TRUE(fs_->rename("sub/c", "b", Expect::version(c->data_version),
                          Expect::version(b->data_version)));
  EXPECT_EQ(readFile(r("b")), "A");

  auto into_itself = fs_->rename("sub", "sub/deeper", Expect::anything(), Expect::absent());
  ASSERT_FALSE(into_itself);
  EXPECT_EQ(into_itself.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(PosixRemoteFsTest, SymlinksAreCreatedAndReplacedAsSymlinks) {
  const std::string target = std::string("/etc/\xff\xfe weird\nname");
  ASSERT_TRUE(fs_->symlink("l", target, Expect::absent()));
  char buf[256];
  ssize_t n = ::readlink(r("l").c_str(), buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), target);

  auto exists_already = fs_->symlink("l", "other", Expect::absent());
  ASSERT_FALSE(exists_already);
  EXPECT_EQ(exists_already.error().code(), ErrorCode::kConflict);

  auto cur = fs_->lstat("l");
  ASSERT_TRUE(cur);
  ASSERT_TRUE(fs_->symlink("l", "relative/target", Expect::version(cur->data_version)));
  auto now = fs_->lstat("l");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->symlink_target, "relative/target");
  auto stale = fs_->symlink("l", "third", Expect::version(cur->data_version));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

TEST_P(PosixRemoteFsTest, ChmodAndMtimeNeverReachThroughASymlink) {
  TempDir outside;
  ASSERT_TRUE(writeFile(outside / "t", "t", 0644));
  struct stat before;
  ASSERT_EQ(::stat((outside / "t").c_str(), &before), 0);
  ASSERT_EQ(::symlink((outside / "t").c_str(), r("l").c_str()), 0);
  ASSERT_TRUE(writeFile(r("f"), "f", 0644));

  ASSERT_TRUE(fs_->chmod("f", 0600));
  struct stat st;
  ASSERT_EQ(::stat(r("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto on_link = fs_->chmod("l", 0600);
  ASSERT_FALSE(on_link);
  EXPECT_EQ(on_link.error().code(), ErrorCode::kInvalidArgument);

  ASSERT_TRUE(fs_->setMtime("f", 1'000'000'000'000'000'007));
  ASSERT_EQ(::stat(r("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'000'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);
  ASSERT_TRUE(fs_->setMtime("l", 1'200'000'000'000'000'000));
  ASSERT_EQ(::lstat(r("l").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'200'000'000);

  struct stat after;
  ASSERT_EQ(::stat((outside / "t").c_str(), &after), 0);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_P(PosixRemoteFsTest, ExtendedAttributes) {
  ASSERT_TRUE(writeFile(r("f"), "x"));
  ASSERT_EQ(::setxattr(r("f").c_str(), "user.probe", "1", 1, 0), 0)
      << "the filesystem under /tmp must support user xattrs for this test, errno " << errno;
  ASSERT_EQ(::removexattr(r("f").c_str(), "user.probe"), 0);
  const std::string value("bin\0ary\xff", 8);
  ASSERT_TRUE(fs_->setXattr("f", "user.one", value));
  ASSERT_TRUE(fs_->setXattr("f", "user.two", ""));
  auto got = fs_->getXattr("f", "user.one");
  ASSERT_TRUE(got) << got.error().toString();
  EXPECT_EQ(*got, value);
  auto empty = fs_->getXattr("f", "user.two");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, "");
  auto names = fs_->listXattrs("f");
  ASSERT_TRUE(names);
  EXPECT_NE(std::find(names->begin(), names->end(), "user.one"), names->end());
  EXPECT_NE(std::find(names->begin(), names->end(), "user.two"), names->end());
  ASSERT_TRUE(fs_->removeXattr("f", "user.one"));
  auto missing = fs_->getXattr("f", "user.one");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto remove_missing = fs_->removeXattr("f", "user.one");
  ASSERT_FALSE(remove_missing);
  EXPECT_EQ(remove_missing.error().code(), ErrorCode::kNotFound);
}

TEST_P(PosixRemoteFsTest, StatfsAndDataVersion) {
  auto s = fs_->statfs();
  ASSERT_TRUE(s) << s.error().toString();
  EXPECT_GT(s->total_bytes, 0u);
  EXPECT_GT(s->block_size, 0u);
  EXPECT_LE(s->avail_bytes, s->total_bytes);

  auto f = put("f", "one", Expect::absent());
  ASSERT_TRUE(f);
  auto v1 = fs_->dataVersion("f");
  ASSERT_TRUE(v1);
  EXPECT_EQ(*v1, f->data_version);
  ASSERT_TRUE(put("f", "two", Expect::version(*v1)));
  auto v2 = fs_->dataVersion("f");
  ASSERT_TRUE(v2);
  EXPECT_NE(*v1, *v2);
}

TEST_P(PosixRemoteFsTest, RemoveStaleTempsCleansEveryLevel) {
  ASSERT_EQ(::mkdir(r("d").c_str(), 0755), 0);
  ASSERT_TRUE(writeFile(r(".hoard-tmp-0001"), "x"));
  ASSERT_TRUE(writeFile(r("d/.hoard-tmp-0002"), "y"));
  ASSERT_EQ(::symlink("t", r("d/.hoard-tmp-0003").c_str()), 0);
  ASSERT_TRUE(writeFile(r("d/keep"), "k"));
  auto n = fs_->removeStaleTemps("");
  ASSERT_TRUE(n) << n.error().toString();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(countTemps(root_.path()), 0u);
  EXPECT_EQ(countTemps(r("d")), 0u);
  EXPECT_EQ(readFile(r("d/keep")), "k");
}

// A remote symlink pointing outside (evil -> an outside directory) must never
// lead a read or a write outside the root.
TEST_P(PosixRemoteFsTest, SymlinkedDirectoryComponentIsOutsideRootAndNothingLeaks) {
  TempDir outside;
  ASSERT_TRUE(writeFile(outside / "secret", "top secret", 0600));
  ASSERT_EQ(::symlink(outside.path().c_str(), r("evil").c_str()), 0);
  ASSERT_EQ(::mkdir(r("real").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("../evil", r("real/hop").c_str()), 0);
  ASSERT_TRUE(writeFile(r("a"), "A"));
  auto outside_before = rawList(outside.path());

  auto expectOutside = [](const auto& result, const char* what) {
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().code(), ErrorCode::kOutsideRoot)
        << what << ": " << result.error().toString();
  };
  LocalFile out(local_);
  LocalFile src(local_, "payload");
  expectOutside(fs_->lstat("evil/secret"), "lstat");
  expectOutside(fs_->fetchFile("evil/secret", out.fd(), {}), "fetch");
  expectOutside(fs_->readSmallFile("evil/secret", 100), "read");
  expectOutside(fs_->listDir("evil"), "list");
  expectOutside(fs_->walk("evil"), "walk");
  expectOutside(fs_->replaceFile("evil/new", src.fd(), Expect::anything(), {}, {}), "replace");
  expectOutside(fs_->linkNewFile("evil/new", src.fd(), {}), "link");
  expectOutside(fs_->replaceFile("evil/secret", src.fd(), Expect::anything(), {}, {}),
                "replace existing");
  expectOutside(fs_->replaceFile("real/hop/new", src.fd(), Expect::anything(), {}, {}),
                "replace through a nested hop");
  expectOutside(fs_->mkdir("evil/d", 0755), "mkdir");
  expectOutside(fs_->unlink("evil/secret", Expect::anything()), "unlink");
  expectOutside(fs_->rename("a", "evil/a", Expect::anything(), Expect::absent()), "rename into");
  expectOutside(fs_->rename("evil/secret", "stolen", Expect::anything(), Expect::absent()),
                "rename out of");
  expectOutside(fs_->symlink("evil/l", "x", Expect::absent()), "symlink");
  expectOutside(fs_->chmod("evil/secret", 0777), "chmod");
  expectOutside(fs_->setMtime("evil/secret", 0), "set mtime");
  expectOutside(fs_->setXattr("evil/secret", "user.x", "1"), "setxattr");
  expectOutside(fs_->getXattr("evil/secret", "user.x"), "getxattr");
  expectOutside(fs_->dataVersion("evil/secret"), "data version");

  EXPECT_EQ(out.content(), "") << "nothing from outside was read";
  EXPECT_EQ(rawList(outside.path()), outside_before) << "nothing was written outside";
  EXPECT_EQ(readFile(outside / "secret"), "top secret");
  struct stat st;
  ASSERT_EQ(::stat((outside / "secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(readFile(r("a")), "A");
  EXPECT_FALSE(exists(r("stolen")));

  // The symlink itself is an ordinary entry: it can be read, replaced and removed.
  auto link = fs_->lstat("evil");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->meta.type, FileType::kSymlink);
  EXPECT_EQ(link->symlink_target, outside.path());
  ASSERT_TRUE(fs_->unlink("evil", Expect::version(link->data_version)));
  EXPECT_EQ(readFile(outside / "secret"), "top secret");
}

TEST_P(PosixRemoteFsTest, HostileNamesRoundTrip) {
  const std::string newline = "line\nbreak";
  const std::string latin1 = "caf\xe9-\xff\xfe";
  const std::string longest(255, 'n');
  const std::string spaces = " lead and trail ";
  for (const std::string& name : {newline, latin1, longest, spaces, std::string("-rf"),
                                  std::string("back\\slash"), std::string("*?[glob]")}) {
    ASSERT_TRUE(put(name, "data:" + name, Expect::absent())) << displayPath(name);
    EXPECT_EQ(readFile(r(name)), "data:" + name) << displayPath(name);
    auto st = fs_->lstat(name);
    ASSERT_TRUE(st) << displayPath(name);
  }
  auto list = fs_->listDir("");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 7u);
  EXPECT_NE(
      std::find_if(list->begin(), list->end(), [&](const DirEntry& e) { return e.name == latin1; }),
      list->end());
  auto too_long = put(std::string(256, 'n'), "x", Expect::absent());
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code(), ErrorCode::kInvalidArgument);
}

TEST_P(PosixRemoteFsTest, DeepPathsNearPathMax) {
  // 60 levels of 60-byte names: a 3,660-byte relative path, a 4,000-ish absolute one.
  RelPath p;
  for (int i = 0; i < 60; ++i) {
    p = joinPath(p, std::string(59, static_cast<char>('a' + i % 26)) + std::to_string(i % 10));
    ASSERT_TRUE(fs_->mkdir(p, 0755)) << i;
  }
  RelPath file = joinPath(p, "leaf");
  ASSERT_TRUE(put(file, "deep", Expect::absent()));
  auto st = fs_->lstat(file);
  ASSERT_TRUE(st) << st.error().toString();
  EXPECT_EQ(st->meta.size, 4u);
  LocalFile out(local_);
  ASSERT_TRUE(fs_->fetchFile(file, out.fd(), {}));
  EXPECT_EQ(out.content(), "deep");
  auto w = fs_->walk("");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->size(), 61u);
  EXPECT_EQ(w->back().path, file);
}

TEST_P(PosixRemoteFsTest, XattrDataVersionProbe) {
  ASSERT_TRUE(writeFile(r("f"), "x"));
  ASSERT_EQ(::setxattr(r("f").c_str(), "user.dv", "7", 1, 0), 0)
      << "the filesystem under /tmp must support user xattrs for this test, errno " << errno;
  ASSERT_TRUE(writeFile(r("plain"), "p"));
  PosixRemoteFs::Options o;
  o.resolve = GetParam();
  o.probe = std::make_shared<XattrDataVersionProbe>("user.dv");
  PosixRemoteFs fs(root_.path(), o);
  auto v = fs.dataVersion("f");
  ASSERT_TRUE(v) << v.error().toString();
  EXPECT_EQ(*v, "xattr:7");
  auto plain = fs.dataVersion("plain");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->rfind("posix:", 0), 0u) << *plain;

  // The server bumps its version: the base no longer matches, even though
  // nothing else about the file changed.
  ASSERT_EQ(::setxattr(r("f").c_str(), "user.dv", "8", 1, 0), 0);
  LocalFile src(local_, "mine");
  auto stale = fs.replaceFile("f", src.fd(), Expect::version("xattr:7"), {}, {});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFile(r("f")), "x");
  auto fresh = fs.replaceFile("f", src.fd(), Expect::version("xattr:8"), {}, {});
  ASSERT_TRUE(fresh) << fresh.error().toString();
  EXPECT_EQ(readFile(r("f")), "mine");

  PosixRemoteFs strict(root_.path(),
                       {std::make_shared<XattrDataVersionProbe>("user.dv", false), GetParam()});
  auto none = strict.dataVersion("plain");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
}

// A replace abandoned on a hung mount never exposes a truncated target: while
// its worker is stuck mid-copy the old file is intact beside a temporary, and
// when it finally returns the target holds either the old or the new whole file.
TEST_P(PosixRemoteFsTest, AbandonedReplaceLeavesOnlyATemporary) {
  auto base = put("f", "old content", Expect::absent());
  ASSERT_TRUE(base);
  auto pool = std::make_shared<WorkerPool>(WorkerPool::Options{1, 8, "test"});
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool open = false;
  };
  auto gate = std::make_shared<Gate>();
  auto src = std::make_shared<LocalFile>(local_, std::string(1 << 20, 'n'));
  PosixRemoteFs* fs = fs_.get();
  const std::string version = base->data_version;
  auto r1 = pool->run<Stat>("replace", 50ms, [fs, src, gate, version](const ProgressFn&) {
    // Progress from inside the copy blocks, as a dead link would.
    return fs->replaceFile("f", src->fd(), Expect::version(version), {}, [gate](uint64_t) {
      std::unique_lock lock(gate->mu);
      gate->entered = true;
      gate->cv.notify_all();
      gate->cv.wait_for(lock, 10min, [&] { return gate->open; });
      return true;
    });
  });
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code(), ErrorCode::kTimeout);
  {
    std::unique_lock lock(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(lock, 60s, [&] { return gate->entered; }));
  }
  EXPECT_EQ(readFile(r("f")), "old content");
  EXPECT_EQ(countTemps(root_.path()), 1u);

  // Meanwhile a third party changed the file: the late replace must lose.
  ASSERT_TRUE(writeFile(r("f"), "third party"));
  {
    std::lock_guard lock(gate->mu);
    gate->open = true;
    gate->cv.notify_all();
  }
  for (int i = 0; i < 6000 && pool->busyWorkers() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pool->busyWorkers(), 0u);
  EXPECT_EQ(readFile(r("f")), "third party");
  EXPECT_EQ(countTemps(root_.path()), 0u);
}

// PosixRemoteFs serves the cache root too: its messages must say which side
// failed ("a full cache disk" must not read "under remote root").
TEST(PosixRemoteFsSideTest, MessagesNameTheCacheRootForTheCache) {
  TempDir cache;
  TempDir local;
  ASSERT_FALSE(cache.path().empty());
  PosixRemoteFs::Options o;
  o.side = "cache root";
  PosixRemoteFs fs(cache.path(), o);
  EXPECT_EQ(fs.side(), "cache root");
  auto missing = fs.lstat("nope.txt");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("lstat 'nope.txt' under cache root '" + cache.path()),
            std::string::npos)
      << missing.error().toString();
  EXPECT_EQ(missing.error().message().find("remote root"), std::string::npos);
  LocalFile src(local, "data");
  auto no_dir = fs.replaceFile("no/such/dir.txt", src.fd(), Expect::absent(), {}, {});
  ASSERT_FALSE(no_dir);
  EXPECT_NE(no_dir.error().message().find("under cache root"), std::string::npos);
  auto walk = fs.walk("missing-dir");
  ASSERT_FALSE(walk);
  EXPECT_NE(walk.error().message().find("under cache root"), std::string::npos);
  auto dir = fs.openDir("");
  ASSERT_TRUE(dir);
  auto st = (*dir)->stat("gone");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("under cache root"), std::string::npos);

  // The remote keeps its name by default.
  PosixRemoteFs remote(cache.path());
  auto r = remote.lstat("nope.txt");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("under remote root '"), std::string::npos);

  // A full disk (a 64 KiB tmpfs, where this test may mount one: root).
  TempDir small;
  if (::mount("tmpfs", small.path().c_str(), "tmpfs", 0, "size=64k") == 0) {
    PosixRemoteFs full(small.path(), o);
    LocalFile big(local, std::string(1 << 20, 'x'));
    auto put = full.replaceFile("big.bin", big.fd(), Expect::absent(), {}, {});
    ::umount2(small.path().c_str(), MNT_DETACH);
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code(), ErrorCode::kNoSpace) << put.error().toString();
    EXPECT_NE(put.error().message().find("under cache root '" + small.path() + "'"),
              std::string::npos)
        << put.error().toString();
    EXPECT_EQ(put.error().toString().find("remote root"), std::string::npos);
  } else {
    std::cerr << "[note] no tmpfs for the ENOSPC case (" << std::strerror(errno) << ")\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Resolve, PosixRemoteFsTest,
                         ::testing::Values(PosixRemoteFs::Resolve::kAuto,
                                           PosixRemoteFs::Resolve::kOpenat2,
                                           PosixRemoteFs::Resolve::kComponentwise),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case PosixRemoteFs::Resolve::kAuto:
                               return std::string("Auto");
                             case PosixRemoteFs::Resolve::kOpenat2:
                               return std::string("Openat2");
                             case PosixRemoteFs::Resolve::kComponentwise:
                               break;
                           }
                           return std::string("Componentwise");
                         });

}  // namespace
}  // namespace hoard::remote
