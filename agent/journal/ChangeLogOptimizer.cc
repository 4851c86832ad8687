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

// A record about something strictly beneath `x`.
bool isBeneath(const Change& r, std::string_view x) {
  auto beneath = [&](const std::string& p) { return p != x && isUnder(p, x); };
  return beneath(r.path) || (r.op == ChangeOp::kRename && beneath(r.to));
}

// Both ends of the record lie strictly beneath `x`.
bool isInternalTo(const Change& r, std::string_view x) {
  auto beneath = [&](const std::string& p) { return p != x && isUnder(p, x); };
  return beneath(r.path) && (r.op != ChangeOp::kRename || beneath(r.to));
}

}  // namespace

bool ChangeLogOptimizer::relates(const Change& r, std::string_view path) {
  auto rel = [&](const std::string& q) { return isUnder(path, q) || isUnder(q, path); };
  return rel(r.path) || (r.op == ChangeOp::kRename && rel(r.to));
}

void ChangeLogOptimizer::ensureLoaded(std::string_view path) {
  if (loaded_paths_.count(path) != 0) return;
  loaded_paths_.emplace(path);
  for (Record& rec : fetch_(path)) {
    if (original_.count(rec.seq) != 0) continue;  // already here, maybe rewritten
    original_.emplace(rec.seq, rec.change);
    Entry e{rec.seq, std::move(rec.change), true};
    auto it = std::lower_bound(entries_.begin(), entries_.end(), e.key,
                               [](const Entry& a, int64_t k) { return a.key < k; });
    entries_.insert(it, std::move(e));
  }
}

long ChangeLogOptimizer::latestRelated(std::string_view path,
                                       const std::function<bool(const Change&)>& skip,
                                       long before) const {
  for (long i = before - 1; i >= 0; --i) {
    const Entry& e = entries_[static_cast<size_t>(i)];
    if (e.removed || !relates(e.change, path)) continue;
    if (skip && skip(e.change)) continue;
    return i;
  }
  return -1;
}

bool ChangeLogOptimizer::anyRelatedAfter(std::string_view path, long after) const {
  for (size_t i = static_cast<size_t>(after + 1); i < entries_.size(); ++i) {
    if (!entries_[i].removed && relates(entries_[i].change, path)) return true;
  }
  return false;
}

void ChangeLogOptimizer::repath(long after, std::string_view from, std::string_view to) {
  for (size_t i = static_cast<size_t>(after + 1); i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.removed) continue;
    if (isUnder(e.change.path, from)) e.change.path = rebase(e.change.path, from, to);
    if (e.change.op == ChangeOp::kRename && isUnder(e.change.to, from)) {
      e.change.to = rebase(e.change.to, from, to);
    }
  }
}

void ChangeLogOptimizer::append(const Change& c) {
  entries_.push_back(Entry{next_new_++, c, false});
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
      break;
  }
  append(n);
}

void ChangeLogOptimizer::addWriteLike(const Change& n) {
  const std::string& x = n.path;
  ensureLoaded(x);
  // Content records of x other than n's own kind commute with n: look past them.
  auto skip = [&](const Change& r) { return r.path == x && isContentOp(r.op) && r.op != n.op; };
  long i = latestRelated(x, skip, static_cast<long>(entries_.size()));
  if (i >= 0 && at(i).path == x) {
    Change& r = at(i);
    if (n.op == ChangeOp::kWrite && (r.op == ChangeOp::kWrite || r.op == ChangeOp::kCreate)) {
      return;
    }
    if (n.op == ChangeOp::kChmod && r.op == ChangeOp::kChmod) {
      r.mode = n.mode;
      return;
    }
    if (n.op == ChangeOp::kXattr && r.op == ChangeOp::kXattr) return;
  }
  append(n);
}

void ChangeLogOptimizer::addDelete(const Change& n) {
  const std::string x = n.path;  // a copy: recursion below builds new changes
  ensureLoaded(x);
  std::vector<long> own;      // write/chmod/xattr of x since its identity record
  std::vector<long> beneath;  // records beneath x since its identity record
  long r = -1;
  for (long i = static_cast<long>(entries_.size()) - 1; i >= 0; --i) {
    const Entry& e = entries_[static_cast<size_t>(i)];
    if (e.removed || !relates(e.change, x)) continue;
    if (isIdentityFor(e.change, x)) {
      r = i;
      break;
    }
    if (e.change.path == x && isContentOp(e.change.op)) {
      own.push_back(i);
    } else if (isBeneath(e.change, x)) {
      beneath.push_back(i);
    }
    // Anything else (a chmod of an ancestor, ...) neither blocks nor goes.
  }
  for (long i : own) remove(i);

  if (r >= 0 && at(r).path == x) {
    ChangeOp rop = at(r).op;
    bool pairs = n.op == ChangeOp::kUnlink ? (rop == ChangeOp::kCreate || rop == ChangeOp::kSymlink)
                                           : rop == ChangeOp::kMkdir;
    bool internal = std::all_of(beneath.begin(), beneath.end(),
                                [&](long i) { return isInternalTo(at(i), x); });
    if (pairs && internal) {
      remove(r);
      for (long i : beneath) remove(i);
      return;
    }
  }
  if (r >= 0 && n.op == ChangeOp::kUnlink && at(r).op == ChangeOp::kRename && at(r).to == x &&
      beneath.empty()) {
    const std::string a = at(r).path;
    const int64_t key = entries_[static_cast<size_t>(r)].key;
    ensureLoaded(a);  // may insert entries: find r again by key
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const Entry& e, int64_t k) { return e.key < k; });
    r = it - entries_.begin();
    if (anyRelatedAfter(a, r)) {
      at(r) = Change{ChangeOp::kUnlink, a, {}, 0, {}};
    } else {
      remove(r);
      addDelete(Change{ChangeOp::kUnlink, a, {}, 0, {}});
    }
    return;
  }
  append(n);
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
  long r = latestRelated(x, [&](const Change& c) { return !isIdentityFor(c, x); },
                         static_cast<long>(entries_.size()));
  if (r < 0 || anyRelatedAfter(y, r)) {
    append(n);
    return;
  }
  Change& rc = at(r);
  bool created = rc.path == x && (rc.op == ChangeOp::kCreate || rc.op == ChangeOp::kMkdir ||
                                  rc.op == ChangeOp::kSymlink);
  bool renamed_here = rc.op == ChangeOp::kRename && rc.to == x;
  if (created) {
    rc.path = y;
  } else if (renamed_here) {
    if (rc.path == y) {
      remove(r);
    } else {
      rc.to = y;
    }
  } else {
    append(n);
    return;
  }
  repath(r, x, y);
}

ChangeLogOptimizer::Plan ChangeLogOptimizer::plan() const {
  Plan p;
  for (const Entry& e : entries_) {
    if (e.stored) {
      if (e.removed) {
        p.removed.push_back(e.key);
      } else if (!(e.change == original_.at(e.key))) {
        p.rewritten.push_back(Record{e.key, e.change});
      }
    } else if (!e.removed) {
      p.appended.push_back(e.change);
    }
  }
  return p;
}

}  // namespace hoard::journal
