// SPDX-License-Identifier: MIT
#pragma once

// The view tests' fixture: a remote folder with names that sort between a
// directory and its children, a real journal holding its listing, and a
// View mounted for real (root) over it; and the helpers the tests drive
// programs with.

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <random>
#include <thread>

#include "integration/remote/TempDir.h"
#include "journal/Journal.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "view/View.h"

namespace hoard::view::fixture {


using namespace std::chrono_literals;
using remote::testing::readFile;
using remote::testing::TempDir;
using remote::testing::writeFile;

struct Ran {
  int status = -1;  // exit status, or 128 + signal
  std::string out;  // stdout and stderr
};

// Runs `cmd` under sh, killed after 30 s at the latest.
inline Ran sh(const std::string& cmd) {
  Ran r;
  FILE* p = ::popen(("timeout -k 2 30 sh -c '" + cmd + "' 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline std::string randomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// Polls `cond` until it holds or `limit` passes.
template <class F>
inline bool eventually(F cond, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

class ViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* d : {"remote", "cache", "state", "mnt"})
      ASSERT_EQ(::mkdir((tmp_ / d).c_str(), 0755), 0) << d;
    for (auto* d : {"dir", "dir-x", "dir.bak", "dir/sub"})
      ASSERT_EQ(::mkdir(remote(d).c_str(), 0755), 0) << d;
    ASSERT_TRUE(writeFile(remote("dir/a.txt"), "alpha\n"));
    ASSERT_TRUE(writeFile(remote("dir-x/a.txt"), "dash\n", 0600));
    ASSERT_TRUE(writeFile(remote("dir.bak/a.txt"), "backup\n"));
    ASSERT_TRUE(writeFile(remote("dir/sub/deep.txt"), "deep\n"));
    big_ = randomBytes(3 * 256 * 1024 + 1234, 7);
    ASSERT_TRUE(writeFile(remote("big.bin"), big_));
    ASSERT_EQ(::symlink("dir/a.txt", remote("link").c_str()), 0);
    remote_fs_ = std::make_shared<remote::PosixRemoteFs>(tmp_ / "remote");
    auto j = journal::Journal::open(tmp_ / "state/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto id = journal_->addShare({"work", tmp_ / "remote", mnt(), {}, {}});
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override {
    view_.reset();
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    (void)cleanDeadMount(mnt());
  }

  std::string remote(const std::string& rel) const { return tmp_ / ("remote/" + rel); }
  std::string mnt() const { return tmp_ / "mnt"; }
  std::string in(const std::string& rel) const { return mnt() + "/" + rel; }

  // Lists the remote as a pass does and stores it in the journal.
  void recordListing() {
    auto walked = remote_fs_->walk("");
    ASSERT_TRUE(walked) << walked.error().toString();
    std::vector<journal::ListedEntry> rows;
    for (auto& w : *walked)
      rows.push_back({w.path, w.stat.meta, w.stat.data_version, w.stat.symlink_target});
    ASSERT_TRUE(journal_->replaceRemoteListing(share_, rows));
  }

  ViewOptions options(MissPolicy policy = MissPolicy::kError) {
    ViewOptions o;
    o.name = "work";
    o.mountpoint = mnt();
    o.cache_root = tmp_ / "cache";
    o.parts_dir = tmp_ / "state/parts";
    o.policy = policy;
    // As hoardd will: every miss into the journal (under a lock: the
    // journal is not thread-safe and FUSE threads report).
    o.on_miss = [this](const Miss& m) {
      std::lock_guard<std::mutex> lock(misses_mu_);
      misses_.push_back(m);
      auto id = journal_->addMiss({0, share_, m.path, m.program, m.at_ns, m.outcome});
      EXPECT_TRUE(id) << id.error().toString();
    };
    return o;
  }

  void mount(ViewOptions o, std::shared_ptr<remote::RemoteFs> fs = nullptr) {
    recordListing();
    auto listing = journal_->remoteListing(share_);
    ASSERT_TRUE(listing) << listing.error().toString();
    auto v = View::mount(std::move(o), *listing, fs ? fs : remote_fs_);
    ASSERT_TRUE(v) << v.error().toString();
    view_ = std::move(*v);
  }

  std::vector<Miss> misses() {
    std::lock_guard<std::mutex> lock(misses_mu_);
    return misses_;
  }

  TempDir tmp_;
  std::string big_;
  std::shared_ptr<remote::PosixRemoteFs> remote_fs_;
  std::unique_ptr<journal::Journal> journal_;
  int64_t share_ = 0;
  std::unique_ptr<View> view_;
  pid_t child_ = -1;
  std::mutex misses_mu_;
  std::vector<Miss> misses_;
};

}  // namespace hoard::view::fixture
