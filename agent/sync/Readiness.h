// SPDX-License-Identifier: MIT
#pragma once

// "Is my work offline-ready?" (`hoard ready`, CheckReady): everything pinned
// is in the cache and every local change is on the server, or the list of
// what is not, each with why. Answered from the journal and what the last
// pass left (ShareEngine::lastPass); no remote I/O.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/ThreadAnnotations.h"
#include "sync/ShareEngine.h"

namespace hoard::sync {

struct ReadyProblem {
  // "not-fetched", "over-budget", "failed", "unsent", "conflict", "not-checked".
  std::string reason;
  RelPath path;                // "" for the share as a whole
  std::optional<Error> error;  // for "failed"
  std::string message;         // for a person, naming the path
};

// At most this many problems of each reason; the last one kept says how many more.
inline constexpr size_t kReadyProblemsPerReason = 1000;

// The share's problems, in the order of the reasons above; empty when it is
// offline-ready. `status` and `last` are the engine's. Errors: the journal's.
// Any thread (takes `journal_mu`).
Result<std::vector<ReadyProblem>> offlineReadiness(journal::Journal& journal, Mutex& journal_mu,
                                                   int64_t share_id, const ShareStatus& status,
                                                   const std::optional<LastPass>& last);

}  // namespace hoard::sync
