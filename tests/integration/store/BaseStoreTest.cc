// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include "common/RelPath.h"
#include "store/BaseStore.h"

namespace hoard::store {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hoard-store-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string readFd(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

std::string readObject(const BaseStore& s, const ContentHash& id) {
  auto fd = s.open(id);
  EXPECT_TRUE(fd) << (fd ? "" : fd.error().toString());
  return fd ? readFd(fd->get()) : std::string();
}

size_t countEntries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

// Whether this filesystem can FICLONE, probed independently of the store.
bool filesystemCanReflink(const std::string& dir) {
  std::string a = dir + "/probe-a", b = dir + "/probe-b";
  writeFile(a, "probe");
  int fa = ::open(a.c_str(), O_RDONLY);
  int fb = ::open(b.c_str(), O_WRONLY | O_CREAT, 0600);
  bool ok = ::ioctl(fb, FICLONE, fa) == 0;
  ::close(fa);
  ::close(fb);
  ::unlink(a.c_str());
  ::unlink(b.c_str());
  return ok;
}

class BaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() + "/src";
    fs::create_directory(src_);
    store_dir_ = tmp_.path() + "/state/hoard/store";  // parents are created too
  }
  BaseStore openStore(StoreOptions o = {}) {
    auto s = BaseStore::open(store_dir_, o);
    if (!s) throw std::runtime_error(s.error().toString());
    return std::move(*s);
  }
  Result<PutResult> putFile(BaseStore& s, const std::string& name, const std::string& bytes) {
    writeFile(src_ + "/" + name, bytes);
    int dfd = ::open(src_.c_str(), O_RDONLY | O_DIRECTORY);
    auto r = s.putAt(dfd, name);
    ::close(dfd);
    return r;
  }

  TempDir tmp_;
  std::string src_;
  std::string store_dir_;
};

TEST_F(BaseStoreTest, PutStoresBytesUnderTheirHashWithFanOut) {
  auto s = openStore();
  const std::string bytes = "hello, base\n";
  auto r = putFile(s, "a.txt", bytes);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->hash, hashBytes(bytes));
  EXPECT_EQ(r->size, bytes.size());
  EXPECT_FALSE(r->existed);
  const std::string hex = r->hash.hex();
  const std::string file = store_dir_ + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
  EXPECT_TRUE(fs::is_regular_file(file)) << file;
  EXPECT_EQ(store_dir_ + "/" + objectPath(r->hash), file);
  EXPECT_EQ(readObject(s, r->hash), bytes);
  EXPECT_TRUE(s.contains(r->hash));
  EXPECT_EQ(s.usage().objects, 1u);
  EXPECT_EQ(s.usage().bytes, bytes.size());
  // Objects are read-only on disk so nobody edits a base by accident.
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
}

TEST_F(BaseStoreTest, SameBytesTwiceIsOneObject) {
  auto s = openStore();
  auto a = putFile(s, "a", "same");
  auto b = putFile(s, "b", "same");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->hash, b->hash);
  EXPECT_FALSE(a->existed);
  EXPECT_TRUE(b->existed);
  auto ids = s.list();
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->size(), 1u);
  EXPECT_EQ(s.usage().objects, 1u);
  EXPECT_EQ(countEntries(store_dir_ + "/tmp"), 0u);  // the duplicate's temp was dropped
}

TEST_F(BaseStoreTest, ReflinkWhenTheFilesystemCanElseCopy) {
  auto s = openStore();
  const bool can = filesystemCanReflink(src_);
  const std::string bytes = pattern((1 << 20) + 7, 1);
  auto r = putFile(s, "big", bytes);
  ASSERT_TRUE(r) << r.error().toString();
  std::cout << "[ info ] " << src_ << ": FICLONE " << (can ? "works" : "unsupported") << ", put "
            << (r->reflinked ? "reflinked" : "copied") << "\n";
  RecordProperty("put_mode", r->reflinked ? "reflink" : "copy");
  EXPECT_EQ(r->reflinked, can);
  EXPECT_EQ(r->size, bytes.size());
  EXPECT_EQ(r->hash, hashBytes(bytes));
  EXPECT_EQ(readObject(s, r->hash), bytes);
}

TEST_F(BaseStoreTest, CopyPathCanBeForced) {
  StoreOptions o;
  o.allow_reflink = false;
  auto s = openStore(o);
  const std::string bytes = pattern(3 * 131072 + 5, 2);
  auto r = putFile(s, "big", bytes);
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_FALSE(r->reflinked);
  EXPECT_EQ(readObject(s, r->hash), bytes);
  EXPECT_TRUE(s.verify(r->hash));
}

TEST_F(BaseStoreTest, EmptyFile) {
  auto s = openStore();
  auto r = putFile(s, "empty", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size, 0u);
  EXPECT_EQ(r->hash, hashBytes(""));
  EXPECT_EQ(readObject(s, r->hash), "");
}

TEST_F(BaseStoreTest, PutFromFdLeavesItsOffsetAlone) {
  auto s = openStore();
  writeFile(src_ + "/f", "0123456789");
  int fd = ::open((src_ + "/f").c_str(), O_RDONLY);
  ASSERT_EQ(::lseek(fd, 4, SEEK_SET), 4);
  auto r = s.put(fd, "f");
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 4);
  ::close(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(readObject(s, r->hash), "0123456789");
}

TEST_F(BaseStoreTest, IdAlwaysNamesTheStoredBytesWhileTheSourceChanges) {
  StoreOptions o;
  o.allow_reflink = false;  // a copy takes long enough to race the writer
  o.durable = false;
  auto s = openStore(o);
  const size_t size = 2 << 20;
  const std::string a(size, 'A'), b(size, 'B');
  writeFile(src_ + "/hot", a);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    int fd = ::open((src_ + "/hot").c_str(), O_WRONLY);
    for (size_t i = 0; !stop.load(); ++i) {
      const std::string& v = i % 2 ? a : b;
      for (size_t off = 0; off < size && !stop.load(); off += 65536)
        if (::pwrite(fd, v.data() + off, 65536, static_cast<off_t>(off)) < 0) break;
    }
    ::close(fd);
  });
  int dfd = ::open(src_.c_str(), O_RDONLY | O_DIRECTORY);
  std::set<ContentHash> seen;
  for (int i = 0; i < 40; ++i) {
    auto r = s.putAt(dfd, "hot");
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(r->size, size);
    const std::string stored = readObject(s, r->hash);
    EXPECT_EQ(hashBytes(stored), r->hash) << "object " << r->hash.hex() << " is not its id";
    EXPECT_TRUE(s.verify(r->hash));
    seen.insert(r->hash);
  }
  stop = true;
  writer.join();
  ::close(dfd);
  std::cout << "[ info ] " << seen.size() << " distinct versions stored while racing a writer\n";
}

TEST_F(BaseStoreTest, CrashLeftoversAreCleanedAtOpen) {
  std::string id_hex;
  {
    auto s = openStore();
    auto r = putFile(s, "keep", "kept object");
    ASSERT_TRUE(r);
    id_hex = r->hash.hex();
  }
  // What a process killed in the middle of put() leaves behind.
  writeFile(store_dir_ + "/tmp/put-0123456789abcdef", "half a cop");
  writeFile(store_dir_ + "/tmp/put-fedcba9876543210", "");
  ASSERT_EQ(countEntries(store_dir_ + "/tmp"), 2u);
  auto s = openStore();
  EXPECT_EQ(countEntries(store_dir_ + "/tmp"), 0u);
  auto id = ContentHash::fromHex(id_hex);
  ASSERT_TRUE(id);
  EXPECT_EQ(readObject(s, *id), "kept object");
  EXPECT_EQ(s.usage().objects, 1u);
  EXPECT_EQ(s.usage().bytes, 11u);
}

TEST_F(BaseStoreTest, CollectGarbageRemovesOnlyTheUnreferenced) {
  auto s = openStore();
  auto a = putFile(s, "a", "alpha");
  auto b = putFile(s, "b", "bravo!");
  auto c = putFile(s, "c", "charlie");
  ASSERT_TRUE(a && b && c);
  auto gc = s.collectGarbage({b->hash});
  ASSERT_TRUE(gc) << gc.error().toString();
  ASSERT_EQ(gc->removed.size(), 1u);
  EXPECT_EQ(gc->removed[0], b->hash);
  EXPECT_EQ(gc->bytes_freed, 6u);
  EXPECT_FALSE(s.contains(b->hash));
  EXPECT_EQ(readObject(s, a->hash), "alpha");
  EXPECT_EQ(readObject(s, c->hash), "charlie");
  EXPECT_EQ(s.usage().objects, 2u);
  EXPECT_EQ(s.usage().bytes, 12u);
  // Collecting an id that is already gone succeeds: the journal may retry.
  gc = s.collectGarbage({b->hash});
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->removed.size(), 1u);
  EXPECT_EQ(gc->bytes_freed, 0u);
  auto opened = s.open(b->hash);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kNotFound);
}

TEST_F(BaseStoreTest, SweepKeepsLiveObjects) {
  auto s = openStore();
  auto a = putFile(s, "a", "alpha");
  auto b = putFile(s, "b", "bravo");
  auto c = putFile(s, "c", "charlie");
  ASSERT_TRUE(a && b && c);
  // A stray file that is not an object must survive a sweep.
  writeFile(store_dir_ + "/objects/README", "not an object");
  std::set<ContentHash> live = {a->hash, c->hash};
  auto gc = s.sweep([&](const ContentHash& id) { return live.count(id) > 0; });
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->removed, std::vector<ContentHash>{b->hash});
  EXPECT_TRUE(s.contains(a->hash));
  EXPECT_FALSE(s.contains(b->hash));
  EXPECT_TRUE(s.contains(c->hash));
  EXPECT_TRUE(fs::exists(store_dir_ + "/objects/README"));
  auto ids = s.list();
  ASSERT_TRUE(ids);
  EXPECT_EQ(std::set<ContentHash>(ids->begin(), ids->end()), live);
}

TEST_F(BaseStoreTest, VerifyDetectsACorruptedObject) {
  auto s = openStore();
  auto r = putFile(s, "a", "precious base content");
  ASSERT_TRUE(r);
  EXPECT_TRUE(s.verify(r->hash));
  const std::string file = store_dir_ + "/" + objectPath(r->hash);
  ::chmod(file.c_str(), 0644);
  int fd = ::open(file.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "P", 1, 0), 1);
  ::close(fd);
  auto v = s.verify(r->hash);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(v.error().message().find(r->hash.hex().substr(2)), std::string::npos)
      << v.error().message();
  auto missing = s.verify(hashBytes("never stored"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(BaseStoreTest, HostileSourceNames) {
  auto s = openStore();
  const std::vector<std::string> names = {"\xff\xfe-not-utf8",   "line\nbreak",    "back\\slash",
                                          std::string(255, 'n'), " leading space", "-dash"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string bytes = "content " + std::to_string(i);
    auto r = putFile(s, names[i], bytes);
    ASSERT_TRUE(r) << displayPath(names[i]) << ": " << r.error().toString();
    EXPECT_EQ(readObject(s, r->hash), bytes);
  }
  EXPECT_EQ(s.usage().objects, names.size());
}

TEST_F(BaseStoreTest, RefusesSymlinksAndDirectories) {
  auto s = openStore();
  writeFile(src_ + "/target", "secret");
  ASSERT_EQ(::symlink("target", (src_ + "/link").c_str()), 0);
  int dfd = ::open(src_.c_str(), O_RDONLY | O_DIRECTORY);
  auto r = s.putAt(dfd, "link");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = s.put(dfd, "src");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  r = s.putAt(dfd, "absent");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  ::close(dfd);
  EXPECT_EQ(s.usage().objects, 0u);
}

TEST_F(BaseStoreTest, BudgetRefusesNewObjectsButNotExistingOnes) {
  StoreOptions o;
  o.budget_bytes = 100;
  auto s = openStore(o);
  auto a = putFile(s, "a", std::string(60, 'a'));
  ASSERT_TRUE(a);
  EXPECT_TRUE(s.wouldFit(40));
  EXPECT_FALSE(s.wouldFit(41));
  auto b = putFile(s, "b", std::string(60, 'b'));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(countEntries(store_dir_ + "/tmp"), 0u);
  EXPECT_FALSE(s.contains(hashBytes(std::string(60, 'b'))));
  auto again = putFile(s, "a2", std::string(60, 'a'));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->existed);
  auto c = putFile(s, "c", std::string(40, 'c'));
  ASSERT_TRUE(c);
  EXPECT_EQ(s.usage().bytes, 100u);
  ASSERT_TRUE(s.remove(a->hash));
  EXPECT_TRUE(putFile(s, "b", std::string(60, 'b')));
}

TEST_F(BaseStoreTest, ReopenCountsWhatIsStored) {
  {
    auto s = openStore();
    ASSERT_TRUE(putFile(s, "a", "12345"));
    ASSERT_TRUE(putFile(s, "b", "1234567"));
  }
  auto s = openStore();
  EXPECT_EQ(s.usage().objects, 2u);
  EXPECT_EQ(s.usage().bytes, 12u);
}

TEST_F(BaseStoreTest, OpenFailsWithTheDirectoryInTheMessage) {
  writeFile(tmp_.path() + "/file", "x");
  auto s = BaseStore::open(tmp_.path() + "/file/store");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find(tmp_.path() + "/file"), std::string::npos)
      << s.error().message();
}

}  // namespace
}  // namespace hoard::store

namespace hoard::store {
namespace {

using Wall = std::chrono::system_clock::time_point;

// Sets the object file's mtime, as if it had been put at `t`.
void stampObject(const std::string& store_dir, const ContentHash& id, Wall t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = ns / 1000000000;
  ts[0].tv_nsec = ts[1].tv_nsec = ns % 1000000000;
  std::string file = store_dir + "/" + objectPath(id);
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << file;
}

TEST_F(BaseStoreTest, BoundedCollectionKeepsObjectsPutOrPutAgainRecently) {
  auto s = openStore();
  Wall now = std::chrono::system_clock::now();
  Wall two_days_ago = now - std::chrono::hours(48);
  auto old_one = putFile(s, "a", "released long ago");
  auto fresh = putFile(s, "b", "just put, its row not committed yet");
  auto again = putFile(s, "c", "old, but put again just now");
  ASSERT_TRUE(old_one && fresh && again);
  stampObject(store_dir_, old_one->hash, two_days_ago);
  stampObject(store_dir_, again->hash, two_days_ago);
  // Another share's pass stores the same bytes again: put() finds and stamps the object.
  auto re = putFile(s, "c2", "old, but put again just now");
  ASSERT_TRUE(re);
  EXPECT_TRUE(re->existed);

  auto gc = s.collectGarbage({old_one->hash, fresh->hash, again->hash},
                             now - std::chrono::hours(24));
  ASSERT_TRUE(gc) << gc.error().toString();
  EXPECT_EQ(gc->removed, std::vector<ContentHash>{old_one->hash});
  EXPECT_EQ(gc->bytes_freed, 17u);
  EXPECT_FALSE(s.contains(old_one->hash));
  EXPECT_EQ(readObject(s, fresh->hash), "just put, its row not committed yet");
  EXPECT_EQ(readObject(s, again->hash), "old, but put again just now");
  EXPECT_EQ(s.usage().objects, 2u);
  EXPECT_EQ(countEntries(store_dir_ + "/tmp"), 0u) << "nothing is left aside";

  // Once the bound passes them, they go too.
  gc = s.collectGarbage({fresh->hash, again->hash}, now + std::chrono::hours(1));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->removed.size(), 2u);
  EXPECT_EQ(s.usage().objects, 0u);
  EXPECT_EQ(s.usage().bytes, 0u);
}

TEST_F(BaseStoreTest, BoundedSweepRemovesOnlyStaleUnclaimedFiles) {
  auto s = openStore();
  Wall now = std::chrono::system_clock::now();
  auto orphan = putFile(s, "a", "left by a crash before its row");
  auto pending = putFile(s, "b", "row not committed yet");
  auto live = putFile(s, "c", "named by a row");
  ASSERT_TRUE(orphan && pending && live);
  stampObject(store_dir_, orphan->hash, now - std::chrono::hours(72));
  stampObject(store_dir_, live->hash, now - std::chrono::hours(72));
  auto gc = s.sweep([&](const ContentHash& id) { return id == live->hash; },
                    now - std::chrono::hours(24));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->removed, std::vector<ContentHash>{orphan->hash});
  EXPECT_FALSE(s.contains(orphan->hash));
  EXPECT_TRUE(s.contains(pending->hash));
  EXPECT_TRUE(s.contains(live->hash));
}

TEST_F(BaseStoreTest, AnObjectACrashLeftAsideComesBackAtOpen) {
  ContentHash id;
  {
    auto s = openStore();
    auto r = putFile(s, "a", "being looked at by a collection");
    ASSERT_TRUE(r);
    id = r->hash;
  }
  // The collection moved it aside, then the process died.
  fs::rename(store_dir_ + "/" + objectPath(id), store_dir_ + "/tmp/gc-" + id.hex());
  writeFile(store_dir_ + "/tmp/put-0123456789abcdef", "a half-written put");
  auto s = openStore();
  EXPECT_EQ(readObject(s, id), "being looked at by a collection");
  EXPECT_EQ(countEntries(store_dir_ + "/tmp"), 0u);
  EXPECT_EQ(s.usage().objects, 1u);
}

}  // namespace
}  // namespace hoard::store
