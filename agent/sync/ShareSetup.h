// SPDX-License-Identifier: MIT
#pragma once

// Creating a share and assembling what a pass needs for it: the pieces the
// daemon (and the demo tool) share.

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"
#include "remote/CountingRemoteFs.h"
#include "remote/DeadlineRemoteFs.h"
#include "remote/FaultyRemoteFs.h"
#include "remote/Identity.h"
#include "remote/ListerChangeSource.h"
#include "remote/PosixRemoteFs.h"
#include "store/BaseStore.h"
#include "sync/Reconciler.h"

namespace hoard::sync {

journal::RemoteIdentity toJournal(const remote::RemoteIdentity& id);
remote::RemoteIdentity fromJournal(const journal::RemoteIdentity& id);

// Records a new share: checks the name (validateShareName), that
// `remote_root` is an absolute path to a directory that exists now (its
// identity is observed and the marker file written there) and that
// `cache_root` is absolute and absent or an empty directory (created if
// absent). Refuses, with kInvalidArgument naming both roots (and the share
// owning the other one), `/` as either root and any overlap (sync/ShareRoots.h:
// same directory, one inside the other, after symlinks and bind mounts)
// between the two roots or with any existing share's roots. Other errors name
// the path and say what to do: kInvalidArgument (relative path, cache not
// empty), kNotFound (remote root missing), kExists (name taken),
// kOffline/kTimeout (the remote did not answer), kPermission. Nothing is
// stored or written (no marker, no cache directory) unless every check passes.
// An on-demand share has a `view_root`: the user's directory, where its FUSE
// view is mounted, which then takes the cache root's place in every check
// above; `cache_root` is hoardd's backing directory for it (created, and
// refused unless absent or empty).
Result<int64_t> createShare(journal::Journal& journal, Mutex& journal_mu, const std::string& name,
                            const std::string& remote_root, const std::string& cache_root,
                            remote::WorkerPool& pool, const std::string& view_root = {});

// Test hook: HOARD_FAULT_INJECT_REMOTE=EKEYEXPIRED (or ENOSPC, EACCES, EIO,
// ETIMEDOUT, ENOTCONN) makes every remote file replacement of every share
// fail with that errno, so tests of the daemon can show how such faults reach
// the bus; the kernel cannot be made to answer EKEYEXPIRED on demand. Unset
// (always, outside tests): nothing changes.
std::optional<int> testFaultFromEnvironment();

// For the HOARD_FAULT_REMOTE_WHILE test hook (ShareRuntime::open): the errno
// the file at `path` names, nullopt while there is no such file.
std::optional<int> faultWhileFile(const std::string& path);

// The filesystems, identity checker and sides of one share, ready for a
// Reconciler. Remote calls run on `pool` under `deadlines`; the identity
// probe on its own small pool so a busy transfer pool cannot starve it.
class ShareRuntime {
 public:
  static Result<std::unique_ptr<ShareRuntime>> open(
      journal::Journal& journal, Mutex& journal_mu, int64_t share_id, store::BaseStore& store,
      std::shared_ptr<remote::WorkerPool> pool, remote::DeadlineRemoteFs::Deadlines deadlines,
      std::string host, const remote::ListerSettings& lister = {},
      std::function<void(const std::string&)> on_lister_fallback = nullptr);

  Reconciler& reconciler() { return *reconciler_; }
  remote::IdentityChecker& probe() { return *checker_; }
  const journal::ShareRecord& share() const { return share_; }
  const std::shared_ptr<OwnWrites>& ownWrites() const { return own_writes_; }
  // The cache and the remote as the reconciler sees them (the remote with
  // its deadlines).
  remote::RemoteFs& local() { return *local_; }
  remote::RemoteFs& remote() { return *remote_; }
  // The same remote, shared with the share's FUSE view (on demand).
  std::shared_ptr<remote::RemoteFs> remoteShared() const;
  // How the newest resolved conflict at `path` was decided ("keep-local",
  // ...), or "" if none was.
  std::string lastResolution(const RelPath& path);
  // The base entries beneath `dir` and the store holding their kept bytes:
  // the base a repository merge reads its refs from (RepoCopies.h).
  Result<std::vector<BaseEntry>> baseUnder(const RelPath& dir);
  store::BaseStore& store() { return *store_; }
  // The calls that reached the remote's mount since the share was opened,
  // by operation (with faults injected by tests counted as calls). Any thread.
  remote::RemoteCallCounts remoteCalls() const { return counting_->counts(); }

 private:
  ShareRuntime() = default;
  journal::Journal* journal_ = nullptr;
  Mutex* journal_mu_ = nullptr;
  store::BaseStore* store_ = nullptr;
  journal::ShareRecord share_;
  std::shared_ptr<remote::PosixRemoteFs> local_;
  std::shared_ptr<remote::PosixRemoteFs> remote_posix_;
  std::shared_ptr<remote::CountingRemoteFs> counting_;
  std::shared_ptr<remote::DeadlineRemoteFs> remote_;
  std::shared_ptr<remote::WorkerPool> probe_pool_;
  std::unique_ptr<remote::IdentityChecker> checker_;
  std::shared_ptr<OwnWrites> own_writes_ = std::make_shared<OwnWrites>();
  std::unique_ptr<Reconciler> reconciler_;
};

}  // namespace hoard::sync
