// SPDX-License-Identifier: MIT
#include "journal/ChangeLogOptimizer.h"

#include <algorithm>

#include "common/RelPath.h"

namespace hoard::journal {

namespace {

bool isIdentityOp(ChangeOp op) {
  switch (op) {
    case ChangeOp::kCreate:
    case ChangeOp::kMkdir:
    case ChangeOp::kSymlink:
    case ChangeOp::kRename:
    case ChangeOp::kUnlink:
    case ChangeOp::kRmdir:
      return true;
    case ChangeOp::kWrite:
    case ChangeOp::kChmod:
    case ChangeOp::kXattr:
      return false;
  }
  return true;
}

bool isContentOp(ChangeOp op) { return !isIdentityOp(op); }

// An identity record for `x`: creates, removes or moves `x` or one of its ancestors.
bool isIdentityFor(const Change& r, std::string_view x) {
  if (!isIdentityOp(r.op)) return false;
  if (isUnder(x, r.path)) return true;
  return r.op == ChangeOp::kRename && isUnder(x, r.to);
}

bool strictlyBeneath(std::string_view p, std::string_view x) { return p != x && isUnder(p, x); }

// A record about something strictly beneath `x`.
bool isBeneath(const Change& r, std::string_view x) {
  return strictlyBeneath(r.path, x) || (r.op == ChangeOp::kRename && strictlyBeneath(r.to, x));
}

// Both ends of the record lie strictly beneath `x`.
bool isInternalTo(const Change& r, std::string_view x) {
  return strictlyBeneath(r.path, x) && (r.op != ChangeOp::kRename || strictlyBeneath(r.to, x));
}

}  // namespace

bool ChangeLogOptimizer::relates(const Change& r, std::string_view path) {
  auto rel = [&](const std::string& q) { return isUnder(path, q) || isUnder(q, path); };
  return rel(r.path) || (r.op == ChangeOp::kRename && rel(r.to));
}

void ChangeLogOptimizer::indexAdd(int64_t key, const Change& c) {
  index_[c.path].insert(key);
  if (c.op == ChangeOp::kRename) index_[c.to].insert(key);
}

void ChangeLogOptimizer::indexRemove(int64_t key, const Change& c) {
  auto drop = [&](const std::string& p) {
    auto it = index_.find(p);
    if (it == index_.end()) return;
    it->second.erase(key);
    if (it->second.empty()) index_.erase(it);
  };
  drop(c.path);
  if (c.op == ChangeOp::kRename) drop(c.to);
}

void ChangeLogOptimizer::ensureLoaded(std::string_view path) {
  if (loaded_paths_.count(path) != 0) return;
  loaded_paths_.emplace(path);
  for (Record& rec : fetch_(path)) {
    if (original_.count(rec.seq) != 0) continue;  // already here, maybe rewritten
    original_.emplace(rec.seq, rec.change);
    indexAdd(rec.seq, rec.change);
    entries_.emplace(rec.seq, Entry{std::move(rec.change), true});
  }
}

std::vector<int64_t> ChangeLogOptimizer::related(std::string_view path) const {
  std::vector<int64_t> out;
  auto take = [&](const std::set<int64_t>& keys) {
    out.insert(out.end(), keys.begin(), keys.end());
  };
  // The path itself and its ancestors.
  for (size_t end = 0; end != std::string_view::npos;) {
    end = path.find('/', end == 0 ? 0 : end + 1);
    auto it = index_.find(path.substr(0, end));
    if (it != index_.end()) take(it->second);
  }
  // Everything beneath: ["path/", "path0") holds exactly the paths starting
  // with "path/", because '0' is '/' + 1 and bytes compare unsigned.
  std::string lo = std::string(path) + "/";
  std::string hi = std::string(path) + "0";
  for (auto it = index_.lower_bound(lo); it != index_.end() && it->first < hi; ++it) {
    take(it->second);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool ChangeLogOptimizer::anyRelatedAfter(std::string_view path, int64_t after) const {
  std::vector<int64_t> keys = related(path);
  return !keys.empty() && keys.back() > after;
}

void ChangeLogOptimizer::repath(int64_t after, std::string_view from, std::string_view to) {
  for (int64_t key : related(from)) {
    if (key <= after) continue;
    Change c = at(key);
    bool moved = false;
    if (isUnder(c.path, from)) {
      c.path = rebase(c.path, from, to);
      moved = true;
    }
    if (c.op == ChangeOp::kRename && isUnder(c.to, from)) {
      c.to = rebase(c.to, from, to);
      moved = true;
    }
    if (moved) setChange(key, std::move(c));
  }
}

void ChangeLogOptimizer::append(const Change& c) {
  int64_t key = next_new_++;
  indexAdd(key, c);
  entries_.emplace(key, Entry{c, false});
}

void ChangeLogOptimizer::remove(int64_t key) {
  Entry& e = entries_.at(key);
  if (e.removed) return;
  indexRemove(key, e.change);
  e.removed = true;
}

void ChangeLogOptimizer::setChange(int64_t key, Change c) {
  Entry& e = entries_.at(key);
  indexRemove(key, e.change);
  e.change = std::move(c);
  indexAdd(key, e.change);
}

void ChangeLogOptimizer::add(const Change& n) {
  switch (n.op) {
    case ChangeOp::kWrite:
    case ChangeOp::kChmod:
    case ChangeOp::kXattr:
      addWriteLike(n);
      return;
    case ChangeOp::kUnlink:
    case ChangeOp::kRmdir:
      addDelete(n);
      return;
    case ChangeOp::kRename:
      addRename(n);
      return;
    case ChangeOp::kCreate:
    case ChangeOp::kMkdir:
    case ChangeOp::kSymlink:
      addCreate(n);
      return;
  }
}

void ChangeLogOptimizer::addCreate(const Change& n) {
  const std::string& x = n.path;
  ensureLoaded(x);
  std::vector<int64_t> keys = related(x);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    const Change& r = at(*it);
    if (!isIdentityFor(r, x)) continue;  // writes, chmods, records beneath x
    // The same object reported twice (the tracker and a rescan both saw it,
    // or a delete in between was lost with an overflow): the record already
    // says "whatever the cache holds at x"; it takes the newer mode or target.
    if (r.path == x && r.op == n.op) {
      Change merged = r;
      if (n.mode != 0) merged.mode = n.mode;
      if (n.op == ChangeOp::kSymlink) merged.target = n.target;
      if (!(merged == r)) setChange(*it, std::move(merged));
      return;
    }
    break;
  }
  append(n);
}

void ChangeLogOptimizer::addWriteLike(const Change& n) {
  const std::string& x = n.path;
  ensureLoaded(x);
  std::vector<int64_t> keys = related(x);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    const Change& r = at(*it);
    // Content records of x other than n's own kind commute with n: look past
    // them. Not past a write that replaced x: its mode and its fresh xattrs
    // are part of it.
    const bool replacement = r.op == ChangeOp::kWrite && r.mode != 0;
    if (r.path == x && isContentOp(r.op) && r.op != n.op && !replacement) continue;
    if (r.path != x) break;
    if (n.op == ChangeOp::kWrite && (r.op == ChangeOp::kWrite || r.op == ChangeOp::kCreate)) {
      return;
    }
    if (n.op == ChangeOp::kChmod && r.op == ChangeOp::kChmod) {
      Change merged = r;
      merged.mode = n.mode;
      setChange(*it, std::move(merged));
      return;
    }
    if (n.op == ChangeOp::kXattr && r.op == ChangeOp::kXattr) return;
    break;
  }
  append(n);
}

void ChangeLogOptimizer::addDelete(const Change& n) {
  const std::string x = n.path;  // a copy: the recursion below builds new changes
  ensureLoaded(x);
  std::vector<int64_t> own;      // write/chmod/xattr of x since its identity record
  std::vector<int64_t> beneath;  // records beneath x since its identity record
  int64_t r = -1;
  std::vector<int64_t> keys = related(x);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    const Change& c = at(*it);
    if (isIdentityFor(c, x)) {
      r = *it;
      break;
    }
    if (c.path == x && isContentOp(c.op)) {
      own.push_back(*it);
    } else if (isBeneath(c, x)) {
      beneath.push_back(*it);
    }
    // Anything else (a chmod of an ancestor, ...) neither blocks nor goes.
  }
  for (int64_t k : own) remove(k);

  if (r >= 0 && at(r).path == x) {
    ChangeOp rop = at(r).op;
    bool pairs = n.op == ChangeOp::kUnlink ? (rop == ChangeOp::kCreate || rop == ChangeOp::kSymlink)
                                           : rop == ChangeOp::kMkdir;
    bool internal = std::all_of(beneath.begin(), beneath.end(),
                                [&](int64_t k) { return isInternalTo(at(k), x); });
    if (pairs && internal) {
      remove(r);
      for (int64_t k : beneath) remove(k);
      return;
    }
  }
  if (r >= 0 && n.op == ChangeOp::kUnlink && at(r).op == ChangeOp::kRename && at(r).to == x &&
      beneath.empty()) {
    const std::string a = at(r).path;
    // The rename replaced what stood at x: that is deleted now too.
    const bool replaced = occupiedBefore(x, r);
    ensureLoaded(a);
    if (anyRelatedAfter(a, r)) {
      setChange(r, Change{ChangeOp::kUnlink, a, {}, 0, {}});
    } else {
      remove(r);
      addDelete(Change{ChangeOp::kUnlink, a, {}, 0, {}});
    }
    if (replaced) append(n);
    return;
  }
  append(n);
}

bool ChangeLogOptimizer::occupiedBefore(std::string_view y, int64_t before) {
  std::vector<int64_t> keys = related(y);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (*it >= before) continue;
    const Change& c = at(*it);
    if (!isIdentityFor(c, y)) continue;
    switch (c.op) {
      case ChangeOp::kUnlink:
      case ChangeOp::kRmdir:
        return false;  // y or an ancestor went
      case ChangeOp::kRename:
        if (isUnder(y, c.path)) return false;  // moved away, with its ancestor maybe
        if (c.to == y) return true;            // moved in
        {
          // An ancestor moved in: y stood where the ancestor came from.
          std::string from = rebase(std::string(y), c.to, c.path);
          int64_t at_rename = *it;
          ensureLoaded(from);
          return occupiedBefore(from, at_rename);
        }
      case ChangeOp::kCreate:
      case ChangeOp::kMkdir:
      case ChangeOp::kSymlink:
        return c.path == y;  // a new directory above y held nothing at y
      case ChangeOp::kWrite:
      case ChangeOp::kChmod:
      case ChangeOp::kXattr:
        break;
    }
  }
  if (!exists_) return false;
  return exists_(y).value_or(true);
}

void ChangeLogOptimizer::coalesceReplacement(int64_t key) {
  const Change n = at(key);
  std::vector<int64_t> keys = related(n.path);
  std::vector<int64_t> superseded;
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (*it >= key) continue;
    const Change& c = at(*it);
    if (c.path != n.path) return;
    if (c.op == ChangeOp::kChmod || c.op == ChangeOp::kXattr) {
      superseded.push_back(*it);
      continue;
    }
    if (c.op == ChangeOp::kWrite || c.op == ChangeOp::kCreate) {
      Change merged = c;
      merged.mode = n.mode;
      if (!(merged == c)) setChange(*it, std::move(merged));
      for (int64_t k : superseded) remove(k);
      remove(key);
    }
    return;
  }
}

void ChangeLogOptimizer::addRename(const Change& n) {
  const std::string& x = n.path;
  const std::string& y = n.to;
  if (x == y) return;  // rename(2) onto itself does nothing
  if (isUnder(x, y) || isUnder(y, x)) {
    append(n);
    return;
  }
  ensureLoaded(x);
  ensureLoaded(y);
  int64_t r = -1;
  std::vector<int64_t> keys = related(x);
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (isIdentityFor(at(*it), x)) {
      r = *it;
      break;
    }
  }
  if (r < 0 || anyRelatedAfter(y, r)) {
    append(n);
    return;
  }
  Change rc = at(r);
  bool created = rc.path == x && (rc.op == ChangeOp::kCreate || rc.op == ChangeOp::kMkdir ||
                                  rc.op == ChangeOp::kSymlink);
  bool renamed_here = rc.op == ChangeOp::kRename && rc.to == x;
  // Nothing relates to y between r and n, so what stood at y before n stood
  // there at r too: the folded record can take r's place.
  bool replaces = occupiedBefore(y, r);
  if (created && replaces) {
    if (rc.op != ChangeOp::kCreate || rc.mode == 0) {
      // A directory or symlink over y, or a file of unknown mode: the
      // rename itself says it best.
      append(n);
      return;
    }
    setChange(r, Change{ChangeOp::kWrite, y, {}, rc.mode, {}});
    repath(r, x, y);
    coalesceReplacement(r);
    return;
  }
  if (created) {
    rc.path = y;
    setChange(r, std::move(rc));
  } else if (renamed_here && !occupiedBefore(x, r) &&
             (rc.path == y || (!isUnder(rc.path, y) && !isUnder(y, rc.path)))) {
    // (Nor into A->Y when Y holds A: a rename over A's emptied parent.)
    // (When r replaced something at x, moving r elsewhere would forget that.)
    if (rc.path == y) {
      remove(r);
    } else {
      rc.to = y;
      setChange(r, std::move(rc));
    }
  } else {
    append(n);
    return;
  }
  repath(r, x, y);
}

ChangeLogOptimizer::Plan ChangeLogOptimizer::plan() const {
  Plan p;
  for (const auto& [key, e] : entries_) {
    if (e.stored) {
      if (e.removed) {
        p.removed.push_back(key);
      } else if (!(e.change == original_.at(key))) {
        p.rewritten.push_back(Record{key, e.change});
      }
    } else if (!e.removed) {
      p.appended.push_back(e.change);
    }
  }
  return p;
}

}  // namespace hoard::journal
