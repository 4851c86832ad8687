// SPDX-License-Identifier: MIT
// The history of resolutions (migration 0005): rows recorded with their
// versions, listed newest first, the objects they name counted so the store
// keeps them, an undo that reopens the conflict and is refused when it
// makes no sense, and rows that go with their conflict at retention.

#include <gtest/gtest.h>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT

class JournalResolutionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    j_ = openOk(dir_.file("j.db"));
    ASSERT_TRUE(j_);
    auto s = j_->addShare(shareSpec("docs"));
    ASSERT_TRUE(s);
    share_ = *s;
  }
  int64_t refcount(const ContentHash& id) {
    auto o = j_->object(id);
    EXPECT_TRUE(o);
    return o && o->has_value() ? (*o)->refcount : 0;
  }
  // A conflict at `p` resolved by stash, with its history row.
  std::pair<int64_t, int64_t> resolvedByStash(const std::string& p) {
    ConflictRecord c;
    c.share_id = share_;
    c.path = p;
    c.local_object = hashBytes("L");
    c.remote_object = hashBytes("R");
    auto id = j_->addConflict(c);
    EXPECT_TRUE(id);
    ResolutionRecord r;
    r.conflict_id = *id;
    r.decision = "stash";
    r.resolver = "stash";
    r.rule = "2";
    r.label = "stash (rule 2)";
    r.local_before = hashBytes("L");
    r.remote_before = hashBytes("R");
    r.result_object = hashBytes("R");
    r.stash_path = p + ".conflict-x";
    r.stash_object = hashBytes("L");
    r.before_detail = R"({"note":"as detected"})";
    int64_t rid = 0;
    EXPECT_TRUE(j_->inTransaction([&]() -> Status {
      if (Status st = j_->resolveConflict(*id, r.label); !st) return st;
      auto added = j_->addResolution(r);
      if (!added) return tl::unexpected(added.error());
      rid = *added;
      return {};
    }));
    return {*id, rid};
  }

  TempDir dir_;
  std::unique_ptr<Journal> j_;
  int64_t share_ = 0;
};

TEST_F(JournalResolutionTest, RowsKeepWhatWasDecidedAndTheirObjects) {
  auto [cid, rid] = resolvedByStash("a/dir-x\xff.txt");
  auto [cid2, rid2] = resolvedByStash("a/dir.bak");
  auto list = j_->resolutions(share_);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, rid2);  // newest first
  const ResolutionRecord& r = (*list)[1];
  EXPECT_EQ(r.id, rid);
  EXPECT_EQ(r.conflict_id, cid);
  EXPECT_EQ(r.path, "a/dir-x\xff.txt");
  EXPECT_EQ(r.decision, "stash");
  EXPECT_EQ(r.rule, "2");
  EXPECT_EQ(r.stash_path, "a/dir-x\xff.txt.conflict-x");
  EXPECT_EQ(r.stash_object, hashBytes("L"));
  EXPECT_EQ(r.undone_at_ns, 0);
  EXPECT_GT(r.resolved_at_ns, 0);
  // L: two conflicts' local versions, two histories' local_before and stash.
  EXPECT_EQ(refcount(hashBytes("L")), 6);
  EXPECT_EQ(refcount(hashBytes("R")), 6);
  // Retention drops a conflict with its history, and releases every object.
  auto purged = j_->purgeResolvedConflicts(share_);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2);
  EXPECT_TRUE(j_->resolutions(share_)->empty());
  EXPECT_EQ(refcount(hashBytes("L")), 0);
  EXPECT_EQ(refcount(hashBytes("R")), 0);
}

TEST_F(JournalResolutionTest, UndoReopensTheConflictOnceAndOnlyTheLatest) {
  auto [cid, rid] = resolvedByStash("doc.txt");
  ASSERT_TRUE(j_->undoResolution(rid, R"({"note":"reopened"})"));
  auto c = j_->conflict(cid);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->open);
  EXPECT_EQ(c->resolution, "");
  EXPECT_EQ(c->detail, R"({"note":"reopened"})");
  EXPECT_NE(j_->resolution(rid)->undone_at_ns, 0);
  // Twice: refused, naming it.
  auto again = j_->undoResolution(rid, "{}");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(again.error().message().find("undone already"), std::string::npos);
  // Decided again: only that later resolution can be undone.
  ResolutionRecord r2;
  r2.conflict_id = cid;
  r2.decision = "keep-local";
  ASSERT_TRUE(j_->inTransaction([&]() -> Status {
    if (Status st = j_->resolveConflict(cid, "keep-local"); !st) return st;
    auto added = j_->addResolution(r2);
    return added ? Status{} : Status(tl::unexpected(added.error()));
  }));
  auto list = j_->resolutions(share_);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].decision, "keep-local");
  ASSERT_TRUE(j_->undoResolution((*list)[0].id, "{}"));
  EXPECT_TRUE(j_->conflict(cid)->open);
  // An open conflict's resolution cannot be undone again.
  auto open = j_->undoResolution((*list)[0].id, "{}");
  EXPECT_FALSE(open);
  EXPECT_EQ(j_->resolution(999).error().code(), ErrorCode::kNotFound);
  ResolutionRecord bad;
  bad.conflict_id = 999;
  bad.decision = "stash";
  EXPECT_EQ(j_->addResolution(bad).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hoard::journal
