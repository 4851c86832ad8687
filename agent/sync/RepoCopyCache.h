// SPDX-License-Identifier: MIT
#pragma once

// The copies of a share's repositories the resolver chain reads (RepoCopies.h),
// kept between runs instead of made afresh each time: every run of the chain
// on a repo conflict (a dry run of `hoard conflicts` or `hoard resolve
// --dry-run` too) brings the kept copy up to date, copying only the files
// whose data version changed since they were copied. Objects and packs are
// named by their content, so they are copied once. A copy is removed when its
// conflict is resolved (drop), when more than kMaxCopies are kept (the least
// recently used), and when the cache goes; copies left by a process that died
// (kill -9) are removed by the next cache made in the same $TMPDIR.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/Error.h"
#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"
#include "remote/RemoteFs.h"
#include "sync/RepoCopies.h"

namespace hoard::sync {

class RepoCopyCache {
 public:
  static constexpr size_t kMaxCopies = 4;

  // Copies live in `tmp_dir` ($TMPDIR, else /tmp, when empty) as
  // hoard-repo-<pid>-XXXXXX; those of processes that no longer run are
  // removed now.
  explicit RepoCopyCache(std::string tmp_dir = "");
  ~RepoCopyCache();  // removes every copy (a handle still held keeps its own until it goes)
  RepoCopyCache(const RepoCopyCache&) = delete;
  RepoCopyCache& operator=(const RepoCopyCache&) = delete;

  // The copy of repository `p` as both sides hold it now (and the base's
  // refs, as RepoCopies::make). Waits for another holder of that copy to let
  // it go, then takes `quiet` (the share's pass lock, so no pass writes
  // there meanwhile) while it brings the copy up to date; the handle keeps
  // the copy unchanged until it is destroyed. RepoCopies::stats() says what
  // this call copied. Errors: the sides', kIo making the copy (the copy is
  // then dropped). Blocking; any thread.
  Result<std::unique_ptr<RepoCopies>> get(remote::RemoteFs& local, remote::RemoteFs& remote,
                                          const RelPath& p, const RepoBase* base, Mutex& quiet)
      HOARD_EXCLUDES(mu_, quiet);

  // Forgets the copy of `p` (its conflict was resolved); its directory goes
  // once no handle holds it. Any thread.
  void drop(const RelPath& p) HOARD_EXCLUDES(mu_);

  // The directories of the copies kept now (for tests).
  std::vector<std::string> dirs() const;

 private:
  struct Entry;
  std::string tmp_dir_;
  mutable Mutex mu_;
  std::map<RelPath, std::shared_ptr<Entry>> entries_ HOARD_GUARDED_BY(mu_);
  uint64_t clock_ HOARD_GUARDED_BY(mu_) = 0;
};

}  // namespace hoard::sync
