// SPDX-License-Identifier: MIT
// The change log on a real journal: Coda-style optimisation applied with SQL,
// per-share isolation, freezing and pruning, and sequence numbers.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: test helpers

Change ch(ChangeOp op, std::string path, std::string to = {}, uint32_t mode = 0) {
  return Change{op, std::move(path), std::move(to), mode, {}};
}

std::vector<Change> logOf(Journal& j, int64_t share) {
  auto all = j.changes(share, 0);
  EXPECT_TRUE(all) << (all ? "" : all.error().toString());
  std::vector<Change> out;
  if (all) {
    for (const LoggedChange& c : *all) out.push_back(c.change);
  }
  return out;
}

class JournalChangeLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    j_ = openOk(dir_.file("journal.db"));
    ASSERT_TRUE(j_);
    auto a = j_->addShare(shareSpec("a"));
    auto b = j_->addShare(shareSpec("b"));
    ASSERT_TRUE(a && b);
    a_ = *a;
    b_ = *b;
  }
  int64_t record(int64_t share, std::vector<Change> changes) {
    auto r = j_->recordChanges(share, changes);
    EXPECT_TRUE(r) << (r ? "" : r.error().toString());
    return r ? *r : -1;
  }

  TempDir dir_;
  std::unique_ptr<Journal> j_;
  int64_t a_ = 0, b_ = 0;
};

TEST_F(JournalChangeLogTest, RecordsInOrderWithSeqAndTime) {
  std::string sym_target("\xff/target\n", 9);
  std::vector<Change> in{ch(ChangeOp::kMkdir, "d", {}, 0755),
                         ch(ChangeOp::kCreate, "d/f", {}, 0600),
                         Change{ChangeOp::kSymlink, "l", {}, 0, sym_target},
                         ch(ChangeOp::kChmod, "old", {}, 0640),
                         ch(ChangeOp::kRename, "x", "y"),
                         ch(ChangeOp::kXattr, "z"),
                         ch(ChangeOp::kUnlink, "u"),
                         ch(ChangeOp::kRmdir, "r"),
                         ch(ChangeOp::kWrite, "w")};
  int64_t last = record(a_, in);
  auto got = j_->changes(a_, 0);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*got)[i].change, in[i]) << i;
    EXPECT_EQ((*got)[i].share_id, a_);
    EXPECT_GT((*got)[i].logged_at_ns, 0);
    if (i > 0) {
      EXPECT_GT((*got)[i].seq, (*got)[i - 1].seq);
    }
  }
  EXPECT_EQ(got->back().seq, last);
  auto tail = j_->changes(a_, (*got)[6].seq);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->size(), 2u);
  auto limited = j_->changes(a_, 0, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 3u);
  EXPECT_EQ(*j_->changeCount(a_), 9);
}

TEST_F(JournalChangeLogTest, OptimisesAcrossCallsInTheDatabase) {
  record(a_, {ch(ChangeOp::kCreate, "tmp", {}, 0644)});
  record(a_, {ch(ChangeOp::kWrite, "tmp"), ch(ChangeOp::kChmod, "tmp", {}, 0600)});
  record(a_, {ch(ChangeOp::kWrite, "kept")});
  record(a_, {ch(ChangeOp::kWrite, "kept")});
  record(a_, {ch(ChangeOp::kRename, "p", "q")});
  record(a_, {ch(ChangeOp::kChmod, "tmp", {}, 0640)});
  record(a_, {ch(ChangeOp::kRename, "q", "r")});
  int64_t hw_before = record(a_, {ch(ChangeOp::kChmod, "kept", {}, 0600)});
  int64_t hw = record(a_, {ch(ChangeOp::kUnlink, "tmp"), ch(ChangeOp::kChmod, "kept", {}, 0700)});
  EXPECT_EQ(hw, hw_before) << "nothing new was stored, the high-water mark stays";
  EXPECT_EQ(logOf(*j_, a_),
            (std::vector<Change>{ch(ChangeOp::kWrite, "kept"), ch(ChangeOp::kRename, "p", "r"),
                                 ch(ChangeOp::kChmod, "kept", {}, 0700)}));
}

TEST_F(JournalChangeLogTest, SharesDoNotInteract) {
  record(a_, {ch(ChangeOp::kCreate, "x")});
  record(b_, {ch(ChangeOp::kUnlink, "x")});
  record(b_, {ch(ChangeOp::kRename, "x2", "y")});
  record(a_, {ch(ChangeOp::kRename, "y", "x2")});
  EXPECT_EQ(logOf(*j_, a_),
            (std::vector<Change>{ch(ChangeOp::kCreate, "x"), ch(ChangeOp::kRename, "y", "x2")}));
  EXPECT_EQ(logOf(*j_, b_),
            (std::vector<Change>{ch(ChangeOp::kUnlink, "x"), ch(ChangeOp::kRename, "x2", "y")}));
}

TEST_F(JournalChangeLogTest, HostileNamesRoundTripAndOptimise) {
  std::string deep;
  while (deep.size() < 3900) deep += (deep.empty() ? "" : "/") + std::string(250, '\xee');
  std::vector<std::string> names{std::string("\x80\x81\nx", 4), std::string(255, 'q'), deep,
                                 "sp ace", std::string("a\x01", 2)};
  for (const std::string& n : names) record(a_, {ch(ChangeOp::kWrite, n)});
  EXPECT_EQ(logOf(*j_, a_).size(), names.size());
  for (const std::string& n : names) record(a_, {ch(ChangeOp::kWrite, n)});
  EXPECT_EQ(logOf(*j_, a_).size(), names.size()) << "repeated writes coalesce";
  record(a_, {ch(ChangeOp::kRename, names[0], names[1] + "2")});
  auto log = logOf(*j_, a_);
  ASSERT_EQ(log.size(), names.size() + 1);
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(log[i], ch(ChangeOp::kWrite, names[i]));
  EXPECT_EQ(log.back(), ch(ChangeOp::kRename, names[0], names[1] + "2"));
  // A deep created directory tree vanishes with its rmdirs.
  record(b_, {ch(ChangeOp::kMkdir, deep.substr(0, 250))});
  for (size_t end = deep.find('/', 251); end != std::string::npos; end = deep.find('/', end + 1)) {
    record(b_, {ch(ChangeOp::kMkdir, deep.substr(0, end))});
  }
  record(b_, {ch(ChangeOp::kMkdir, deep), ch(ChangeOp::kCreate, deep + "/f")});
  EXPECT_GT(*j_->changeCount(b_), 10);
  record(b_, {ch(ChangeOp::kUnlink, deep + "/f")});
  std::string p = deep;
  for (;;) {
    record(b_, {ch(ChangeOp::kRmdir, p)});
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) break;
    p = p.substr(0, slash);
  }
  EXPECT_EQ(*j_->changeCount(b_), 0);
}

TEST_F(JournalChangeLogTest, InvalidChangesStoreNothing) {
  for (const Change& bad :
       {ch(ChangeOp::kWrite, ""), ch(ChangeOp::kWrite, "a/../b"), ch(ChangeOp::kWrite, "/abs"),
        ch(ChangeOp::kRename, "a", ""), ch(ChangeOp::kRename, "a", "b/"),
        Change{static_cast<ChangeOp>(42), "a", {}, 0, {}}}) {
    auto r = j_->recordChanges(a_, std::vector<Change>{ch(ChangeOp::kCreate, "good"), bad});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().toString();
  }
  EXPECT_EQ(*j_->changeCount(a_), 0);
  auto r = j_->recordChanges(777, std::vector<Change>{ch(ChangeOp::kCreate, "x")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST_F(JournalChangeLogTest, FrozenRecordsSurviveAndDropPrunes) {
  record(a_, {ch(ChangeOp::kCreate, "x"), ch(ChangeOp::kWrite, "y")});
  auto frozen = j_->freezeChanges(a_);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(j_->share(a_)->frozen_through_seq, *frozen);
  // The engine replays "create x" now; the unlink must not cancel it.
  record(a_, {ch(ChangeOp::kUnlink, "x"), ch(ChangeOp::kWrite, "y")});
  EXPECT_EQ(logOf(*j_, a_),
            (std::vector<Change>{ch(ChangeOp::kCreate, "x"), ch(ChangeOp::kWrite, "y"),
                                 ch(ChangeOp::kUnlink, "x"), ch(ChangeOp::kWrite, "y")}));
  auto too_far = j_->dropChangesThrough(a_, *frozen + 1);
  ASSERT_FALSE(too_far);
  EXPECT_EQ(too_far.error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(j_->dropChangesThrough(a_, *frozen));
  EXPECT_EQ(logOf(*j_, a_),
            (std::vector<Change>{ch(ChangeOp::kUnlink, "x"), ch(ChangeOp::kWrite, "y")}));
}

TEST_F(JournalChangeLogTest, SequenceNumbersFollowTheLogAndAreNeverReused) {
  // What a consumer keeps between reads is a seq from recordChanges or
  // freezeChanges; changes(after) answers from it.
  int64_t s1 = record(a_, {ch(ChangeOp::kCreate, "f1")});
  EXPECT_GT(s1, 0);
  auto since = j_->changes(a_, 0);
  ASSERT_TRUE(since);
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].seq, s1);
  auto after = j_->changes(a_, s1);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());

  // Changes that cancel out leave the mark where it was.
  int64_t s_tmp = record(a_, {ch(ChangeOp::kCreate, "tmp")});
  int64_t s_gone = record(a_, {ch(ChangeOp::kUnlink, "tmp")});
  EXPECT_EQ(s_gone, s_tmp);

  // Pruning drops what was replayed, another share's records stay.
  int64_t s2 = record(a_, {ch(ChangeOp::kCreate, "f2")});
  int64_t g = record(b_, {ch(ChangeOp::kCreate, "g")});
  auto frozen = j_->freezeChanges(a_);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(*frozen, g);
  ASSERT_TRUE(j_->dropChangesThrough(a_, s2));
  EXPECT_TRUE(logOf(*j_, a_).empty());
  EXPECT_EQ(logOf(*j_, b_), (std::vector<Change>{ch(ChangeOp::kCreate, "g")}));

  // A reopen keeps the id and never hands out a seq again, even one whose
  // record was pruned.
  std::string id = j_->journalId();
  j_.reset();
  j_ = openOk(dir_.file("journal.db"));
  ASSERT_TRUE(j_);
  EXPECT_EQ(j_->journalId(), id);
  int64_t s4 = record(a_, {ch(ChangeOp::kCreate, "f4")});
  EXPECT_GT(s4, g);
  auto tail = j_->changes(a_, s2);
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].change, ch(ChangeOp::kCreate, "f4"));

  // A new journal at another path is another journal.
  auto other = openOk(dir_.file("other.db"));
  ASSERT_TRUE(other);
  EXPECT_NE(other->journalId(), id);
}

}  // namespace
}  // namespace hoard::journal

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: test helpers

// Issue 9, point 13: what a rename replaced is taken from the base.
class JournalRenameOverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    j_ = openOk(dir_.file("journal.db"));
    ASSERT_TRUE(j_);
    auto s = j_->addShare(shareSpec("docs"));
    ASSERT_TRUE(s);
    s_ = *s;
    for (const char* p : {"f", ".git/refs/heads/main", ".git/packed-refs", ".git/index"})
      ASSERT_TRUE(j_->putBase(s_, fileEntry(p, 41)));
  }
  Change op(ChangeOp o, std::string path, std::string to = {}, uint32_t mode = 0) {
    return Change{o, std::move(path), std::move(to), mode, {}};
  }
  std::vector<Change> lockRename(const std::string& target) {
    return {op(ChangeOp::kCreate, target + ".lock", {}, 0644), op(ChangeOp::kWrite, target + ".lock"),
            op(ChangeOp::kRename, target + ".lock", target)};
  }

  TempDir dir_;
  std::unique_ptr<Journal> j_;
  int64_t s_ = 0;
};

TEST_F(JournalRenameOverTest, ALockFileRenamedOverABaseFileThenRemovedLeavesItsDelete) {
  // echo > f.lock; mv f.lock f; rm f -- each as the tracker reports it, one call each.
  for (const Change& c : lockRename("f")) ASSERT_TRUE(j_->recordChanges(s_, std::vector{c}));
  ASSERT_TRUE(j_->recordChanges(s_, std::vector{op(ChangeOp::kUnlink, "f")}));
  EXPECT_EQ(logOf(*j_, s_), std::vector<Change>{op(ChangeOp::kUnlink, "f")});
}

TEST_F(JournalRenameOverTest, GitsLockRenamePatternShowsWritesOfTheTargets) {
  std::vector<Change> git;
  for (const char* t : {".git/index", ".git/refs/heads/main", ".git/refs/heads/main",
                        ".git/packed-refs"}) {
    for (const Change& c : lockRename(t)) git.push_back(c);
  }
  git.push_back(op(ChangeOp::kUnlink, ".git/refs/heads/main"));  // pruned after pack-refs
  ASSERT_TRUE(j_->recordChanges(s_, git));
  EXPECT_EQ(logOf(*j_, s_),
            (std::vector<Change>{op(ChangeOp::kWrite, ".git/index", {}, 0644),
                                 op(ChangeOp::kWrite, ".git/packed-refs", {}, 0644),
                                 op(ChangeOp::kUnlink, ".git/refs/heads/main")}));
}

TEST_F(JournalRenameOverTest, AFrozenRecordMakesTheDestinationUnknownSoItsDeleteIsKept) {
  // A pass replays `create new` (frozen: the base has no row for it yet)
  // while the user saves over it by rename and removes it: the delete stays.
  ASSERT_TRUE(j_->recordChanges(s_, std::vector{op(ChangeOp::kCreate, "new", {}, 0644)}));
  ASSERT_TRUE(j_->freezeChanges(s_));
  for (const Change& c : lockRename("new")) ASSERT_TRUE(j_->recordChanges(s_, std::vector{c}));
  ASSERT_TRUE(j_->recordChanges(s_, std::vector{op(ChangeOp::kUnlink, "new")}));
  EXPECT_EQ(logOf(*j_, s_), (std::vector<Change>{op(ChangeOp::kCreate, "new", {}, 0644),
                                                 op(ChangeOp::kUnlink, "new")}));
}

}  // namespace
}  // namespace hoard::journal
