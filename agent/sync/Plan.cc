// SPDX-License-Identifier: MIT
// Classifying every path three-way (ThreeWay.h) into the plan and the hoard
// list, deciding each, and the mass-delete guard.

#include <algorithm>

#include "sync/GitRepoUnit.h"
#include "sync/LookAhead.h"
#include "sync/Phases.h"

namespace hoard::sync {

namespace {

// Pin priority of a path not yet hoarded, or nullopt if no pin asks for it
// (a pin's ancestors are in scope as the directories leading to it). A
// share without pins hoards everything, unless `pins_only` (on demand).
std::optional<int> hoardPriority(const std::vector<journal::Pin>& pins, const RelPath& p,
                                 bool pins_only) {
  if (pins.empty() && !pins_only) return 0;
  std::optional<int> best;
  for (const journal::Pin& pin : pins) {
    if (isUnder(p, pin.path)) best = std::max(best.value_or(pin.priority), pin.priority);
    else if (isUnder(pin.path, p)) best = std::max(best.value_or(0), 0);
  }
  return best;
}

// The paths each side changed (created, modified) with what they hold now:
// what decides a dir-delete conflict. (Deletions beneath a directory the
// other side deleted agree with it and do not count.)
struct Changed {
  PathSet local, remote;
};

// Classifies every path either side or the base knows, parents before
// children, into pass.plan (something to do) and pass.hoards (new remote
// files a pin asks for). False if the pass must stop.
bool classifyPaths(PassState& pass, Changed& changed) {
  PathSet paths;
  for (const auto& [p, e] : pass.base) paths.insert(p);
  for (const auto& [p, e] : pass.local) paths.insert(p);
  for (const auto& [p, e] : pass.remote) paths.insert(p);
  for (const RelPath& p : paths) {
    if (pass.isUnlisted(p)) continue;  // unknown beneath: a failed path already
    if (pass.isHeld(p)) {
      ++pass.report.waiting;
      continue;
    }
    const BaseEntry* b = pass.baseAt(p);
    if (b == nullptr && pass.find(pass.local, p) == nullptr) {
      // Only on the remote: hoard it if a pin asks for it; regular files are
      // fetched after everything else, in priority order, within the budget.
      changed.remote.insert(p);  // new on the remote, hoarded or not (dir-delete needs it)
      std::optional<int> prio = hoardPriority(pass.pins, p, pass.s.pins_only);
      if (!prio) continue;
      const remote::Stat* r = pass.find(pass.remote, p);
      // A repository's new files are pulled by the plan, in git's order
      // (GitRepoUnit.h), not fetched by the hoard walk after its refs.
      if (r != nullptr && r->meta.type == FileType::kFile && !gitRepoOf(pass.repos, p)) {
        pass.hoards.push_back({p, *prio});
        continue;
      }
    }
    PathState st;
    if (Status lk = lookBothSides(pass, p, b, st); !lk) {
      if (!pass.noteFailure(p, lk.error())) return false;
      continue;
    }
    if (st.local_change.any() && st.local.exists()) changed.local.insert(p);
    if (st.remote_change.any() && st.remote.exists()) changed.remote.insert(p);
    // Unchanged on both sides: nothing to decide (most of a share, most of
    // the time; not keeping them keeps a pass's memory to what changed).
    if (!st.local_change.any() && !st.remote_change.any()) {
      if (st.local_change.stale) pass.plan.push_back({p, st, {}, /*refresh=*/true});
      continue;
    }
    pass.plan.push_back({p, st, {}, false});
  }
  return true;
}

// True if something beneath `dir` (not `dir` itself) is in `changed`.
bool changedBeneath(const PathSet& changed, const RelPath& dir) {
  auto [first, last] = subtreeOf(changed, dir);
  return std::any_of(first, last, [&](const RelPath& q) { return q != dir; });
}

// A file of the base that the plan would delete on one side (deletion or
// modify-delete conflict alike: a share emptied by an unmount looks like the
// remote deleting everything, however much the user edited).
bool losesFile(const PassState::Planned& pl, bool on_remote) {
  if (pl.refresh) return false;
  bool is_file = pl.state.base && pl.state.base->type != FileType::kDir;
  if (!is_file) return false;
  return on_remote ? !pl.state.local.exists() && pl.state.remote.exists()
                   : !pl.state.remote.exists() && pl.state.local.exists();
}

// The files on one side, as the listings show them; a write-back pass,
// which listed only its scope, counts the base's instead.
Result<size_t> sideFiles(PassState& pass, bool on_remote) {
  if (pass.scoped) {
    auto n = pass.journal([&](journal::Journal& j) { return j.countBaseFiles(pass.s.share_id); });
    if (!n) return tl::unexpected(n.error());
    return static_cast<size_t>(*n);
  }
  size_t total = 0;
  for (const auto& [p, st] : on_remote ? pass.remote : pass.local)
    total += st.meta.type != FileType::kDir;
  return total;
}

// An absent remote is not an empty remote, and a slip of `rm -r` is not a
// decision: a pass that would delete most of a side stops and asks, saying
// how many and which (the first 20).
Result<bool> guardMassDelete(PassState& pass) {
  const ReconcileOptions& opts = pass.opts;
  if (opts.confirm_mass_delete) return true;
  // Entries beneath a directory one side replaced by a link or a file (a
  // type conflict, both sides holding something there) wait with it: they
  // are not deleted. Any other conflict (a dir-delete: a side that is gone,
  // as an unmounted share looks) still counts.
  std::vector<RelPath> conflicted;
  for (const PassState::Planned& pl : pass.plan)
    if (pl.decision.action == Action::kConflict && pl.decision.conflict == ConflictKind::kType &&
        pl.state.local.exists() && pl.state.remote.exists())
      conflicted.push_back(pl.path);
  auto waits = [&](const RelPath& p) {
    return std::any_of(conflicted.begin(), conflicted.end(),
                       [&](const RelPath& c) { return p != c && isUnder(p, c); });
  };
  auto loses = [&](const PassState::Planned& pl, bool on_remote) {
    return losesFile(pl, on_remote) && !waits(pl.path);
  };
  for (bool on_remote : {true, false}) {
    size_t count = 0;
    for (const PassState::Planned& pl : pass.plan) count += loses(pl, on_remote);
    if (count <= opts.mass_delete_floor) continue;
    auto total = sideFiles(pass, on_remote);
    if (!total) return tl::unexpected(total.error());
    if (static_cast<double>(count) <= opts.max_delete_fraction * static_cast<double>(*total))
      continue;
    MassDelete md{on_remote, count, *total, {}};
    for (const PassState::Planned& pl : pass.plan) {
      if (md.first.size() >= 20) break;
      if (loses(pl, on_remote)) md.first.push_back(pl.path);
    }
    pass.report.mass_delete = std::move(md);
    const std::string n = std::to_string(count) + " of " + std::to_string(*total);
    pass.report.stopped = Error(
        ErrorCode::kAborted,
        on_remote ? "this sync would delete " + n +
                        " files on the remote; nothing was changed. If that is what you "
                        "meant, confirm the deletion and sync again"
                  : "this sync would delete " + n +
                        " files in the cache because they are gone from the remote; "
                        "nothing was changed. If that is what you meant, confirm the "
                        "deletion and sync again");
    return false;
  }
  return true;
}

// A repository that changed on both sides becomes one conflict of kind
// repo on its directory: the plan's entries inside it are replaced by that
// one, in the place of the first of them (parents first still holds).
Status groupRepos(PassState& pass) {
  for (const RelPath& repo : pass.repos) {
    auto inside = [&](const PassState::Planned& pl) { return isUnder(pl.path, repo); };
    bool local = false, remote = false;
    for (const PassState::Planned& pl : pass.plan) {
      if (pl.refresh || !inside(pl)) continue;
      local = local || pl.state.local_change.any();
      remote = remote || pl.state.remote_change.any();
    }
    if (!local || !remote) continue;
    PassState::Planned unit{repo, {}, {Action::kConflict, ConflictKind::kRepo, std::nullopt}, false};
    if (Status lk = lookBothSides(pass, repo, pass.baseAt(repo), unit.state); !lk) return lk;
    auto first = std::find_if(pass.plan.begin(), pass.plan.end(), inside);
    size_t at = static_cast<size_t>(first - pass.plan.begin());
    std::erase_if(pass.plan, inside);
    pass.plan.insert(pass.plan.begin() + static_cast<std::ptrdiff_t>(at), std::move(unit));
  }
  return {};
}

}  // namespace

Result<bool> planPaths(PassState& pass) {
  lookAhead(pass);  // the hashes the classification will ask for, read many at once
  pass.repos = findGitRepos(pass.local, pass.remote);
  Changed changed;
  if (!classifyPaths(pass, changed)) return false;
  for (PassState::Planned& pl : pass.plan) {
    if (pl.refresh) continue;
    pl.state.local_subtree_changed = changedBeneath(changed.local, pl.path);
    pl.state.remote_subtree_changed = changedBeneath(changed.remote, pl.path);
    pl.decision = decide(pl.state);
  }
  if (Status grouped = groupRepos(pass); !grouped) return tl::unexpected(grouped.error());
  return guardMassDelete(pass);
}

}  // namespace hoard::sync
