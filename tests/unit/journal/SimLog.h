// SPDX-License-Identifier: MIT
#pragma once

// An in-memory stand-in for the change_log table: it feeds a
// ChangeLogOptimizer exactly what Journal::recordChanges would (unfrozen
// records relating to a path) and applies the Plan the same way.

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "common/RelPath.h"
#include "journal/ChangeLogOptimizer.h"

namespace hoard {
// Readable gtest failure output for changes: "rename a -> b".
inline void PrintTo(const Change& c, std::ostream* os) {
  *os << changeOpName(c.op) << " " << displayPath(c.path);
  if (c.op == ChangeOp::kRename) *os << " -> " << displayPath(c.to);
  if (c.op == ChangeOp::kChmod || (c.op == ChangeOp::kWrite && c.mode != 0))
    *os << " mode " << std::oct << c.mode << std::dec;
  if (c.op == ChangeOp::kSymlink) *os << " => " << displayPath(c.target);
}
}  // namespace hoard

namespace hoard::journal::testing {

inline Change create(std::string p, uint32_t mode = 0644) {
  return Change{ChangeOp::kCreate, std::move(p), {}, mode, {}};
}
inline Change mkdir(std::string p, uint32_t mode = 0755) {
  return Change{ChangeOp::kMkdir, std::move(p), {}, mode, {}};
}
inline Change symlink(std::string p, std::string target) {
  return Change{ChangeOp::kSymlink, std::move(p), {}, 0, std::move(target)};
}
inline Change write(std::string p) { return Change{ChangeOp::kWrite, std::move(p), {}, 0, {}}; }
// A new file of `mode` stands at p (a file renamed over it; ChangeLogOptimizer.h).
inline Change replaced(std::string p, uint32_t mode) {
  return Change{ChangeOp::kWrite, std::move(p), {}, mode, {}};
}
inline Change chmod(std::string p, uint32_t mode) {
  return Change{ChangeOp::kChmod, std::move(p), {}, mode, {}};
}
inline Change xattr(std::string p) { return Change{ChangeOp::kXattr, std::move(p), {}, 0, {}}; }
inline Change unlink(std::string p) { return Change{ChangeOp::kUnlink, std::move(p), {}, 0, {}}; }
inline Change rmdir(std::string p) { return Change{ChangeOp::kRmdir, std::move(p), {}, 0, {}}; }
inline Change rename(std::string from, std::string to) {
  return Change{ChangeOp::kRename, std::move(from), std::move(to), 0, {}};
}

class SimLog {
 public:
  using Record = ChangeLogOptimizer::Record;

  // Optimises `batch` against the stored log, as one recordChanges call.
  void record(const std::vector<Change>& batch) {
    std::set<std::string> asked;
    ChangeLogOptimizer opt(
        [&](std::string_view p) {
      // The optimiser promises to ask once per path.
      EXPECT_TRUE(asked.emplace(p).second) << "fetched twice: " << std::string(p);
      std::vector<Record> out;
      for (const Record& r : stored_) {
        if (r.seq > frozen_ && ChangeLogOptimizer::relates(r.change, p)) out.push_back(r);
      }
      return out;
        },
        exists_);
    for (const Change& c : batch) opt.add(c);
    ChangeLogOptimizer::Plan plan = opt.plan();
    for (int64_t seq : plan.removed) {
      ASSERT_GT(seq, frozen_) << "optimiser removed a frozen record";
      auto it = std::find_if(stored_.begin(), stored_.end(),
                             [&](const Record& r) { return r.seq == seq; });
      ASSERT_NE(it, stored_.end());
      stored_.erase(it);
    }
    for (const Record& rw : plan.rewritten) {
      ASSERT_GT(rw.seq, frozen_) << "optimiser rewrote a frozen record";
      auto it = std::find_if(stored_.begin(), stored_.end(),
                             [&](const Record& r) { return r.seq == rw.seq; });
      ASSERT_NE(it, stored_.end());
      it->change = rw.change;
    }
    for (const Change& c : plan.appended) stored_.push_back(Record{next_seq_++, c});
  }
  void record(const Change& c) { record(std::vector<Change>{c}); }

  void freeze() { frozen_ = next_seq_ - 1; }
  // What stood at a path before every unfrozen record (the journal answers
  // from the base); unset: the optimiser's default (absent).
  void setExists(ChangeLogOptimizer::Exists exists) { exists_ = std::move(exists); }

  std::vector<Change> changes() const {
    std::vector<Change> out;
    for (const Record& r : stored_) out.push_back(r.change);
    return out;
  }
  const std::vector<Record>& records() const { return stored_; }

 private:
  std::vector<Record> stored_;  // in seq order
  int64_t next_seq_ = 1;
  int64_t frozen_ = 0;
  ChangeLogOptimizer::Exists exists_;
};

}  // namespace hoard::journal::testing
