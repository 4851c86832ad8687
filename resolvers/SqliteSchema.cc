// SPDX-License-Identifier: MIT
#include "SqliteSchema.h"

#include <map>

namespace hoard::resolvers::sqlite {

std::string Table::columnList() const {
  std::string out;
  for (const auto& c : columns) out += (out.empty() ? "" : ", ") + quoteIdent(c);
  return out;
}

std::string Table::keyMatch() const {
  std::string out;
  for (size_t i = 0; i < pk.size(); ++i)
    out += (i ? " AND " : "") + quoteIdent(pk[i]) + " IS ?" + std::to_string(i + 1);
  return out;
}

namespace {

Status readColumns(Db& db, const std::string& schema, Table& t) {
  auto st =
      db.prepare("PRAGMA " + quoteIdent(schema) + ".table_info(" + quoteLiteral(t.name) + ")");
  if (!st) return tl::unexpected(st.error());
  int rc;
  bool integer = false;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    std::string col = reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 1));
    t.columns.push_back(col);
    if (sqlite3_column_int(st->get(), 5) > 0) {
      t.pk.push_back(col);
      integer = sqlite3_stricmp(reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 2)),
                                "INTEGER") == 0;
    }
  }
  if (rc != SQLITE_DONE) return tl::unexpected(db.error("reading the columns of " + t.name));
  auto wr =
      db.column("PRAGMA " + quoteIdent(schema) + ".table_list(" + quoteLiteral(t.name) + ")", 4);
  if (!wr) return tl::unexpected(wr.error());
  t.integer_key = integer && t.pk.size() == 1 && !wr->empty() && wr->front() == "0";
  return {};
}

// Marks the tables some FOREIGN KEY references.
Status readReferences(Db& db, const std::string& schema, std::vector<Table>& tables) {
  for (const Table& from : tables) {
    if (from.is_virtual) continue;
    auto targets = db.column(
        "PRAGMA " + quoteIdent(schema) + ".foreign_key_list(" + quoteLiteral(from.name) + ")", 2);
    if (!targets) return tl::unexpected(targets.error());
    for (Table& t : tables)
      for (const std::string& target : *targets)
        if (sqlite3_stricmp(target.c_str(), t.name.c_str()) == 0) t.referenced = true;
  }
  return {};
}

// "type name" -> CREATE statement, for everything but SQLite's own objects.
Result<std::map<std::string, std::string>> schemaRows(Db& db, const std::string& schema) {
  auto st = db.prepare("SELECT type, name, coalesce(sql, '') FROM " + quoteIdent(schema) +
                       ".sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'");
  if (!st) return tl::unexpected(st.error());
  std::map<std::string, std::string> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    auto text = [&](int i) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(st->get(), i)));
    };
    out[text(0) + " " + quoteIdent(text(1))] = text(2);
  }
  if (rc != SQLITE_DONE) return tl::unexpected(db.error("reading its schema"));
  return out;
}

}  // namespace

Result<std::vector<Table>> readTables(Db& db, const std::string& schema) {
  auto st = db.prepare("SELECT name, coalesce(sql, '') FROM " + quoteIdent(schema) +
                       ".sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                       "ESCAPE '\\' ORDER BY name");
  if (!st) return tl::unexpected(st.error());
  std::vector<Table> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    Table t;
    t.name = reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 0));
    std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(st->get(), 1));
    t.is_virtual = sqlite3_strnicmp(sql.c_str(), "CREATE VIRTUAL", 14) == 0;
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return tl::unexpected(db.error("listing its tables"));
  for (Table& t : out)
    if (!t.is_virtual)
      if (Status s = readColumns(db, schema, t); !s) return tl::unexpected(s.error());
  if (Status s = readReferences(db, schema, out); !s) return tl::unexpected(s.error());
  return out;
}

Result<std::optional<std::string>> schemaChange(Db& db, const std::string& base,
                                                const std::string& side,
                                                const std::string& side_name) {
  auto b = schemaRows(db, base);
  if (!b) return tl::unexpected(b.error());
  auto s = schemaRows(db, side);
  if (!s) return tl::unexpected(s.error());
  for (const auto& [what, sql] : *b) {
    auto it = s->find(what);
    if (it == s->end()) return what + " was dropped on the " + side_name + " side";
    if (it->second != sql) return what + " was changed on the " + side_name + " side";
  }
  for (const auto& [what, sql] : *s)
    if (!b->count(what)) return what + " was added on the " + side_name + " side";
  return std::nullopt;
}

}  // namespace hoard::resolvers::sqlite
