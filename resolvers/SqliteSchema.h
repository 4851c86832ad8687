// SPDX-License-Identifier: MIT
#pragma once

// The schema of one version of a database, as the sqlite resolver and the
// per-table diff need it: its tables (columns, primary key) and whether its
// schema is the base's. Internal to resolvers/.

#include <optional>
#include <string>
#include <vector>

#include "SqliteDb.h"

namespace hoard::resolvers::sqlite {

struct Table {
  std::string name;
  std::vector<std::string> columns;  // PRAGMA table_info order (generated columns left out)
  std::vector<std::string> pk;       // primary key columns, in column order
  bool is_virtual = false;           // CREATE VIRTUAL TABLE (fts5, rtree, ...)
  // The key is one INTEGER PRIMARY KEY column of a rowid table (an alias
  // of the rowid, which SQLite hands out as max + 1).
  bool integer_key = false;
  // Some table's FOREIGN KEY references this one.
  bool referenced = false;

  bool hasPrimaryKey() const { return !pk.empty(); }
  // "a", "b" joined with ", ", quoted.
  std::string columnList() const;
  // "a" IS ?1 AND "b" IS ?2: the row whose key is bound from ?1.
  std::string keyMatch() const;
};

// The user's tables of `schema` ("main", or an attached name), ordered by
// name; SQLite's own (sqlite_sequence, sqlite_stat1) are left out.
Result<std::vector<Table>> readTables(Db& db, const std::string& schema);

// What differs between the schemas of `base` and `side` (tables, columns,
// indexes, views, triggers, as their CREATE statements), in words naming the
// first difference: "table \"t\" was changed on the local side"; nullopt if
// the schemas are the same. `side_name` is "local" or "remote".
Result<std::optional<std::string>> schemaChange(Db& db, const std::string& base,
                                                const std::string& side,
                                                const std::string& side_name);

}  // namespace hoard::resolvers::sqlite
