// SPDX-License-Identifier: MIT
// hoard-local's engine commands: shares with a remote, pins, sync,
// conflicts and their resolution, evict.

#include <unistd.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "Commands.h"
#include "common/RelPath.h"
#include "store/BaseStore.h"
#include "sync/ShareSetup.h"

namespace hoard::demo {

namespace {

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::shared_ptr<remote::WorkerPool> pool() {
  return std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 256, "hoard-remote"});
}

// Opens the journal, the store and the share's runtime. The runtime refers
// to the store, so the store lives on the heap where moves cannot shift it.
struct Opened {
  std::unique_ptr<store::BaseStore> store;
  std::shared_ptr<remote::WorkerPool> pool;
  std::unique_ptr<sync::ShareRuntime> rt;
};

Result<Opened> openShare(Context& ctx, const std::string& name) {
  if (auto st = ctx.open(); !st) return tl::unexpected(st.error());
  auto share = ctx.share(name);
  if (!share) return tl::unexpected(share.error());
  Opened o;
  auto s = store::BaseStore::open(ctx.store_dir);
  if (!s) return tl::unexpected(s.error());
  o.store = std::make_unique<store::BaseStore>(std::move(*s));
  o.pool = pool();
  remote::DeadlineRemoteFs::Deadlines d;
  d.metadata = std::chrono::seconds(5);
  d.transfer_idle = std::chrono::seconds(15);
  auto rt = sync::ShareRuntime::open(*ctx.journal, ctx.mu, share->id, *o.store, o.pool, d,
                                     hostName());
  if (!rt) return tl::unexpected(rt.error());
  o.rt = std::move(*rt);
  return o;
}

std::string kindName(journal::ConflictKind k) { return std::string(journal::conflictKindName(k)); }

}  // namespace

int cmdShareAdd(Context& ctx, const std::string& name, const std::string& remote,
                const std::string& cache) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto p = pool();
  auto id = sync::createShare(*ctx.journal, ctx.mu, name, remote, cache, *p);
  if (!id) return failWith(id.error());
  auto share = ctx.journal->share(*id);
  std::cout << "share '" << name << "': remote " << displayPath(remote) << " ("
            << share->identity.fstype << " on " << displayPath(share->identity.mount_point)
            << "), cache " << displayPath(cache) << "\n";
  return 0;
}

int cmdPin(Context& ctx, const std::string& name, const std::string& path, int priority) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  if (auto st = ctx.journal->pin(share->id, path, priority); !st) return failWith(st.error());
  std::cout << "pinned " << (path.empty() ? "the whole share" : displayPath(path))
            << " with priority " << priority << "\n";
  return 0;
}

int cmdSync(Context& ctx, const std::string& name, uint64_t budget, bool confirm_delete) {
  auto o = openShare(ctx, name);
  if (!o) return failWith(o.error());
  sync::Reconciler& rec = o->rt->reconciler();
  if (auto st = rec.recover(); !st) return failWith(st.error());
  sync::ReconcileOptions opts;
  opts.cache_budget_bytes = budget;
  opts.confirm_mass_delete = confirm_delete;
  auto r = rec.run(opts);
  if (!r) return failWith(r.error());
  if (r->stopped) {
    std::cout << "sync stopped: " << r->stopped->toString() << "\n";
    return 1;
  }
  std::cout << "sync: " << r->pushed << " sent to the remote, " << r->pulled
            << " taken from it, " << r->hoarded << " hoarded (" << r->hoarded_bytes
            << " bytes), " << r->renamed_remote << " renamed, " << r->deleted_remote
            << " deleted there, " << r->deleted_local << " deleted here, " << r->agreed
            << " already equal\n";
  for (const auto& p : r->not_hoarded)
    std::cout << "  not available offline (cache budget): " << displayPath(p) << "\n";
  for (const auto& [p, e] : r->failed)
    std::cout << "  not done, retried next time: " << displayPath(p) << ": " << e.message()
              << "\n";
  auto open = ctx.journal->conflicts(o->rt->share().id, true);
  if (!open) return failWith(open.error());
  for (int64_t id : r->new_conflicts) {
    auto c = ctx.journal->conflict(id);
    if (c) std::cout << "  CONFLICT #" << id << " " << kindName(c->kind) << ": "
                     << displayPath(c->path) << "\n";
  }
  if (!open->empty()) {
    std::cout << open->size() << " conflict(s) wait for a decision; other files went on\n";
    return 3;
  }
  return 0;
}

int cmdConflicts(Context& ctx, const std::string& name) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  auto open = ctx.journal->conflicts(share->id, true);
  if (!open) return failWith(open.error());
  if (open->empty()) std::cout << "no open conflicts\n";
  for (const auto& c : *open) {
    std::cout << "  #" << c.id << "  " << kindName(c.kind) << "  " << displayPath(c.path) << "\n";
    auto d = nlohmann::json::parse(c.detail, nullptr, false);
    if (d.is_discarded()) continue;
    for (const char* side : {"local", "remote"}) {
      const auto& v = d[side];
      std::cout << "      " << side << ": " << v.value("type", "?");
      if (v.contains("size")) std::cout << ", " << v["size"].get<uint64_t>() << " bytes";
      std::cout << "\n";
    }
  }
  return open->empty() ? 0 : 3;
}

int cmdResolve(Context& ctx, const std::string& name, int64_t id, const std::string& with) {
  auto how = sync::resolutionFromName(with);
  if (!how) {
    std::cerr << "hoard-local: --with must be keep-local, keep-remote or stash, not '" << with
              << "'\n";
    return 2;
  }
  auto o = openShare(ctx, name);
  if (!o) return failWith(o.error());
  auto c = ctx.journal->conflict(id);
  if (!c) return failWith(c.error());
  if (auto st = o->rt->reconciler().resolve(id, *how); !st) return failWith(st.error());
  std::cout << "resolved #" << id << " (" << displayPath(c->path) << ") with " << with << "\n";
  return 0;
}

int cmdEvict(Context& ctx, const std::string& name, const std::string& path) {
  auto o = openShare(ctx, name);
  if (!o) return failWith(o.error());
  auto freed = o->rt->reconciler().evict(path);
  if (!freed) return failWith(freed.error());
  std::cout << "evicted " << displayPath(path) << ": " << *freed << " bytes freed\n";
  return 0;
}

}  // namespace hoard::demo
