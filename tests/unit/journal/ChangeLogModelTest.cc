// SPDX-License-Identifier: MIT
// Model check of the change-log optimiser: random valid operation sequences
// (seeded) on a model tree; replaying the optimised log on the base must give
// exactly what replaying the raw log gives: the same paths, types, modes,
// symlink targets, the same origin of every untouched object, and the same
// paths whose content or xattrs must be pushed.

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "SimLog.h"
#include "common/FileMeta.h"
#include "common/RelPath.h"
#include "journal/ChangeLogOptimizer.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: the change builders

struct Node {
  FileType type = FileType::kFile;
  uint32_t mode = 0;
  std::string target;
  int origin = 0;  // base object id; 0 for objects made during the session
  bool dirty = false;
  bool xattr_dirty = false;
  bool operator==(const Node&) const = default;
};
using Tree = std::map<std::string, Node>;

bool parentIsDir(const Tree& t, const std::string& p) {
  std::string parent(parentOf(p));
  if (parent.empty()) return true;
  auto it = t.find(parent);
  return it != t.end() && it->second.type == FileType::kDir;
}

bool hasChildren(const Tree& t, const std::string& p) {
  auto it = t.upper_bound(p);
  for (; it != t.end(); ++it) {
    if (isUnder(it->first, p)) return true;
    if (it->first.compare(0, p.size(), p) != 0) break;
  }
  return false;
}

// Applies `c` as the remote (or the cache) would; false if it cannot apply.
bool applyChange(Tree& t, const Change& c) {
  auto it = t.find(c.path);
  bool exists = it != t.end();
  switch (c.op) {
    case ChangeOp::kCreate:
    case ChangeOp::kMkdir:
    case ChangeOp::kSymlink: {
      if (exists || !parentIsDir(t, c.path)) return false;
      Node n;
      n.type = c.op == ChangeOp::kCreate  ? FileType::kFile
               : c.op == ChangeOp::kMkdir ? FileType::kDir
                                          : FileType::kSymlink;
      n.mode = c.op == ChangeOp::kSymlink ? 0777 : c.mode;
      n.target = c.target;
      n.dirty = c.op == ChangeOp::kCreate;
      t[c.path] = n;
      return true;
    }
    case ChangeOp::kWrite:
      if (c.mode != 0) {
        // A new file of that mode stands at the path now, whatever was there
        // (what a file renamed over it leaves; ChangeLogOptimizer.h).
        if ((exists && it->second.type == FileType::kDir) || !parentIsDir(t, c.path)) return false;
        Node n;
        n.mode = c.mode;
        n.dirty = true;
        t[c.path] = n;
        return true;
      }
      if (!exists || it->second.type != FileType::kFile) return false;
      it->second.dirty = true;
      return true;
    case ChangeOp::kChmod:
      if (!exists) return false;
      it->second.mode = c.mode;
      return true;
    case ChangeOp::kXattr:
      if (!exists) return false;
      it->second.xattr_dirty = true;
      return true;
    case ChangeOp::kUnlink:
      if (!exists || it->second.type == FileType::kDir) return false;
      t.erase(it);
      return true;
    case ChangeOp::kRmdir:
      if (!exists || it->second.type != FileType::kDir || hasChildren(t, c.path)) return false;
      t.erase(it);
      return true;
    case ChangeOp::kRename: {
      if (!exists || !parentIsDir(t, c.to) || isUnder(c.to, c.path)) return false;
      // rename(2) replaces what stands at the destination: a non-directory by
      // a non-directory, an empty directory by a directory.
      if (auto dst = t.find(c.to); dst != t.end()) {
        bool src_dir = it->second.type == FileType::kDir;
        bool dst_dir = dst->second.type == FileType::kDir;
        if (src_dir != dst_dir || (dst_dir && hasChildren(t, c.to))) return false;
        t.erase(dst);
      }
      Tree moved;
      for (auto i = t.begin(); i != t.end();) {
        if (isUnder(i->first, c.path)) {
          moved[rebase(i->first, c.path, c.to)] = i->second;
          i = t.erase(i);
        } else {
          ++i;
        }
      }
      t.merge(moved);
      return true;
    }
  }
  return false;
}

std::string show(const std::vector<Change>& log) {
  std::ostringstream os;
  for (const Change& c : log) {
    PrintTo(c, &os);
    os << "\n";
  }
  return os.str();
}

// A random path over a tiny alphabet, so collisions (and "ab" vs "a") are frequent.
std::string randomPath(std::mt19937& rng, const Tree& t) {
  // "a.b" and "a-" sort between "a" and "a/"; "a\xff" after "a0": the
  // byte-order edges of subtree lookups.
  static const char* kNames[] = {"a", "b", "ab", "c", "a.b", "a-", "a\xff"};
  constexpr int kLast = static_cast<int>(std::size(kNames)) - 1;
  std::uniform_int_distribution<int> coin(0, 2);
  if (!t.empty() && coin(rng) != 0) {
    // A child of an existing directory or an existing path.
    auto it = t.begin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, t.size() - 1)(rng));
    if (it->second.type == FileType::kDir && coin(rng) == 0) {
      return it->first + "/" + kNames[std::uniform_int_distribution<int>(0, kLast)(rng)];
    }
    return it->first;
  }
  return kNames[std::uniform_int_distribution<int>(0, kLast)(rng)];
}

Change randomChange(std::mt19937& rng, const Tree& t) {
  auto op = static_cast<ChangeOp>(std::uniform_int_distribution<int>(1, 9)(rng));
  Change c{op, randomPath(rng, t), {}, 0, {}};
  if (op == ChangeOp::kRename) c.to = randomPath(rng, t);
  if (op == ChangeOp::kChmod || op == ChangeOp::kCreate || op == ChangeOp::kMkdir) {
    c.mode = 0600 + static_cast<uint32_t>(std::uniform_int_distribution<int>(0, 7)(rng));
  }
  if (op == ChangeOp::kSymlink) c.target = "t" + std::to_string(rng() % 3);
  return c;
}

Tree randomBase(std::mt19937& rng) {
  Tree t;
  int origin = 1;
  for (int i = 0; i < 8; ++i) {
    std::string p = randomPath(rng, t);
    if (t.count(p) != 0 || !parentIsDir(t, p)) continue;
    Node n;
    n.type = rng() % 2 ? FileType::kDir : FileType::kFile;
    n.mode = 0644;
    n.origin = origin++;
    t[p] = n;
  }
  return t;
}

void checkSeed(uint32_t seed) {
  std::mt19937 rng(seed);
  const Tree base = randomBase(rng);
  Tree cache = base;
  std::vector<Change> raw;
  SimLog log;
  // What stood where before the unfrozen records: the journal answers from
  // the base; here the tree as of the last freeze is known exactly.
  Tree at_freeze = base;
  log.setExists([&](std::string_view p) -> std::optional<bool> {
    return at_freeze.count(std::string(p)) != 0;
  });
  std::vector<Change> batch;
  int ops = std::uniform_int_distribution<int>(1, 40)(rng);
  while (static_cast<int>(raw.size()) < ops) {
    Change c = randomChange(rng, cache);
    if (!applyChange(cache, c)) continue;
    raw.push_back(c);
    batch.push_back(c);
    if (rng() % 3 == 0) {
      log.record(batch);
      batch.clear();
      if (rng() % 8 == 0) {
        log.freeze();
        at_freeze = cache;
      }
    }
  }
  log.record(batch);
  std::vector<Change> opt = log.changes();
  ASSERT_LE(opt.size(), raw.size()) << "seed " << seed;

  Tree replay_raw = base;
  for (const Change& c : raw) ASSERT_TRUE(applyChange(replay_raw, c));
  ASSERT_EQ(replay_raw, cache);
  Tree replay_opt = base;
  for (size_t i = 0; i < opt.size(); ++i) {
    ASSERT_TRUE(applyChange(replay_opt, opt[i]))
        << "seed " << seed << ": optimised record " << i << " cannot apply\nraw:\n"
        << show(raw) << "optimised:\n"
        << show(opt);
  }
  ASSERT_EQ(replay_opt, replay_raw) << "seed " << seed << "\nraw:\n"
                                    << show(raw) << "optimised:\n"
                                    << show(opt);
}

TEST(ChangeLogModelTest, OptimisedLogReplaysToTheSameTree) {
  for (uint32_t seed = 1; seed <= 4000; ++seed) {
    checkSeed(seed);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ChangeLogModelTest, OptimiserActuallyShortensLogs) {
  // Guard against a optimiser that appends everything (which would pass the
  // model check): over many seeds, a good share of records must go.
  size_t raw_total = 0, opt_total = 0;
  for (uint32_t seed = 1; seed <= 500; ++seed) {
    std::mt19937 rng(seed);
    Tree cache = randomBase(rng);
    const Tree base = cache;
    SimLog log;
    log.setExists(
        [&](std::string_view p) -> std::optional<bool> { return base.count(std::string(p)) != 0; });
    for (int i = 0; i < 30;) {
      Change c = randomChange(rng, cache);
      if (!applyChange(cache, c)) continue;
      log.record(c);
      ++raw_total;
      ++i;
    }
    opt_total += log.changes().size();
  }
  EXPECT_LT(opt_total * 10, raw_total * 9) << raw_total << " raw, " << opt_total << " kept";
}

}  // namespace
}  // namespace hoard::journal
