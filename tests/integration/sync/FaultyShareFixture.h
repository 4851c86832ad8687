// SPDX-License-Identifier: MIT
// A share whose remote side is the daemon's own stack (deadlines and a
// worker pool over a fault injector over the real folder) and whose cache
// side is the real folder, with a reconciler over both. For the tests that
// need a remote that is slow or refuses at chosen places.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "integration/sync/ShareFixture.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/PosixRemoteFs.h"
#include "remote/WorkerPool.h"
#include "sync/Reconciler.h"

namespace hoard::sync {

class FaultyShareFixture : public ShareFixture {
 protected:
  // `tmpl` as ShareFixture::openShare; `pool_name` names the workers' threads.
  void openFaultyShare(const std::string& tmpl, const std::string& pool_name) {
    openShare(tmpl);
    if (HasFatalFailure()) return;
    local_fs_ = std::make_unique<remote::PosixRemoteFs>(cache_);
    faulty_ = std::make_shared<remote::FaultyRemoteFs>(
        std::make_shared<remote::PosixRemoteFs>(remote_root_));
    pool_ = std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 256, pool_name});
    remote_fs_ = std::make_unique<remote::DeadlineRemoteFs>(faulty_, pool_,
                                                            remote::DeadlineRemoteFs::Deadlines{});
    reconciler_ = std::make_unique<Reconciler>(ShareSides{
        *journal_, mu_, share_, *local_fs_, *remote_fs_, cache_, *store_, store::KeepPolicy{},
        "laptop", nullptr, nullptr});
  }
  static void put(const std::string& abs, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(abs).parent_path());
    std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
  }
  // The file's bytes, or "<absent>".
  static std::string get(const std::string& abs) {
    std::ifstream in(abs, std::ios::binary);
    if (!in) return "<absent>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::unique_ptr<remote::PosixRemoteFs> local_fs_;
  std::shared_ptr<remote::FaultyRemoteFs> faulty_;
  std::shared_ptr<remote::WorkerPool> pool_;
  std::unique_ptr<remote::DeadlineRemoteFs> remote_fs_;
  std::unique_ptr<Reconciler> reconciler_;
};

}  // namespace hoard::sync
