// SPDX-License-Identifier: MIT
// A share on real folders for the reconciler's tests: a temporary directory
// holding cache/ and remote/, a real journal and base store, and the share's
// row. Fixtures derive from it and call openShare() in their SetUp.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "journal/Journal.h"
#include "store/BaseStore.h"

namespace hoard::sync {

class ShareFixture : public ::testing::Test {
 protected:
  // `tmpl` is a mkdtemp(3) template, e.g. "/tmp/hoard-reconcile-XXXXXX".
  void openShare(std::string tmpl) {
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    cache_ = dir_ + "/cache";
    remote_root_ = dir_ + "/remote";
    std::filesystem::create_directories(cache_);
    std::filesystem::create_directories(remote_root_);
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto s = store::BaseStore::open(dir_ + "/store");
    ASSERT_TRUE(s) << s.error().toString();
    store_.emplace(std::move(*s));
    auto id = journal_->addShare({"docs", remote_root_, cache_, {}, {}});
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_, cache_, remote_root_;
  std::unique_ptr<journal::Journal> journal_;
  std::optional<store::BaseStore> store_;
  int64_t share_ = 0;
  Mutex mu_;
};

}  // namespace hoard::sync
