// SPDX-License-Identifier: MIT
#pragma once

// Copies of one git repository directory as each side holds it, made in a
// temporary directory for the git-repo resolver to read (its
// ConflictView's Version::tree) and for the apply of its decision to take
// files from; removed when the object goes. Every remote read goes through
// the remote's RemoteFs (its deadlines, its fault injection).

#include <memory>
#include <string>

#include "common/Error.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"
#include "remote/RemoteFs.h"
#include "store/BaseStore.h"

namespace hoard::sync {

// The base of a repository directory: its base entries (paths relative to
// the share) and the store holding the bytes they kept.
struct RepoBase {
  std::vector<BaseEntry> entries;
  store::BaseStore* store = nullptr;
};

// The base's refs of the repository `p` (packed-refs, refs/**) written
// beneath `into` (made here) from the store; false if one of them kept no
// bytes (then nothing can be told from the base). Errors: kIo writing.
Result<bool> copyBaseRefs(const RepoBase& base, const RelPath& p, const std::string& into);

class RepoCopies {
 public:
  // Copies the directory `p` of both sides (regular files, directories, and
  // symlinks as symlinks; others are left out). A side without a directory at `p`
  // gets an empty path. With `base`, base() holds the base's refs
  // (packed-refs and refs/**, from the store) where every one was kept,
  // else it is empty. Errors: the sides' (kNotFound never: absent is
  // empty), kIo making the copies. Blocking; any thread.
  static Result<std::unique_ptr<RepoCopies>> make(remote::RemoteFs& local,
                                                  remote::RemoteFs& remote, const RelPath& p,
                                                  const RepoBase* base = nullptr);
  ~RepoCopies();
  RepoCopies(const RepoCopies&) = delete;
  RepoCopies& operator=(const RepoCopies&) = delete;

  const std::string& local() const { return local_; }
  const std::string& remote() const { return remote_; }
  const std::string& base() const { return base_; }

  // What making (or, for RepoCopyCache, refreshing) the copies did.
  struct Stats {
    size_t copied = 0;        // files copied from a side
    uint64_t copied_bytes = 0;
    size_t reused = 0;        // files an earlier copy already held as the side does
    size_t removed = 0;       // files the copy held that the side no longer does
  };
  const Stats& stats() const { return stats_; }

 private:
  friend class RepoCopyCache;
  RepoCopies() = default;
  std::string root_;  // removed with this object ("" : RepoCopyCache owns the directory)
  std::string local_, remote_, base_;
  Stats stats_;
  std::shared_ptr<void> hold_;  // RepoCopyCache: the copy, held for this user
};

}  // namespace hoard::sync
