// SPDX-License-Identifier: MIT
#include "track/Watcher.h"

namespace hoard::track {

std::string_view watchEventKindName(WatchEventKind kind) {
  switch (kind) {
    case WatchEventKind::kCreated: return "created";
    case WatchEventKind::kModified: return "modified";
    case WatchEventKind::kAttrib: return "attrib";
    case WatchEventKind::kDeleted: return "deleted";
    case WatchEventKind::kMovedFrom: return "moved_from";
    case WatchEventKind::kMovedTo: return "moved_to";
    case WatchEventKind::kOverflow: return "overflow";
    case WatchEventKind::kWatchLost: return "watch_lost";
  }
  return "unknown";
}

}  // namespace hoard::track
