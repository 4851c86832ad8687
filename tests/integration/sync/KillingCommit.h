// SPDX-License-Identifier: MIT
// For crash tests: SIGKILL at the n-th commit of the journal. Some steps of
// hoard never go through the RemoteFs seam KillingFs wraps (a database is
// installed into the cache through SQLite's backup API), so the kill points
// after them are the journal's commits: a SQLite commit hook on every
// connection this process opens to a file named journal.db (registered with
// sqlite3_auto_extension, so hoard's own Journal::open gets it) kills the
// process before that transaction reaches the disk.
#pragma once

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>

namespace hoard::sync {

struct CommitKill {
  uint64_t at = 0;       // the commit to die at (1 = the first); 0: never
  uint64_t seen = 0;     // commits so far
  std::function<void()> last_words;  // runs just before the kill (report state)
};
inline CommitKill g_commit_kill;

inline int killingCommitHook(void*) {
  if (++g_commit_kill.seen == g_commit_kill.at) {
    if (g_commit_kill.last_words) g_commit_kill.last_words();
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
  }
  return 0;  // let the commit go on
}

inline int hookJournalConnections(sqlite3* db, char**, const sqlite3_api_routines*) {
  const char* file = sqlite3_db_filename(db, "main");
  const char* name = "/journal.db";
  if (file != nullptr && std::strlen(file) >= std::strlen(name) &&
      std::strcmp(file + std::strlen(file) - std::strlen(name), name) == 0)
    sqlite3_commit_hook(db, killingCommitHook, nullptr);
  return SQLITE_OK;
}

// In a forked child, before it opens the journal: die at commit `at`,
// after `last_words`.
inline void killAtJournalCommit(uint64_t at, std::function<void()> last_words = {}) {
  g_commit_kill = CommitKill{at, 0, std::move(last_words)};
  sqlite3_auto_extension(reinterpret_cast<void (*)()>(hookJournalConnections));
}

}  // namespace hoard::sync
