// SPDX-License-Identifier: MIT
#pragma once

// Where the share state machine keeps what must survive a restart: the
// share's state, the user's "offline" override and the pre-disconnection
// snapshot. An interface so the machine's unit tests run without SQLite;
// the daemon uses JournalShareStateStore.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/ThreadAnnotations.h"
#include "journal/Journal.h"
#include "journal/Records.h"

namespace hoard::sync {

struct PersistedShareState {
  journal::ShareState state = journal::ShareState::kOffline;
  bool user_offline = false;
};

// Work not yet reintegrated, for status displays.
struct PendingCounts {
  int64_t changes = 0;         // records in the change log
  int64_t open_conflicts = 0;  // conflicts waiting for a decision
};

class ShareStateStore {
 public:
  virtual ~ShareStateStore() = default;
  // The share's stored state and override. kNotFound if the share is gone.
  virtual Result<PersistedShareState> load() = 0;
  // Durably records `state`. Used for ONLINE and REINTEGRATING; OFFLINE
  // goes through enterOffline so the snapshot comes with it.
  virtual Status setState(journal::ShareState state) = 0;
  // Durably records the user's override.
  virtual Status setUserOffline(bool user_offline) = 0;
  // Takes the pre-disconnection snapshot labelled `snapshot_label` and
  // records the state OFFLINE, both in one transaction: either both are
  // stored or neither. Returns the snapshot's id.
  virtual Result<int64_t> enterOffline(std::string_view snapshot_label) = 0;
  virtual Result<PendingCounts> pendingCounts() = 0;
};

// The real store: one share's rows in the journal. Every journal call is
// made under `journal_mu`, which the caller owns and must hold for its own
// uses of that journal (the journal is not thread-safe). Any thread may call.
// `journal` and `journal_mu` must outlive this object.
class JournalShareStateStore final : public ShareStateStore {
 public:
  JournalShareStateStore(journal::Journal& journal, Mutex& journal_mu, int64_t share_id);

  Result<PersistedShareState> load() override;
  Status setState(journal::ShareState state) override;
  Status setUserOffline(bool user_offline) override;
  Result<int64_t> enterOffline(std::string_view snapshot_label) override;
  Result<PendingCounts> pendingCounts() override;

 private:
  journal::Journal& journal_;
  Mutex& journal_mu_;
  const int64_t share_id_;
};

// For tests of the state machine and the layers above: keeps everything in
// memory, and fails every call with a chosen error while one is set.
// Thread-safe.
class MemoryShareStateStore final : public ShareStateStore {
 public:
  explicit MemoryShareStateStore(PersistedShareState initial = {}) : persisted_(initial) {}

  Result<PersistedShareState> load() override;
  Status setState(journal::ShareState state) override;
  Status setUserOffline(bool user_offline) override;
  Result<int64_t> enterOffline(std::string_view snapshot_label) override;
  Result<PendingCounts> pendingCounts() override;

  // While set, every call above fails with this error and stores nothing.
  void failWith(std::optional<Error> error);
  void setPendingCounts(PendingCounts counts);
  PersistedShareState persisted() const;
  // Labels of the snapshots taken, oldest first.
  std::vector<std::string> snapshotLabels() const;

 private:
  Status check() const HOARD_REQUIRES(mu_);

  mutable Mutex mu_;
  PersistedShareState persisted_ HOARD_GUARDED_BY(mu_);
  std::vector<std::string> snapshots_ HOARD_GUARDED_BY(mu_);
  PendingCounts counts_ HOARD_GUARDED_BY(mu_);
  std::optional<Error> fail_ HOARD_GUARDED_BY(mu_);
};

}  // namespace hoard::sync
