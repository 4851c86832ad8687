// SPDX-License-Identifier: MIT
#pragma once

// Coda-style optimisation of a share's change log (the "client modification
// log"), as pure decisions on an in-memory view so it can be tested without
// SQLite. Journal::recordChanges feeds it the new changes of one share and
// applies the resulting Plan to the change_log table in one transaction.
//
// Replay model the rules rely on (the engine's contract):
//  * The log is replayed in seq order. `create`/`write` push whatever the cache
//    holds at replay time, so where a write sits does not matter for bytes.
//  * A rename may replace what stood at its destination (rename(2) replaces
//    a non-directory, or an empty directory by a directory): inotify does not
//    say so, and the tracker records just the rename. Whether the destination
//    held something is taken from the log itself (its latest identity record
//    there) or, when the log does not say, from the Exists callback (the
//    journal answers from the base). Without that callback a destination the
//    log does not mention counts as absent (the old contract).
//  * A `write X` carrying a mode (mode != 0; the tracker's writes never do)
//    says "a new file of that mode now stands at X, whatever was there": it
//    is what a new file renamed over X leaves (git's `main.lock` renamed over
//    `main`, an editor's save by rename), shown as a write of X.
//  * Records at or below the share's frozen mark (seq <= frozen_through_seq,
//    see Journal::freezeChanges) may be in flight to the remote; they are never
//    seen, rewritten or removed here. Without this a change absorbed into a
//    record the engine already replayed would be dropped with it.
//
// "Relates to P": a record whose path or to-path equals P, is an ancestor of
// P, or lies beneath P. Every rule below looks only at the most recent
// records relating to the path; when anything it does not understand relates
// to a path in between, it keeps both facts (appends). Being conservative is
// always correct; being clever never may cost a change.
//
// The rules, for a new change N on path X (the other records are the share's
// unfrozen log, newest first; "identity record" = create, mkdir, symlink,
// rename, unlink, rmdir naming X or an ancestor of X):
//  1. write X: if the latest related record, skipping chmod/xattr of X, is
//     `write X` or `create X`, N is dropped. The EARLIEST write is kept: the
//     row already stored stays untouched (no delete and re-insert), and a
//     write's position carries no information because content is read from
//     the cache at replay time; the frozen mark makes this safe against a
//     replay in progress.
//  2. chmod X: if the latest related record, skipping write/xattr of X, is
//     `chmod X`, that record takes N's mode and N is dropped.
//  3. xattr X: if the latest related record, skipping write/chmod of X, is
//     `xattr X`, N is dropped.
//     (Rules 2 and 3 never skip a write that carries a mode: it replaced the
//     object, with its own mode and no xattrs of the old one.)
//  4. unlink/rmdir X: the write/chmod/xattr records of X since X's latest
//     identity record are removed (they describe an object that is gone).
//     Then, by that identity record R:
//     a. R is `create X` or `symlink X` (for unlink) or `mkdir X` (for rmdir):
//        R, those records and every record beneath X since R vanish, and N is
//        not logged — provided every record beneath X is internal to X (no
//        rename crossing X's boundary); otherwise R stays and N is appended.
//     b. R is `rename A->X` and N is an unlink: R becomes `unlink A`; if
//        nothing after R relates to A, the unlink A is instead re-applied from
//        the end (so `create A, rename A->X, unlink X` leaves nothing when X
//        was absent before R). N is not logged if X was absent before R;
//        if R replaced something at X, N is appended (it deletes that).
//     c. otherwise N is appended.
//  5. rename X->Y (X != Y, neither beneath the other), where R is X's latest
//     identity record and nothing after R relates to Y:
//     a. R is `create/mkdir/symlink X` and Y was absent: R moves to Y, and
//        every later record naming X or a path beneath X is re-pathed to Y;
//        N is not logged.
//     a'. R is `create X` with a known mode and Y held something (or may
//        have): R becomes `write Y` with R's mode (Y replaced by a new
//        file), merged into an earlier `write Y`/`create Y` when only
//        chmod/xattr records of Y lie between (they described the replaced
//        object and go); later records of X are re-pathed to Y. N is not
//        logged. So `create f.lock, rename f.lock->f` is `write f`, and a
//        later `unlink f` leaves `unlink f` (rule 4c), never nothing.
//     b. R is `rename A->X` and X was absent before R (else R replaced
//        something at X, and only R says so: N is appended): if A == Y, R
//        vanishes (A->X->A is nothing),
//        otherwise R becomes `rename A->Y`; later records naming X or beneath
//        are re-pathed to Y (writes and chmods made between the renames are
//        kept, on the path the object had at their position). N is not logged.
//     c. otherwise N is appended. Rule 5 never drops `write X` records before
//        the rename: `write X, rename X->Y` keeps both facts.
//  6. create, mkdir, symlink X: if X's latest identity record is the same op
//     on X (no delete or rename of X since), N is a second report of the same
//     object (the tracker and a rescan both saw it, or a delete in between was
//     lost in an overflow): that record takes N's mode (and target) and N is
//     dropped. Otherwise N is appended (a new object at a path that had one is
//     a different object, not a write).
// Records of different shares never interact: one optimiser sees one share.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/Change.h"

namespace hoard::journal {

class ChangeLogOptimizer {
 public:
  // A stored record: its seq and its change.
  struct Record {
    int64_t seq = 0;
    Change change;
    bool operator==(const Record&) const = default;
  };

  // Returns the stored (unfrozen) records of the share that relate to `path`
  // (as defined above), in any order; may return more, never fewer. Called at
  // most once per distinct path. The optimiser never touches a record it has
  // not been given.
  using Fetch = std::function<std::vector<Record>(std::string_view path)>;

  // What to do to the stored log.
  struct Plan {
    std::vector<int64_t> removed;   // seqs to delete
    std::vector<Record> rewritten;  // stored records whose change changed
    std::vector<Change> appended;   // new records, in order
  };

  // What stood at `path` before every record the optimiser can see (the
  // share's unfrozen log): true (something), false (nothing), or nullopt
  // when that is not known (a frozen record relates to it); not known counts
  // as "something", which at worst keeps a delete of an absent path.
  using Exists = std::function<std::optional<bool>(std::string_view path)>;

  explicit ChangeLogOptimizer(Fetch fetch, Exists exists = nullptr)
      : fetch_(std::move(fetch)), exists_(std::move(exists)) {}

  // Applies change `n` on top of everything seen so far.
  void add(const Change& n);

  // The net effect on the stored log of every add() so far.
  Plan plan() const;

  // True if `r` relates to `path`: one of its paths equals `path`, is an
  // ancestor of it or lies beneath it.
  static bool relates(const Change& r, std::string_view path);

 private:
  struct Entry {
    Change change;
    bool stored;
    bool removed = false;
  };
  // Keys order entries as the log does: stored seqs first, then new records.
  static constexpr int64_t kNewBase = INT64_MAX / 2;

  void ensureLoaded(std::string_view path);
  // Keys of the live entries relating to `path`, ascending. Found through
  // index_ (ancestors by lookup, descendants by range), so a batch of many
  // unrelated changes costs O(n log n), not O(n^2).
  std::vector<int64_t> related(std::string_view path) const;
  bool anyRelatedAfter(std::string_view path, int64_t after) const;
  void repath(int64_t after, std::string_view from, std::string_view to);
  void append(const Change& c);
  void remove(int64_t key);
  void setChange(int64_t key, Change c);
  const Change& at(int64_t key) const { return entries_.at(key).change; }
  void indexAdd(int64_t key, const Change& c);
  void indexRemove(int64_t key, const Change& c);

  void addCreate(const Change& n);
  void addWriteLike(const Change& n);
  void addDelete(const Change& n);
  void addRename(const Change& n);
  // Whether something stood at `y` just before the entry at `before`.
  bool occupiedBefore(std::string_view y, int64_t before);
  // Entry `key` is `write Y mode` (a replacement): folds it into an earlier
  // write/create of Y when only chmod/xattr records of Y lie between.
  void coalesceReplacement(int64_t key);

  Fetch fetch_;
  Exists exists_;
  std::set<std::string, std::less<>> loaded_paths_;
  std::map<int64_t, Entry> entries_;                             // by key, removed ones kept
  std::map<std::string, std::set<int64_t>, std::less<>> index_;  // live entries by either path
  std::map<int64_t, Change> original_;                           // stored seq -> as fetched
  int64_t next_new_ = kNewBase;
};

}  // namespace hoard::journal
