// SPDX-License-Identifier: MIT
#include "view/ViewTree.h"

namespace hoard::view {

namespace {

journal::ListedEntry madeUpDir(const RelPath& path) {
  journal::ListedEntry e;
  e.path = path;
  e.meta.type = FileType::kDir;
  e.meta.mode = 0755;
  return e;
}

}  // namespace

ViewTree::ViewTree(const std::vector<journal::ListedEntry>& entries) { replace(entries); }

void ViewTree::replace(const std::vector<journal::ListedEntry>& entries) {
  std::unordered_map<RelPath, journal::ListedEntry> old_entries;
  std::unordered_map<RelPath, std::map<std::string, FileType>> old_dirs;
  MutexLock lock(mu_);
  entries_.swap(old_entries);  // freed after the lock, below
  dirs_.swap(old_dirs);
  insert(madeUpDir(""));
  for (const auto& e : entries) insert(e);
}

void ViewTree::insert(const journal::ListedEntry& e) {
  if (!e.path.empty()) {
    RelPath parent(parentOf(e.path));
    if (!dirs_.count(parent)) insert(madeUpDir(parent));
    dirs_[parent][std::string(baseName(e.path))] = e.meta.type;
  }
  entries_.insert_or_assign(e.path, e);
  if (e.meta.type == FileType::kDir) {
    dirs_.try_emplace(e.path);
  } else {
    dirs_.erase(e.path);
  }
}

std::optional<journal::ListedEntry> ViewTree::find(const RelPath& path) const {
  MutexLock lock(mu_);
  auto it = entries_.find(path);
  if (it == entries_.end() || hiddenLocked(path)) return std::nullopt;
  return it->second;
}

std::optional<std::map<std::string, FileType>> ViewTree::children(const RelPath& dir) const {
  MutexLock lock(mu_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || hiddenLocked(dir)) return std::nullopt;
  std::map<std::string, FileType> out = it->second;
  for (const auto& [h, count] : hidden_)
    if (!h.empty() && parentOf(h) == dir) out.erase(std::string(baseName(h)));
  return out;
}

std::optional<std::vector<journal::ListedEntry>> ViewTree::childEntries(const RelPath& dir) const {
  MutexLock lock(mu_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || hiddenLocked(dir)) return std::nullopt;
  std::vector<journal::ListedEntry> out;
  out.reserve(it->second.size());
  for (const auto& [name, type] : it->second) {
    RelPath child(joinPath(dir, name));
    if (hidden_.count(child)) continue;
    auto e = entries_.find(child);
    if (e != entries_.end()) out.push_back(e->second);
  }
  return out;
}

std::vector<RelPath> ViewTree::filesUnder(const RelPath& path) const {
  std::vector<RelPath> out;
  MutexLock lock(mu_);
  for (const auto& [p, e] : entries_)
    if (e.meta.type == FileType::kFile && isUnder(p, path) && !hiddenLocked(p)) out.push_back(p);
  return out;
}

bool ViewTree::hiddenLocked(const RelPath& path) const {
  if (hidden_.empty()) return false;
  std::string_view p = path;
  for (;;) {
    if (hidden_.count(RelPath(p))) return true;
    if (p.empty()) return false;
    p = parentOf(p);
  }
}

void ViewTree::hide(const RelPath& path) {
  MutexLock lock(mu_);
  hidden_[path] = ++hides_;
}

uint64_t ViewTree::hideCount() const {
  MutexLock lock(mu_);
  return hides_;
}

void ViewTree::setHidden(const std::vector<RelPath>& paths, uint64_t since) {
  MutexLock lock(mu_);
  std::erase_if(hidden_, [&](const auto& h) { return h.second <= since; });
  for (const RelPath& p : paths) hidden_.try_emplace(p, 0);
}

void ViewTree::update(const journal::ListedEntry& e) {
  MutexLock lock(mu_);
  insert(e);
}

}  // namespace hoard::view
