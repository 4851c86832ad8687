// SPDX-License-Identifier: MIT
#include "SqliteDiff.h"

#include <map>

#include "SqliteChanges.h"

namespace hoard::resolvers {

namespace {

using namespace sqlite;

Status copyIn(const PrivateDir& dir, int fd, const std::string& side) {
  std::string what = "the " + side + " version";
  auto head = readHeader(fd, what);
  if (!head) return tl::unexpected(head.error());
  if (!isSqliteHeader(*head)) return fail(ErrorCode::kCorrupt, what + " is not a SQLite database");
  return copyFdToFile(fd, dir.file(side + ".db"), what);
}

Result<SqliteSideChanges> sideChanges(Db& db, const std::vector<Table>& tables,
                                      const std::string& side) {
  SqliteSideChanges out;
  auto schema = schemaChange(db, "main", side, side);
  if (!schema) return tl::unexpected(schema.error());
  if (*schema) {
    out.schema_change = *schema;
    return out;
  }
  auto changes = diffTables(db, "main", side, tables);
  if (!changes) return tl::unexpected(changes.error());
  std::map<std::string, SqliteTableChanges> by;
  for (const RowChange& r : changes->rows) {
    SqliteTableChanges& t = by[r.table];
    t.table = r.table;
    (r.op == RowOp::kInsert ? t.inserted : r.op == RowOp::kDelete ? t.deleted : t.updated)++;
  }
  for (const Table& t : tables) {
    if (t.hasPrimaryKey() || t.is_virtual) continue;
    auto differ = rowsDiffer(db, "main", side, t);
    if (!differ) return tl::unexpected(differ.error());
    if (*differ) by[t.name] = SqliteTableChanges{t.name, 0, 0, 0, true};
  }
  for (auto& [name, t] : by) out.tables.push_back(std::move(t));
  return out;
}

}  // namespace

bool isSqliteVersion(int fd) {
  auto head = readHeader(fd, "a version");
  return head && isSqliteHeader(*head);
}

Result<SqliteChanges> diffSqliteVersions(int base_fd, int local_fd, int remote_fd) {
  if (base_fd < 0) return fail(ErrorCode::kNotFound, "no base version of the database was kept");
  auto dir = PrivateDir::make();
  if (!dir) return tl::unexpected(dir.error());
  const std::pair<int, std::string> versions[] = {
      {base_fd, "base"}, {local_fd, "local"}, {remote_fd, "remote"}};
  for (const auto& [fd, side] : versions)
    if (Status s = copyIn(*dir, fd, side); !s) return tl::unexpected(s.error());
  auto db = Db::open(dir->file("base.db"), "the base version");
  if (!db) return tl::unexpected(db.error());
  for (const char* side : {"local", "remote"})
    if (Status s = db->exec("ATTACH " + quoteLiteral(dir->file(std::string(side) + ".db")) +
                            " AS " + side);
        !s)
      return tl::unexpected(s.error().withContext("the " + std::string(side) + " version"));
  auto tables = readTables(*db, "main");
  if (!tables) return tl::unexpected(tables.error());
  SqliteChanges out;
  for (auto [side, into] : {std::pair{"local", &out.local}, std::pair{"remote", &out.remote}}) {
    auto c = sideChanges(*db, *tables, side);
    if (!c) return tl::unexpected(c.error());
    *into = std::move(*c);
  }
  return out;
}

nlohmann::json toJson(const SqliteChanges& c) {
  auto side = [](const SqliteSideChanges& s) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : s.tables)
      tables.push_back({{"table", t.table},
                        {"inserted", t.inserted},
                        {"updated", t.updated},
                        {"deleted", t.deleted},
                        {"changed_without_key", t.changed_without_key}});
    return nlohmann::json{
        {"schema_change", s.schema_change ? nlohmann::json(*s.schema_change) : nlohmann::json()},
        {"tables", tables}};
  };
  return {{"local", side(c.local)}, {"remote", side(c.remote)}};
}

std::string describe(const SqliteChanges& c) {
  std::string out;
  for (auto [name, s] : {std::pair{"local", &c.local}, std::pair{"remote", &c.remote}}) {
    out += std::string(name) + ", against the base:\n";
    if (s->schema_change)
      out += "  the schema changed: " + *s->schema_change + "\n";
    else if (s->tables.empty())
      out += "  no rows changed\n";
    for (const auto& t : s->tables) {
      out += "  table " + quoteIdent(t.table) + ": ";
      if (t.changed_without_key)
        out += "rows changed (no primary key to count them by)\n";
      else
        out += std::to_string(t.inserted) + " inserted, " + std::to_string(t.updated) +
               " updated, " + std::to_string(t.deleted) + " deleted\n";
    }
  }
  return out;
}

}  // namespace hoard::resolvers
