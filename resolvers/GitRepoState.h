// SPDX-License-Identifier: MIT
#pragma once

// The working state of one repository merge (GitRepo.h), shared by its
// phases: GitRepoFiles.cc (each side's files, objects, reflogs, the rest)
// and GitRepoRefs.cc (refs, packed-refs, HEAD). Internal to resolvers/.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "GitRepo.h"

namespace hoard::resolvers::gitrepo {

struct FileInfo {
  uint32_t mode = 0644;
  uint64_t size = 0;
};

// A ref's value: an object id (hex) or, for a symbolic ref, the ref it names.
struct RefValue {
  bool symbolic = false;
  std::string target;
  bool operator==(const RefValue&) const = default;
  std::string fileText() const { return symbolic ? "ref: " + target + "\n" : target + "\n"; }
};

struct Side {
  bool is_remote = false;
  std::string dir;                         // the copy ("" : this side has no repository)
  std::map<std::string, FileInfo> files;   // regular files, by path inside the repository
  std::map<std::string, RefValue> refs;    // every ref (loose and packed), as git reads them
  std::string name() const { return is_remote ? "the remote's" : "the cache's"; }
  bool has(const std::string& p) const { return files.count(p) != 0; }
};

struct MergeState {
  Side local, remote;
  std::string share;
  std::string base_dir;  // the base's refs (Version::tree of the base), "" unknown
  // The base's refs, read from base_dir; nullopt where unknown (then no ref
  // is taken for deleted: a ref only one side has is given to the other).
  std::optional<std::map<std::string, RefValue>> base_refs;
  RepoMerge out;
  // What each side's file at a path becomes (bytes), for the writes.
  std::map<std::string, RefValue> merged_refs;
  // Refs this merge deletes (on the side that still has them).
  std::set<std::string> gone;
  // Paths the ref phase wrote or settled; the phase for the rest skips them.
  std::set<std::string> settled;
};

// Reads a side's regular files (recursively; symlinks and others skipped).
Status listFiles(Side& side);
// The bytes of `p` in a side's copy. kIo naming the side and the path.
Result<std::string> readFile(const Side& side, const std::string& p);

// Adds a write of `bytes` to `p` on side `to` unless it already holds them.
Status putBytes(MergeState& m, Side& to, const std::string& p, std::string bytes, uint32_t mode);
// Adds a removal of `p` on side `from` if it holds the file.
void removeFile(MergeState& m, const Side& from, const std::string& p);
// Adds a write copying `from`'s file `p` to the other side unless it holds the same bytes.
Status copyAcross(MergeState& m, const Side& from, const std::string& p);

// The phases, in order.
Status unionObjects(MergeState& m);   // GitRepoFiles.cc
Status mergeRefs(MergeState& m);      // GitRepoRefs.cc: refs, packed-refs, HEAD
Status mergeReflogs(MergeState& m);   // GitRepoFiles.cc
Status followHead(MergeState& m);     // GitRepoFiles.cc: everything else

}  // namespace hoard::resolvers::gitrepo
