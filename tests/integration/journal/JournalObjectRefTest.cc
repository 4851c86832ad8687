// SPDX-License-Identifier: MIT
// An object first named by a conflict, then by a base row written through the
// upsert's update path: the reference count trigger must not trip over the
// existing object row (found by the reconciler's keep-local resolution).

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "journal/Journal.h"

namespace hoard::journal {
namespace {

TEST(JournalObjectRefTest, BaseUpdateMayNameAnObjectAConflictAlreadyHolds) {
  char tmpl[] = "/tmp/hoard-objref-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  auto j = Journal::open(dir + "/journal.db");
  ASSERT_TRUE(j) << j.error().toString();
  auto share = (*j)->addShare({"docs", "/remote", "/cache", {}, {}});
  ASSERT_TRUE(share);
  ContentHash mine = hashBytes("mine"), base = hashBytes("base");

  BaseEntry e;
  e.path = "r.txt";
  e.local.type = FileType::kFile;
  e.local.size = 4;
  e.hash = base;
  e.object = base;
  ASSERT_TRUE((*j)->putBase(*share, e));
  ConflictRecord c;
  c.share_id = *share;
  c.path = "r.txt";
  c.local_object = mine;
  c.base_object = base;
  ASSERT_TRUE((*j)->addConflict(c));
  EXPECT_EQ((*j)->object(mine)->value().refcount, 1);

  e.hash = mine;
  e.object = mine;  // the update path of the upsert
  auto put = (*j)->putBase(*share, e);
  ASSERT_TRUE(put) << put.error().toString();
  EXPECT_EQ((*j)->object(mine)->value().refcount, 2);
  EXPECT_EQ((*j)->object(base)->value().refcount, 1);  // the conflict still names it
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hoard::journal
