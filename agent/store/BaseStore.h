// SPDX-License-Identifier: MIT
#pragma once

// The content-addressed store of base contents: the bytes a file had when
// both sides last agreed, kept so a later three-way decision (a text merge, a
// SQLite merge) has its common ancestor. An object's id is the BLAKE2b-256 of
// its bytes (common/Hash.h).
//
// Layout under the directory the caller gives (the daemon uses
// $XDG_STATE_HOME/hoard/store):
//   objects/ab/cdef...   one read-only file per object: the first two hex
//                        digits of the id name the fan-out directory, the other
//                        62 the file
//   tmp/put-XXXXXX       objects being written; anything left here by a crash
//                        is deleted by BaseStore::open
//
// Reference counts do not live here: the journal keeps them (a table
// objects(id, size, refcount) maintained by triggers on the base and snapshot
// rows), so this layer knows nothing of the journal. The engine collects
// garbage on its strand, between journal transactions:
//
//   auto dead = journal.unreferencedObjects();          // refcount == 0
//   auto gc = store.collectGarbage(dead);               // unlinks them
//   for (auto& id : gc->removed) journal.forgetObject(id);
//
// An id the journal forgets only after the file is gone can at worst leave a
// row without a file (the next collection retries it), never a referenced
// object without its bytes. A snapshot keeps its objects alive because its rows
// count in the journal's refcounts. Without a journal, sweep(isLive) removes
// every object the predicate does not claim.
//
// Recently put objects. Between a put() and the journal row that names its
// object there is a window (a pass commits its rows in batches; another
// share's pass runs on another thread), in which the object looks
// unreferenced (refcount 0) or unknown (no row at all, as after a crash
// between the put and the row). put() therefore stamps the object's mtime
// (a new object's file is new; an object that already existed is touched),
// and the collections that take a `put_before` bound keep every object
// stamped at or after it. They move the object aside (tmp/gc-ID) before
// looking at the stamp and put it back if it is fresh, so a put() that
// touches the object at the same instant either finds it (and the stamp
// keeps it) or does not (and stores it anew): never a reference to a
// deleted object. A crash while an object is aside puts it back at open().
//
// Threads: every method may be called from any thread; put() calls may run in
// parallel (the running totals are guarded by a mutex, objects appear by an
// atomic rename). collectGarbage/sweep without a bound must not race a put()
// of an object the caller is about to reference: run them on the engine
// strand, or use the bounded forms.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/Hash.h"
#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"

namespace hoard::store {

struct StoreOptions {
  // Try ioctl(FICLONE) first; when false, put() always copies (tests force the
  // copy path with it; a user may want independent copies).
  bool allow_reflink = true;
  // Total bytes the store may hold; 0 means unlimited. put() of an object that
  // is not already stored and would push the total beyond it fails kNoSpace.
  uint64_t budget_bytes = 0;
  // fsync each object and its directory before put() returns. Only tests that
  // do not care about power loss turn it off.
  bool durable = true;
};

struct PutResult {
  ContentHash hash;        // id of the stored bytes (hashed from the stored copy)
  uint64_t size = 0;       // bytes stored
  bool reflinked = false;  // the copy shares extents with the source (FICLONE worked)
  bool existed = false;    // the object was already stored; nothing was added
};

struct StoreUsage {
  uint64_t objects = 0;
  uint64_t bytes = 0;
};

struct GcResult {
  std::vector<ContentHash> removed;  // ids whose files were deleted (or were already gone)
  uint64_t bytes_freed = 0;
};

class BaseStore {
 public:
  // Opens (creating if needed) the store at `dir`: creates dir, objects/ and
  // tmp/ (mode 0700), deletes leftovers in tmp/ from an earlier crash, and
  // counts the objects to start the running totals. Files in objects/ whose
  // names are not ids are ignored (never deleted). Errors: kIo/kPermission/
  // kNotFound naming the directory.
  static Result<BaseStore> open(std::string dir, StoreOptions options = {});

  BaseStore(BaseStore&&) noexcept;
  BaseStore& operator=(BaseStore&&) noexcept;
  ~BaseStore();

  // Stores the bytes readable from `fd` (a regular file, read from offset 0 to
  // its end with pread/copy_file_range, so the fd's offset is left alone).
  // Reflinks when allowed and the filesystem can, else copies. The id is the
  // hash of the stored copy, so a source changing during the copy yields the
  // id of what was actually stored, never a mismatched pair. Idempotent: the
  // same bytes twice give the same id and one object. `what` names the source
  // in error messages. Errors: kIo, kNoSpace (disk full or the budget would be
  // exceeded), kInvalidArgument if `fd` is not a regular file.
  // With Sync::kLater the object is not fsynced: the caller calls syncAll()
  // before anything durable (a journal row) refers to it, so many puts share
  // one flush.
  enum class Sync { kNow, kLater };
  Result<PutResult> put(int fd, std::string_view what, Sync sync = Sync::kNow);

  // Makes every object put so far durable (syncfs of the store's filesystem).
  // Errors: kIo.
  Status syncAll();

  // As put(fd), opening `name` relative to `dirfd` with O_NOFOLLOW (a symlink
  // is refused with kInvalidArgument; its target is not store content).
  Result<PutResult> putAt(int dirfd, const std::string& name);

  // A read-only fd on the object. kNotFound if it is not stored.
  Result<UniqueFd> open(const ContentHash& id) const;

  bool contains(const ContentHash& id) const;

  // Deletes the object. Removing an absent object succeeds (returns false);
  // returns true if a file was deleted.
  Result<bool> remove(const ContentHash& id);

  // Every stored object id, in no particular order.
  Result<std::vector<ContentHash>> list() const;

  // The running totals (objects, bytes) as of the last open/put/remove.
  StoreUsage usage() const;

  // True if an object of `size` new bytes would fit in the budget now. The
  // keep policy's caller asks this before copying a large file.
  bool wouldFit(uint64_t size) const;

  // Re-hashes the object. kNotFound if absent, kCorrupt (naming the object) if
  // its bytes no longer hash to its id.
  Status verify(const ContentHash& id) const;

  // Removes each listed object (the journal's unreferenced ones).
  Result<GcResult> collectGarbage(const std::vector<ContentHash>& unreferenced);
  // As above, but keeps (and leaves out of `removed`) every listed object put
  // or touched by put() at or after `put_before` (see "Recently put objects").
  Result<GcResult> collectGarbage(const std::vector<ContentHash>& unreferenced,
                                  std::chrono::system_clock::time_point put_before);

  // Standalone collection: removes every stored object for which `is_live`
  // returns false. Files in objects/ whose names are not ids are left alone.
  Result<GcResult> sweep(const std::function<bool(const ContentHash&)>& is_live);
  // As above, keeping objects put at or after `put_before`.
  Result<GcResult> sweep(const std::function<bool(const ContentHash&)>& is_live,
                         std::chrono::system_clock::time_point put_before);

  // Rate limit for whole-store sweeps shared by every caller of this store:
  // true (and `now` recorded) if no claim succeeded within `interval` before
  // `now` (or ever); false otherwise. Any thread.
  bool claimSweep(std::chrono::system_clock::time_point now, std::chrono::seconds interval);

  const std::string& dir() const { return dir_; }

 private:
  BaseStore(std::string dir, StoreOptions options, UniqueFd objects, UniqueFd tmp);
  std::string objectName(const ContentHash& id) const;  // "ab/cdef..." relative to objects/
  Status recount();
  // Removes `id` unless put() stamped it at or after `put_before`. Returns
  // the bytes freed, or nullopt if the object was kept.
  Result<std::optional<uint64_t>> removeIfStale(const ContentHash& id,
                                                std::chrono::system_clock::time_point put_before);

  std::string dir_;
  StoreOptions options_;
  UniqueFd objects_fd_;
  UniqueFd tmp_fd_;
  std::unique_ptr<Mutex> mu_;  // a pointer so the store can move
  StoreUsage usage_ HOARD_GUARDED_BY(*mu_);
  std::optional<std::chrono::system_clock::time_point> last_sweep_ HOARD_GUARDED_BY(*mu_);
};

// The name of an object's file relative to the store directory
// ("objects/ab/cdef..."): for messages and tests.
std::string objectPath(const ContentHash& id);

}  // namespace hoard::store
