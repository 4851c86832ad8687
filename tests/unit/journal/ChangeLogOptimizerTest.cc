// SPDX-License-Identifier: MIT
// The Coda-style rules of ChangeLogOptimizer.h, one by one, on an in-memory log.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "SimLog.h"
#include "journal/ChangeLogOptimizer.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: the change builders
using Changes = std::vector<Change>;

Changes run(const Changes& seq, bool one_batch = false) {
  SimLog log;
  if (one_batch) {
    log.record(seq);
  } else {
    for (const Change& c : seq) log.record(c);
  }
  return log.changes();
}

// Every rule must give the same result whether changes come one per
// recordChanges call or all in one batch.
void expectLog(const Changes& seq, const Changes& expected) {
  EXPECT_EQ(run(seq, false), expected) << "one change per call";
  EXPECT_EQ(run(seq, true), expected) << "one batch";
}

// --- create then delete cancels -------------------------------------------

TEST(ChangeLogOptimizerTest, CreateThenUnlinkLeavesNothing) {
  expectLog({create("x"), unlink("x")}, {});
}

TEST(ChangeLogOptimizerTest, CreateWriteChmodXattrThenUnlinkLeavesNothing) {
  expectLog({create("x"), write("x"), chmod("x", 0600), xattr("x"), write("x"), unlink("x")}, {});
}

TEST(ChangeLogOptimizerTest, MkdirThenRmdirLeavesNothing) {
  expectLog({mkdir("d"), chmod("d", 0700), rmdir("d")}, {});
}

TEST(ChangeLogOptimizerTest, SymlinkThenUnlinkLeavesNothing) {
  expectLog({symlink("l", "target"), unlink("l")}, {});
}

TEST(ChangeLogOptimizerTest, MkdirWithContentCreatedAndRemovedLeavesNothing) {
  expectLog({mkdir("d"), mkdir("d/e"), create("d/e/f"), write("d/e/f"), create("d/g"),
             unlink("d/e/f"), rmdir("d/e"), unlink("d/g"), rmdir("d")},
            {});
}

TEST(ChangeLogOptimizerTest, MkdirThenRmdirKeepsFilesMovedOut) {
  // d/f was moved out before d went: the create of d/f becomes a create of
  // z, which must survive the cancellation of d.
  expectLog({mkdir("d"), create("d/f"), rename("d/f", "z"), rmdir("d")}, {create("z")});
}

TEST(ChangeLogOptimizerTest, MkdirThenRmdirWithOldFileMovedThroughIsNotCancelledBlindly) {
  // An existing file w passed through d on its way to z: w -> z must stay.
  Changes got = run({mkdir("d"), rename("w", "d/w"), rename("d/w", "z"), rmdir("d")});
  EXPECT_EQ(got, (Changes{rename("w", "z")}));
}

TEST(ChangeLogOptimizerTest, MkdirThenRmdirAfterOldFileMovedInAndDeletedKeepsTheDelete) {
  // w existed before; it was moved into the new d and deleted there.
  Changes got = run({mkdir("d"), rename("w", "d/w"), unlink("d/w"), rmdir("d")});
  EXPECT_EQ(got, (Changes{unlink("w")}));
}

TEST(ChangeLogOptimizerTest, UnlinkOfPreexistingFileIsLogged) {
  expectLog({unlink("x")}, {unlink("x")});
}

TEST(ChangeLogOptimizerTest, RecreateAfterUnlinkIsKept) {
  // A new object at a path that had one is not a write.
  expectLog({unlink("x"), create("x")}, {unlink("x"), create("x")});
}

TEST(ChangeLogOptimizerTest, CreateUnlinkCreateKeepsOnlyTheSecondCreate) {
  expectLog({create("x"), unlink("x"), create("x"), write("x")}, {create("x")});
}

TEST(ChangeLogOptimizerTest, SecondReportOfTheSameNewObjectIsOneRecord) {
  // The tracker and a start-up rescan can both report one new file.
  expectLog({create("x", 0644), create("other"), create("x", 0600)},
            {create("x", 0600), create("other")});
  expectLog({mkdir("d"), create("d/f"), mkdir("d")}, {mkdir("d"), create("d/f")});
  // Two different kinds at one path (a delete in between was lost) stay two facts.
  expectLog({create("x"), mkdir("x")}, {create("x"), mkdir("x")});
  // After a rename away the path holds a new object.
  expectLog({create("a"), rename("a", "b"), create("a")}, {create("b"), create("a")});
}

// --- writes ------------------------------------------------------------------

TEST(ChangeLogOptimizerTest, RepeatedWritesCoalesceIntoTheEarliest) {
  SimLog log;
  log.record(write("x"));
  log.record(create("other"));
  log.record(write("x"));
  log.record(write("x"));
  ASSERT_EQ(log.changes(), (Changes{write("x"), create("other")}));
  EXPECT_EQ(log.records()[0].seq, 1) << "the earliest write keeps its place";
}

TEST(ChangeLogOptimizerTest, CreateThenWriteIsJustTheCreate) {
  expectLog({create("x", 0640), write("x"), write("x")}, {create("x", 0640)});
}

TEST(ChangeLogOptimizerTest, WritesSeparatedByChmodStillCoalesce) {
  expectLog({write("x"), chmod("x", 0600), write("x")}, {write("x"), chmod("x", 0600)});
}

TEST(ChangeLogOptimizerTest, WriteThenUnlinkOfExistingFileIsJustTheUnlink) {
  expectLog({write("x"), chmod("x", 0600), xattr("x"), write("x"), unlink("x")}, {unlink("x")});
}

TEST(ChangeLogOptimizerTest, WriteAfterRecreateIsNotMergedIntoEarlierWrite) {
  expectLog({write("x"), unlink("x"), create("x"), write("x")}, {unlink("x"), create("x")});
}

TEST(ChangeLogOptimizerTest, WriteAfterRenameAwayAndBackIsSeparate) {
  // rename x->y then a new x: the second write is of the new x.
  expectLog({write("x"), rename("x", "y"), create("x"), write("x")},
            {write("x"), rename("x", "y"), create("x")});
}

// --- chmod / xattr -------------------------------------------------------------

TEST(ChangeLogOptimizerTest, RepeatedChmodKeepsOneWithTheLastMode) {
  expectLog({chmod("x", 0600), write("x"), chmod("x", 0640), chmod("x", 0755)},
            {chmod("x", 0755), write("x")});
}

TEST(ChangeLogOptimizerTest, RepeatedXattrKeepsOne) {
  expectLog({xattr("x"), write("x"), xattr("x"), chmod("x", 0600), xattr("x")},
            {xattr("x"), write("x"), chmod("x", 0600)});
}

TEST(ChangeLogOptimizerTest, ChmodAfterCreateIsKept) {
  expectLog({create("x", 0644), chmod("x", 0600)}, {create("x", 0644), chmod("x", 0600)});
}

// --- renames ------------------------------------------------------------------

TEST(ChangeLogOptimizerTest, RenameChainCollapses) {
  expectLog({rename("a", "b"), rename("b", "c")}, {rename("a", "c")});
  expectLog({rename("a", "b"), rename("b", "c"), rename("c", "d"), rename("d", "e")},
            {rename("a", "e")});
}

TEST(ChangeLogOptimizerTest, RenameThereAndBackLeavesNothing) {
  expectLog({rename("a", "b"), rename("b", "a")}, {});
}

TEST(ChangeLogOptimizerTest, WritesBetweenRenamesAreKeptOnTheObjectsPath) {
  // The write happened while the object was at b; after the collapse it sits
  // after "rename a -> c", where the object is at c.
  expectLog({rename("a", "b"), write("b"), chmod("b", 0600), rename("b", "c")},
            {rename("a", "c"), write("c"), chmod("c", 0600)});
  expectLog({rename("a", "b"), write("b"), rename("b", "a")}, {write("a")});
}

TEST(ChangeLogOptimizerTest, WriteThenRenameKeepsBothFacts) {
  expectLog({write("x"), rename("x", "y")}, {write("x"), rename("x", "y")});
  expectLog({write("x"), rename("x", "y"), write("y")}, {write("x"), rename("x", "y"), write("y")});
}

TEST(ChangeLogOptimizerTest, CreateThenRenameIsCreateAtTheNewPath) {
  expectLog({create("x", 0600), write("x"), chmod("x", 0640), rename("x", "y")},
            {create("y", 0600), chmod("y", 0640)});
  expectLog({symlink("l", "t"), rename("l", "m")}, {symlink("m", "t")});
}

TEST(ChangeLogOptimizerTest, MkdirThenRenameRepathsTheSubtree) {
  expectLog({mkdir("d"), create("d/f"), mkdir("d/e"), rename("w", "d/e/w"), rename("d", "z")},
            {mkdir("z"), create("z/f"), mkdir("z/e"), rename("w", "z/e/w")});
}

TEST(ChangeLogOptimizerTest, RenameOfDirectoryRepathsLaterRecordsBeneathIt) {
  expectLog({rename("a", "b"), create("b/new"), write("b/old"), rename("b", "c")},
            {rename("a", "c"), create("c/new"), write("c/old")});
}

TEST(ChangeLogOptimizerTest, RenameChainIsNotCollapsedOverAReusedDestination) {
  // c was created after a->b; collapsing to a->c would put a's object at c
  // before c's own create.
  Changes seq{rename("a", "b"), create("c"), unlink("c"), rename("b", "c")};
  expectLog(seq, {rename("a", "c")});  // create+unlink c cancel first, then it is safe
  Changes seq2{rename("a", "b"), unlink("c"), rename("b", "c")};
  expectLog(seq2, {rename("a", "b"), unlink("c"), rename("b", "c")});
}

TEST(ChangeLogOptimizerTest, RenameIntoADirectoryCreatedLaterIsNotHoisted) {
  expectLog({rename("a", "b"), mkdir("d"), rename("b", "d/b")},
            {rename("a", "b"), mkdir("d"), rename("b", "d/b")});
}

TEST(ChangeLogOptimizerTest, CreateThenRenameIntoLaterDirectoryIsNotHoisted) {
  expectLog({create("x"), mkdir("d"), rename("x", "d/x")},
            {create("x"), mkdir("d"), rename("x", "d/x")});
}

TEST(ChangeLogOptimizerTest, RenameThenUnlinkIsUnlinkOfTheSource) {
  expectLog({rename("a", "b"), write("b"), unlink("b")}, {unlink("a")});
  expectLog({rename("a", "b"), rename("b", "c"), unlink("c")}, {unlink("a")});
}

TEST(ChangeLogOptimizerTest, CreateRenameUnlinkLeavesNothing) {
  expectLog({create("a"), write("a"), rename("a", "b"), write("b"), unlink("b")}, {});
}

TEST(ChangeLogOptimizerTest, RenameThenUnlinkKeepsSourcePositionWhenSourceReused) {
  // A new a appears after the rename: the unlink of the old a must stay
  // before it.
  expectLog({rename("a", "b"), create("a"), unlink("b")}, {unlink("a"), create("a")});
}

TEST(ChangeLogOptimizerTest, RenameOntoItselfIsNothing) { expectLog({rename("a", "a")}, {}); }

TEST(ChangeLogOptimizerTest, RenameOfDirectoryThenRmdirIsKept) {
  expectLog({rename("a", "b"), rmdir("b")}, {rename("a", "b"), rmdir("b")});
}

// --- non-interference ----------------------------------------------------------

TEST(ChangeLogOptimizerTest, DifferentPathsDoNotInteract) {
  expectLog({create("x"), write("y"), unlink("z"), write("x"), unlink("x"), write("y")},
            {write("y"), unlink("z")});
}

TEST(ChangeLogOptimizerTest, NamePrefixIsNotAnAncestor) {
  // "ab" is not beneath "a": the rmdir of a must not swallow ab's records.
  expectLog({mkdir("a"), create("ab"), create("a b"), rmdir("a")}, {create("ab"), create("a b")});
  expectLog({create("a"), rename("a", "ab"), create("a0")}, {create("ab"), create("a0")});
}

TEST(ChangeLogOptimizerTest, ChangesOfAncestorDirectoryBlockMerging) {
  // Between the two writes the parent was renamed away and back; the object
  // at d/f is still the same, and the rename pair itself collapses.
  expectLog({write("d/f"), rename("d", "e"), rename("e", "d"), write("d/f")}, {write("d/f")});
  // Renamed away only: d/f afterwards is another object.
  expectLog({write("d/f"), rename("d", "e"), mkdir("d"), create("d/f"), write("d/f")},
            {write("d/f"), rename("d", "e"), mkdir("d"), create("d/f")});
}

TEST(ChangeLogOptimizerTest, FrozenRecordsAreNeverTouched) {
  SimLog log;
  log.record({create("x"), rename("a", "b")});
  log.freeze();
  log.record({write("x"), unlink("x"), rename("b", "c"), chmod("y", 0600)});
  log.record(chmod("y", 0700));
  // The unfrozen write before the unlink goes (rule 4); the frozen create
  // and rename stay, so nothing cancels against them.
  EXPECT_EQ(log.changes(), (Changes{create("x"), rename("a", "b"), unlink("x"), rename("b", "c"),
                                    chmod("y", 0700)}));
}

// --- names are bytes --------------------------------------------------------------

TEST(ChangeLogOptimizerTest, ArbitraryByteNames) {
  std::string weird1 = std::string("\xff\xfe", 2) + "\nname";
  std::string weird2 = std::string("a\x01\x7f", 3) + std::string(255 - 3, '\xc3');
  std::string dir = std::string("d\xe9\xe8", 3);
  expectLog({create(weird1), write(weird1), rename(weird1, weird2), write(weird2)},
            {create(weird2)});
  expectLog({mkdir(dir), create(dir + "/" + weird1), unlink(dir + "/" + weird1), rmdir(dir)}, {});
  expectLog({rename(weird1, weird2), rename(weird2, weird1)}, {});
  // A byte above '/' after a shared prefix is not beneath it.
  expectLog({mkdir("a"), create(std::string("a\x80", 2)), rmdir("a")},
            {create(std::string("a\x80", 2))});
}

}  // namespace
}  // namespace hoard::journal

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: the change builders

// As run()/expectLog() above, with the base holding `base` (the journal's
// answer to "what stood there before the unfrozen log").
std::vector<Change> runOver(const std::set<std::string>& base, const std::vector<Change>& seq,
                            bool one_batch) {
  SimLog log;
  log.setExists(
      [base](std::string_view p) -> std::optional<bool> { return base.count(std::string(p)) != 0; });
  if (one_batch) {
    log.record(seq);
  } else {
    for (const Change& c : seq) log.record(c);
  }
  return log.changes();
}
void expectLogOver(const std::set<std::string>& base, const std::vector<Change>& seq,
                   const std::vector<Change>& expected) {
  EXPECT_EQ(runOver(base, seq, false), expected) << "one change per call";
  EXPECT_EQ(runOver(base, seq, true), expected) << "one batch";
}

// `echo > f.lock; mv f.lock f; rm f` offline, with f in the base: the tracker
// sees create, write, rename (no delete of the f it replaced), unlink.
TEST(ChangeLogOptimizerReplaceTest, ALockFileRenamedOverABaseFileThenRemovedDeletesIt) {
  expectLogOver({"f"}, {create("f.lock"), write("f.lock"), rename("f.lock", "f"), unlink("f")},
                {unlink("f")});
  // The same with f new since the base: nothing at all.
  expectLogOver({}, {create("f.lock"), write("f.lock"), rename("f.lock", "f"), unlink("f")}, {});
}

TEST(ChangeLogOptimizerReplaceTest, GitsLockRenameIsAWriteOfTheRef) {
  const std::set<std::string> repo = {"repo/.git/refs/heads/main", "repo/.git/packed-refs",
                                      "repo/.git/index"};
  auto update = [](const std::string& ref) {
    return std::vector<Change>{create(ref + ".lock"), write(ref + ".lock"),
                               rename(ref + ".lock", ref)};
  };
  expectLogOver(repo, update("repo/.git/refs/heads/main"),
                {replaced("repo/.git/refs/heads/main", 0644)});
  // Two commits: still one record, never the lock, never a create of a ref
  // that existed.
  std::vector<Change> twice = update("repo/.git/refs/heads/main");
  for (const Change& c : update("repo/.git/refs/heads/main")) twice.push_back(c);
  expectLogOver(repo, twice, {replaced("repo/.git/refs/heads/main", 0644)});
  // index.lock, and pack-refs: packed-refs.lock renamed over packed-refs,
  // then the loose ref deleted.
  std::vector<Change> pack = update("repo/.git/index");
  for (const Change& c : update("repo/.git/packed-refs")) pack.push_back(c);
  pack.push_back(unlink("repo/.git/refs/heads/main"));
  expectLogOver(repo, pack,
                {replaced("repo/.git/index", 0644), replaced("repo/.git/packed-refs", 0644),
                 unlink("repo/.git/refs/heads/main")});
  // A new branch is a create of the new ref.
  expectLogOver(repo, update("repo/.git/refs/heads/topic"),
                {create("repo/.git/refs/heads/topic")});
}

TEST(ChangeLogOptimizerReplaceTest, AReplacementFoldsIntoAnEarlierWriteAndSupersedesItsModes) {
  // An editor saves f twice by rename; a chmod of the old f in between
  // described an object that is gone.
  expectLogOver({"f"},
                {write("f"), chmod("f", 0600), create("f.tmp", 0640), rename("f.tmp", "f")},
                {replaced("f", 0640)});
  // A later chmod or xattr of the new f is its own fact.
  expectLogOver({"f"}, {xattr("f"), create("f.tmp"), rename("f.tmp", "f"), xattr("f")},
                {xattr("f"), replaced("f", 0644), xattr("f")});
}

TEST(ChangeLogOptimizerReplaceTest, ARenameOverAFileKeepsItsDeleteWhateverComesNext) {
  // A symlink renamed over a base file, then removed.
  expectLogOver({"f"}, {symlink("l.tmp", "t"), rename("l.tmp", "f"), unlink("f")}, {unlink("f")});
  // A base file renamed over another base file, then moved on: both facts stay.
  expectLogOver({"a", "b"}, {rename("a", "b"), rename("b", "c")},
                {rename("a", "b"), rename("b", "c")});
  // A file whose create the log shows, renamed over a base file with an
  // unknown mode: the rename itself is kept.
  expectLogOver({"f"}, {create("n", 0), rename("n", "f")}, {create("n", 0), rename("n", "f")});
}

}  // namespace
}  // namespace hoard::journal
