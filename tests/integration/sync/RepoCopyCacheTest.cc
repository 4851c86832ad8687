// SPDX-License-Identifier: MIT
// Issue 12: the copies of a repository the resolver chain reads are kept
// between its runs (a dry run of `hoard conflicts` included) and brought up
// to date, not made afresh: on a repository made by `git` with a few
// thousand objects, a second look copies nothing, a commit on one side
// copies only its files, and the copies go when they are dropped, when the
// cache goes, and (left by a process killed with -9) when the next cache
// starts. The times of a fresh copy and of a refresh are printed.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "integration/sync/GitRepoFixture.h"
#include "GitRepoOrder.h"
#include "sync/RepoCopyCache.h"

namespace hoard::sync {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class RepoCopyCacheTest : public GitRepoFixture {
 protected:
  void SetUp() override {
    GitRepoFixture::SetUp();
    tmp_ = dir_ + "/tmp";
    fs::create_directories(tmp_);
  }
  // A repository of `files` files in two commits on the server, hoarded.
  void bigRepo(int files) {
    fs::create_directories(rrepo());
    gitOk(rrepo(), "init -q");
    for (int i = 0; i < files; ++i)
      remote("proj/d" + std::to_string(i % 40) + "/f" + std::to_string(i) + ".txt",
             "file " + std::to_string(i) + "\n");
    gitOk(rrepo(), "add -A");
    gitOk(rrepo(), "commit -q -m many");
    commit(rrepo(), "d0/f0.txt", "changed\n", "one more");
    ReconcileReport r = sync();
    ASSERT_FALSE(r.stopped);
    ASSERT_EQ(gitOk(lrepo(), "rev-parse main"), gitOk(rrepo(), "rev-parse main"));
  }
  size_t objectsIn(const std::string& repo) {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(repo + "/.git/objects"))
      n += e.is_regular_file() && resolvers::isImmutableGitFile(
                                      fs::relative(e.path(), repo + "/.git").string());
    return n;
  }
  std::string tmp_;
  Mutex quiet_;
};

TEST_F(RepoCopyCacheTest, ASecondLookCopiesNothingAndACommitCopiesOnlyItsFiles) {
  bigRepo(3000);
  if (HasFatalFailure()) return;
  const size_t objects = objectsIn(rrepo());
  ASSERT_GT(objects, 3000u);

  auto t = Clock::now();
  auto fresh = RepoCopies::make(*local_fs_, *remote_fs_, "proj/.git");
  const double make_ms = msSince(t);
  ASSERT_TRUE(fresh) << fresh.error().toString();
  const size_t all = (*fresh)->stats().copied;
  EXPECT_GE(all, 2 * objects);
  fresh->reset();

  RepoCopyCache cache(tmp_);
  t = Clock::now();
  auto first = cache.get(*local_fs_, *remote_fs_, "proj/.git", nullptr, quiet_);
  const double first_ms = msSince(t);
  ASSERT_TRUE(first) << first.error().toString();
  EXPECT_EQ((*first)->stats().copied, all);
  first->reset();

  t = Clock::now();
  auto again = cache.get(*local_fs_, *remote_fs_, "proj/.git", nullptr, quiet_);
  const double again_ms = msSince(t);
  ASSERT_TRUE(again) << again.error().toString();
  EXPECT_EQ((*again)->stats().copied, 0u);
  EXPECT_EQ((*again)->stats().reused, all);
  // What the resolver reads is the repository as it is.
  EXPECT_EQ(filesOf((*again)->remote()), filesOf(rrepo() + "/.git"));
  again->reset();

  // A commit on the server (touching an existing object's time too, as
  // git's freshening does): only the new and changed files are copied.
  const std::string old_blob = gitOk(rrepo(), "rev-parse HEAD~1:d1/f1.txt");
  commit(rrepo(), "d2/f2.txt", "edited\n", "edit");
  const std::string obj = rrepo() + "/.git/objects/" + old_blob.substr(0, 2) + "/" + old_blob.substr(2);
  ASSERT_TRUE(fs::exists(obj));
  fs::last_write_time(obj, fs::file_time_type::clock::now());
  t = Clock::now();
  auto after = cache.get(*local_fs_, *remote_fs_, "proj/.git", nullptr, quiet_);
  const double after_ms = msSince(t);
  ASSERT_TRUE(after) << after.error().toString();
  EXPECT_GT((*after)->stats().copied, 0u);
  EXPECT_LT((*after)->stats().copied, 20u);  // 3 objects, the ref, its reflogs, the index, ...
  EXPECT_EQ(filesOf((*after)->remote()), filesOf(rrepo() + "/.git"));
  EXPECT_EQ(filesOf((*after)->local()), filesOf(lrepo() + "/.git"));
  const std::string kept = (*after)->remote();
  after->reset();
  std::cout << "[ measure ] " << objects << " objects per side: a fresh copy of both sides "
            << make_ms << " ms (" << all << " files), the kept copy made " << first_ms
            << " ms, looked at again unchanged " << again_ms << " ms (0 files), after a commit "
            << after_ms << " ms" << std::endl;

  // Dropped (its conflict resolved): the directory goes.
  ASSERT_EQ(cache.dirs().size(), 1u);
  const std::string root = cache.dirs()[0];
  ASSERT_TRUE(fs::exists(kept));
  cache.drop("proj/.git");
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(cache.dirs().empty());
}

TEST_F(RepoCopyCacheTest, CopiesGoWithTheCacheAndThoseOfAKilledProcessWithTheNextOne) {
  seedRepo();
  std::string root;
  {
    RepoCopyCache cache(tmp_);
    auto c = cache.get(*local_fs_, *remote_fs_, "proj/.git", nullptr, quiet_);
    ASSERT_TRUE(c) << c.error().toString();
    root = cache.dirs().at(0);
    EXPECT_TRUE(fs::exists(root + "/local/HEAD"));
  }
  EXPECT_FALSE(fs::exists(root));
  // A process that made a copy and was killed before it could remove it.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    RepoCopyCache cache(tmp_);
    auto c = cache.get(*local_fs_, *remote_fs_, "proj/.git", nullptr, quiet_);
    ::kill(::getpid(), SIGKILL);
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  size_t left = 0;
  for (auto& e : fs::directory_iterator(tmp_))
    left += e.path().filename().string().rfind("hoard-repo-" + std::to_string(pid) + "-", 0) == 0;
  ASSERT_EQ(left, 1u);
  RepoCopyCache next(tmp_);
  EXPECT_TRUE(fs::is_empty(tmp_));
}

TEST_F(RepoCopyCacheTest, AtMostAFewCopiesAreKept) {
  seedRepo();
  RepoCopyCache cache(tmp_);
  // The same repository under other names stands for several repositories.
  for (size_t i = 0; i < RepoCopyCache::kMaxCopies + 2; ++i) {
    fs::copy(rrepo(), remote_root_ + "/p" + std::to_string(i), fs::copy_options::recursive);
    auto c = cache.get(*local_fs_, *remote_fs_, "p" + std::to_string(i) + "/.git", nullptr, quiet_);
    ASSERT_TRUE(c) << c.error().toString();
  }
  EXPECT_EQ(cache.dirs().size(), RepoCopyCache::kMaxCopies);
  size_t on_disk = 0;
  for (auto& e : fs::directory_iterator(tmp_)) on_disk += e.is_directory();
  EXPECT_EQ(on_disk, RepoCopyCache::kMaxCopies);
}

}  // namespace
}  // namespace hoard::sync
