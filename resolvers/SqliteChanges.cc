// SPDX-License-Identifier: MIT
#include "SqliteChanges.h"

#include <memory>

namespace hoard::resolvers::sqlite {

namespace {

struct SessionFree {
  void operator()(sqlite3_session* s) const { sqlite3session_delete(s); }
};
struct IterFree {
  void operator()(sqlite3_changeset_iter* it) const { sqlite3changeset_finalize(it); }
};

RowOp rowOp(int op) {
  return op == SQLITE_INSERT   ? RowOp::kInsert
         : op == SQLITE_DELETE ? RowOp::kDelete
                               : RowOp::kUpdate;
}

Result<std::vector<RowChange>> listRows(std::string& blob) {
  sqlite3_changeset_iter* raw = nullptr;
  if (sqlite3changeset_start(&raw, int(blob.size()), blob.data()) != SQLITE_OK)
    return fail(ErrorCode::kInternal, "cannot read a changeset the session extension made");
  std::unique_ptr<sqlite3_changeset_iter, IterFree> it(raw);
  std::vector<RowChange> out;
  while (sqlite3changeset_next(it.get()) == SQLITE_ROW) {
    const char* table = nullptr;
    int ncol = 0, op = 0, indirect = 0;
    unsigned char* pk = nullptr;
    sqlite3changeset_op(it.get(), &table, &ncol, &op, &indirect);
    sqlite3changeset_pk(it.get(), &pk, &ncol);
    RowChange rc{table, rowOp(op), {}};
    for (int i = 0; i < ncol; ++i) {
      if (!pk[i]) continue;
      sqlite3_value* v = nullptr;
      if (op == SQLITE_INSERT)
        sqlite3changeset_new(it.get(), i, &v);
      else
        sqlite3changeset_old(it.get(), i, &v);
      rc.key.push_back(Value::of(v));
    }
    out.push_back(std::move(rc));
  }
  return out;
}

}  // namespace

Result<Changeset> diffTables(Db& db, const std::string& from, const std::string& to,
                             const std::vector<Table>& tables) {
  sqlite3_session* raw = nullptr;
  if (sqlite3session_create(db.get(), to.c_str(), &raw) != SQLITE_OK)
    return tl::unexpected(db.error("starting a session"));
  std::unique_ptr<sqlite3_session, SessionFree> session(raw);
  for (const Table& t : tables) {
    if (!t.hasPrimaryKey() || t.is_virtual) continue;
    char* err = nullptr;
    int rc = sqlite3session_attach(session.get(), t.name.c_str());
    if (rc == SQLITE_OK)
      rc = sqlite3session_diff(session.get(), from.c_str(), t.name.c_str(), &err);
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc != SQLITE_OK)
      return fail(ErrorCode::kIo, "comparing table " + quoteIdent(t.name) + " of " + from +
                                      " and " + to + ": " + msg);
  }
  int n = 0;
  void* p = nullptr;
  if (sqlite3session_changeset(session.get(), &n, &p) != SQLITE_OK)
    return tl::unexpected(db.error("collecting the changes"));
  Changeset out;
  out.blob.assign(static_cast<const char*>(p), size_t(n));
  sqlite3_free(p);
  auto rows = listRows(out.blob);
  if (!rows) return tl::unexpected(rows.error());
  out.rows = std::move(*rows);
  return out;
}

Result<bool> rowsDiffer(Db& db, const std::string& from, const std::string& to, const Table& t) {
  auto side = [&](const std::string& s) {
    return "SELECT rowid, " + t.columnList() + " FROM " + quoteIdent(s) + "." + quoteIdent(t.name);
  };
  auto found = db.column("SELECT EXISTS (" + side(from) + " EXCEPT " + side(to) + ") OR EXISTS (" +
                         side(to) + " EXCEPT " + side(from) + ")");
  if (!found) return tl::unexpected(found.error());
  return !found->empty() && found->front() == "1";
}

Result<std::optional<Row>> readRow(Db& db, const std::string& schema, const Table& t,
                                   const Row& key) {
  auto st = db.prepare("SELECT " + t.columnList() + " FROM " + quoteIdent(schema) + "." +
                       quoteIdent(t.name) + " WHERE " + t.keyMatch());
  if (!st) return tl::unexpected(st.error());
  for (size_t i = 0; i < key.size(); ++i) key[i].bind(st->get(), int(i + 1));
  int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) return std::optional<Row>();
  if (rc != SQLITE_ROW) return tl::unexpected(db.error("reading a row of " + t.name));
  Row row;
  for (int i = 0; i < sqlite3_column_count(st->get()); ++i)
    row.push_back(Value::column(st->get(), i));
  return std::optional<Row>(std::move(row));
}

}  // namespace hoard::resolvers::sqlite
