// SPDX-License-Identifier: MIT
#include "remote/Identity.h"

#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "common/RelPath.h"
#include "common/UniqueFd.h"
#include "remote/FdUtil.h"
#include "remote/Mountinfo.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::remote {

namespace {

constexpr size_t kMarkerMax = 4096;

bool validMarkerId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The id in a marker's content ("<id>\n"), or kCorrupt.
Result<std::string> parseMarker(const std::string& content, const std::string& root) {
  std::string id = content;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  if (!validMarkerId(id)) {
    return fail(ErrorCode::kCorrupt, "share marker " + std::string(kMarkerName) + " in '" +
                                         displayPath(root) + "' does not hold a share id");
  }
  return id;
}

std::string fsidText(const struct statfs& sf) {
  char buf[96];
  unsigned a = static_cast<unsigned>(sf.f_fsid.__val[0]);
  unsigned b = static_cast<unsigned>(sf.f_fsid.__val[1]);
  std::snprintf(buf, sizeof buf, "type=0x%lx fsid=%08x%08x", static_cast<unsigned long>(sf.f_type),
                a, b);
  return buf;
}

bool isAuthError(ErrorCode c) {
  return c == ErrorCode::kPermission || c == ErrorCode::kAuthExpired;
}

ProbeResult offline(std::string reason, std::optional<Error> err = std::nullopt) {
  return ProbeResult{Reachability::kOffline, std::move(reason), std::move(err)};
}

ProbeResult fromError(const Error& e, const std::string& what) {
  return probeResultFromError(e, what);
}

// Creates the marker with a new id unless one appears meanwhile.
Result<std::string> writeMarker(RemoteFs& fs, const std::string& root) {
  std::string id = detail::randomHex(16);
  UniqueFd mem(::memfd_create("hoard-share-id", MFD_CLOEXEC));
  if (!mem) return failErrno(errno, "memfd for share marker");
  std::string content = id + "\n";
  if (::write(mem.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    return failErrno(errno, "write share marker content");
  }
  ReplaceOptions opts;
  opts.mode = 0644;
  auto st = fs.replaceFile(RelPath(kMarkerName), mem.get(), Expect::absent(), opts, {});
  if (st) return id;
  if (st.error().code() != ErrorCode::kConflict) return tl::unexpected(st.error());
  // Another client created it first: theirs wins.
  auto existing = fs.readSmallFile(RelPath(kMarkerName), kMarkerMax);
  if (!existing) return tl::unexpected(existing.error());
  return parseMarker(*existing, root);
}

std::shared_ptr<RemoteFs> fsFor(const std::string& root, const std::shared_ptr<RemoteFs>& given) {
  if (given) return given;
  return std::make_shared<PosixRemoteFs>(root);
}

}  // namespace

ProbeResult probeResultFromError(const Error& e, const std::string& what) {
  Reachability r = isAuthError(e.code()) ? Reachability::kAuthExpired : Reachability::kOffline;
  return ProbeResult{r, what + ": " + e.message(), e};
}

std::string RemoteIdentity::describe() const {
  return fstype + " '" + displayPath(mount_source) + "' mounted at '" + displayPath(mount_point) +
         "' (mount root '" + displayPath(mount_root) + "', " + fsid + ", marker " +
         (marker_id.empty() ? std::string("none") : marker_id) + ")";
}

std::string_view reachabilityName(Reachability r) {
  switch (r) {
    case Reachability::kReachable:
      return "reachable";
    case Reachability::kOffline:
      return "offline";
    case Reachability::kAuthExpired:
      return "auth-expired";
  }
  return "offline";
}

Result<RemoteIdentity> observeIdentity(const std::string& root, const std::string& mountinfo_path) {
  char real[PATH_MAX];
  if (::realpath(root.c_str(), real) == nullptr) {
    return failErrno(errno, "resolve remote root '" + displayPath(root) + "'");
  }
  struct statfs sf;
  if (::statfs(real, &sf) != 0) {
    return failErrno(errno, "statfs of remote root '" + displayPath(root) + "'");
  }
  auto mounts = readMountinfo(mountinfo_path);
  if (!mounts) return tl::unexpected(mounts.error());
  const MountEntry* m = findMountFor(*mounts, real);
  if (m == nullptr) {
    return fail(ErrorCode::kNotFound,
                "no mount holds remote root '" + displayPath(real) + "' in " + mountinfo_path);
  }
  RemoteIdentity id;
  id.fsid = fsidText(sf);
  id.mount_source = m->source;
  id.fstype = m->fstype;
  id.mount_point = m->mount_point;
  id.mount_root = m->root;
  return id;
}

Result<RemoteIdentity> IdentityChecker::establish(const std::string& root, WorkerPool& pool,
                                                  const Options& options) {
  return pool.run<RemoteIdentity>(
      "establish share identity at '" + displayPath(root) + "'", options.deadline,
      [root, mountinfo = options.mountinfo_path,
       shared = fsFor(root, options.fs)](const ProgressFn&) -> Result<RemoteIdentity> {
        RemoteFs& fs = *shared;
        if (auto sv = fs.statfs(); !sv) return tl::unexpected(sv.error());
        auto id = observeIdentity(root, mountinfo);
        if (!id) return id;
        auto existing = fs.readSmallFile(RelPath(kMarkerName), kMarkerMax);
        if (existing) {
          auto marker = parseMarker(*existing, root);
          if (!marker) return tl::unexpected(marker.error());
          id->marker_id = std::move(*marker);
          return id;
        }
        if (existing.error().code() != ErrorCode::kNotFound) {
          return tl::unexpected(existing.error());
        }
        auto created = writeMarker(fs, root);
        if (!created) return tl::unexpected(created.error());
        id->marker_id = std::move(*created);
        return id;
      });
}

IdentityChecker::IdentityChecker(std::string root, RemoteIdentity recorded,
                                 std::shared_ptr<WorkerPool> pool, Options options)
    : root_(std::move(root)),
      recorded_(std::move(recorded)),
      pool_(std::move(pool)),
      options_(std::move(options)) {}

ProbeResult IdentityChecker::probe() {
  const std::string where = "remote root '" + displayPath(root_) + "'";
  auto result = pool_->run<ProbeResult>(
      "probe " + where, options_.deadline,
      [root = root_, recorded = recorded_, mountinfo = options_.mountinfo_path, where,
       shared = fsFor(root_, options_.fs)](const ProgressFn&) -> Result<ProbeResult> {
        RemoteFs& fs = *shared;
        // (1) An uncached call: a dead link hangs or fails here, where a
        // cached stat could still succeed.
        if (auto sv = fs.statfs(); !sv) return fromError(sv.error(), where);
        // (2) Still on the recorded mount and filesystem?
        auto now = observeIdentity(root, mountinfo);
        if (!now) return fromError(now.error(), where);
        if (now->mount_point != recorded.mount_point || now->fstype != recorded.fstype ||
            now->mount_source != recorded.mount_source || now->mount_root != recorded.mount_root) {
          return offline(where + " is on " + now->describe() + " but the share was recorded on " +
                         recorded.describe() +
                         ": the share is not mounted (or a different filesystem is)");
        }
        if (!recorded.fsid.empty() && now->fsid != recorded.fsid) {
          return offline(where + " is on a different filesystem (" + now->fsid + ", recorded " +
                         recorded.fsid + ")");
        }
        // (3) The marker names this share.
        auto content = fs.readSmallFile(RelPath(kMarkerName), kMarkerMax);
        if (!content) {
          if (content.error().code() == ErrorCode::kNotFound) {
            return offline(where + " has no share marker " + std::string(kMarkerName) +
                               ": not the share's filesystem (not mounted?)",
                           content.error());
          }
          return fromError(content.error(), where);
        }
        auto marker = parseMarker(*content, root);
        if (!marker) return offline(where + ": " + marker.error().message(), marker.error());
        if (*marker != recorded.marker_id) {
          return offline(where + " holds share marker " + *marker + ", the share recorded " +
                         recorded.marker_id + ": a different share");
        }
        return ProbeResult{Reachability::kReachable, {}, std::nullopt};
      });
  if (!result) return fromError(result.error(), where);
  return std::move(*result);
}

}  // namespace hoard::remote
