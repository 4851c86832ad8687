// SPDX-License-Identifier: MIT
#include "sync/ShareStateStore.h"

#include <utility>

namespace hoard::sync {

JournalShareStateStore::JournalShareStateStore(journal::Journal& journal, Mutex& journal_mu,
                                               int64_t share_id)
    : journal_(journal), journal_mu_(journal_mu), share_id_(share_id) {}

Result<PersistedShareState> JournalShareStateStore::load() {
  MutexLock lock(journal_mu_);
  auto rec = journal_.share(share_id_);
  if (!rec) return tl::unexpected(rec.error());
  return PersistedShareState{rec->state, rec->user_offline};
}

Status JournalShareStateStore::setState(journal::ShareState state) {
  MutexLock lock(journal_mu_);
  return journal_.setShareState(share_id_, state);
}

Status JournalShareStateStore::setUserOffline(bool user_offline) {
  MutexLock lock(journal_mu_);
  return journal_.setUserOffline(share_id_, user_offline);
}

Result<int64_t> JournalShareStateStore::enterOffline(std::string_view snapshot_label) {
  MutexLock lock(journal_mu_);
  int64_t snapshot_id = 0;
  auto st = journal_.inTransaction([&]() -> Status {
    auto id = journal_.takeSnapshot(share_id_, snapshot_label);
    if (!id) return tl::unexpected(id.error());
    snapshot_id = *id;
    return journal_.setShareState(share_id_, journal::ShareState::kOffline);
  });
  if (!st) return tl::unexpected(st.error());
  return snapshot_id;
}

Result<PendingCounts> JournalShareStateStore::pendingCounts() {
  MutexLock lock(journal_mu_);
  auto changes = journal_.changeCount(share_id_);
  if (!changes) return tl::unexpected(changes.error());
  auto conflicts = journal_.conflicts(share_id_, /*open_only=*/true);
  if (!conflicts) return tl::unexpected(conflicts.error());
  return PendingCounts{*changes, static_cast<int64_t>(conflicts->size())};
}

Status MemoryShareStateStore::check() const {
  if (fail_) return tl::unexpected(*fail_);
  return {};
}

Result<PersistedShareState> MemoryShareStateStore::load() {
  MutexLock lock(mu_);
  if (auto st = check(); !st) return tl::unexpected(st.error());
  return persisted_;
}

Status MemoryShareStateStore::setState(journal::ShareState state) {
  MutexLock lock(mu_);
  if (auto st = check(); !st) return st;
  persisted_.state = state;
  return {};
}

Status MemoryShareStateStore::setUserOffline(bool user_offline) {
  MutexLock lock(mu_);
  if (auto st = check(); !st) return st;
  persisted_.user_offline = user_offline;
  return {};
}

Result<int64_t> MemoryShareStateStore::enterOffline(std::string_view snapshot_label) {
  MutexLock lock(mu_);
  if (auto st = check(); !st) return tl::unexpected(st.error());
  snapshots_.emplace_back(snapshot_label);
  persisted_.state = journal::ShareState::kOffline;
  return static_cast<int64_t>(snapshots_.size());
}

Result<PendingCounts> MemoryShareStateStore::pendingCounts() {
  MutexLock lock(mu_);
  if (auto st = check(); !st) return tl::unexpected(st.error());
  return counts_;
}

void MemoryShareStateStore::failWith(std::optional<Error> error) {
  MutexLock lock(mu_);
  fail_ = std::move(error);
}

void MemoryShareStateStore::setPendingCounts(PendingCounts counts) {
  MutexLock lock(mu_);
  counts_ = counts;
}

PersistedShareState MemoryShareStateStore::persisted() const {
  MutexLock lock(mu_);
  return persisted_;
}

std::vector<std::string> MemoryShareStateStore::snapshotLabels() const {
  MutexLock lock(mu_);
  return snapshots_;
}

}  // namespace hoard::sync
