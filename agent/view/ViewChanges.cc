// SPDX-License-Identifier: MIT
// What programs change through the view, reported to the engine's change
// log as the watcher events of exactly those changes (ViewOptions::changes).
// The tracker (agent/track/Tracker.h) turns them into the log's records as
// it does inotify's, with its coalescing and retries.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "view/ViewCore.h"

namespace hoard::view {

using track::WatchEvent;
using track::WatchEventKind;

namespace {
std::atomic<uint32_t> next_cookie{1};
}  // namespace

void ViewCore::report(std::vector<WatchEvent> events) const {
  if (opts.changes) (void)opts.changes->push(std::move(events));
}

WatchEvent ViewCore::described(WatchEventKind kind, const RelPath& rel, bool is_dir) const {
  WatchEvent e;
  e.kind = kind;
  e.path = rel;
  e.is_dir = is_dir;
  if (!opts.changes || rel.empty()) return e;
  int dir = openLocal(RelPath(parentOf(rel)), O_PATH | O_DIRECTORY);
  if (dir < 0) return e;
  track::describeAt(dir, std::string(baseName(rel)), e);
  ::close(dir);
  if (e.meta) e.is_dir = e.meta->type == FileType::kDir;
  return e;
}

void ViewCore::reportCreated(const RelPath& rel) const {
  report({described(WatchEventKind::kCreated, rel)});
}

void ViewCore::reportAttrib(const RelPath& rel) const {
  report({described(WatchEventKind::kAttrib, rel)});
}

void ViewCore::reportDeleted(const RelPath& rel, bool is_dir) const {
  WatchEvent e;
  e.kind = WatchEventKind::kDeleted;
  e.path = rel;
  e.is_dir = is_dir;
  report({std::move(e)});
}

void ViewCore::reportRenamed(const RelPath& from, const RelPath& to) const {
  WatchEvent to_event = described(WatchEventKind::kMovedTo, to);
  WatchEvent from_event;
  from_event.kind = WatchEventKind::kMovedFrom;
  from_event.path = from;
  from_event.is_dir = to_event.is_dir;
  from_event.cookie = to_event.cookie = next_cookie.fetch_add(1) | 1u;  // never 0
  report({std::move(from_event), std::move(to_event)});
}

void ViewCore::reportExchanged(const RelPath& a, const RelPath& b) const {
  WatchEvent ea, eb;
  ea.kind = eb.kind = WatchEventKind::kWatchLost;
  ea.path = a;
  eb.path = b;
  report({std::move(ea), std::move(eb)});
}

void ViewCore::reportWritten(const RelPath& rel) const {
  WatchEvent e;
  e.kind = WatchEventKind::kModified;
  e.path = rel;
  report({std::move(e)});
}

void ViewCore::reportWritten(OpenFile& h) const {
  if (!opts.changes) return;
  // The event pushed for an earlier write still waits unread: the change
  // log will get it after this write too, so the pass that follows reads
  // these bytes. Once the tracker took it, the next write is reported anew.
  uint64_t reported = h.write_reported.load(std::memory_order_acquire);
  if (reported != UINT64_MAX && reported == opts.changes->generation()) return;
  WatchEvent e;
  e.kind = WatchEventKind::kModified;
  e.path = h.path;
  if (auto g = opts.changes->push({std::move(e)})) h.write_reported.store(*g, std::memory_order_release);
}

}  // namespace hoard::view
