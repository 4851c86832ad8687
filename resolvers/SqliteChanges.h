// SPDX-License-Identifier: MIT
#pragma once

// The row changes between two versions of a database attached to one
// connection, table by table: by primary key through the session extension
// (sqlite3session_diff), and, for a table without one, whether it changed at
// all. Internal to resolvers/.

#include <string>
#include <vector>

#include "SqliteDb.h"
#include "SqliteSchema.h"

namespace hoard::resolvers::sqlite {

enum class RowOp { kInsert, kUpdate, kDelete };

struct RowChange {
  std::string table;
  RowOp op = RowOp::kUpdate;
  Row key;  // the primary key's values, in column order
};

struct Changeset {
  std::string blob;  // as sqlite3changeset_apply takes it
  std::vector<RowChange> rows;
};

// What turns schema `from` into schema `to` in the tables of `tables` that
// have a primary key (the others are not looked at). Both schemas must have
// those tables alike (schemaChange said nothing). Errors name SQLite's
// message.
Result<Changeset> diffTables(Db& db, const std::string& from, const std::string& to,
                             const std::vector<Table>& tables);

// For a table without a primary key: true if its rows (with their rowids)
// differ between `from` and `to`.
Result<bool> rowsDiffer(Db& db, const std::string& from, const std::string& to, const Table& t);

// The row of `t` in `schema` whose key is `key` (every column of
// t.columns), or nullopt where there is none.
Result<std::optional<Row>> readRow(Db& db, const std::string& schema, const Table& t,
                                   const Row& key);

}  // namespace hoard::resolvers::sqlite
