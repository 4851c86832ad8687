// SPDX-License-Identifier: MIT
#include "sync/ThreeWay.h"

namespace hoard::sync {

namespace {

Decision act(Action a) { return {a, std::nullopt, std::nullopt}; }
Decision conflict(ConflictKind kind) { return {Action::kConflict, kind, std::nullopt}; }

// Both sides changed the content of a path. Decide between agreement and the
// conflict kinds.
Decision decideBothChanged(const PathState& s) {
  const Version& l = s.local;
  const Version& r = s.remote;
  if (sameContent(l, r)) {
    if (l.type == FileType::kNone || l.mode == r.mode) return act(Action::kAgree);
    // Same bytes, different modes: whoever changed the mode wins; if both did, conflict.
    if (s.local_change.mode && s.remote_change.mode) return conflict(ConflictKind::kMetadata);
    if (s.local_change.mode) return act(Action::kPushMode);
    if (s.remote_change.mode) return act(Action::kPullMode);
    return conflict(ConflictKind::kMetadata);
  }
  const bool had_base = s.base && s.base->exists();
  if (!l.exists()) {
    // Local deleted. A directory the remote only added to is a dir-delete conflict.
    if (r.type == FileType::kDir) {
      if (had_base && s.base->type == FileType::kDir) return conflict(ConflictKind::kDirDelete);
      return conflict(ConflictKind::kType);
    }
    return conflict(had_base && s.base->type != r.type && s.base->type != FileType::kNone
                        ? ConflictKind::kType
                        : ConflictKind::kDeleteModify);
  }
  if (!r.exists()) {
    if (l.type == FileType::kDir) {
      if (had_base && s.base->type == FileType::kDir) return conflict(ConflictKind::kDirDelete);
      return conflict(ConflictKind::kType);
    }
    return conflict(had_base && s.base->type != l.type && s.base->type != FileType::kNone
                        ? ConflictKind::kType
                        : ConflictKind::kModifyDelete);
  }
  if (l.type != r.type) return conflict(ConflictKind::kType);
  if (!had_base) return conflict(ConflictKind::kCreateCreate);
  if (s.base->type != l.type) return conflict(ConflictKind::kType);
  return conflict(ConflictKind::kContent);
}

// Directories are containers: both sides "changing" a directory means nothing
// unless one deleted it or its type changed. Entries are decided on their own.
bool bothDirs(const Version& a, const Version& b) {
  return a.type == FileType::kDir && b.type == FileType::kDir;
}

}  // namespace

std::string_view actionName(Action action) {
  switch (action) {
    case Action::kNothing: return "nothing";
    case Action::kPush: return "push";
    case Action::kPull: return "pull";
    case Action::kPushMode: return "push-mode";
    case Action::kPullMode: return "pull-mode";
    case Action::kPushTimes: return "push-times";
    case Action::kAgree: return "agree";
    case Action::kConflict: return "conflict";
  }
  return "nothing";
}

bool sameContent(const Version& a, const Version& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case FileType::kNone:
    case FileType::kDir:
      return true;
    case FileType::kSymlink:
      return a.symlink_target == b.symlink_target;
    case FileType::kFile:
    case FileType::kOther:
      return a.hash && b.hash && *a.hash == *b.hash;
  }
  return false;
}

Decision decide(const PathState& s) {
  const SideChange& lc = s.local_change;
  const SideChange& rc = s.remote_change;

  // A directory one side deleted while the other added beneath it.
  if (s.base && s.base->type == FileType::kDir) {
    if (!s.local.exists() && s.remote.type == FileType::kDir && s.remote_subtree_changed)
      return conflict(ConflictKind::kDirDelete);
    if (!s.remote.exists() && s.local.type == FileType::kDir && s.local_subtree_changed)
      return conflict(ConflictKind::kDirDelete);
    // ... or replaced it by a file or a symlink: the conflict is the
    // directory's own, never one per entry beneath it (those would have to
    // be written through the link, or into the file).
    auto replaced = [](const Version& v) { return v.exists() && v.type != FileType::kDir; };
    if (replaced(s.local) && s.remote.type == FileType::kDir && s.remote_subtree_changed)
      return conflict(ConflictKind::kType);
    if (replaced(s.remote) && s.local.type == FileType::kDir && s.local_subtree_changed)
      return conflict(ConflictKind::kType);
  }

  if (lc.content && rc.content) {
    if (bothDirs(s.local, s.remote)) {
      // Both created (or kept) a directory: agree, then decide modes.
      if (s.local.mode == s.remote.mode || (!lc.mode && !rc.mode))
        return act(Action::kAgree);
      if (lc.mode && rc.mode) return conflict(ConflictKind::kMetadata);
      return act(lc.mode ? Action::kPushMode : Action::kPullMode);
    }
    return decideBothChanged(s);
  }
  if (lc.content || rc.content) {
    // One side changed content; the other may have changed only the mode.
    const bool push = lc.content;
    const Version& winner = push ? s.local : s.remote;
    const Version& other = push ? s.remote : s.local;
    const bool other_mode = push ? rc.mode : lc.mode;
    const bool winner_mode = push ? lc.mode : rc.mode;
    Decision d = act(push ? Action::kPush : Action::kPull);
    if (other_mode && winner.exists() && other.exists() && winner.mode != other.mode) {
      if (winner_mode) return conflict(ConflictKind::kMetadata);
      d.merged_mode = other.mode;
    }
    return d;
  }

  // Content agrees with the base on both sides; only modes may differ.
  if (lc.mode && rc.mode) {
    if (s.local.mode == s.remote.mode) return act(Action::kAgree);
    return conflict(ConflictKind::kMetadata);
  }
  if (lc.mode) return act(Action::kPushMode);
  if (rc.mode) return act(Action::kPullMode);
  // A touch of the cache file is carried to the remote. (A touch on the
  // remote moves its data version, which reads as a content change there
  // and pulls the file with its times.)
  if (lc.times) return act(Action::kPushTimes);
  return act(Action::kNothing);
}

}  // namespace hoard::sync
