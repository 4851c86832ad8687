// SPDX-License-Identifier: MIT
// The reconciler on real folders (a cache root and a local folder standing
// in for the remote), with helpers to write, read and compare both sides.
// Shared by the reconciler's test files.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/PosixRemoteFs.h"
#include "sync/Reconciler.h"

namespace hoard::sync {

class ReconcilerTest : public ShareFixture {
 protected:
  void SetUp() override {
    openShare("/tmp/hoard-reconcile-XXXXXX");
    if (HasFatalFailure()) return;
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    remote_fs_ = std::make_unique<remote::PosixRemoteFs>(remote_root_);
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
  }
  static void put(const std::string& abs, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(abs).parent_path());
    std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
  }
  static std::string get(const std::string& abs) {
    std::ifstream in(abs, std::ios::binary);
    if (!in) return "<absent>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void local(const std::string& rel, const std::string& b) { put(cache_ + "/" + rel, b); }
  void remote(const std::string& rel, const std::string& b) { put(remote_root_ + "/" + rel, b); }
  std::string local(const std::string& rel) { return get(cache_ + "/" + rel); }
  std::string remote(const std::string& rel) { return get(remote_root_ + "/" + rel); }
  bool localExists(const std::string& rel) {
    return std::filesystem::symlink_status(cache_ + "/" + rel).type() != std::filesystem::file_type::not_found;
  }
  bool remoteExists(const std::string& rel) {
    return std::filesystem::symlink_status(remote_root_ + "/" + rel).type() != std::filesystem::file_type::not_found;
  }
  // The tracker's part: what the change log would hold.
  void logged(std::vector<Change> changes) {
    ASSERT_TRUE(journal_->recordChanges(share_, changes));
  }

  ReconcileReport sync(ReconcileOptions o = {}) {
    auto r = reconciler_->run(o);
    EXPECT_TRUE(r) << r.error().toString();
    if (!r) return {};
    for (auto& [p, e] : r->failed) ADD_FAILURE() << "failed: " << p << ": " << e.toString();
    return *r;
  }
  std::vector<journal::ConflictRecord> openConflicts() {
    auto c = journal_->conflicts(share_, true);
    EXPECT_TRUE(c);
    return c ? *c : std::vector<journal::ConflictRecord>{};
  }
  // Seeds both sides through a first pass: the remote's content is preloaded.
  void seed(std::map<std::string, std::string> files) {
    for (auto& [p, b] : files) remote(p, b);
    ReconcileReport r = sync();
    ASSERT_FALSE(r.stopped) << r.stopped->toString();
    for (auto& [p, b] : files) ASSERT_EQ(local(p), b) << p;
  }
  // Both sides hold the same tree (names and bytes).
  void expectConverged() {
    std::map<std::string, std::string> a, b;
    for (auto& e : std::filesystem::recursive_directory_iterator(cache_))
      a[std::filesystem::relative(e.path(), cache_)] = e.is_regular_file() ? get(e.path()) : "<dir>";
    for (auto& e : std::filesystem::recursive_directory_iterator(remote_root_)) {
      std::string rel = std::filesystem::relative(e.path(), remote_root_);
      if (rel.rfind(".hoard-", 0) == 0) continue;
      b[rel] = e.is_regular_file() ? get(e.path()) : "<dir>";
    }
    EXPECT_EQ(a, b);
  }

  std::unique_ptr<remote::PosixRemoteFs> local_fs_, remote_fs_;
  std::unique_ptr<Reconciler> reconciler_;
};

}  // namespace hoard::sync
