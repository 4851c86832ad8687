// SPDX-License-Identifier: MIT
#pragma once

// A ChangeSource that asks hoard-lister, run next to the data (over ssh),
// what the remote holds, so a pass over a quiet share costs one ssh round
// trip instead of a listing per directory and a stat per entry through the
// mount.
//
// The lister's view is the server's (its inode numbers, nanosecond times),
// not the mount's, and data versions must stay the mount's: every
// compare-and-swap goes through the mount. So the source keeps, for each
// path, what the lister said and the mount's Stat the last time they were
// taken together; a pass asks the lister, reuses the mount's Stat of every
// path whose lister record is unchanged, and stats through the mount only
// the paths that changed (many in flight). The first pass (and every pass
// after a lister failure) walks the mount as well, to pair the two views.
//
// Why reuse is safe: the lister runs before the mount is asked, and a
// server-side change of data, type, mode or size moves the path's ctime, so
// an unchanged lister record means nothing changed since the mount's Stat
// was taken. Whatever changes after the lister ran is seen by the next pass;
// a write in between is stopped by the mount's compare-and-swap.
//
// It never answers with less than the truth: a lister that cannot be run,
// fails, hangs (no output for the idle deadline), sends a truncated or
// malformed answer, or lists a tree whose marker is not the share's, is
// logged (with the reason, in lastReason()) and the pass walks the mount as
// without a lister.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/ThreadAnnotations.h"
#include "remote/ChangeSource.h"
#include "remote/ListerProtocol.h"
#include "remote/ListerSettings.h"
#include "remote/RemoteFs.h"

namespace hoard::remote {

// Runs `argv` and parses its answer, giving up when it prints nothing for
// `idle_deadline`. Errors: kUnsupported (cannot be run), kIo (it failed,
// with its stderr), kTimeout, kCorrupt (a malformed or truncated answer).
struct ListerAnswer {
  std::optional<std::string> marker;
  std::vector<ListerEntry> entries;
};
Result<ListerAnswer> runLister(const std::vector<std::string>& argv,
                               std::chrono::milliseconds idle_deadline);

class ListerChangeSource final : public ChangeSource {
 public:
  // `mount` (the share's remote, with its deadlines) must be safe to call
  // from several threads; `marker_id` is the share's (Identity.h).
  // `on_fallback` (optional) hears each new reason the lister is not used
  // (once, not every pass) and "" when it is used again.
  ListerChangeSource(std::shared_ptr<RemoteFs> mount, std::string marker_id,
                     ListerSettings settings,
                     std::function<void(const std::string& reason)> on_fallback = nullptr);

  Result<RemoteChanges> changes(const std::optional<std::string>& since) override;

  // How the last answer was made, for status and tests.
  struct Last {
    bool used_lister = false;  // false: the mount was walked
    size_t reused = 0;         // mount Stats taken over from the pass before
    size_t statted = 0;        // paths asked through the mount
    std::string reason;        // why the lister was not used (empty: it was)
  };
  Last last() const;

 private:
  struct Paired {
    ListerEntry lister;
    Stat mount;
  };
  Result<RemoteChanges> walkMount(const std::string& reason, const ListerAnswer* pair_with);
  Result<RemoteChanges> fromLister(ListerAnswer& answer);
  const ListerEntry& pairedRecord(const ListerEntry& seen, const Stat& now) const;
  Result<std::vector<std::optional<Stat>>> statMount(const std::vector<const RelPath*>& paths);

  std::shared_ptr<RemoteFs> mount_;
  const std::string marker_id_;
  const ListerSettings settings_;
  void noteLast(Last l);

  std::function<void(const std::string&)> on_fallback_;
  std::map<RelPath, Paired> known_;  // one pass at a time (ChangeSource.h)
  mutable Mutex last_mu_;
  Last last_ HOARD_GUARDED_BY(last_mu_);
};

}  // namespace hoard::remote
