// SPDX-License-Identifier: MIT
#pragma once

// What each side of a database conflict did to its rows, table by table
// (`hoard show ID --tables`, `hoard diff ID` on a database): rows inserted,
// updated and deleted against the base, by primary key, with the session
// extension, as the sqlite resolver sees them.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/Error.h"

namespace hoard::resolvers {

struct SqliteTableChanges {
  std::string table;
  size_t inserted = 0, updated = 0, deleted = 0;
  // A table without a primary key whose rows changed (they cannot be counted
  // by key).
  bool changed_without_key = false;
};

struct SqliteSideChanges {
  // The first schema difference against the base ("table \"t\" was changed
  // on the local side"); the rows are not compared then.
  std::optional<std::string> schema_change;
  std::vector<SqliteTableChanges> tables;  // only tables that changed, by name
};

struct SqliteChanges {
  SqliteSideChanges local, remote;
};

// True if the file at `fd` starts with the SQLite header (pread at 0).
bool isSqliteVersion(int fd);

// Compares the local and remote versions (read-only fds, read from offset 0)
// with the base, in a private directory. Errors: kNotFound if `base_fd` is
// -1 ("no base version"), kCorrupt naming the version that is no valid
// database, kIo.
Result<SqliteChanges> diffSqliteVersions(int base_fd, int local_fd, int remote_fd);

// {"local": {"schema_change": null|"...", "tables": [{"table", "inserted",
// "updated", "deleted", "changed_without_key"}]}, "remote": {...}}
nlohmann::json toJson(const SqliteChanges& c);

// Lines a person reads:
//   local, against the base:
//     table "t": 2 inserted, 1 updated, 0 deleted
//   remote, against the base:
//     no rows changed
std::string describe(const SqliteChanges& c);

}  // namespace hoard::resolvers
