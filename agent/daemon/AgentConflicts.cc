// SPDX-License-Identifier: MIT
// org.hoard.Agent1: conflicts, their versions and their resolution.
#include <sys/mman.h>

#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "dbus/DbusErrors.h"
#include "sync/ConflictDetail.h"
#include "sync/ShareQueries.h"

namespace hoard::daemon {

namespace {

// The engine's own resolutions; any other name goes through the resolver chain.
std::optional<sync::Resolution> direct(const std::string& name) {
  auto r = sync::resolutionFromName(name);
  if (r && (*r == sync::Resolution::kKeepLocal || *r == sync::Resolution::kKeepRemote ||
            *r == sync::Resolution::kStash || *r == sync::Resolution::kDelete))
    return r;
  return std::nullopt;
}

int emptyFd() {
  int fd = ::memfd_create("hoard-absent-version", MFD_CLOEXEC);
  if (fd < 0) raise(Error::fromErrno(errno, "memfd_create"));
  return fd;
}

}  // namespace

std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::string, int64_t>>
Agent::ListConflicts(const std::string& share) {
  return call("ListConflicts", [&] {
    std::vector<journal::ShareRecord> shares;
    if (share.empty()) {
      MutexLock lock(journal_mu_);
      shares = orRaise(journal_.shares());
    } else {
      shares.push_back(shareRecord(share));
    }
    std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::string, int64_t>>
        out;
    MutexLock lock(journal_mu_);
    for (const auto& s : shares)
      for (const auto& c : orRaise(journal_.conflicts(s.id, true)))
        out.emplace_back(static_cast<uint64_t>(c.id), s.name, bytes(c.path),
                         std::string(journal::conflictKindName(c.kind)), c.created_at_ns);
    return out;
  });
}

std::map<std::string, sdbus::Variant> Agent::GetConflict(const uint64_t& id) {
  return call("GetConflict", [&] {
    journal::ConflictRecord c;
    std::string share;
    {
      MutexLock lock(journal_mu_);
      auto r = journal_.conflict(static_cast<int64_t>(id));
      if (!r)
        raise(dbus::kUnknownConflict, "there is no conflict #" + std::to_string(id) +
                                          "; `hoard conflicts` lists the open ones");
      c = *r;
      share = orRaise(journal_.share(c.share_id)).name;
    }
    std::map<std::string, sdbus::Variant> out = {
        {"id", sdbus::Variant(id)},
        {"share", sdbus::Variant(share)},
        {"path", sdbus::Variant(bytes(c.path))},
        {"kind", sdbus::Variant(std::string(journal::conflictKindName(c.kind)))},
        {"state", sdbus::Variant(std::string(!c.open                           ? "resolved"
                                             : sync::decodeDetail(c.detail).merging ? "merging"
                                                                                    : "open"))},
        {"detail", sdbus::Variant(c.detail)}};
    if (!c.open) out["resolution"] = sdbus::Variant(c.resolution);
    return out;
  });
}

void Agent::OpenConflictVersions(
    sdbus::Result<sdbus::UnixFd, sdbus::UnixFd, sdbus::UnixFd, sdbus::Struct<bool, bool, bool>>&&
        result,
    uint64_t id) {
  async(jobs_, "OpenConflictVersions", std::move(result), [this, id](auto& reply) {
    journal::ConflictRecord c;
    {
      MutexLock lock(journal_mu_);
      auto r = journal_.conflict(static_cast<int64_t>(id));
      if (!r) raise(dbus::kUnknownConflict, "there is no conflict #" + std::to_string(id));
      c = *r;
    }
    auto open = [&](const std::optional<ContentHash>& h, bool& present) {
      present = false;
      if (h) {
        if (auto fd = store_.open(*h)) {
          present = true;
          return sdbus::UnixFd(fd->release(), sdbus::adopt_fd);
        }
      }
      return sdbus::UnixFd(emptyFd(), sdbus::adopt_fd);
    };
    bool pb = false, pl = false, pr = false;
    sdbus::UnixFd base = open(c.base_object, pb);
    sdbus::UnixFd local = open(c.local_object, pl);
    sdbus::UnixFd remote = open(c.remote_object, pr);
    reply.returnResults(base, local, remote, sdbus::Struct<bool, bool, bool>(pb, pl, pr));
  });
}

Result<std::vector<uint64_t>> Agent::resolveIds(const std::vector<int64_t>& ids,
                                                sync::Resolution how, bool force) {
  std::vector<uint64_t> done;
  for (int64_t id : ids) {
    auto t = conflictOnEngine(id, /*open=*/true);
    if (!t)
      return fail(t.error().code(),
                  t.error().message() +
                      (done.empty() ? std::string()
                                    : " (" + std::to_string(done.size()) +
                                          " before it were resolved)"));
    const auto& [c, share, e] = *t;
    sync::ConflictDecision decision;
    decision.kind = how;
    decision.resolver = sync::resolutionName(how);
    decision.force = force;
    Status st = force ? e->engine->apply(id, decision) : e->engine->resolve(id, how);
    if (!st) return tl::unexpected(st.error().withContext("conflict #" + std::to_string(id)));
    done.push_back(static_cast<uint64_t>(id));
    signal([&] {
      emitConflictResolved(static_cast<uint64_t>(id), share, bytes(c.path),
                           std::string(sync::resolutionName(how)),
                           std::string(sync::resolutionName(how)), std::string());
    });
  }
  return done;
}

std::vector<uint64_t> Agent::resolveByIds(const std::vector<uint64_t>& ids,
                                          const std::string& resolver, bool force) {
  auto how = direct(resolver);
  if (!how) checkResolverName(resolver);
  {
    MutexLock lock(journal_mu_);
    for (uint64_t id : ids) {
      auto c = journal_.conflict(static_cast<int64_t>(id));
      if (!c || !c->open)
        raise(dbus::kUnknownConflict, "there is no open conflict #" + std::to_string(id) +
                                          "; `hoard conflicts` lists the open ones");
    }
  }
  std::vector<int64_t> signed_ids(ids.begin(), ids.end());
  auto done = how ? resolveIds(signed_ids, *how, force) : resolveIdsWith(signed_ids, resolver);
  if (!done && done.error().code() == ErrorCode::kNotFound)
    raise(dbus::kUnknownConflict, done.error().message());
  return orRaise(std::move(done));
}

void Agent::Resolve(sdbus::Result<std::vector<uint64_t>>&& result, std::vector<uint64_t> ids,
                    std::string resolver) {
  async(jobs_, "Resolve", std::move(result), [this, ids, resolver](auto& reply) {
    reply.returnResults(resolveByIds(ids, resolver, false));
  });
}

void Agent::ResolveWith(sdbus::Result<std::vector<uint64_t>>&& result, std::vector<uint64_t> ids,
                        std::string resolver, std::map<std::string, sdbus::Variant> options) {
  async(jobs_, "ResolveWith", std::move(result), [this, ids, resolver, options](auto& reply) {
    const std::string m = "ResolveWith";
    onlyKeys(options, {"force"}, m);
    bool force = option<bool>(options, "force", m).value_or(false);
    if (force && resolver != "keep-local")
      raise(Error(ErrorCode::kInvalidArgument,
                  m + ": option \"force\" goes with keep-local only (it keeps a merge that "
                      "still holds conflict markers), not with \"" + resolver + "\""));
    reply.returnResults(resolveByIds(ids, resolver, force));
  });
}

void Agent::ResolveMatching(sdbus::Result<std::vector<uint64_t>>&& result, std::string share,
                            std::map<std::string, sdbus::Variant> filter, std::string resolver) {
  async(jobs_, "ResolveMatching", std::move(result),
        [this, share, filter, resolver](auto& reply) {
          auto how = direct(resolver);
          if (!how) checkResolverName(resolver);
          const std::string m = "ResolveMatching";
          onlyKeys(filter, {"glob", "under", "kind"}, m);
          if (filter.empty())
            raise(Error(ErrorCode::kInvalidArgument,
                        "ResolveMatching needs a filter: glob, under or kind (use Resolve with "
                        "ids to pick conflicts one by one)"));
          std::optional<std::string> glob, under;
          if (auto g = option<std::vector<uint8_t>>(filter, "glob", m)) glob = str(*g);
          if (auto u = option<std::vector<uint8_t>>(filter, "under", m)) under = str(*u);
          auto kind = option<std::string>(filter, "kind", m);
          sync::ConflictFilter f =
              orRaise(sync::conflictFilter(glob, under, kind)
                          .map_error([&](Error e) { return e.withContext(m); }));
          journal::ShareRecord rec = shareRecord(share);
          auto ids = orRaise(sync::matchingConflicts(journal_, journal_mu_, rec.id, f));
          reply.returnResults(orRaise(how ? resolveIds(ids, *how) : resolveIdsWith(ids, resolver)));
        });
}

}  // namespace hoard::daemon
