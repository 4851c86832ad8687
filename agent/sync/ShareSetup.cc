// SPDX-License-Identifier: MIT
#include "sync/ShareSetup.h"

#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "common/Try.h"
#include "sync/ShareRoots.h"

namespace hoard::sync {

journal::RemoteIdentity toJournal(const remote::RemoteIdentity& id) {
  return {id.fsid, id.mount_source, id.fstype, id.marker_id, id.mount_point, id.mount_root};
}

remote::RemoteIdentity fromJournal(const journal::RemoteIdentity& id) {
  return {id.fsid, id.mount_source, id.fstype, id.mount_point, id.mount_root, id.marker_id};
}

namespace {

// One root as the overlap check sees it: whose it is and what it is called.
struct OwnedRoot {
  std::string share;  // empty: the share being added
  std::string role;   // "remote root" or "cache root"
  RootPlace place;
};

// Observes `path` on the pool under `deadline`: a hung mount costs a worker,
// never the caller. A root that cannot be observed is placed by its text.
RootPlace observeOnPool(const std::string& path, remote::WorkerPool& pool,
                        std::chrono::milliseconds deadline) {
  auto r = pool.run<RootPlace>("look at '" + displayPath(path) + "'", deadline,
                               [path](const remote::ProgressFn&) -> Result<RootPlace> {
                                 return observeRoot(path);
                               });
  return r ? std::move(*r) : lexicalRoot(path);
}

std::string describe(const OwnedRoot& r) {
  std::string text = r.role + " '" + displayPath(r.place.given) + "'";
  if (r.place.resolved != normalPath(r.place.given))
    text += " (" + displayPath(r.place.resolved) + ")";
  return text;
}

// Refuses `/` and any overlap between the new share's roots, and between
// them and every existing share's roots.
Status checkRoots(const std::string& name, const std::string& remote_root,
                  const std::string& cache_root, const std::vector<journal::ShareRecord>& shares,
                  remote::WorkerPool& pool, std::chrono::milliseconds deadline) {
  const std::string who = "share \"" + name + "\": ";
  OwnedRoot remote{"", "remote root", observeOnPool(remote_root, pool, deadline)};
  OwnedRoot cache{"", "cache root", observeOnPool(cache_root, pool, deadline)};
  for (const OwnedRoot* r : {&remote, &cache}) {
    if (r->place.isFilesystemRoot())
      return fail(ErrorCode::kInvalidArgument,
                  who + describe(*r) +
                      " is the filesystem root '/'; choose the directory the share lives in");
  }
  if (Overlap o = overlap(cache.place, remote.place); o != Overlap::kNone)
    return fail(ErrorCode::kInvalidArgument,
                who + describe(cache) + " " + std::string(overlapWords(o)) + " its " +
                    describe(remote) + "; the cache must be a separate local directory");
  for (const journal::ShareRecord& s : shares) {
    std::vector<OwnedRoot> theirs;
    theirs.push_back({s.name, "remote root", observeOnPool(s.remote_root, pool, deadline)});
    theirs.push_back({s.name, "cache root", observeOnPool(s.userRoot(), pool, deadline)});
    for (const OwnedRoot* mine : {&remote, &cache}) {
      for (const OwnedRoot& other : theirs) {
        Overlap o = overlap(mine->place, other.place);
        if (o == Overlap::kNone) continue;
        return fail(ErrorCode::kInvalidArgument,
                    who + describe(*mine) + " " + std::string(overlapWords(o)) + " the " +
                        describe(other) + " of share \"" + other.share +
                        "\"; the roots of two shares must not overlap");
      }
    }
  }
  return {};
}

}  // namespace

namespace {

// `dir` is absent (it is created) or an empty directory; what the error
// calls it is `what`.
Status checkEmptyDir(const std::string& name, const std::string& dir, const std::string& what,
                     const std::string& advice) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return failErrno(errno, "share \"" + name + "\": stat " + what + " " + displayPath(dir));
  }
  if (!S_ISDIR(st.st_mode))
    return fail(ErrorCode::kInvalidArgument,
                "share \"" + name + "\": " + what + " " + displayPath(dir) + " is not a directory");
  std::error_code ec;
  if (!std::filesystem::is_empty(dir, ec) || ec)
    return fail(ErrorCode::kInvalidArgument,
                "share \"" + name + "\": " + what + " " + displayPath(dir) + " is not empty; " + advice);
  return {};
}

Status createDir(const std::string& name, const std::string& dir, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return fail(ErrorCode::kIo, "share \"" + name + "\": cannot create " + what + " " +
                                    displayPath(dir) + ": " + ec.message());
  return {};
}

}  // namespace

Result<int64_t> createShare(journal::Journal& journal, Mutex& journal_mu, const std::string& name,
                            const std::string& remote_root, const std::string& cache_root,
                            remote::WorkerPool& pool, const std::string& view_root) {
  if (auto ok = validateShareName(name); !ok) return tl::unexpected(ok.error());
  // The user's directory: the view of an on-demand share, else the cache.
  const std::string& user_root = view_root.empty() ? cache_root : view_root;
  for (const std::string* root : {&remote_root, &cache_root, &user_root}) {
    if (root->empty() || root->front() != '/')
      return fail(ErrorCode::kInvalidArgument,
                  "share \"" + name + "\": '" + displayPath(*root) + "' is not an absolute path");
  }
  std::vector<journal::ShareRecord> shares;
  {
    MutexLock lock(journal_mu);
    if (journal.shareByName(name))
      return fail(ErrorCode::kExists, "a share named \"" + name + "\" already exists");
    auto all = journal.shares();
    if (!all) return tl::unexpected(all.error());
    shares = std::move(*all);
  }
  remote::IdentityChecker::Options opts;
  // Before anything is written: no marker, no cache directory, no row.
  if (auto ok = checkRoots(name, remote_root, user_root, shares, pool, opts.deadline); !ok)
    return tl::unexpected(ok.error());
  HOARD_TRY(checkEmptyDir(name, user_root, "cache root",
                          "choose an empty or new directory (hoard fills it from the remote)"));
  if (!view_root.empty())
    HOARD_TRY(checkEmptyDir(name, cache_root, "backing directory",
                            "it holds the files of an earlier on-demand share of that name: "
                            "move them away, or choose another name"));
  auto identity = remote::IdentityChecker::establish(remote_root, pool, opts);
  if (!identity)
    return tl::unexpected(identity.error().withContext("share \"" + name + "\": remote root"));
  HOARD_TRY(createDir(name, cache_root, view_root.empty() ? "cache root" : "backing directory"));
  if (!view_root.empty()) HOARD_TRY(createDir(name, view_root, "cache root"));
  MutexLock lock(journal_mu);
  return journal.addShare({name, remote_root, cache_root, toJournal(*identity), view_root});
}

std::optional<int> testFaultFromEnvironment() {
  const char* name = std::getenv("HOARD_FAULT_INJECT_REMOTE");
  if (name == nullptr) return std::nullopt;
  static const std::pair<const char*, int> kErrnos[] = {
      {"EKEYEXPIRED", EKEYEXPIRED}, {"ENOSPC", ENOSPC}, {"EACCES", EACCES},
      {"EIO", EIO},                 {"ETIMEDOUT", ETIMEDOUT}, {"ENOTCONN", ENOTCONN}};
  for (const auto& [n, e] : kErrnos)
    if (std::string_view(name) == n) return e;
  return std::nullopt;
}

std::optional<int> faultWhileFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string name;
  in >> name;
  static const std::pair<const char*, int> kErrnos[] = {{"EKEYREVOKED", EKEYREVOKED},
                                                         {"EKEYREJECTED", EKEYREJECTED},
                                                         {"EACCES", EACCES}};
  for (const auto& [n, e] : kErrnos)
    if (name == n) return e;
  return EKEYEXPIRED;
}

Result<std::unique_ptr<ShareRuntime>> ShareRuntime::open(
    journal::Journal& journal, Mutex& journal_mu, int64_t share_id, store::BaseStore& store,
    std::shared_ptr<remote::WorkerPool> pool, remote::DeadlineRemoteFs::Deadlines deadlines,
    std::string host, const remote::ListerSettings& lister,
    std::function<void(const std::string&)> on_lister_fallback) {
  std::unique_ptr<ShareRuntime> rt(new ShareRuntime());
  rt->journal_ = &journal;
  rt->journal_mu_ = &journal_mu;
  rt->store_ = &store;
  {
    MutexLock lock(journal_mu);
    auto share = journal.share(share_id);
    if (!share) return tl::unexpected(share.error());
    rt->share_ = std::move(*share);
  }
  remote::PosixRemoteFs::Options cache_side;
  cache_side.side = "cache root";  // so messages name the side they are about
  rt->local_ = std::make_shared<remote::PosixRemoteFs>(rt->share_.cache_root, cache_side);
  rt->remote_posix_ = std::make_shared<remote::PosixRemoteFs>(rt->share_.remote_root);
  std::shared_ptr<remote::RemoteFs> inner = rt->remote_posix_;
  if (auto fault = testFaultFromEnvironment()) {
    auto faulty = std::make_shared<remote::FaultyRemoteFs>(inner);
    remote::FaultRule rule;
    rule.op = remote::RemoteOp::kReplaceFile;
    rule.err = *fault;
    faulty->addRule(rule);
    inner = faulty;
  }
  // Test hook: HOARD_FAULT_REMOTE_WHILE=FILE makes every remote call, the
  // probe's too, fail while FILE exists, with the errno named in it
  // (EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EACCES; EKEYEXPIRED if it names
  // none): credentials that expire in a running daemon, and come back when
  // a renewal script removes FILE.
  std::shared_ptr<remote::RemoteFs> probe_fs;
  if (const char* file = std::getenv("HOARD_FAULT_REMOTE_WHILE"); file != nullptr) {
    auto faulty = std::make_shared<remote::FaultyRemoteFs>(inner);
    remote::FaultRule rule;
    rule.gate = [path = std::string(file)]() { return faultWhileFile(path); };
    faulty->addRule(rule);
    inner = faulty;
    probe_fs = faulty;
  }
  // Test hook: HOARD_FAULT_UNREADABLE_REMOTE=GLOB makes the remote refuse to
  // open the directories matching GLOB (EACCES), as mode 000 does for a
  // user (the tests run as root, whom mode 000 does not stop).
  if (const char* glob = std::getenv("HOARD_FAULT_UNREADABLE_REMOTE"); glob != nullptr) {
    auto faulty = std::make_shared<remote::FaultyRemoteFs>(inner);
    remote::FaultRule rule;
    rule.op = remote::RemoteOp::kOpenDir;
    rule.path_glob = glob;
    rule.err = EACCES;
    faulty->addRule(rule);
    inner = faulty;
  }
  // Test hook: HOARD_FAULT_SLOW_REMOTE_MS=N makes every remote file fetch
  // take N ms longer (a slow link), so the daemon's tests can act during a
  // long pass. Unset (always, outside tests): nothing changes.
  if (const char* slow = std::getenv("HOARD_FAULT_SLOW_REMOTE_MS"); slow != nullptr) {
    auto faulty = std::make_shared<remote::FaultyRemoteFs>(inner);
    remote::FaultRule rule;
    rule.op = remote::RemoteOp::kFetchFile;
    rule.hang = true;
    rule.hang_limit = std::chrono::milliseconds(std::atoi(slow));
    faulty->addRule(rule);
    inner = faulty;
  }
  // Counted where calls reach the mount (the bench and `hoard status` report them).
  rt->counting_ = std::make_shared<remote::CountingRemoteFs>(inner);
  rt->remote_ = std::make_shared<remote::DeadlineRemoteFs>(rt->counting_, pool, deadlines);
  rt->probe_pool_ = std::make_shared<remote::WorkerPool>(
      remote::WorkerPool::Options{1, 4, "hoard-probe"});
  remote::IdentityChecker::Options probe_opts;
  probe_opts.deadline = deadlines.metadata;
  probe_opts.fs = probe_fs;
  rt->checker_ = std::make_unique<remote::IdentityChecker>(
      rt->share_.remote_root, fromJournal(rt->share_.identity), rt->probe_pool_, probe_opts);
  remote::IdentityChecker* checker = rt->checker_.get();
  ShareSides sides{journal,      journal_mu, share_id, *rt->local_, *rt->remote_,
                   rt->share_.cache_root, store, store::KeepPolicy{}, std::move(host),
                   [checker]() -> Status {
                     remote::ProbeResult p = checker->probe();
                     if (p.state == remote::Reachability::kReachable) return {};
                     ErrorCode code = p.state == remote::Reachability::kAuthExpired
                                          ? ErrorCode::kAuthExpired
                                          : ErrorCode::kOffline;
                     return fail(code, p.reason);
                   },
                   rt->own_writes_};
  // On demand: the view shows the listing; only pins are hoarded.
  sides.record_listing = rt->share_.onDemand();
  sides.pins_only = rt->share_.onDemand();
  if (!lister.spec.empty())
    sides.remote_changes = std::make_shared<remote::ListerChangeSource>(
        rt->remote_, fromJournal(rt->share_.identity).marker_id, lister,
        std::move(on_lister_fallback));
  rt->reconciler_ = std::make_unique<Reconciler>(std::move(sides));
  return rt;
}

std::shared_ptr<remote::RemoteFs> ShareRuntime::remoteShared() const { return remote_; }

Result<std::vector<BaseEntry>> ShareRuntime::baseUnder(const RelPath& dir) {
  MutexLock lock(*journal_mu_);
  return journal_->listBaseUnder(share_.id, dir);
}

std::string ShareRuntime::lastResolution(const RelPath& path) {
  MutexLock lock(*journal_mu_);
  auto all = journal_->conflicts(share_.id, false);
  if (!all) return {};
  const journal::ConflictRecord* newest = nullptr;
  for (const auto& c : *all)
    if (!c.open && c.path == path && (!newest || c.resolved_at_ns > newest->resolved_at_ns))
      newest = &c;
  return newest ? newest->resolution : std::string();
}

}  // namespace hoard::sync
