// SPDX-License-Identifier: MIT
#include "sync/ThreeWay.h"

#include <gtest/gtest.h>

namespace hoard::sync {
namespace {

Version file(std::string_view bytes, uint32_t mode = 0644) {
  return {FileType::kFile, hashBytes(bytes), "", mode};
}
Version dir(uint32_t mode = 0755) { return {FileType::kDir, std::nullopt, "", mode}; }
Version link(std::string target) { return {FileType::kSymlink, std::nullopt, std::move(target), 0777}; }
Version absent() { return {}; }

constexpr SideChange kSame{};
constexpr SideChange kContent{true, false};
constexpr SideChange kMode{false, true};

PathState state(std::optional<Version> base, Version l, SideChange lc, Version r, SideChange rc) {
  PathState s;
  s.base = std::move(base);
  s.local = std::move(l);
  s.remote = std::move(r);
  s.local_change = lc;
  s.remote_change = rc;
  return s;
}

Decision expectConflict(const PathState& s) {
  Decision d = decide(s);
  EXPECT_EQ(d.action, Action::kConflict) << actionName(d.action);
  return d;
}

// The five rows of design.md's table.
TEST(ThreeWay, NeitherChangedDoesNothing) {
  auto d = decide(state(file("a"), file("a"), kSame, file("a"), kSame));
  EXPECT_EQ(d.action, Action::kNothing);
}

TEST(ThreeWay, LocalChangedPushes) {
  EXPECT_EQ(decide(state(file("a"), file("b"), kContent, file("a"), kSame)).action, Action::kPush);
  // deletion and creation are changes too
  EXPECT_EQ(decide(state(file("a"), absent(), kContent, file("a"), kSame)).action, Action::kPush);
  EXPECT_EQ(decide(state(std::nullopt, file("n"), kContent, absent(), kSame)).action,
            Action::kPush);
}

TEST(ThreeWay, RemoteChangedPulls) {
  EXPECT_EQ(decide(state(file("a"), file("a"), kSame, file("c"), kContent)).action, Action::kPull);
  EXPECT_EQ(decide(state(file("a"), file("a"), kSame, absent(), kContent)).action, Action::kPull);
}

TEST(ThreeWay, BothChangedToEqualContentAgrees) {
  auto d = decide(state(file("a"), file("z"), kContent, file("z"), kContent));
  EXPECT_EQ(d.action, Action::kAgree);
  EXPECT_FALSE(d.conflict);
  // both deleted
  EXPECT_EQ(decide(state(file("a"), absent(), kContent, absent(), kContent)).action,
            Action::kAgree);
  // both created the same file
  EXPECT_EQ(decide(state(std::nullopt, file("n"), kContent, file("n"), kContent)).action,
            Action::kAgree);
  // both made the same symlink
  EXPECT_EQ(decide(state(std::nullopt, link("t"), kContent, link("t"), kContent)).action,
            Action::kAgree);
}

TEST(ThreeWay, BothChangedDifferentlyIsContentConflict) {
  auto d = expectConflict(state(file("a"), file("l"), kContent, file("r"), kContent));
  EXPECT_EQ(d.conflict, ConflictKind::kContent);
}

TEST(ThreeWay, UnknownHashesAreNeverAssumedEqual) {
  Version l{FileType::kFile, std::nullopt, "", 0644};
  Version r{FileType::kFile, std::nullopt, "", 0644};
  EXPECT_EQ(expectConflict(state(file("a"), l, kContent, r, kContent)).conflict,
            ConflictKind::kContent);
}

TEST(ThreeWay, ModifyDeleteAndDeleteModify) {
  EXPECT_EQ(expectConflict(state(file("a"), file("l"), kContent, absent(), kContent)).conflict,
            ConflictKind::kModifyDelete);
  EXPECT_EQ(expectConflict(state(file("a"), absent(), kContent, file("r"), kContent)).conflict,
            ConflictKind::kDeleteModify);
}

TEST(ThreeWay, CreateCreate) {
  EXPECT_EQ(
      expectConflict(state(std::nullopt, file("l"), kContent, file("r"), kContent)).conflict,
      ConflictKind::kCreateCreate);
  EXPECT_EQ(
      expectConflict(state(std::nullopt, link("x"), kContent, link("y"), kContent)).conflict,
      ConflictKind::kCreateCreate);
}

TEST(ThreeWay, TypeConflicts) {
  // file became a directory locally while the remote edited the file
  EXPECT_EQ(expectConflict(state(file("a"), dir(), kContent, file("r"), kContent)).conflict,
            ConflictKind::kType);
  // both created, different types
  EXPECT_EQ(expectConflict(state(std::nullopt, file("l"), kContent, dir(), kContent)).conflict,
            ConflictKind::kType);
  // both replaced a file, one by a symlink, one by new bytes
  EXPECT_EQ(expectConflict(state(file("a"), link("t"), kContent, file("r"), kContent)).conflict,
            ConflictKind::kType);
  // local replaced a file by a directory, remote deleted it
  EXPECT_EQ(expectConflict(state(file("a"), dir(), kContent, absent(), kContent)).conflict,
            ConflictKind::kType);
}

TEST(ThreeWay, MetadataOnlyChanges) {
  // one side chmods: it goes across
  EXPECT_EQ(decide(state(file("a"), file("a", 0600), kMode, file("a"), kSame)).action,
            Action::kPushMode);
  EXPECT_EQ(decide(state(file("a"), file("a"), kSame, file("a", 0755), kMode)).action,
            Action::kPullMode);
  // both chmod alike: agree
  EXPECT_EQ(decide(state(file("a"), file("a", 0600), kMode, file("a", 0600), kMode)).action,
            Action::kAgree);
  // both chmod differently: metadata conflict
  EXPECT_EQ(
      expectConflict(state(file("a"), file("a", 0600), kMode, file("a", 0755), kMode)).conflict,
      ConflictKind::kMetadata);
}

TEST(ThreeWay, EditOneSideChmodOtherSideAppliesBoth) {
  Decision d = decide(state(file("a"), file("edited"), kContent, file("a", 0600), kMode));
  EXPECT_EQ(d.action, Action::kPush);
  EXPECT_EQ(d.merged_mode, 0600u);
  d = decide(state(file("a"), file("a", 0700), kMode, file("edited"), kContent));
  EXPECT_EQ(d.action, Action::kPull);
  EXPECT_EQ(d.merged_mode, 0700u);
  // plain push carries no merged mode
  EXPECT_FALSE(decide(state(file("a"), file("b"), kContent, file("a"), kSame)).merged_mode);
}

TEST(ThreeWay, DirDelete) {
  PathState s = state(dir(), absent(), kContent, dir(), kSame);
  s.remote_subtree_changed = true;  // the remote added a file inside
  EXPECT_EQ(expectConflict(s).conflict, ConflictKind::kDirDelete);

  s = state(dir(), dir(), kSame, absent(), kContent);
  s.local_subtree_changed = true;
  EXPECT_EQ(expectConflict(s).conflict, ConflictKind::kDirDelete);

  // a delete of an untouched directory is a plain push
  s = state(dir(), absent(), kContent, dir(), kSame);
  EXPECT_EQ(decide(s).action, Action::kPush);
}

// A directory one side replaced by a symlink (or a file) while the other
// changed something beneath it: a type conflict on the directory itself.
TEST(ThreeWay, ADirectoryReplacedByALinkWhileTheOtherSideEditedInsideIsATypeConflict) {
  PathState s = state(dir(), link("/elsewhere"), kContent, dir(), kSame);
  s.remote_subtree_changed = true;
  EXPECT_EQ(expectConflict(s).conflict, ConflictKind::kType);

  s = state(dir(), dir(), kSame, link("../elsewhere"), kContent);
  s.local_subtree_changed = true;
  EXPECT_EQ(expectConflict(s).conflict, ConflictKind::kType);

  s = state(dir(), file("now a file"), kContent, dir(), kSame);
  s.remote_subtree_changed = true;
  EXPECT_EQ(expectConflict(s).conflict, ConflictKind::kType);

  // nothing changed beneath on the other side: the replacement is pushed
  s = state(dir(), link("/elsewhere"), kContent, dir(), kSame);
  EXPECT_EQ(decide(s).action, Action::kPush);
}

TEST(ThreeWay, BothCreatedDirectoriesAgree) {
  EXPECT_EQ(decide(state(std::nullopt, dir(), kContent, dir(), kContent)).action, Action::kAgree);
}

}  // namespace
}  // namespace hoard::sync
