// SPDX-License-Identifier: MIT
#pragma once

// The rows the journal stores, as plain values. Paths are bytes (RelPath or
// absolute roots as std::string); hashes and object ids are ContentHash.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ConflictKind.h"
#include "common/FileMeta.h"
#include "common/Hash.h"
#include "common/RelPath.h"

namespace hoard::journal {

enum class ShareState { kOnline, kOffline, kReintegrating };

std::string_view shareStateName(ShareState s);  // "online", "offline", "reintegrating"
std::optional<ShareState> shareStateFromName(std::string_view name);

// What the share recorded about its remote so an unmounted or different
// filesystem at the remote root is recognised (design.md invariant 3).
struct RemoteIdentity {
  std::string fsid;          // filesystem id (statfs f_fsid or mountinfo major:minor)
  std::string mount_source;  // mountinfo "mount source", e.g. "user@host:/export"
  std::string fstype;        // mountinfo filesystem type, e.g. "fuse.sshfs", "nfs4"
  std::string marker_id;     // id written in the marker file at the remote root
  std::string mount_point;   // where that mount is attached (bytes)
  std::string mount_root;    // the mount's root within its filesystem (differs for a bind mount)

  bool operator==(const RemoteIdentity&) const = default;
};

// What addShare needs.
struct ShareSpec {
  std::string name;         // unique, text
  std::string remote_root;  // absolute path bytes
  std::string cache_root;   // absolute path bytes
  RemoteIdentity identity;
  // An on-demand share: where its FUSE view is mounted (absolute); the
  // cache root is then hoardd's backing directory. Empty: not on demand.
  std::string view_root;
};

struct ShareRecord {
  int64_t id = 0;
  std::string name;
  std::string remote_root;
  std::string cache_root;
  RemoteIdentity identity;
  ShareState state = ShareState::kOffline;
  bool user_offline = false;       // the user forced OFFLINE
  int64_t frozen_through_seq = 0;  // see Journal::freezeChanges
  int64_t created_at_ns = 0;
  std::string view_root;  // ShareSpec::view_root; empty unless on demand

  bool onDemand() const { return !view_root.empty(); }
  // Where the user works: the view of an on-demand share, else the cache root.
  const std::string& userRoot() const { return view_root.empty() ? cache_root : view_root; }

  bool operator==(const ShareRecord&) const = default;
};

struct Pin {
  RelPath path;
  int priority = 0;  // 0..1000, higher is kept longer

  bool operator==(const Pin&) const = default;
};

struct SnapshotInfo {
  int64_t id = 0;
  int64_t share_id = 0;
  std::string label;
  int64_t taken_at_ns = 0;
  int64_t through_seq = 0;  // the journal's change-log high-water mark when taken
  // The high-water mark when the share next left OFFLINE: every change made
  // during this disconnection has a seq at or below it. Unset while the
  // disconnection lasts. See Journal::dropReintegratedSnapshots.
  std::optional<int64_t> ended_through_seq;

  bool operator==(const SnapshotInfo&) const = default;
};

using hoard::ConflictKind;
using hoard::conflictKindFromName;
using hoard::conflictKindName;

struct ConflictRecord {
  int64_t id = 0;
  int64_t share_id = 0;
  RelPath path;
  ConflictKind kind = ConflictKind::kContent;
  bool open = true;
  std::string resolution;  // empty while open, e.g. "keep-local" once resolved
  std::string detail;      // JSON text the engine fills ("{}" if empty)
  std::optional<ContentHash> local_object;
  std::optional<ContentHash> remote_object;
  std::optional<ContentHash> base_object;
  int64_t created_at_ns = 0;
  int64_t resolved_at_ns = 0;  // 0 while open
  int64_t refreshed_at_ns = 0;  // last time a side's change refreshed it (0: never)

  bool operator==(const ConflictRecord&) const = default;
};

// One decision applied to a conflict (schemas/journal/0005_resolutions.sql).
struct ResolutionRecord {
  int64_t id = 0;
  int64_t conflict_id = 0;
  int64_t share_id = 0;
  RelPath path;
  std::string decision;  // "keep-local", "keep-remote", "stash", "merged", "delete"
  std::string resolver;  // who decided ("" : a person, directly)
  std::string rule;      // the rule that named the resolver ("": none)
  std::string label;     // the conflict's resolution text
  std::optional<ContentHash> local_before;   // the cache's version before (a file)
  std::optional<ContentHash> remote_before;  // the remote's version before (a file)
  std::optional<ContentHash> result_object;  // the path on both sides after (a file)
  RelPath stash_path;                        // stash: the name the loser went to
  std::optional<ContentHash> stash_object;   // ... and its bytes
  std::string before_detail = "{}";  // the conflict's detail when decided
  std::string after_detail = "{}";   // what each side held once applied
  // A decision on a folder or between two renames (0008): every entry each
  // side held beneath its paths before, and after ("" : a file or a link).
  std::string before_tree;
  std::string after_tree;
  // The store objects before_tree names, counted for as long as the row.
  std::vector<ContentHash> tree_objects;
  int64_t resolved_at_ns = 0;
  int64_t undone_at_ns = 0;  // 0: not undone

  bool operator==(const ResolutionRecord&) const = default;
};

// A remote step of reintegration in flight (see schemas/journal/0002_intents.sql).
struct Intent {
  int64_t id = 0;
  int64_t share_id = 0;
  std::string op;                     // "replace", "mkdir", "symlink", "unlink", "rmdir", "rename", "chmod"
  RelPath path;
  RelPath to_path;                    // rename only
  std::optional<ContentHash> new_hash;  // replace: the content the remote holds once done
  // resolve-*: who decided and the resolution's text, for the history row
  // recover() writes when it finishes the apply (empty otherwise).
  std::string resolver;
  std::string rule;
  std::string label;
  int64_t created_at_ns = 0;
  bool operator==(const Intent&) const = default;
};

// One entry of a share's last remote listing (schemas/journal/0009_remote_listing.sql):
// what the remote held at `path` when a pass last listed it, pinned or not.
struct ListedEntry {
  RelPath path;
  FileMeta meta;               // the remote's metadata (type, size, mode, times, inode)
  std::string data_version;    // the remote's data version then (opaque bytes)
  std::string symlink_target;  // for symlinks
  // Its user.* extended attributes (name -> value); nullopt where they
  // were not read (the view then asks the remote, online only).
  std::optional<std::map<std::string, std::string>> xattrs = std::nullopt;

  bool operator==(const ListedEntry&) const = default;
};

// A read of an on-demand share's data that was not there while offline
// (schemas/journal/0010_view_misses.sql).
struct MissRecord {
  int64_t id = 0;
  int64_t share_id = 0;
  RelPath path;
  std::string program;  // the reader's name ("" if unknown)
  int64_t at_ns = 0;    // nanoseconds since the epoch
  std::string outcome;  // "failed", "fetched", "timed-out", "interrupted", "declined"
  int64_t fetched_at_ns = 0;  // when fetch_missed fetched its file; 0: not yet

  bool operator==(const MissRecord&) const = default;
};

// A person's answer "Always fail for PROGRAM" to an on-demand read offline.
struct ReadAnswerRecord {
  std::string program;  // executable name (or comm), as view::ReadQuestion::program
  std::string policy;   // "error"
  int64_t at_ns = 0;    // when it was answered

  bool operator==(const ReadAnswerRecord&) const = default;
};

struct ObjectInfo {
  ContentHash id;
  std::optional<uint64_t> size;  // unknown until a base or snapshot row names it
  int64_t refcount = 0;

  bool operator==(const ObjectInfo&) const = default;
};

}  // namespace hoard::journal
