// SPDX-License-Identifier: MIT
#pragma once

// The three-way decision of design.md for one path: compare local (L) and
// remote (R) with the base (B) and say what to do. Pure logic: the caller has
// already looked at both sides (metadata first, hashes where metadata could
// mislead) and fills in a PathState; nothing here touches a filesystem.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/FileMeta.h"
#include "common/Hash.h"
#include "journal/Records.h"

namespace hoard::sync {

// One side's version of a path, as far as the decision needs it.
struct Version {
  FileType type = FileType::kNone;     // kNone: the path does not exist on this side
  std::optional<ContentHash> hash;     // files: content hash, when known
  std::string symlink_target;          // symlinks
  uint32_t mode = 0;                   // permission bits

  bool exists() const { return type != FileType::kNone; }
  bool operator==(const Version&) const = default;
};

// Whether a side changed since the base, split into content and metadata so a
// chmod on one side and an edit on the other both apply.
struct SideChange {
  bool content = false;  // created, deleted, type changed, bytes or target changed
  bool mode = false;     // permission bits (or xattrs) changed, content not
  bool times = false;    // only the modification time moved (a touch): files only
  // The side's metadata moved but nothing that syncs did: only the base's
  // record of it is stale (not a change; see PassState::Planned::refresh).
  bool stale = false;
  bool any() const { return content || mode || times; }
};

struct PathState {
  std::optional<Version> base;  // nullopt: the path is not in the base
  Version local;
  Version remote;
  SideChange local_change;
  SideChange remote_change;
  // For directories: true if the side added or changed anything beneath the
  // path since the base (decides dir-delete conflicts).
  bool local_subtree_changed = false;
  bool remote_subtree_changed = false;
};

// Conflict kinds are the journal's (design.md's names).
using journal::ConflictKind;

enum class Action : uint8_t {
  kNothing,     // neither side changed
  kPush,        // make the remote equal to local (write, create, delete or chmod)
  kPull,        // make the cache equal to the remote
  kPushMode,    // content agrees; copy local's mode to the remote
  kPullMode,    // content agrees; copy the remote's mode to the cache
  kPushTimes,   // content and mode agree; copy local's modification time to the remote
  kAgree,       // both changed to the same result: record it as the new base
  kConflict,    // see `conflict`
};

std::string_view actionName(Action action);

struct Decision {
  Action action = Action::kNothing;
  std::optional<ConflictKind> conflict;  // set iff action == kConflict
  // Set when content goes one way and a mode change the other way: the mode
  // both sides must end with after the content action (e.g. a local edit and a
  // remote chmod: push the content, then both get the remote's new mode).
  std::optional<uint32_t> merged_mode;

  bool operator==(const Decision&) const = default;
};

// True if two versions hold the same content (type, bytes or target). Files
// without a hash on either side are not known equal.
bool sameContent(const Version& a, const Version& b);

// The decision table of design.md:
//   L same,    R same              -> nothing
//   L changed, R same              -> push
//   L same,    R changed           -> pull
//   both changed, equal result     -> agree (new base, no conflict)
//   both changed, different result -> conflict of the fitting kind
// Content and mode are decided separately: an edit on one side and a chmod on
// the other is not a conflict: the edit goes one way and Decision::merged_mode
// carries the other side's mode. Both sides changing the mode to different
// values is a metadata conflict.
Decision decide(const PathState& s);

}  // namespace hoard::sync
