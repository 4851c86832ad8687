// SPDX-License-Identifier: MIT
#include "daemon/Agent.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "Glob.h"
#include "common/RelPath.h"
#include "dbus/DbusErrors.h"
#include "sync/ShareSetup.h"

namespace hoard::daemon {

namespace {

constexpr const char* kObjectPath = "/org/hoard/Agent1";
constexpr const char* kVersion = "0.1.0";

std::string str(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

[[noreturn]] void raise(const Error& e) { throw dbus::toDbus(e); }
[[noreturn]] void raise(std::string_view name, const std::string& message) {
  throw dbus::toDbus(name, message);
}
template <class T>
T orRaise(Result<T> r) {
  if (!r) raise(r.error());
  return std::move(*r);
}
void orRaise(Status s) {
  if (!s) raise(s.error());
}

RelPath relPath(const std::vector<uint8_t>& v, const std::string& what) {
  RelPath p = str(v);
  if (Status ok = validateRelPath(p); !ok) raise(ok.error().withContext(what));
  return p;
}

// Refuses option keys the method does not know (design: unknown keys are an error).
void onlyKeys(const std::map<std::string, sdbus::Variant>& options,
              std::initializer_list<std::string_view> known, const std::string& method) {
  for (const auto& [k, v] : options) {
    bool ok = false;
    for (std::string_view n : known) ok = ok || n == k;
    if (!ok)
      raise(Error(ErrorCode::kInvalidArgument,
                  method + ": unknown option \"" + k + "\"" +
                      (known.size() == 0 ? std::string(" (it takes none)") : std::string())));
  }
}

std::optional<sync::Resolution> resolution(const std::string& name) {
  auto r = sync::resolutionFromName(name);
  if (!r)
    raise(Error(ErrorCode::kInvalidArgument,
                "unknown resolver \"" + name + "\": use keep-local, keep-remote or stash"));
  return r;
}

int emptyFd() {
  int fd = ::memfd_create("hoard-absent-version", MFD_CLOEXEC);
  if (fd < 0) raise(Error::fromErrno(errno, "memfd_create"));
  return fd;
}

void log(int priority, const std::string& message) {
  // sd-daemon priority prefixes: journald reads them from stderr.
  std::cerr << "<" << priority << ">" << message << std::endl;
}

}  // namespace

struct Agent::Engine {
  std::string name;
  std::mutex mu;
  std::vector<RelPath> not_hoarded;  // GUARDED_BY(mu): from the last pass
  std::unique_ptr<sync::ShareEngine> engine;  // last: stopped before the rest goes
};

Agent::Agent(sdbus::IConnection& connection, journal::Journal& journal, store::BaseStore& store,
             AgentOptions options)
    : AdaptorInterfaces(connection, kObjectPath),
      journal_(journal),
      store_(store),
      options_(std::move(options)),
      pool_(std::make_shared<remote::WorkerPool>(
          remote::WorkerPool::Options{4, 256, "hoard-remote"})) {
  registerAdaptor();
}

Agent::~Agent() {
  strand_.reset();  // finishes what was posted while signals can still go out
  stopShares();
  unregisterAdaptor();
}

void Agent::startShares() {
  std::vector<journal::ShareRecord> shares;
  {
    std::lock_guard lock(journal_mu_);
    auto s = journal_.shares();
    if (!s) {
      log(3, "cannot list shares: " + s.error().toString());
      return;
    }
    shares = std::move(*s);
  }
  for (const auto& share : shares) {
    try {
      startEngine(share);
    } catch (const sdbus::Error& e) {
      log(3, "share " + share.name + " not started: " + e.getMessage());
    }
  }
}

void Agent::signalFailed(const sdbus::Error& e) {
  log(4, "could not emit a signal: " + e.getName() + ": " + e.getMessage());
}

void Agent::stopShares() {
  std::map<std::string, std::shared_ptr<Engine>> engines;
  {
    std::lock_guard lock(mu_);
    engines.swap(engines_);
  }
  engines.clear();  // each ShareEngine stops its threads
}

void Agent::startEngine(const journal::ShareRecord& share) {
  auto e = std::make_shared<Engine>();
  e->name = share.name;
  Engine* raw = e.get();
  sync::ShareEngineHooks hooks;
  hooks.onStateChanged = [this, raw](journal::ShareState s, const std::string& reason) {
    log(5, "share " + raw->name + " is " + std::string(journal::shareStateName(s)) +
               (reason.empty() ? "" : ": " + reason));
    signal([&] { emitStateChanged(raw->name, std::string(journal::shareStateName(s)), reason); });
  };
  hooks.onConflictDetected = [this, raw](int64_t id) {
    std::optional<journal::ConflictRecord> c;
    {
      std::lock_guard lock(journal_mu_);
      if (auto r = journal_.conflict(id)) c = *r;
    }
    if (!c) return;
    log(4, "share " + raw->name + ": conflict #" + std::to_string(id) + " (" +
               std::string(journal::conflictKindName(c->kind)) + ") at " + displayPath(c->path));
    signal([&] { emitConflictDetected(static_cast<uint64_t>(id), raw->name, bytes(c->path),
                         std::string(journal::conflictKindName(c->kind))); });
  };
  hooks.onAuthenticationRequired = [this, raw](const std::string& m) {
    log(4, "share " + raw->name + ": authentication required: " + m);
    signal([&] { emitAuthenticationRequired(raw->name, m); });
  };
  hooks.onPassFinished = [raw](const sync::ReconcileReport& r) {
    std::lock_guard lock(raw->mu);
    raw->not_hoarded = r.not_hoarded;
  };
  auto engine = sync::ShareEngine::start(journal_, journal_mu_, share.id, store_, pool_,
                                         options_.host, std::move(hooks), options_.engine);
  if (!engine) raise(engine.error().withContext("share \"" + share.name + "\""));
  e->engine = std::move(*engine);
  std::lock_guard lock(mu_);
  engines_[share.name] = std::move(e);
}

std::shared_ptr<Agent::Engine> Agent::engine(const std::string& share) {
  std::lock_guard lock(mu_);
  auto it = engines_.find(share);
  if (it == engines_.end())
    raise(dbus::kUnknownShare, "no share is named \"" + share +
                                   "\"; `hoard share list` shows the shares there are");
  return it->second;
}

journal::ShareRecord Agent::shareRecord(const std::string& share) {
  std::lock_guard lock(journal_mu_);
  auto r = journal_.shareByName(share);
  if (!r) {
    if (r.error().code() == ErrorCode::kNotFound)
      raise(dbus::kUnknownShare, "no share is named \"" + share +
                                     "\"; `hoard share list` shows the shares there are");
    raise(r.error());
  }
  return *r;
}

uint64_t Agent::newJob(const std::string& share, std::string kind) {
  uint64_t job = next_job_++;
  log(6, "job " + std::to_string(job) + ": " + kind + " of share " + share);
  return job;
}

// ---- shares -------------------------------------------------------------------

void Agent::AddShare(const std::string& name, const std::vector<uint8_t>& remote_root,
                     const std::vector<uint8_t>& cache_root,
                     const std::map<std::string, sdbus::Variant>& options) {
  onlyKeys(options, {"pins"}, "AddShare");
  std::vector<RelPath> pins;
  if (options.count("pins")) {
    for (const auto& p : options.at("pins").get<std::vector<std::vector<uint8_t>>>())
      pins.push_back(relPath(p, "AddShare pin"));
  }
  auto id = sync::createShare(journal_, journal_mu_, name, str(remote_root), str(cache_root),
                              *pool_);
  if (!id) raise(id.error());
  {
    // Before the engine starts, so its first pass hoards only what is pinned.
    std::lock_guard lock(journal_mu_);
    for (const RelPath& p : pins) orRaise(journal_.pin(*id, p, 500));
  }
  journal::ShareRecord rec = shareRecord(name);
  startEngine(rec);
  log(5, "share " + name + " added: " + displayPath(rec.remote_root) + " -> " +
             displayPath(rec.cache_root));
}

void Agent::RemoveShare(const std::string& name,
                        const std::map<std::string, sdbus::Variant>& options) {
  onlyKeys(options, {"force"}, "RemoveShare");
  bool force = options.count("force") ? options.at("force").get<bool>() : false;
  journal::ShareRecord rec = shareRecord(name);
  if (!force) {
    std::lock_guard lock(journal_mu_);
    int64_t pending = orRaise(journal_.changeCount(rec.id));
    size_t open = orRaise(journal_.conflicts(rec.id, true)).size();
    if (pending > 0 || open > 0)
      raise(Error(ErrorCode::kBusy, "share \"" + name + "\" has " + std::to_string(pending) +
                                        " change(s) not yet written back and " +
                                        std::to_string(open) +
                                        " open conflict(s); sync and resolve first, or remove "
                                        "it with force (the cache and the remote stay as they "
                                        "are)"));
  }
  std::shared_ptr<Engine> e;
  {
    std::lock_guard lock(mu_);
    auto it = engines_.find(name);
    if (it != engines_.end()) {
      e = it->second;
      engines_.erase(it);
    }
  }
  e.reset();
  std::lock_guard lock(journal_mu_);
  orRaise(journal_.removeShare(rec.id));
}

std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::vector<uint8_t>, std::string,
                          uint32_t, uint32_t>>
Agent::ListShares() {
  std::vector<journal::ShareRecord> shares;
  std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::vector<uint8_t>, std::string,
                            uint32_t, uint32_t>>
      out;
  std::lock_guard lock(journal_mu_);
  for (const auto& s : orRaise(journal_.shares())) {
    auto pending = static_cast<uint32_t>(orRaise(journal_.changeCount(s.id)));
    auto open = static_cast<uint32_t>(orRaise(journal_.conflicts(s.id, true)).size());
    out.emplace_back(s.name, bytes(s.remote_root), bytes(s.cache_root),
                     std::string(journal::shareStateName(s.state)), pending, open);
  }
  return out;
}

// ---- pins and preload --------------------------------------------------------

void Agent::Pin(const std::string& share, const std::vector<uint8_t>& path,
                const uint32_t& priority) {
  journal::ShareRecord rec = shareRecord(share);
  RelPath p = relPath(path, "Pin");
  if (priority > 1000)
    raise(Error(ErrorCode::kInvalidArgument,
                "priority " + std::to_string(priority) + " is outside 0..1000"));
  {
    std::lock_guard lock(journal_mu_);
    orRaise(journal_.pin(rec.id, p, static_cast<int>(priority)));
  }
  engine(share)->engine->syncNow();  // hoard what the pin now asks for
}

void Agent::Unpin(const std::string& share, const std::vector<uint8_t>& path) {
  journal::ShareRecord rec = shareRecord(share);
  RelPath p = relPath(path, "Unpin");
  std::lock_guard lock(journal_mu_);
  orRaise(journal_.unpin(rec.id, p));
}

std::vector<sdbus::Struct<std::vector<uint8_t>, uint32_t, bool>> Agent::ListPins(
    const std::string& share) {
  journal::ShareRecord rec = shareRecord(share);
  std::vector<RelPath> missing;
  {
    auto e = engine(share);
    std::lock_guard lock(e->mu);
    missing = e->not_hoarded;
  }
  std::vector<journal::Pin> pins;
  {
    std::lock_guard lock(journal_mu_);
    pins = orRaise(journal_.pins(rec.id));
  }
  std::vector<sdbus::Struct<std::vector<uint8_t>, uint32_t, bool>> out;
  for (const auto& pin : pins) {
    bool hoarded = true;
    for (const RelPath& m : missing) hoarded = hoarded && !isUnder(m, pin.path);
    out.emplace_back(bytes(pin.path), static_cast<uint32_t>(pin.priority), hoarded);
  }
  return out;
}

void Agent::Preload(sdbus::Result<uint64_t>&& result, std::string share) {
  SyncNow(std::move(result), std::move(share));
}

void Agent::SyncNow(sdbus::Result<uint64_t>&& result, std::string share) {
  std::shared_ptr<Engine> e;
  try {
    e = engine(share);
  } catch (const sdbus::Error& err) {
    result.returnError(err);
    return;
  }
  uint64_t job = newJob(share, "sync");
  result.returnResults(job);
  strand_->post([this, e, job] {
    // A signal per file would cost more than small files do: the first, then
    // at most ten a second, and always the last.
    std::chrono::steady_clock::time_point last{};
    auto report = e->engine->syncOnce([this, e, job, &last](const sync::HoardProgress& p) {
      auto now = std::chrono::steady_clock::now();
      if (p.files_done != 1 && p.files_done != p.files_total &&
          now - last < std::chrono::milliseconds(100))
        return;
      last = now;
      signal([&] { emitProgress(job, e->name, "sync", p.bytes_done, p.bytes_total, p.files_done,
                   p.files_total); });
    });
    if (!report) {
      signal([&] { emitJobFinished(job, e->name, dbus::errorName(report.error().code()),
                      report.error().message()); });
      return;
    }
    if (report->stopped) {
      signal([&] { emitJobFinished(job, e->name, dbus::errorName(report->stopped->code()),
                      report->stopped->message()); });
      return;
    }
    if (!report->failed.empty()) {
      // Not a success: say so, by the first failure's name (the rest are
      // retried by the next pass as well).
      const auto& [path, err] = report->failed.front();
      signal([&] { emitJobFinished(job, e->name, dbus::errorName(err.code()),
                      std::to_string(report->failed.size()) +
                          " path(s) could not be synced and will be retried; first: " +
                          displayPath(path) + ": " + err.message()); });
      return;
    }
    std::string summary = std::to_string(report->pushed) + " sent, " +
                          std::to_string(report->pulled + report->hoarded) + " received, " +
                          std::to_string(report->deleted_remote + report->deleted_local) +
                          " deleted, " + std::to_string(report->new_conflicts.size()) +
                          " new conflict(s), " + std::to_string(report->waiting) +
                          " path(s) waiting on conflicts";
    signal([&] { emitJobFinished(job, e->name, "", summary); });
  });
}

void Agent::Evict(sdbus::Result<uint64_t>&& result, std::string share, std::vector<uint8_t> path) {
  std::shared_ptr<Engine> e;
  RelPath p;
  try {
    e = engine(share);
    p = relPath(path, "Evict");
  } catch (const sdbus::Error& err) {
    result.returnError(err);
    return;
  }
  strand_->post([e, p, reply = std::make_shared<std::decay_t<decltype(result)>>(std::move(result))]() mutable {
    auto freed = e->engine->evict(p);
    if (!freed) {
      reply->returnError(dbus::toDbus(freed.error()));
      return;
    }
    reply->returnResults(*freed);
  });
}

// ---- state --------------------------------------------------------------------

std::map<std::string, sdbus::Variant> Agent::GetStatus(const std::string& share) {
  auto e = engine(share);
  sync::ShareStatus s = e->engine->status();
  journal::ShareRecord rec = shareRecord(share);
  int64_t pending = 0;
  size_t open = 0;
  uint64_t hoarded = 0;
  {
    std::lock_guard lock(journal_mu_);
    pending = orRaise(journal_.changeCount(rec.id));
    open = orRaise(journal_.conflicts(rec.id, true)).size();
    for (const auto& b : orRaise(journal_.listBase(rec.id)))
      if (b.local.type == FileType::kFile) hoarded += b.local.size;
  }
  uint32_t unavailable = 0;
  {
    std::lock_guard lock(e->mu);
    unavailable = static_cast<uint32_t>(e->not_hoarded.size());
  }
  int64_t last_sync_ns = 0;
  if (s.last_pass && s.last_pass->ok)
    last_sync_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       s.last_pass->at.time_since_epoch())
                       .count();
  return {{"state", sdbus::Variant(std::string(journal::shareStateName(s.state)))},
          {"user_offline", sdbus::Variant(s.user_offline)},
          {"reason", sdbus::Variant(s.reason)},
          {"pending_changes", sdbus::Variant(static_cast<uint32_t>(pending))},
          {"open_conflicts", sdbus::Variant(static_cast<uint32_t>(open))},
          {"last_sync_ns", sdbus::Variant(last_sync_ns)},
          {"hoarded_bytes", sdbus::Variant(hoarded)},
          {"unavailable_offline", sdbus::Variant(unavailable)}};
}

void Agent::SetOffline(const std::string& share, const bool& offline) {
  orRaise(engine(share)->engine->setUserOffline(offline));
}

std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                          int64_t>>
Agent::ListChanges(const std::string& share) {
  journal::ShareRecord rec = shareRecord(share);
  std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                            int64_t>>
      out;
  std::lock_guard lock(journal_mu_);
  for (const auto& lc : orRaise(journal_.changes(rec.id, 0)))
    out.emplace_back(static_cast<uint64_t>(lc.seq), std::string(changeOpName(lc.change.op)),
                     bytes(lc.change.path), bytes(lc.change.to), lc.logged_at_ns);
  return out;
}

// ---- conflicts ------------------------------------------------------------------

std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::string, int64_t>>
Agent::ListConflicts(const std::string& share) {
  std::vector<journal::ShareRecord> shares;
  if (share.empty()) {
    std::lock_guard lock(journal_mu_);
    shares = orRaise(journal_.shares());
  } else {
    shares.push_back(shareRecord(share));
  }
  std::vector<sdbus::Struct<uint64_t, std::string, std::vector<uint8_t>, std::string, int64_t>>
      out;
  std::lock_guard lock(journal_mu_);
  for (const auto& s : shares)
    for (const auto& c : orRaise(journal_.conflicts(s.id, true)))
      out.emplace_back(static_cast<uint64_t>(c.id), s.name, bytes(c.path),
                       std::string(journal::conflictKindName(c.kind)), c.created_at_ns);
  return out;
}

std::map<std::string, sdbus::Variant> Agent::GetConflict(const uint64_t& id) {
  journal::ConflictRecord c;
  std::string share;
  {
    std::lock_guard lock(journal_mu_);
    auto r = journal_.conflict(static_cast<int64_t>(id));
    if (!r) raise(dbus::kUnknownConflict, "there is no conflict #" + std::to_string(id) +
                                              "; `hoard conflicts` lists the open ones");
    c = *r;
    share = orRaise(journal_.share(c.share_id)).name;
  }
  std::map<std::string, sdbus::Variant> out = {
      {"id", sdbus::Variant(id)},
      {"share", sdbus::Variant(share)},
      {"path", sdbus::Variant(bytes(c.path))},
      {"kind", sdbus::Variant(std::string(journal::conflictKindName(c.kind)))},
      {"state", sdbus::Variant(std::string(c.open ? "open" : "resolved"))},
      {"detail", sdbus::Variant(c.detail)}};
  if (!c.open) out["resolution"] = sdbus::Variant(c.resolution);
  return out;
}

void Agent::OpenConflictVersions(
    sdbus::Result<sdbus::UnixFd, sdbus::UnixFd, sdbus::UnixFd, sdbus::Struct<bool, bool, bool>>&&
        result,
    uint64_t id) {
  strand_->post([this, id, reply = std::make_shared<std::decay_t<decltype(result)>>(std::move(result))]() mutable {
    try {
      journal::ConflictRecord c;
      {
        std::lock_guard lock(journal_mu_);
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
      reply->returnResults(base, local, remote, sdbus::Struct<bool, bool, bool>(pb, pl, pr));
    } catch (const sdbus::Error& e) {
      reply->returnError(e);
    }
  });
}

Result<std::vector<uint64_t>> Agent::resolveIds(const std::vector<int64_t>& ids,
                                                sync::Resolution how) {
  std::vector<uint64_t> done;
  for (int64_t id : ids) {
    journal::ConflictRecord c;
    std::string share;
    {
      std::lock_guard lock(journal_mu_);
      auto r = journal_.conflict(id);
      if (!r || !r->open)
        return fail(ErrorCode::kNotFound,
                    "conflict #" + std::to_string(id) + " is not open" +
                        (done.empty() ? std::string()
                                      : " (" + std::to_string(done.size()) +
                                            " before it were resolved)"));
      c = *r;
      auto s = journal_.share(c.share_id);
      if (!s) return tl::unexpected(s.error());
      share = s->name;
    }
    std::shared_ptr<Engine> e;
    {
      std::lock_guard lock(mu_);
      auto it = engines_.find(share);
      if (it == engines_.end())
        return fail(ErrorCode::kNotFound, "share \"" + share + "\" is not running");
      e = it->second;
    }
    Status st = e->engine->resolve(id, how);
    if (!st) return tl::unexpected(st.error().withContext("conflict #" + std::to_string(id)));
    done.push_back(static_cast<uint64_t>(id));
    signal([&] { emitConflictResolved(static_cast<uint64_t>(id), share, bytes(c.path),
                         std::string(sync::resolutionName(how))); });
  }
  return done;
}

void Agent::Resolve(sdbus::Result<std::vector<uint64_t>>&& result, std::vector<uint64_t> ids,
                    std::string resolver) {
  std::optional<sync::Resolution> how;
  try {
    how = resolution(resolver);
    std::lock_guard lock(journal_mu_);
    for (uint64_t id : ids) {
      auto c = journal_.conflict(static_cast<int64_t>(id));
      if (!c || !c->open)
        raise(dbus::kUnknownConflict, "there is no open conflict #" + std::to_string(id) +
                                          "; `hoard conflicts` lists the open ones");
    }
  } catch (const sdbus::Error& e) {
    result.returnError(e);
    return;
  }
  strand_->post([this, ids, how, reply = std::make_shared<std::decay_t<decltype(result)>>(std::move(result))]() mutable {
    std::vector<int64_t> signed_ids(ids.begin(), ids.end());
    auto done = resolveIds(signed_ids, *how);
    if (!done) {
      if (done.error().code() == ErrorCode::kNotFound)
        reply->returnError(dbus::toDbus(dbus::kUnknownConflict, done.error().message()));
      else
        reply->returnError(dbus::toDbus(done.error()));
      return;
    }
    reply->returnResults(*done);
  });
}

void Agent::ResolveMatching(sdbus::Result<std::vector<uint64_t>>&& result, std::string share,
                            std::map<std::string, sdbus::Variant> filter, std::string resolver) {
  std::vector<int64_t> ids;
  std::optional<sync::Resolution> how;
  try {
    how = resolution(resolver);
    onlyKeys(filter, {"glob", "under", "kind"}, "ResolveMatching");
    if (filter.empty())
      raise(Error(ErrorCode::kInvalidArgument,
                  "ResolveMatching needs a filter: glob, under or kind (use Resolve with ids to "
                  "pick conflicts one by one)"));
    std::optional<std::string> glob, under, kind;
    if (filter.count("glob")) glob = str(filter.at("glob").get<std::vector<uint8_t>>());
    if (filter.count("under")) under = str(filter.at("under").get<std::vector<uint8_t>>());
    if (filter.count("kind")) {
      kind = filter.at("kind").get<std::string>();
      if (!journal::conflictKindFromName(*kind))
        raise(Error(ErrorCode::kInvalidArgument, "unknown conflict kind \"" + *kind + "\""));
    }
    journal::ShareRecord rec = shareRecord(share);
    std::lock_guard lock(journal_mu_);
    for (const auto& c : orRaise(journal_.conflicts(rec.id, true))) {
      if (glob && !resolvers::globMatch(*glob, c.path)) continue;
      if (under && !isUnder(c.path, *under)) continue;
      if (kind && journal::conflictKindName(c.kind) != *kind) continue;
      ids.push_back(c.id);
    }
  } catch (const sdbus::Error& e) {
    result.returnError(e);
    return;
  }
  strand_->post([this, ids, how, reply = std::make_shared<std::decay_t<decltype(result)>>(std::move(result))]() mutable {
    auto done = resolveIds(ids, *how);
    if (!done) {
      reply->returnError(dbus::toDbus(done.error()));
      return;
    }
    reply->returnResults(*done);
  });
}

// ---- snapshots and paths ----------------------------------------------------------

std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> Agent::ListSnapshots(
    const std::string& share) {
  journal::ShareRecord rec = shareRecord(share);
  std::vector<sdbus::Struct<uint64_t, std::string, int64_t, uint32_t>> out;
  std::lock_guard lock(journal_mu_);
  for (const auto& s : orRaise(journal_.snapshots(rec.id))) {
    auto n = static_cast<uint32_t>(orRaise(journal_.snapshotEntries(s.id)).size());
    out.emplace_back(static_cast<uint64_t>(s.id), s.label, s.taken_at_ns, n);
  }
  return out;
}

std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                          std::string>>
Agent::ReadSnapshot(const uint64_t& id) {
  std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, uint32_t, uint64_t, int64_t,
                            std::string>>
      out;
  std::lock_guard lock(journal_mu_);
  auto entries = journal_.snapshotEntries(static_cast<int64_t>(id));
  if (!entries) raise(entries.error());
  for (const auto& e : *entries)
    out.emplace_back(bytes(e.path), std::string(fileTypeName(e.local.type)), e.local.mode,
                     e.local.size, e.local.mtime_ns, e.hash ? e.hash->hex() : std::string());
  return out;
}

std::tuple<std::string, std::vector<uint8_t>> Agent::ResolvePath(
    const std::vector<uint8_t>& local_path) {
  std::string p = str(local_path);
  std::lock_guard lock(journal_mu_);
  for (const auto& s : orRaise(journal_.shares())) {
    const std::string& root = s.cache_root;
    if (p == root) return {s.name, {}};
    if (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && p[root.size()] == '/')
      return {s.name, bytes(p.substr(root.size() + 1))};
  }
  raise(dbus::kOutsideShare, "'" + displayPath(p) +
                                 "' is not inside any share's cache root; give a path inside "
                                 "one, or a share-relative path with --share");
}

std::string Agent::Version() { return kVersion; }

std::vector<std::string> Agent::Shares() {
  std::vector<std::string> out;
  std::lock_guard lock(journal_mu_);
  if (auto s = journal_.shares())
    for (const auto& r : *s) out.push_back(r.name);
  return out;
}

uint32_t Agent::OpenConflicts() {
  uint32_t n = 0;
  std::lock_guard lock(journal_mu_);
  if (auto s = journal_.shares())
    for (const auto& r : *s)
      if (auto c = journal_.conflicts(r.id, true)) n += static_cast<uint32_t>(c->size());
  return n;
}

}  // namespace hoard::daemon
