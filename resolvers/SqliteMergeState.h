// SPDX-License-Identifier: MIT
#pragma once

// The state the phases of the sqlite resolver share (SqliteMerge.h says what
// the merge does). Internal to resolvers/.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "Conflict.h"
#include "SqliteChanges.h"
#include "SqliteDb.h"
#include "SqliteSchema.h"

namespace hoard::resolvers::sqlite {

enum class RowChoice { kDefer, kLocal, kRemote };

// A phase's outcome: an error, a reason to defer (the merge stops there,
// nothing is written), or nullopt to go on.
using Step = Result<std::optional<std::string>>;

struct MergeState {
  MergeState(const ConflictView& view, RowChoice rows, PrivateDir private_dir)
      : c(view), choice(rows), dir(std::move(private_dir)) {}

  const ConflictView& c;
  RowChoice choice = RowChoice::kDefer;
  PrivateDir dir;
  // main: the result, begun as a copy of the remote; attached: "base",
  // "local", "remote" (private copies of the three versions).
  std::optional<Db> db;
  bool local_wal = false;  // the local version is in WAL mode
  std::vector<Table> tables;
  Changeset local, remote;
  // table -> encoded keys changed on both sides (alike or not): the local
  // change is not applied as such there.
  std::map<std::string, std::set<std::string>> both;
  // table -> keys changed differently on the two sides.
  std::map<std::string, std::vector<Row>> conflicts;
  size_t conflicting = 0;
  // table -> keys both sides inserted with other values in a table keyed by
  // an INTEGER PRIMARY KEY no FOREIGN KEY references: the remote's row keeps
  // its key, the local's gets the next free one (as SQLite would have given
  // it, had it been inserted after the remote's).
  std::map<std::string, std::vector<Row>> renumber;
  std::vector<std::string> renumbered;  // "\"t\" id 3 -> 5", in order
  // Tables without a primary key that only the local side changed.
  std::vector<const Table*> whole_from_local;
  // Set by the changeset conflict handler when it had to abort.
  std::string abort_reason;

  const Table* table(const std::string& name) const;
  bool changedOnBoth(const std::string& table, const Row& key) const;
};

// The phases, in order (SqliteMergeOpen.cc, SqliteMergeApply.cc).
Step openVersions(MergeState& m);
Step compareSchemas(MergeState& m);
Step diffSides(MergeState& m);
Step tablesWithoutKey(MergeState& m);
Step applyLocal(MergeState& m);
Step checkResult(MergeState& m);
// Puts the result in the local's journal mode, closes it and copies it to
// c.output_fd (not called in a dry run).
Status writeResult(MergeState& m);

// "3 rows conflict in table "t" (id=2, id=5, ...)", several tables joined.
std::string conflictSummary(const MergeState& m);

}  // namespace hoard::resolvers::sqlite
