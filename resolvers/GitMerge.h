// SPDX-License-Identifier: MIT
#pragma once

// git-merge: a three-way text merge of base, local and remote with
// libgit2's git_merge_file (design.md, "Resolvers"). The merge itself
// (mergeVersions) is also what `hoard show ID --merged` runs in the CLI.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "Resolver.h"

namespace hoard::resolvers {

struct GitMergeOptions {
  enum class Favor { kNone, kOurs, kTheirs, kUnion };
  enum class Style { kMerge, kDiff3, kZdiff3 };
  enum class Whitespace { kNone, kIgnoreAll, kIgnoreChange, kIgnoreEol };
  enum class OnConflict { kDefer, kMarkers };
  Favor favor = Favor::kNone;  // ours = the cache's side, theirs = the remote's
  Style style = Style::kMerge;
  Whitespace whitespace = Whitespace::kNone;
  OnConflict on_conflict = OnConflict::kDefer;
};

// A rule's options: an object with any of favor, style, whitespace,
// on_conflict (null or {} = the defaults). kInvalidArgument naming the key
// and the values it takes ("/favor: expected one of none, ours, theirs,
// union; got \"mine\""); an unknown key is an error too.
Result<GitMergeOptions> parseGitMergeOptions(const nlohmann::json& options);

struct MergeOutcome {
  // Set when the versions were not merged at all: "binary content", "no base
  // version was kept", ".gitattributes marks it -merge", ...
  std::optional<std::string> not_merged;
  // The merge (with conflict markers `<<<<<<< cache`, `=======`,
  // `>>>>>>> remote` around each hunk left conflicting).
  std::string bytes;
  int conflicting_hunks = 0;
};

// Reads the three versions of `c` (pread from offset 0) and merges them.
// A base that does not exist (create-create) merges as empty; a base that
// existed but has no fd was not kept and is not merged. Binary content is a
// NUL byte in the first 8000 bytes of a version (git's test, and libgit2's,
// which no attribute overrides). Errors: kIo reading a version (naming the
// path and the side), kInternal from libgit2. Any thread.
Result<MergeOutcome> mergeVersions(const ConflictView& c, const GitMergeOptions& options);

// The 1-based number of the first line of `text` that opens or closes a
// conflict block ("<<<<<<<" or ">>>>>>>" then a space or the line's end);
// 0 if there is none. ("=======" alone is a heading underline too often.)
size_t firstConflictMarker(std::string_view text);

// "1 hunk conflicts", "3 hunks conflict".
std::string hunksConflict(int n);

class GitMerge final : public Resolver {
 public:
  GitMerge();
  ~GitMerge() override;
  std::string_view name() const override { return "git-merge"; }
  std::string_view summary() const override {
    return "three-way text merge with git (libgit2); overlapping edits stay open or get markers";
  }
  Status checkOptions(const nlohmann::json& options) const override;
  // kMerged (the result written to c.output_fd unless it is -1) for a clean
  // merge; kDefer with the reason (and conflicting_hunks) or, with
  // on_conflict=markers, kMarkers with the merge with markers in output_fd.
  Result<Decision> resolve(const ConflictView& c, const nlohmann::json& options) override;
};

}  // namespace hoard::resolvers
