// SPDX-License-Identifier: MIT
#include "track/Watcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

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

void describeAt(int dir_fd, const std::string& name, WatchEvent& e) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  e.meta = FileMeta::fromStat(st);
  if (S_ISLNK(st.st_mode)) {
    std::string target(PATH_MAX, '\0');
    ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (n >= 0) {
      target.resize(static_cast<size_t>(n));
      e.symlink_target = std::move(target);
    }
  }
}

}  // namespace hoard::track
