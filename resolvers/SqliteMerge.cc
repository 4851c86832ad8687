// SPDX-License-Identifier: MIT
#include "SqliteMerge.h"

#include "SqliteMergeState.h"

namespace hoard::resolvers {

namespace {

constexpr const char* kChoiceError =
    "/on_row_conflict: expected \"defer\", \"local\" or \"remote\"";

std::optional<sqlite::RowChoice> choiceOf(const nlohmann::json& options) {
  if (!options.is_object() || !options.contains("on_row_conflict"))
    return sqlite::RowChoice::kDefer;
  const auto& v = options["on_row_conflict"];
  if (v == "defer") return sqlite::RowChoice::kDefer;
  if (v == "local") return sqlite::RowChoice::kLocal;
  if (v == "remote") return sqlite::RowChoice::kRemote;
  return std::nullopt;
}

std::string rowCount(size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

Decision merged(const sqlite::MergeState& m) {
  size_t local = 0, remote = 0;
  for (const auto& r : m.local.rows) local += !m.changedOnBoth(r.table, r.key);
  for (const auto& r : m.remote.rows) remote += !m.changedOnBoth(r.table, r.key);
  (m.choice == sqlite::RowChoice::kLocal ? local : remote) += m.conflicting;
  local += m.renumbered.size();  // each key both inserted: the remote's row and the local's
  remote += m.renumbered.size();
  std::string why = (m.conflicting ? "merged, " : "clean, ") + rowCount(local) + " from local, " +
                    std::to_string(remote) + " from remote";
  if (!m.renumbered.empty()) {
    const size_t n = m.renumbered.size();
    why += "; inserted on both sides, the local " +
           std::string(n == 1 ? "row renumbered" : "rows renumbered") + ":";
    for (size_t i = 0; i < n && i < 5; ++i) why += (i ? ", " : " ") + m.renumbered[i];
    if (n > 5) why += " and " + std::to_string(n - 5) + " more";
  }
  for (const auto* t : m.whole_from_local)
    why += "; table " + sqlite::quoteIdent(t->name) + " (no primary key) taken from local";
  if (m.conflicting)
    why += "; " + sqlite::conflictSummary(m) + ", taken from " +
           (m.choice == sqlite::RowChoice::kLocal ? "local" : "remote");
  return Decision{DecisionKind::kMerged, why, 0};
}

}  // namespace

Status SqliteMerge::checkOptions(const nlohmann::json& options) const {
  if (options.is_null()) return {};
  if (!options.is_object())
    return fail(ErrorCode::kInvalidArgument, "/: the options of resolver \"sqlite\" are an object");
  for (const auto& [key, value] : options.items())
    if (key != "on_row_conflict")
      return fail(ErrorCode::kInvalidArgument,
                  "/" + key + ": unknown option of resolver \"sqlite\" (it takes on_row_conflict)");
  if (!choiceOf(options)) return fail(ErrorCode::kInvalidArgument, kChoiceError);
  return {};
}

Result<Decision> SqliteMerge::resolve(const ConflictView& c, const nlohmann::json& options) {
  if (Status s = checkOptions(options); !s) return tl::unexpected(s.error());
  if (!decisionAllowed(DecisionKind::kMerged, c.kind))
    return Decision::defer("sqlite cannot merge a " + std::string(conflictKindName(c.kind)) +
                           " conflict");
  auto dir = sqlite::PrivateDir::make();
  if (!dir) return tl::unexpected(dir.error());
  sqlite::MergeState m(c, *choiceOf(options), std::move(*dir));
  using Phase = sqlite::Step (*)(sqlite::MergeState&);
  for (Phase phase : {sqlite::openVersions, sqlite::compareSchemas, sqlite::diffSides}) {
    auto step = phase(m);
    if (!step) return tl::unexpected(step.error());
    if (*step) return Decision::defer(**step);
  }
  if (m.conflicting && m.choice == sqlite::RowChoice::kDefer) {
    Decision d = Decision::defer(sqlite::conflictSummary(m));
    d.conflicting_hunks = int(m.conflicting);
    return d;
  }
  for (Phase phase : {sqlite::tablesWithoutKey, sqlite::applyLocal, sqlite::checkResult}) {
    auto step = phase(m);
    if (!step) return tl::unexpected(step.error());
    if (*step) return Decision::defer(**step);
  }
  Decision d = merged(m);
  if (c.output_fd >= 0)
    if (Status s = sqlite::writeResult(m); !s) return tl::unexpected(s.error());
  return d;
}

}  // namespace hoard::resolvers
