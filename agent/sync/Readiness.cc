// SPDX-License-Identifier: MIT
#include "sync/Readiness.h"

#include <map>

namespace hoard::sync {

namespace {

// Adds problems while there is room for their reason; counts the rest into
// the last one kept.
class ProblemList {
 public:
  void add(ReadyProblem p) {
    size_t& n = counts_[p.reason];
    if (++n <= kReadyProblemsPerReason) {
      out_.push_back(std::move(p));
      return;
    }
    for (auto it = out_.rbegin(); it != out_.rend(); ++it)
      if (it->reason == p.reason) {
        it->message = base_[p.reason] + " (and " +
                      std::to_string(n - kReadyProblemsPerReason) + " more like it)";
        return;
      }
  }
  void remember(const ReadyProblem& p) { base_[p.reason] = p.message; }
  std::vector<ReadyProblem> take() { return std::move(out_); }

 private:
  std::vector<ReadyProblem> out_;
  std::map<std::string, size_t> counts_;
  std::map<std::string, std::string> base_;
};

void push(ProblemList& list, std::string reason, RelPath path, std::string message,
          std::optional<Error> error = std::nullopt) {
  ReadyProblem p{std::move(reason), std::move(path), std::move(error), std::move(message)};
  list.add(p);
  list.remember(p);
}

std::string changeText(const LoggedChange& lc) {
  std::string what = std::string(changeOpName(lc.change.op)) + " of " + displayPath(lc.change.path);
  if (!lc.change.to.empty()) what += " to " + displayPath(lc.change.to);
  return what + " is not on the server yet";
}

}  // namespace

Result<std::vector<ReadyProblem>> offlineReadiness(journal::Journal& journal, Mutex& journal_mu,
                                                   int64_t share_id, const ShareStatus& status,
                                                   const std::optional<LastPass>& last) {
  ProblemList list;
  if (status.state != journal::ShareState::kOffline && !last)
    push(list, "not-checked", RelPath(),
         "no pass has compared the share with the remote since hoardd started; "
         "`hoard sync` runs one");
  MutexLock lock(journal_mu);
  auto pins = journal.pins(share_id);
  if (!pins) return tl::unexpected(pins.error());
  for (const journal::Pin& pin : *pins) {
    auto row = journal.getBase(share_id, pin.path);
    if (!row) return tl::unexpected(row.error());
    if (!*row)
      push(list, "not-fetched", pin.path,
           displayPath(pin.path) + " is pinned but not in the cache yet (`hoard preload`)");
  }
  if (last)
    for (const RelPath& p : last->not_hoarded)
      push(list, "over-budget", p,
           displayPath(p) + " is pinned but the cache budget left it on the remote");
  if (last)
    for (const auto& [p, err] : last->failed)
      push(list, "failed", p, displayPath(p) + " could not be synced: " + err.message(), err);
  auto changes = journal.changes(share_id, 0);
  if (!changes) return tl::unexpected(changes.error());
  for (const LoggedChange& lc : *changes) push(list, "unsent", lc.change.path, changeText(lc));
  auto conflicts = journal.conflicts(share_id, true);
  if (!conflicts) return tl::unexpected(conflicts.error());
  for (const journal::ConflictRecord& c : *conflicts)
    push(list, "conflict", c.path,
         displayPath(c.path) + " has an open " +
             std::string(journal::conflictKindName(c.kind)) + " conflict (#" +
             std::to_string(c.id) + ")");
  return list.take();
}

}  // namespace hoard::sync
