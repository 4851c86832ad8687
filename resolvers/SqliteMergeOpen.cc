// SPDX-License-Identifier: MIT
// The sqlite resolver's first phases: the versions copied and opened, their
// schemas compared, the row changes of each side computed and matched.

#include <map>

#include "SqliteMergeState.h"

namespace hoard::resolvers::sqlite {

const Table* MergeState::table(const std::string& name) const {
  for (const Table& t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

bool MergeState::changedOnBoth(const std::string& t, const Row& key) const {
  auto it = both.find(t);
  return it != both.end() && it->second.count(encodeKey(key));
}

namespace {

constexpr const char* kSides[] = {"base", "local", "remote"};

const Version& versionOf(const ConflictView& c, std::string_view side) {
  return side == "base" ? c.base : side == "local" ? c.local : c.remote;
}

// Copies one version into the private directory; a reason to defer if it is
// no database at all.
Step copyVersion(MergeState& m, const std::string& side) {
  const Version& v = versionOf(m.c, side);
  std::string what = "the " + side + " version";
  if (side == "base" && (!v.exists() || v.fd < 0))
    return std::optional<std::string>("no base version of the database was kept");
  if (!v.exists() || v.type != FileType::kFile || v.fd < 0)
    return std::optional<std::string>(what + " is not a file");
  auto head = readHeader(v.fd, what);
  if (!head) return tl::unexpected(head.error());
  if (!isSqliteHeader(*head)) return std::optional<std::string>(what + " is not a SQLite database");
  if (side == "local") m.local_wal = headerSaysWal(*head);
  if (Status s = copyFdToFile(v.fd, m.dir.file(side + ".db"), what); !s)
    return tl::unexpected(s.error());
  if (side == "remote")
    if (Status s = copyFdToFile(v.fd, m.dir.file("result.db"), what); !s)
      return tl::unexpected(s.error());
  return std::nullopt;
}

// PRAGMA quick_check of one attached version: a reason to defer unless "ok".
Step checkVersion(MergeState& m, const std::string& side) {
  auto rows = m.db->column("PRAGMA " + quoteIdent(side) + ".quick_check");
  if (!rows && rows.error().code() != ErrorCode::kCorrupt) return tl::unexpected(rows.error());
  if (rows && rows->size() == 1 && rows->front() == "ok") return std::nullopt;
  std::string why = rows ? (rows->empty() ? "no answer" : rows->front()) : rows.error().message();
  return std::optional<std::string>("the " + side + " version is not a valid database: " + why);
}

}  // namespace

Step openVersions(MergeState& m) {
  for (const char* side : kSides) {
    auto step = copyVersion(m, side);
    if (!step || *step) return step;
  }
  auto db = Db::open(m.dir.file("result.db"), "the merged database");
  if (!db) return tl::unexpected(db.error());
  m.db.emplace(std::move(*db));
  // The sides' changes already hold what their triggers did.
  sqlite3_db_config(m.db->get(), SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  for (const char* side : kSides) {
    std::string sql =
        "ATTACH " + quoteLiteral(m.dir.file(std::string(side) + ".db")) + " AS " + quoteIdent(side);
    if (Status s = m.db->exec(sql); !s) {
      if (s.error().code() == ErrorCode::kCorrupt)
        return std::optional<std::string>(
            "the " + std::string(side) +
            " version is not a valid database: " + s.error().message());
      return tl::unexpected(s.error());
    }
    auto step = checkVersion(m, side);
    if (!step || *step) return step;
  }
  return std::nullopt;
}

Step compareSchemas(MergeState& m) {
  for (const char* side : {"local", "remote"}) {
    auto change = schemaChange(*m.db, "base", side, side);
    if (!change) return tl::unexpected(change.error());
    if (*change) return std::optional<std::string>("the schema changed: " + **change);
  }
  auto tables = readTables(*m.db, "base");
  if (!tables) return tl::unexpected(tables.error());
  m.tables = std::move(*tables);
  for (const Table& t : m.tables)
    if (t.is_virtual)
      return std::optional<std::string>("table " + quoteIdent(t.name) +
                                        " is a virtual table: its rows cannot be merged");
  return std::nullopt;
}

Step diffSides(MergeState& m) {
  auto local = diffTables(*m.db, "base", "local", m.tables);
  if (!local) return tl::unexpected(local.error());
  auto remote = diffTables(*m.db, "base", "remote", m.tables);
  if (!remote) return tl::unexpected(remote.error());
  m.local = std::move(*local);
  m.remote = std::move(*remote);
  std::map<std::string, std::map<std::string, RowOp>> remote_ops;
  for (const RowChange& r : m.remote.rows) remote_ops[r.table][encodeKey(r.key)] = r.op;
  for (const RowChange& l : m.local.rows) {
    auto theirs = remote_ops[l.table].find(encodeKey(l.key));
    if (theirs == remote_ops[l.table].end()) continue;
    m.both[l.table].insert(encodeKey(l.key));
    const Table& t = *m.table(l.table);
    auto lrow = readRow(*m.db, "local", t, l.key);
    if (!lrow) return tl::unexpected(lrow.error());
    auto rrow = readRow(*m.db, "remote", t, l.key);
    if (!rrow) return tl::unexpected(rrow.error());
    if (*lrow == *rrow) continue;  // changed alike (or deleted on both sides)
    bool both_inserted = l.op == RowOp::kInsert && theirs->second == RowOp::kInsert;
    if (both_inserted && t.integer_key && !t.referenced) {
      m.renumber[l.table].push_back(l.key);
      continue;
    }
    m.conflicts[l.table].push_back(l.key);
    ++m.conflicting;
  }
  return std::nullopt;
}

Step tablesWithoutKey(MergeState& m) {
  for (const Table& t : m.tables) {
    if (t.hasPrimaryKey()) continue;
    auto local = rowsDiffer(*m.db, "base", "local", t);
    if (!local) return tl::unexpected(local.error());
    auto remote = rowsDiffer(*m.db, "base", "remote", t);
    if (!remote) return tl::unexpected(remote.error());
    if (*local && *remote)
      return std::optional<std::string>(
          "table " + quoteIdent(t.name) +
          " has no primary key and changed on both sides: its rows cannot be matched");
    if (*local) m.whole_from_local.push_back(&t);
  }
  return std::nullopt;
}

std::string conflictSummary(const MergeState& m) {
  std::string out;
  for (const auto& [table, keys] : m.conflicts) {
    const Table& t = *m.table(table);
    std::string list;
    for (size_t i = 0; i < keys.size() && i < 5; ++i) {
      std::string key;
      for (size_t k = 0; k < t.pk.size(); ++k)
        key += (k ? "," : "") + t.pk[k] + "=" + keys[i][k].display();
      list += (i ? ", " : "") + key;
    }
    if (keys.size() > 5) list += ", ...";
    out += (out.empty() ? "" : "; ") + std::to_string(keys.size()) +
           (keys.size() == 1 ? " row conflicts" : " rows conflict") + " in table " +
           quoteIdent(table) + " (" + list + ")";
  }
  return out;
}

}  // namespace hoard::resolvers::sqlite
