// SPDX-License-Identifier: MIT
// Pulls of regular files, many fetched at once: each remote file is staged
// (fetched into an unnamed temporary, hashed, kept, its xattrs read) on one
// of up to remote_in_flight threads, so a link's latency is paid once per
// group rather than once per file; then, on the pass's thread and in plan
// order, each is installed compare-and-swap and recorded, as pull() does.

#include <atomic>
#include <optional>

#include "sync/Phases.h"

namespace hoard::sync {

Result<bool> PassState::pullFiles(const std::vector<FilePull>& pulls) {
  const size_t width = std::max<size_t>(1, opts.remote_in_flight);
  // Staged files hold an open temporary each until installed: a group at a time.
  constexpr size_t kGroup = kPushChunk;
  std::atomic<bool> give_up{false};
  auto stopping = [&] { return give_up || (opts.stop && opts.stop->load()); };
  for (size_t at = 0; at < pulls.size(); at += kGroup) {
    if (stopping()) break;
    const size_t n = std::min(kGroup, pulls.size() - at);
    std::vector<std::optional<Result<Staged>>> staged(n);
    parallelFor(width, n, [&](size_t i) {
      if (stopping()) return;
      staged[i] = stageNew(pulls[at + i].path);
      // A link gone or hung: every further fetch would wait out its deadline.
      if (!*staged[i] && stopsPass(staged[i]->error())) give_up = true;
    });
    for (size_t i = 0; i < n; ++i) {
      const FilePull& pl = pulls[at + i];
      if (!staged[i]) continue;  // skipped: the pass is stopping; the next one pulls it
      Status done = !*staged[i] ? Status(tl::unexpected(staged[i]->error())) : Status{};
      if (done) {
        auto f = installStaged(pl.path, **staged[i], pl.expect);
        done = f ? recordFetched(pl.path, std::move(*f)) : Status(tl::unexpected(f.error()));
      }
      if (!done && !noteFailure(pl.path, done.error())) return false;
    }
  }
  return !stopRequested(*this);
}

}  // namespace hoard::sync
