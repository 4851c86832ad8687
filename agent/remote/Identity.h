// SPDX-License-Identifier: MIT
#pragma once

// Is the remote there, and is it the right one? "An absent remote is not an
// empty remote": a share records its remote's identity when it is created
// (filesystem id, the mount it is on, and a marker file hoard writes at the
// remote root) and every probe checks it, so an unmounted share (which leaves
// an empty mountpoint on the parent filesystem) or a different filesystem is
// OFFLINE, never "everything was deleted".

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "remote/RemoteFs.h"
#include "remote/WorkerPool.h"

namespace hoard::remote {

struct RemoteIdentity {
  std::string fsid;          // statfs f_type and f_fsid as text ("type=0x... fsid=...")
  std::string mount_source;  // from mountinfo, for the mount holding the root
  std::string fstype;
  std::string mount_point;
  std::string mount_root;  // the mount's root within its filesystem (differs for a bind mount)
  std::string marker_id;   // content of `.hoard-share-id`

  bool operator==(const RemoteIdentity&) const = default;
  // One line for logs and messages.
  std::string describe() const;
};

enum class Reachability : uint8_t { kReachable, kOffline, kAuthExpired };
std::string_view reachabilityName(Reachability r);  // "reachable", "offline", "auth-expired"

struct ProbeResult {
  Reachability state = Reachability::kOffline;
  std::string reason;          // empty when reachable; otherwise names the root and what failed
  std::optional<Error> error;  // the underlying error, if one caused this
};

// How a failed remote call reads as connectivity: EACCES/EPERM/EKEYEXPIRED
// (kPermission, kAuthExpired) is AUTH-EXPIRED, anything else OFFLINE; the
// reason is "<what>: <message>".
ProbeResult probeResultFromError(const Error& error, const std::string& what);

// The connectivity probe the engine calls on an interval and on demand.
class ConnectivityProbe {
 public:
  virtual ~ConnectivityProbe() = default;
  // Blocks the caller at most for the probe's deadline. Any thread.
  virtual ProbeResult probe() = 0;
};

// What the remote root looks like right now, without touching the marker:
// realpath, statfs and the mount from `mountinfo_path`. Blocking (it stats
// the root): call it on a pool worker. `marker_id` is left empty.
Result<RemoteIdentity> observeIdentity(const std::string& root, const std::string& mountinfo_path);

class IdentityChecker final : public ConnectivityProbe {
 public:
  struct Options {
    std::chrono::milliseconds deadline{10000};
    std::string mountinfo_path = "/proc/self/mountinfo";
    // The filesystem the statvfs and the marker go through; null means a
    // PosixRemoteFs on the root. It runs on the checker's pool, so pass an
    // undecorated one (a FaultyRemoteFs in tests), never a DeadlineRemoteFs.
    std::shared_ptr<RemoteFs> fs;
  };

  // At share creation: observes the root's identity and makes sure the
  // marker is there. An existing valid marker is kept (another machine may
  // share this remote root and has recorded that id); otherwise a new random
  // id is written atomically (temporary file + rename, never over an
  // existing file). Runs on `pool` under the deadline: kTimeout / kOffline if
  // the mount hangs, kPermission / kAuthExpired as the filesystem says.
  static Result<RemoteIdentity> establish(const std::string& root, WorkerPool& pool,
                                          const Options& options);

  // Give the checker a pool of its own (one worker is enough): on a pool
  // shared with transfers, busy workers would delay probes into timeouts.
  IdentityChecker(std::string root, RemoteIdentity recorded, std::shared_ptr<WorkerPool> pool,
                  Options options);

  // (1) statvfs of the root (uncached) under the deadline: a hang or a
  // network error is OFFLINE, EACCES/EPERM/EKEYEXPIRED is AUTH-EXPIRED;
  // (2) the root is still on a mount with the recorded source, fstype, mount
  // point and mount root, and the same filesystem id; (3) the marker holds the
  // recorded id. Any mismatch is OFFLINE with a reason naming both sides.
  ProbeResult probe() override;

  const RemoteIdentity& recorded() const { return recorded_; }

 private:
  const std::string root_;
  const RemoteIdentity recorded_;
  const std::shared_ptr<WorkerPool> pool_;
  const Options options_;
};

// For tests of the layers above: answers what it was told to.
class FakeConnectivityProbe final : public ConnectivityProbe {
 public:
  void set(ProbeResult result) {
    MutexLock lock(mu_);
    result_ = std::move(result);
  }
  void setReachable() { set(ProbeResult{Reachability::kReachable, {}, std::nullopt}); }
  void setOffline(std::string reason) {
    set(ProbeResult{Reachability::kOffline, std::move(reason), std::nullopt});
  }
  ProbeResult probe() override {
    MutexLock lock(mu_);
    ++probes_;
    return result_;
  }
  uint64_t probes() const {
    MutexLock lock(mu_);
    return probes_;
  }

 private:
  mutable Mutex mu_;
  ProbeResult result_ HOARD_GUARDED_BY(mu_){Reachability::kReachable, {}, std::nullopt};
  uint64_t probes_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace hoard::remote
