// SPDX-License-Identifier: MIT
// The sqlite resolver's last phases: the local changes applied onto the
// remote's copy, conflicting rows set to the chosen side, the result checked
// and written.

#include <algorithm>

#include "SqliteMergeState.h"

namespace hoard::resolvers::sqlite {

namespace {

Row keyOf(sqlite3_changeset_iter* it, bool from_new) {
  const char* table = nullptr;
  int ncol = 0, op = 0, indirect = 0;
  unsigned char* pk = nullptr;
  sqlite3changeset_op(it, &table, &ncol, &op, &indirect);
  sqlite3changeset_pk(it, &pk, &ncol);
  Row key;
  for (int i = 0; i < ncol; ++i) {
    if (!pk[i]) continue;
    sqlite3_value* v = nullptr;
    if (from_new)
      sqlite3changeset_new(it, i, &v);
    else
      sqlite3changeset_old(it, i, &v);
    key.push_back(Value::of(v));
  }
  return key;
}

// A row both sides changed is settled after the apply (fixRows): omit the
// local change here. Anything else that does not apply stops the merge.
int onConflict(void* ctx, int kind, sqlite3_changeset_iter* it) {
  auto& m = *static_cast<MergeState*>(ctx);
  const char* table = nullptr;
  int ncol = 0, op = 0, indirect = 0;
  sqlite3changeset_op(it, &table, &ncol, &op, &indirect);
  if (kind == SQLITE_CHANGESET_CONSTRAINT) {
    m.abort_reason =
        "the merge breaks a UNIQUE, NOT NULL or CHECK constraint of table " + quoteIdent(table);
    return SQLITE_CHANGESET_ABORT;
  }
  if (m.changedOnBoth(table, keyOf(it, op == SQLITE_INSERT))) return SQLITE_CHANGESET_OMIT;
  m.abort_reason = "a local change to table " + quoteIdent(table) + " does not apply";
  return SQLITE_CHANGESET_ABORT;
}

// Sets one row of the result to `from`'s (deleted if `from` has none).
Status takeRow(MergeState& m, const Table& t, const Row& key, const std::string& from) {
  std::string main = "main." + quoteIdent(t.name);
  std::string sqls[] = {"DELETE FROM " + main + " WHERE " + t.keyMatch(),
                        "INSERT INTO " + main + " (" + t.columnList() + ") SELECT " +
                            t.columnList() + " FROM " + quoteIdent(from) + "." +
                            quoteIdent(t.name) + " WHERE " + t.keyMatch()};
  for (const std::string& sql : sqls) {
    auto st = m.db->prepare(sql);
    if (!st) return tl::unexpected(st.error());
    for (size_t i = 0; i < key.size(); ++i) key[i].bind(st->get(), int(i + 1));
    if (sqlite3_step(st->get()) != SQLITE_DONE)
      return tl::unexpected(m.db->error("setting a conflicting row of " + t.name));
  }
  return {};
}

Status fixRows(MergeState& m) {
  if (m.choice == RowChoice::kDefer) return {};
  std::string from = m.choice == RowChoice::kLocal ? "local" : "remote";
  for (const auto& [table, keys] : m.conflicts)
    for (const Row& key : keys)
      if (Status s = takeRow(m, *m.table(table), key, from); !s) return s;
  return {};
}

// Inserts the local row `key` of `t` under the next free key.
Status renumberRow(MergeState& m, const Table& t, const Row& key) {
  std::string table = quoteIdent(t.name);
  auto next = m.db->column("SELECT coalesce(max(rowid), 0) + 1 FROM main." + table);
  if (!next) return tl::unexpected(next.error());
  std::string select;
  for (const std::string& c : t.columns)
    select += (select.empty() ? "" : ", ") + (c == t.pk[0] ? std::string("?2") : quoteIdent(c));
  auto st = m.db->prepare("INSERT INTO main." + table + " (" + t.columnList() + ") SELECT " +
                          select + " FROM local." + table + " WHERE " + t.keyMatch());
  if (!st) return tl::unexpected(st.error());
  key[0].bind(st->get(), 1);
  sqlite3_bind_int64(st->get(), 2, std::stoll(next->front()));
  if (sqlite3_step(st->get()) != SQLITE_DONE)
    return tl::unexpected(m.db->error("renumbering a local row of " + t.name));
  m.renumbered.push_back(table + " " + t.pk[0] + " " + key[0].display() + " -> " + next->front());
  return {};
}

Status renumberRows(MergeState& m) {
  for (auto& [table, keys] : m.renumber) {
    std::sort(keys.begin(), keys.end(), [](const Row& a, const Row& b) { return a[0].i < b[0].i; });
    for (const Row& key : keys)
      if (Status s = renumberRow(m, *m.table(table), key); !s) return s;
  }
  return {};
}

Status takeTables(MergeState& m) {
  for (const Table* t : m.whole_from_local) {
    std::string cols = "rowid, " + t->columnList();
    if (Status s = m.db->exec("DELETE FROM main." + quoteIdent(t->name) + "; INSERT INTO main." +
                              quoteIdent(t->name) + " (" + cols + ") SELECT " + cols +
                              " FROM local." + quoteIdent(t->name));
        !s)
      return s;
  }
  return {};
}

// AUTOINCREMENT counters: the larger of the two sides, so no side's key is
// handed out again.
Status mergeSequences(MergeState& m) {
  auto has =
      m.db->column("SELECT count(*) FROM local.sqlite_schema WHERE name = 'sqlite_sequence'");
  if (!has) return tl::unexpected(has.error());
  if (has->empty() || has->front() == "0") return {};
  return m.db->exec(
      "UPDATE main.sqlite_sequence SET seq = (SELECT l.seq FROM local.sqlite_sequence l "
      "WHERE l.name = main.sqlite_sequence.name) WHERE seq < (SELECT l.seq FROM "
      "local.sqlite_sequence l WHERE l.name = main.sqlite_sequence.name);"
      "INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM local.sqlite_sequence "
      "WHERE name NOT IN (SELECT name FROM main.sqlite_sequence)");
}

Result<bool> foreignKeysBroken(Db& db, const std::string& schema, std::string* table) {
  auto rows = db.column("PRAGMA " + quoteIdent(schema) + ".foreign_key_check");
  if (!rows) return tl::unexpected(rows.error());
  if (table && !rows->empty()) *table = rows->front();
  return !rows->empty();
}

}  // namespace

Step applyLocal(MergeState& m) {
  if (Status s = m.db->exec("BEGIN IMMEDIATE"); !s) return tl::unexpected(s.error());
  int rc = sqlite3changeset_apply_v2(m.db->get(), int(m.local.blob.size()), m.local.blob.data(),
                                     nullptr, onConflict, &m, nullptr, nullptr,
                                     SQLITE_CHANGESETAPPLY_NOSAVEPOINT);
  if (rc == SQLITE_ABORT || !m.abort_reason.empty()) {
    (void)m.db->exec("ROLLBACK");
    return std::optional<std::string>(m.abort_reason.empty() ? "the local changes do not apply"
                                                             : m.abort_reason);
  }
  if (rc != SQLITE_OK) return tl::unexpected(m.db->error("applying the local changes"));
  for (auto step : {fixRows, renumberRows, takeTables, mergeSequences})
    if (Status s = step(m); !s) return tl::unexpected(s.error());
  if (Status s = m.db->exec("COMMIT"); !s) return tl::unexpected(s.error());
  return std::nullopt;
}

Step checkResult(MergeState& m) {
  std::string table;
  auto broken = foreignKeysBroken(*m.db, "main", &table);
  if (!broken) return tl::unexpected(broken.error());
  if (*broken) {
    // A side that already broke its own foreign keys (the program never
    // turned them on) is no reason to refuse the merge.
    auto l = foreignKeysBroken(*m.db, "local", nullptr);
    auto r = foreignKeysBroken(*m.db, "remote", nullptr);
    if (!l || !r) return tl::unexpected((!l ? l : r).error());
    if (!*l && !*r)
      return std::optional<std::string>("the merge breaks a FOREIGN KEY of table " +
                                        quoteIdent(table));
  }
  auto ok = m.db->column("PRAGMA main.integrity_check");
  if (!ok) return tl::unexpected(ok.error());
  if (ok->size() != 1 || ok->front() != "ok")
    return std::optional<std::string>("the merged database fails integrity_check: " +
                                      (ok->empty() ? std::string("no answer") : ok->front()));
  return std::nullopt;
}

Status writeResult(MergeState& m) {
  const char* mode = m.local_wal ? "WAL" : "DELETE";
  if (Status s = m.db->exec("DETACH base; DETACH local; DETACH remote"); !s) return s;
  if (Status s = m.db->exec(std::string("PRAGMA main.journal_mode = ") + mode); !s) return s;
  if (Status s = m.db->close(); !s) return s;
  return copyFileToFd(m.dir.file("result.db"), m.c.output_fd);
}

}  // namespace hoard::resolvers::sqlite
