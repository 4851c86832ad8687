// SPDX-License-Identifier: MIT
#include "track/FakeWatcher.h"

#include <cstdint>

namespace hoard::track {

FakeWatcher::FakeWatcher() : FedWatcher(Batching::kOnePerRead, SIZE_MAX) {
  setWatchCountForTest(1);
}

Status FakeWatcher::start(const std::string& root, const WatchOptions& options) {
  {
    std::lock_guard lock(start_mu_);
    if (start_error_) {
      Error e = *start_error_;
      start_error_.reset();
      return tl::unexpected(e);
    }
  }
  return FedWatcher::start(root, options);
}

void FakeWatcher::failNextStart(Error error) {
  std::lock_guard lock(start_mu_);
  start_error_ = std::move(error);
}

namespace {
FileMeta metaOf(FileType type, uint32_t mode) {
  FileMeta m;
  m.type = type;
  m.mode = mode;
  return m;
}
}  // namespace

WatchEvent FakeWatcher::created(RelPath path, FileType type, uint32_t mode, std::string target) {
  WatchEvent e;
  e.kind = WatchEventKind::kCreated;
  e.path = std::move(path);
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  e.symlink_target = std::move(target);
  return e;
}

WatchEvent FakeWatcher::modified(RelPath path) {
  WatchEvent e;
  e.kind = WatchEventKind::kModified;
  e.path = std::move(path);
  return e;
}

WatchEvent FakeWatcher::attrib(RelPath path, FileType type, uint32_t mode) {
  WatchEvent e;
  e.kind = WatchEventKind::kAttrib;
  e.path = std::move(path);
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  return e;
}

WatchEvent FakeWatcher::deleted(RelPath path, bool is_dir) {
  WatchEvent e;
  e.kind = WatchEventKind::kDeleted;
  e.path = std::move(path);
  e.is_dir = is_dir;
  return e;
}

WatchEvent FakeWatcher::movedFrom(RelPath path, uint32_t cookie, bool is_dir) {
  WatchEvent e;
  e.kind = WatchEventKind::kMovedFrom;
  e.path = std::move(path);
  e.cookie = cookie;
  e.is_dir = is_dir;
  return e;
}

WatchEvent FakeWatcher::movedTo(RelPath path, uint32_t cookie, FileType type, uint32_t mode) {
  WatchEvent e;
  e.kind = WatchEventKind::kMovedTo;
  e.path = std::move(path);
  e.cookie = cookie;
  e.is_dir = type == FileType::kDir;
  e.meta = metaOf(type, mode);
  return e;
}

WatchEvent FakeWatcher::overflow() {
  WatchEvent e;
  e.kind = WatchEventKind::kOverflow;
  return e;
}

WatchEvent FakeWatcher::watchLost(RelPath subtree) {
  WatchEvent e;
  e.kind = WatchEventKind::kWatchLost;
  e.path = std::move(subtree);
  e.is_dir = true;
  return e;
}

}  // namespace hoard::track
