// SPDX-License-Identifier: MIT
#include "track/Tracker.h"

#include <algorithm>
#include <unordered_map>

#include "track/Scanner.h"

namespace hoard::track {

namespace {

// Erases from `m` every key equal to `p` or beneath it.
template <class Map>
void eraseSubtree(Map& m, const RelPath& p) {
  if (p.empty()) {
    m.clear();
    return;
  }
  m.erase(p);
  RelPath prefix = p + '/';
  auto it = m.lower_bound(prefix);
  while (it != m.end() && it->first.compare(0, prefix.size(), prefix) == 0) it = m.erase(it);
}

// Change has member defaults; -Wextra frowns on designated initializers that
// leave some out, so build them here.
Change makeChange(ChangeOp op, RelPath path, RelPath to = {}, uint32_t mode = 0,
                  std::string target = {}) {
  Change c;
  c.op = op;
  c.path = std::move(path);
  c.to = std::move(to);
  c.mode = mode;
  c.target = std::move(target);
  return c;
}

}  // namespace

Tracker::Tracker(Watcher& watcher, ChangeSink& sink, TrackerOptions options)
    : watcher_(watcher), sink_(sink), options_(std::move(options)) {}

TrackerStats Tracker::stats() const {
  TrackerStats s;
  s.events = events_.load();
  s.changes_recorded = changes_recorded_.load();
  s.record_failures = record_failures_.load();
  s.rescans = rescans_.load();
  return s;
}

Status Tracker::absorb(const std::vector<WatchEvent>& batch) {
  ingest(batch);
  return flush();
}

Status Tracker::flush() {
  if (pending_.empty()) return {};
  Status s = sink_.recordChanges(pending_);
  if (!s) {
    ++record_failures_;
    return tl::unexpected(s.error().withContext(
        "track: recording " + std::to_string(pending_.size()) + " changes failed; kept for retry"));
  }
  changes_recorded_ += pending_.size();
  pending_.clear();
  recent_.clear();
  return {};
}

Status Tracker::pollOnce(std::chrono::milliseconds timeout) {
  auto batch = watcher_.readEvents(timeout);
  if (!batch) return tl::unexpected(batch.error());
  return absorb(*batch);
}

Status Tracker::run() {
  using Clock = std::chrono::steady_clock;
  auto report = [&](const Error& e) {
    if (options_.on_error) options_.on_error(e);
  };
  std::chrono::milliseconds delay = options_.retry_initial;
  Clock::time_point next_flush = Clock::now();
  while (!stop_.load()) {
    std::chrono::milliseconds wait = options_.idle_wait;
    if (!pending_.empty()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(next_flush - Clock::now());
      wait = std::clamp(until, std::chrono::milliseconds(0), options_.idle_wait);
    }
    auto batch = watcher_.readEvents(wait);
    if (!batch) {
      if (batch.error().code() == ErrorCode::kInvalidArgument) return tl::unexpected(batch.error());
      report(batch.error());
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, delay, [&] { return stop_.load(); });
      delay = std::min(delay * 2, options_.retry_max);
      continue;
    }
    ingest(*batch);
    if (pending_.empty() || Clock::now() < next_flush) continue;
    Status s = flush();
    if (s) {
      delay = options_.retry_initial;
      next_flush = Clock::now();
    } else {
      report(s.error());
      next_flush = Clock::now() + delay;
      delay = std::min(delay * 2, options_.retry_max);
    }
  }
  // Last chance for what is pending; on failure it stays in pending_.
  if (Status s = flush(); !s) report(s.error());
  return {};
}

void Tracker::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stop_.store(true);
  }
  stop_cv_.notify_all();
  watcher_.wakeup();
}

void Tracker::requestRescan(const RelPath& subtree) {
  ++rescans_;
  sink_.rescanNeeded(subtree);
}

void Tracker::ingest(const std::vector<WatchEvent>& batch) {
  events_ += batch.size();

  // Pass 1: join rename halves by cookie. partner[i] is the index of the other
  // half of event i, or -1.
  std::vector<ptrdiff_t> partner(batch.size(), -1);
  std::unordered_map<uint32_t, size_t> open_from;
  for (size_t i = 0; i < batch.size(); ++i) {
    const WatchEvent& e = batch[i];
    if (e.kind == WatchEventKind::kMovedFrom && e.cookie != 0) {
      open_from[e.cookie] = i;
    } else if (e.kind == WatchEventKind::kMovedTo && e.cookie != 0) {
      auto it = open_from.find(e.cookie);
      if (it != open_from.end()) {
        partner[it->second] = static_cast<ptrdiff_t>(i);
        partner[i] = static_cast<ptrdiff_t>(it->second);
        open_from.erase(it);
      }
    }
  }

  // Pass 2: translate in order. Rescans go out once per batch, after the
  // changes that preceded them were queued.
  std::vector<RelPath> rescans;
  bool rescan_all = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const WatchEvent& e = batch[i];
    if (e.kind == WatchEventKind::kOverflow) {
      rescan_all = true;
      continue;
    }
    if (e.kind == WatchEventKind::kWatchLost) {
      if (e.path.empty()) rescan_all = true;
      else rescans.push_back(e.path);
      continue;
    }
    if (e.path.empty()) continue;  // the root itself
    // hoard's own temporaries (a pull writes one, then renames it into
    // place) are not the user's: only where they land counts, as a create.
    if (isOwnTemp(e.path)) {
      if (e.kind == WatchEventKind::kMovedFrom && partner[i] >= 0) {
        const WatchEvent& to = batch[static_cast<size_t>(partner[i])];
        if (!isOwnTemp(to.path)) appendCreate(to);
      }
      continue;
    }
    switch (e.kind) {
      case WatchEventKind::kCreated:
        appendCreate(e);
        break;
      case WatchEventKind::kModified:
        if (!e.is_dir) append(makeChange(ChangeOp::kWrite, e.path));
        break;
      case WatchEventKind::kAttrib:
        appendAttrib(e);
        break;
      case WatchEventKind::kDeleted:
        append(makeChange(e.is_dir ? ChangeOp::kRmdir : ChangeOp::kUnlink, e.path));
        break;
      case WatchEventKind::kMovedFrom:
        if (partner[i] >= 0) {
          append(makeChange(ChangeOp::kRename, e.path, batch[static_cast<size_t>(partner[i])].path));
        } else {
          append(makeChange(e.is_dir ? ChangeOp::kRmdir : ChangeOp::kUnlink, e.path));
          if (e.is_dir) rescans.push_back(e.path);
        }
        break;
      case WatchEventKind::kMovedTo:
        if (partner[i] < 0) appendCreate(e);
        break;
      case WatchEventKind::kOverflow:
      case WatchEventKind::kWatchLost:
        break;
    }
  }

  if (rescan_all) {
    requestRescan("");
    return;
  }
  std::sort(rescans.begin(), rescans.end());
  RelPath last;
  bool have_last = false;
  for (const RelPath& r : rescans) {
    if (have_last && isUnder(r, last)) continue;  // covered by its parent's rescan
    requestRescan(r);
    last = r;
    have_last = true;
  }
}

bool Tracker::isOwnTemp(const RelPath& p) {
  auto slash = p.rfind('/');
  return isHoardTempName(slash == RelPath::npos ? std::string_view(p)
                                                : std::string_view(p).substr(slash + 1));
}

void Tracker::appendCreate(const WatchEvent& e) {
  const FileMeta* m = e.meta ? &*e.meta : nullptr;
  if (e.is_dir) {
    uint32_t mode = m && m->type == FileType::kDir ? m->mode : 0;
    append(makeChange(ChangeOp::kMkdir, e.path, {}, mode));
    return;
  }
  if (m && m->type == FileType::kSymlink) {
    append(makeChange(ChangeOp::kSymlink, e.path, {}, 0, e.symlink_target));
    return;
  }
  if (m && m->type == FileType::kOther) return;  // fifos, sockets, devices: not tracked
  uint32_t mode = m && m->type == FileType::kFile ? m->mode : 0;
  append(makeChange(ChangeOp::kCreate, e.path, {}, mode));
}

void Tracker::appendAttrib(const WatchEvent& e) {
  // Without metadata the path is gone (or replaced); the delete or create
  // events that explain it follow.
  if (!e.meta) return;
  FileType t = e.meta->type;
  if (t == FileType::kSymlink || t == FileType::kOther || t == FileType::kNone) return;
  if ((t == FileType::kDir) != e.is_dir) return;
  auto known = known_modes_.find(e.path);
  if (known == known_modes_.end() || known->second != e.meta->mode)
    append(makeChange(ChangeOp::kChmod, e.path, {}, e.meta->mode));
  append(makeChange(ChangeOp::kXattr, e.path));
}

void Tracker::forgetSubtree(const RelPath& p) { eraseSubtree(recent_, p); }

void Tracker::noteModes(const Change& c) {
  switch (c.op) {
    case ChangeOp::kCreate:
    case ChangeOp::kMkdir:
    case ChangeOp::kChmod:
      if (c.mode != 0) known_modes_[c.path] = c.mode;
      else known_modes_.erase(c.path);
      break;
    case ChangeOp::kSymlink:
    case ChangeOp::kUnlink:
      known_modes_.erase(c.path);
      break;
    case ChangeOp::kRmdir:
      eraseSubtree(known_modes_, c.path);
      break;
    case ChangeOp::kRename: {
      eraseSubtree(known_modes_, c.to);
      std::vector<std::pair<RelPath, uint32_t>> moved;
      RelPath prefix = c.path + '/';
      if (auto it = known_modes_.find(c.path); it != known_modes_.end())
        moved.emplace_back(c.to, it->second);
      for (auto it = known_modes_.lower_bound(prefix);
           it != known_modes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        moved.emplace_back(rebase(it->first, c.path, c.to), it->second);
      eraseSubtree(known_modes_, c.path);
      for (auto& [p, m] : moved) known_modes_[p] = m;
      break;
    }
    case ChangeOp::kWrite:
    case ChangeOp::kXattr:
      break;
  }
}

void Tracker::append(Change c) {
  noteModes(c);
  switch (c.op) {
    case ChangeOp::kWrite: {
      PathState& st = recent_[c.path];
      if (st.content) return;  // a create or write of this path is already pending
      st.content = pending_.size();
      break;
    }
    case ChangeOp::kCreate:
    case ChangeOp::kMkdir:
    case ChangeOp::kSymlink: {
      auto it = recent_.find(c.path);
      if (it != recent_.end() && it->second.content) {
        Change& prev = pending_[*it->second.content];
        if (prev.op == c.op && prev.target == c.target) {  // the same creation, reported twice
          if (c.mode != 0) prev.mode = c.mode;
          return;
        }
      }
      PathState& st = recent_[c.path];
      st = PathState{};
      st.content = pending_.size();
      st.xattr = pending_.size();
      if (c.op != ChangeOp::kSymlink) st.mode = pending_.size();
      break;
    }
    case ChangeOp::kChmod: {
      PathState& st = recent_[c.path];
      if (st.mode) {
        pending_[*st.mode].mode = c.mode;
        return;
      }
      st.mode = pending_.size();
      break;
    }
    case ChangeOp::kXattr: {
      PathState& st = recent_[c.path];
      if (st.xattr) return;
      st.xattr = pending_.size();
      break;
    }
    case ChangeOp::kUnlink:
    case ChangeOp::kRmdir:
      forgetSubtree(c.path);
      break;
    case ChangeOp::kRename:
      forgetSubtree(c.path);
      forgetSubtree(c.to);
      break;
  }
  pending_.push_back(std::move(c));
}

TrackerThread::TrackerThread(Tracker& tracker)
    : tracker_(tracker), thread_([this] { result_ = tracker_.run(); }) {}

TrackerThread::~TrackerThread() { (void)stop(); }

Status TrackerThread::stop() {
  if (thread_.joinable()) {
    tracker_.stop();
    thread_.join();
  }
  return result_;
}

}  // namespace hoard::track
