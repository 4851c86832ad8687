// SPDX-License-Identifier: MIT
// Intents: reintegration steps in flight survive a reopen and go away once done.

#include <stdlib.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "journal/Journal.h"

namespace hoard::journal {
namespace {

TEST(JournalIntentTest, IntentsSurviveReopenInOrderAndAreRemovedOnce) {
  char tmpl[] = "/tmp/hoard-intents-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string db = dir + "/journal.db";
  int64_t share = 0, first = 0;
  {
    auto j = Journal::open(db);
    ASSERT_TRUE(j) << j.error().toString();
    auto id = (*j)->addShare({"docs", "/remote", "/cache", {}, {}});
    ASSERT_TRUE(id);
    share = *id;
    Intent replace;
    replace.share_id = share;
    replace.op = "replace";
    replace.path = std::string("dir/caf\xe9\nname.txt");
    replace.new_hash = hashBytes("new bytes");
    auto a = (*j)->addIntent(replace);
    ASSERT_TRUE(a) << a.error().toString();
    first = *a;
    Intent rename;
    rename.share_id = share;
    rename.op = "rename";
    rename.path = "a";
    rename.to_path = "b";
    ASSERT_TRUE((*j)->addIntent(rename));
    Intent bogus = rename;
    bogus.op = "explode";
    EXPECT_FALSE((*j)->addIntent(bogus)) << "an unknown op is refused by the schema";
  }
  auto j = Journal::open(db);
  ASSERT_TRUE(j);
  auto list = (*j)->intents(share);
  ASSERT_TRUE(list) << list.error().toString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].op, "replace");
  EXPECT_EQ((*list)[0].path, std::string("dir/caf\xe9\nname.txt"));
  EXPECT_EQ((*list)[0].new_hash, hashBytes("new bytes"));
  EXPECT_EQ((*list)[1].op, "rename");
  EXPECT_EQ((*list)[1].to_path, "b");
  EXPECT_FALSE((*list)[1].new_hash);
  ASSERT_TRUE((*j)->removeIntent(first));
  EXPECT_EQ((*j)->removeIntent(first).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ((*j)->intents(share)->size(), 1u);
  // Removing the share removes its intents.
  ASSERT_TRUE((*j)->removeShare(share));
  EXPECT_TRUE((*j)->intents(share)->empty());
  std::filesystem::remove_all(dir);
}

// An apply's intent names who decided, so that recover() can record it: the
// resolver, the rule and the resolution's text survive a reopen byte for
// byte; other intents have none.
TEST(JournalIntentTest, AnApplysIntentKeepsItsResolverRuleAndLabel) {
  char tmpl[] = "/tmp/hoard-intents-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  int64_t share = 0;
  {
    auto j = Journal::open(dir + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    auto id = (*j)->addShare({"docs", "/remote", "/cache", {}, {}});
    ASSERT_TRUE(id);
    share = *id;
    Intent apply;
    apply.share_id = share;
    apply.op = "resolve-merged";
    apply.path = "notes.db";
    apply.new_hash = hashBytes("merged");
    apply.resolver = "sqlite";
    apply.rule = "1 \"databases\" of share docs";
    apply.label = "merged by sqlite via rule 1 \"caf\xe9\"";
    ASSERT_TRUE((*j)->addIntent(apply));
    Intent replace;
    replace.share_id = share;
    replace.op = "replace";
    replace.path = "a.txt";
    ASSERT_TRUE((*j)->addIntent(replace));
  }
  auto j = Journal::open(dir + "/journal.db");
  ASSERT_TRUE(j);
  auto list = (*j)->intents(share);
  ASSERT_TRUE(list) << list.error().toString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].resolver, "sqlite");
  EXPECT_EQ((*list)[0].rule, "1 \"databases\" of share docs");
  EXPECT_EQ((*list)[0].label, "merged by sqlite via rule 1 \"caf\xe9\"");
  EXPECT_EQ((*list)[1].resolver, "");
  EXPECT_EQ((*list)[1].rule, "");
  EXPECT_EQ((*list)[1].label, "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hoard::journal
