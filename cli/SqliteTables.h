// SPDX-License-Identifier: MIT
#pragma once

// `hoard show ID --tables` and `hoard diff ID` on a database conflict: the
// rows each side inserted, updated and deleted per table against the base,
// and what the sqlite resolver would do (its dry run), from the versions
// hoardd hands over (OpenConflictVersions).

namespace hoard::cli {

// True if both versions are SQLite databases (read from offset 0).
bool bothAreDatabases(int local_fd, int remote_fd);

// Prints the per-table changes (as text, or --json per
// schemas/cli/conflict-tables.schema.json) to stdout; an error to stderr.
// `base_fd` is -1 when no base version was kept. Returns the exit status:
// 0, or 1 when a version cannot be read as a database.
int printSqliteTables(int base_fd, int local_fd, int remote_fd, bool as_json);

}  // namespace hoard::cli
