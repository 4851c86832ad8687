// SPDX-License-Identifier: MIT
// Carrying out the plan, parents first: every path's decision applied
// compare-and-swap; regular file pushes batched and sent on several threads
// after the loop; directory removals last, deepest first.

#include <algorithm>

#include "sync/GitRepoUnit.h"
#include "sync/Phases.h"

namespace hoard::sync {

namespace {

// What the loop defers to after it.
struct Deferred {
  struct DirRemoval {
    RelPath path;
    bool on_remote;
  };
  std::vector<DirRemoval> dir_removals;
  std::vector<PassState::FilePush> file_pushes;
  std::vector<PassState::FilePull> file_pulls;
  // Files of a repository that the other side deleted (git gc, pack-refs):
  // removed after everything else of the pass reached that side, so its
  // repository never misses an object or a ref on the way (GitRepoUnit.h).
  struct FileRemoval {
    RelPath path;
    Expect expect;
    bool on_remote;
  };
  std::vector<FileRemoval> repo_removals;
};

// Removes file `p` from one side now, or after the transfers when it lies in
// a repository.
Status removeFile(PassState& pass, const RelPath& p, const Expect& expect, bool on_remote,
                  Deferred& later) {
  if (gitRepoOf(pass.repos, p)) {
    later.repo_removals.push_back({p, expect, on_remote});
    return {};
  }
  ShareSides& s = pass.s;
  return on_remote ? pass.remove(s.remote, pass.remote, p, expect, true)
                   : pass.remove(s.local, pass.local, p, expect, false);
}

// Makes the remote like the cache at `p` (created, replaced, type changed
// or deleted there).
Status applyPush(PassState& pass, const PassState::Planned& pl, Deferred& later) {
  ShareSides& s = pass.s;
  const RelPath& p = pl.path;
  const Decision& d = pl.decision;
  const BaseEntry* b = pass.baseAt(p);
  const remote::Stat* l = pass.find(pass.local, p);
  const remote::Stat* r = pass.find(pass.remote, p);
  Status done;
  std::vector<Deferred::DirRemoval>& dir_removals = later.dir_removals;
  std::vector<PassState::FilePush>& file_pushes = later.file_pushes;
  if (l != nullptr && l->meta.type == FileType::kFile && !d.merged_mode &&
      (r == nullptr || r->meta.type == FileType::kFile)) {
    // Sent with the others after this loop (directories are made by
    // then: the plan runs parents first).
    file_pushes.push_back(
        {p, r == nullptr ? Expect::absent() : Expect::version(r->data_version)});
    return done;
  }
  if (l != nullptr) {
    if (r != nullptr && r->meta.type != l->meta.type) {
      // A type change replaces the remote entry.
      if (r->meta.type == FileType::kDir) {
        done = fail(ErrorCode::kBusy, "replacing the remote directory " + displayPath(p) +
                                          " by a " +
                                          std::string(fileTypeName(l->meta.type)) +
                                          " is not done automatically");
        return done;
      }
      done = s.remote.unlink(p, Expect::version(r->data_version));
      if (done) pass.remote.erase(p);
      if (!done) return done;
    }
    done = pass.push(p, b, *l);
    if (done && d.merged_mode) done = pass.copyMode(s.local, p, *d.merged_mode);
    if (done && d.merged_mode) done = pass.copyMode(s.remote, p, *d.merged_mode);
  } else if (r != nullptr && r->meta.type == FileType::kDir) {
    dir_removals.push_back({p, true});
  } else {
    done = removeFile(pass, p, b ? Expect::version(b->data_version) : Expect::anything(), true,
                      later);
  }
  return done;
}

// Makes the cache like the remote at `p`.
Status applyPull(PassState& pass, const PassState::Planned& pl, Deferred& later) {
  ShareSides& s = pass.s;
  const RelPath& p = pl.path;
  const Decision& d = pl.decision;
  const remote::Stat* l = pass.find(pass.local, p);
  const remote::Stat* r = pass.find(pass.remote, p);
  Status done;
  std::vector<Deferred::DirRemoval>& dir_removals = later.dir_removals;
  if (r != nullptr && r->meta.type == FileType::kFile && !d.merged_mode &&
      (l == nullptr || l->meta.type == FileType::kFile)) {
    // Fetched with the others after this loop, many at once.
    later.file_pulls.push_back(
        {p, l == nullptr ? Expect::absent() : Expect::version(l->data_version)});
    return done;
  }
  if (r != nullptr) {
    if (l != nullptr && l->meta.type != r->meta.type) {
      if (l->meta.type == FileType::kDir) {
        done = fail(ErrorCode::kBusy, "replacing the cache directory " + displayPath(p) +
                                          " by a " +
                                          std::string(fileTypeName(r->meta.type)) +
                                          " is not done automatically");
        return done;
      }
      done = s.local.unlink(p, Expect::version(l->data_version));
      if (done) pass.local.erase(p);
      if (!done) return done;
    }
    done = pass.pull(p, *r);
    if (done && d.merged_mode) done = pass.copyMode(s.remote, p, *d.merged_mode);
    if (done && d.merged_mode) done = pass.copyMode(s.local, p, *d.merged_mode);
  } else if (l != nullptr && l->meta.type == FileType::kDir) {
    dir_removals.push_back({p, false});
  } else if (l != nullptr) {
    done = removeFile(pass, p, Expect::version(l->data_version), false, later);
  } else {
    done = pass.dropBase(p, std::nullopt);
  }
  return done;
}

Status applyOne(PassState& pass, const PassState::Planned& pl, Deferred& later) {
  ShareSides& s = pass.s;
  const RelPath& p = pl.path;
  const PathState& st = pl.state;
  Status done;
  switch (pl.decision.action) {
    case Action::kNothing:
      return {};
    case Action::kPush:
      return applyPush(pass, pl, later);
    case Action::kPull:
      return applyPull(pass, pl, later);
    case Action::kPushMode:
      done = pass.copyMode(s.remote, p, st.local.mode);
      if (done && st.local.type == FileType::kFile) {
        auto carried = copyUserXattrs(s.local, s.remote, p);  // an attribute-only change
        if (!carried) done = tl::unexpected(carried.error());
      }
      if (done && st.local_change.times) done = pass.copyTimes(p);
      if (done) done = pass.agree(p);
      return done;
    case Action::kPushTimes:
      done = pass.copyTimes(p);
      if (done) done = pass.agree(p);
      return done;
    case Action::kPullMode:
      done = pass.copyMode(s.local, p, st.remote.mode);
      if (done) done = pass.agree(p);
      return done;
    case Action::kAgree:
      done = pass.agree(p);
      if (done) ++pass.report.agreed;
      return done;
    case Action::kConflict:
      return pass.recordConflict(p, *pl.decision.conflict, st.local, st.remote);
  }
  return {};
}

// True if a path of the repository holding `p` failed or was retried in
// this pass: what comes later in git's order waits for the next pass.
bool repoFailed(const PassState& pass, const RelPath& p) {
  const RelPath* repo = gitRepoOf(pass.repos, p);
  if (repo == nullptr) return false;
  return std::any_of(pass.report.failed.begin(), pass.report.failed.end(),
                     [&](const auto& f) { return isUnder(f.first, *repo); }) ||
         std::any_of(pass.report.retried.begin(), pass.report.retried.end(),
                     [&](const RelPath& q) { return isUnder(q, *repo); });
}

// Pulls, then pushes, each in the ranks of GitRank: a rank sent whole before
// the next starts, so a pass cut anywhere leaves every repository on the
// receiving side with each ref's objects already there. A repository with a
// failure in one rank sends none of its later ones this pass.
template <class T, class Send>
Result<bool> sendInRanks(PassState& pass, const std::vector<T>& all, Send send) {
  for (int rank = resolvers::kGitObjects; rank < resolvers::kGitRanks; ++rank) {
    std::vector<T> now;
    for (const T& t : all) {
      if (gitRankIn(pass.repos, t.path) != rank) continue;
      if (rank != resolvers::kGitObjects && repoFailed(pass, t.path)) continue;
      now.push_back(t);
    }
    if (now.empty()) continue;
    auto sent = send(now);
    if (!sent || !*sent) return sent;
  }
  return true;
}

Result<bool> transferInGitOrder(PassState& pass, Deferred& later) {
  auto pulled = sendInRanks(pass, later.file_pulls, [&](const auto& v) { return pass.pullFiles(v); });
  if (!pulled || !*pulled) return pulled;
  return sendInRanks(pass, later.file_pushes, [&](const auto& v) { return pass.pushFiles(v); });
}

}  // namespace

Result<bool> applyPlan(PassState& pass) {
  ShareSides& s = pass.s;
  Deferred later;
  for (const PassState::Planned& pl : pass.plan) {
    if (stopRequested(pass)) return false;
    if (pass.isHeld(pl.path)) continue;  // beneath a conflict found earlier in this pass
    Status done = pl.refresh ? pass.refreshLocal(pl.path) : applyOne(pass, pl, later);
    if (!done && !pass.noteFailure(pl.path, done.error())) return false;
  }
  auto moved = transferInGitOrder(pass, later);
  if (!moved || !*moved) return moved;
  for (const auto& fr : later.repo_removals) {
    if (stopRequested(pass)) return false;
    if (repoFailed(pass, fr.path)) continue;  // its repository's transfers wait for the next pass
    Status done = fr.on_remote ? pass.remove(s.remote, pass.remote, fr.path, fr.expect, true)
                               : pass.remove(s.local, pass.local, fr.path, fr.expect, false);
    if (!done && !pass.noteFailure(fr.path, done.error())) return false;
  }
  auto& removals = later.dir_removals;
  std::sort(removals.begin(), removals.end(),
            [](const auto& a, const auto& b) { return PathLess()(b.path, a.path); });
  for (const auto& dr : removals) {
    if (stopRequested(pass)) return false;
    Status done = dr.on_remote
                      ? pass.remove(s.remote, pass.remote, dr.path, Expect::anything(), true)
                      : pass.remove(s.local, pass.local, dr.path, Expect::anything(), false);
    if (!done && !pass.noteFailure(dr.path, done.error())) return false;
  }
  return true;
}

}  // namespace hoard::sync
