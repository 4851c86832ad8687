// SPDX-License-Identifier: MIT
#include "sync/Retention.h"

#include <vector>

namespace hoard::sync {

namespace {

int64_t toNs(Clock::WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

Status collectUnreferenced(journal::Journal& journal, store::BaseStore& store, const Clock& clock,
                           std::chrono::seconds put_grace, RetentionReport& report) {
  auto dead = journal.unreferencedObjects();
  if (!dead) return tl::unexpected(dead.error());
  if (dead->empty()) return {};
  std::vector<ContentHash> ids;
  ids.reserve(dead->size());
  for (const auto& o : *dead) ids.push_back(o.id);
  auto gc = store.collectGarbage(ids, clock.wallNow() - put_grace);
  if (!gc) return tl::unexpected(gc.error());
  for (const ContentHash& id : gc->removed) {
    // kBusy: referenced again since it was listed (its bytes were fresh and
    // kept, or a row names an object whose file is gone: the put that comes
    // with such a row stores it anew). Either way the row must stay.
    auto forgot = journal.forgetObject(id);
    if (!forgot && forgot.error().code() != ErrorCode::kBusy &&
        forgot.error().code() != ErrorCode::kNotFound)
      return forgot;
  }
  report.objects_removed += gc->removed.size();
  report.bytes_freed += gc->bytes_freed;
  return {};
}

Status sweepUnknownObjects(journal::Journal& journal, store::BaseStore& store, const Clock& clock,
                           std::chrono::seconds put_grace, RetentionReport& report) {
  std::optional<Error> lookup_error;
  auto gc = store.sweep(
      [&](const ContentHash& id) {
        if (lookup_error) return true;
        auto o = journal.object(id);
        if (!o) {
          lookup_error = o.error();
          return true;  // when in doubt, keep
        }
        return o->has_value();
      },
      clock.wallNow() - put_grace);
  if (lookup_error) return tl::unexpected(*lookup_error);
  if (!gc) return tl::unexpected(gc.error());
  report.unknown_removed += gc->removed.size();
  report.bytes_freed += gc->bytes_freed;
  return {};
}

Result<RetentionReport> applyRetention(journal::Journal& journal, store::BaseStore& store,
                                       int64_t share_id, bool pass_clean, const Clock& clock,
                                       const RetentionOptions& options) {
  RetentionReport report;
  if (pass_clean) {
    auto dropped = journal.dropReintegratedSnapshots(share_id);
    if (!dropped) return tl::unexpected(dropped.error());
    report.snapshots_dropped = static_cast<int64_t>(dropped->size());
  }
  auto purged = journal.purgeResolvedConflictsBefore(
      share_id, toNs(clock.wallNow() - options.resolved_retention));
  if (!purged) return tl::unexpected(purged.error());
  report.conflicts_dropped = *purged;
  if (Status st = collectUnreferenced(journal, store, clock, options.put_grace, report); !st)
    return tl::unexpected(st.error());
  if (options.sweep_unknown && store.claimSweep(clock.wallNow(), options.sweep_interval)) {
    if (Status st = sweepUnknownObjects(journal, store, clock, options.put_grace, report); !st)
      return tl::unexpected(st.error());
  }
  return report;
}

store::StoreUsage storeSize(const store::BaseStore& store) { return store.usage(); }

}  // namespace hoard::sync
