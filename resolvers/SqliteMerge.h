// SPDX-License-Identifier: MIT
#pragma once

// The `sqlite` resolver: a three-way merge of a SQLite database, row by row
// by primary key, with the session extension (design.md, "Resolvers";
// issue 10).
//
// The three versions are copied into a private directory (SQLite opens by
// name; the resolver has read-only descriptors only). The changes from base
// to local and from base to remote are computed per table
// (sqlite3session_diff); the local changes are applied onto a copy of the
// remote (sqlite3changeset_apply_v2, triggers off: the changes already
// carry what the sides' triggers did). A row changed on one side only is
// taken from that side; a row changed alike on both is fine; a row changed
// differently (an update against another update or a delete, an insert of
// the same key with other values) is a conflicting row, which follows the
// option `on_row_conflict`, except rows both sides inserted under the same
// INTEGER PRIMARY KEY of a table no FOREIGN KEY references: the remote's
// keeps its key, the local's gets the next free one. The option:
//
//   "defer"  (default) leave the conflict open, naming the rows
//   "local"  the row as the cache has it (deleted if the cache deleted it)
//   "remote" the row as the remote has it
//
// It defers, saying why, when: there is no base version; a version is not a
// valid database; the schema (tables, columns, indexes, views, triggers)
// changed on either side; a virtual table exists (its shadow tables are no
// rows to merge); a table without a primary key (a rowid table without
// PRIMARY KEY: its rowids are no identity, VACUUM renumbers them) changed on
// both sides (changed on one side only, it is taken whole from that side);
// the merge breaks a UNIQUE, NOT NULL or CHECK constraint or a FOREIGN KEY
// (named). sqlite_sequence keeps the larger counter of the two sides.
//
// The result is written to output_fd as a whole database file in the
// local's journal mode, after PRAGMA integrity_check said "ok". A dry run
// (output_fd == -1) does the same merge privately and reports
// "clean, N rows from local, M from remote" or "K rows conflict in table T".

#include "Resolver.h"

namespace hoard::resolvers {

class SqliteMerge final : public Resolver {
 public:
  std::string_view name() const override { return "sqlite"; }
  std::string_view summary() const override {
    return "three-way merge of a SQLite database, row by row by primary key";
  }
  // {"on_row_conflict": "defer" | "local" | "remote"}; anything else is
  // kInvalidArgument naming the key.
  Status checkOptions(const nlohmann::json& options) const override;
  Result<Decision> resolve(const ConflictView& c, const nlohmann::json& options) override;
};

}  // namespace hoard::resolvers
