// SPDX-License-Identifier: MIT
#include "remote/TreeWalk.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace hoard::remote {

namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// One call of a tree operation, posted on the pool. The task fills the
// results; the caller reads them once the batch reports the tag finished.
struct Item {
  enum class Kind : uint8_t { kList, kStat } kind = Kind::kList;
  size_t node = kNone;   // kList: the parent's node (kNone for the top); kStat: the node
  size_t index = kNone;  // the entry's index among that node's names
  RelPath path;          // the directory listed, or the entry stat'ed
  std::string name;      // its last component (empty for the top)
  std::shared_ptr<RemoteDir> dir;  // the directory to open it from / stat it in
  // Results (written by the task on a worker).
  std::optional<Result<std::shared_ptr<RemoteDir>>> opened;
  std::optional<Result<std::vector<DirEntry>>> listed;
  std::optional<Result<Stat>> stat;
  uint64_t removed = 0;                // sweep only
  std::optional<Error> remove_error;   // sweep only
};

// One directory of a walk.
struct Node {
  RelPath path;
  std::vector<std::string> names;          // sorted bytewise
  std::vector<std::optional<Stat>> stats;  // per name; nullopt: vanished or not stat'ed yet
  std::vector<size_t> child;               // per name: the subdirectory's node, or kNone
  std::vector<std::optional<Error>> unlisted;  // per name: a subdirectory that refused a read
};

Error incomplete(const Item& item) {
  return Error(ErrorCode::kInternal,
               "remote walk of '" + displayPath(item.path) + "': a call ended without a result");
}

// Drives the batch: keeps up to max_in_flight items posted (newest first, so
// the walk goes depth first and few directories are open at once) and hands
// each finished one to `done`, which may queue more.
template <class Done>
Status drive(WorkerPool& pool, const TreeWalkOptions& options,
             std::vector<std::shared_ptr<Item>>& backlog,
             const std::function<void(Item&)>& run_item, Done&& done) {
  WorkerPool::Batch batch(pool);
  std::vector<std::shared_ptr<Item>> posted;  // by tag
  const size_t width = std::max<size_t>(1, options.max_in_flight);
  while (!backlog.empty() || batch.inFlight() > 0) {
    while (!backlog.empty() && batch.inFlight() < width) {
      std::shared_ptr<Item> item = std::move(backlog.back());
      backlog.pop_back();
      const bool list = item->kind == Item::Kind::kList;
      std::string what = (list ? "list '" : "lstat '") + displayPath(item->path) + "'";
      auto deadline = list ? options.list_deadline : options.stat_deadline;
      uint64_t tag = posted.size();
      posted.push_back(item);
      if (auto ok = batch.post(tag, std::move(what), deadline,
                               [item, run_item] { run_item(*item); });
          !ok) {
        return ok;
      }
    }
    auto tag = batch.next();
    if (!tag) return tl::unexpected(tag.error());
    std::shared_ptr<Item> item = std::move(posted[*tag]);
    if (auto ok = done(*item); !ok) return ok;
  }
  return {};
}

bool skippable(const Error& e) {
  return e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kOutsideRoot;
}

// A subdirectory that refuses to be read (mode 000, an ACL): the walk
// reports it as unlisted and goes on; the sweep passes it by.
bool unreadable(const Error& e) { return e.code() == ErrorCode::kPermission; }

}  // namespace

Result<std::vector<WalkEntry>> parallelWalk(const std::shared_ptr<RemoteFs>& fs, WorkerPool& pool,
                                            const RelPath& top, const TreeWalkOptions& options) {
  std::vector<Node> nodes;
  std::vector<std::shared_ptr<Item>> backlog;
  auto first = std::make_shared<Item>();
  first->path = top;
  backlog.push_back(first);

  std::function<void(Item&)> run_item = [fs](Item& item) {
    if (item.kind == Item::Kind::kStat) {
      item.stat = item.dir->stat(item.name);
      return;
    }
    item.opened = item.dir ? item.dir->openDir(item.name) : fs->openDir(item.path);
    if (*item.opened) item.listed = (**item.opened)->list(false);
  };

  auto done = [&](Item& item) -> Status {
    if (item.kind == Item::Kind::kStat) {
      if (!item.stat) return tl::unexpected(incomplete(item));
      Node& node = nodes[item.node];
      if (!*item.stat) {
        if (item.stat->error().code() == ErrorCode::kNotFound) return {};  // vanished
        return tl::unexpected(item.stat->error());
      }
      if ((*item.stat)->meta.type == FileType::kDir) {
        auto sub = std::make_shared<Item>();
        sub->node = item.node;
        sub->index = item.index;
        sub->path = item.path;
        sub->name = item.name;
        sub->dir = item.dir;
        backlog.push_back(std::move(sub));
      }
      node.stats[item.index] = std::move(**item.stat);
      return {};
    }
    if (!item.opened) return tl::unexpected(incomplete(item));
    const bool is_top = item.node == kNone;
    if (!*item.opened || !item.listed || !*item.listed) {
      if (*item.opened && !item.listed) return tl::unexpected(incomplete(item));
      const Error& e = !*item.opened ? item.opened->error() : item.listed->error();
      // A subdirectory that vanished (or became a symlink) since its stat.
      if (!is_top && skippable(e)) return {};
      if (!is_top && unreadable(e)) {
        nodes[item.node].unlisted[item.index] = e;
        return {};
      }
      return tl::unexpected(e);
    }
    const size_t index = nodes.size();
    if (!is_top) nodes[item.node].child[item.index] = index;
    Node node;
    node.path = item.path;
    for (DirEntry& e : **item.listed) node.names.push_back(std::move(e.name));
    std::sort(node.names.begin(), node.names.end());
    node.stats.resize(node.names.size());
    node.child.assign(node.names.size(), kNone);
    node.unlisted.resize(node.names.size());
    std::shared_ptr<RemoteDir> dir = std::move(**item.opened);
    for (size_t i = node.names.size(); i-- > 0;) {
      auto st = std::make_shared<Item>();
      st->kind = Item::Kind::kStat;
      st->node = index;
      st->index = i;
      st->path = joinPath(node.path, node.names[i]);
      st->name = node.names[i];
      st->dir = dir;
      backlog.push_back(std::move(st));
    }
    nodes.push_back(std::move(node));
    return {};
  };

  if (auto ok = drive(pool, options, backlog, run_item, done); !ok)
    return tl::unexpected(ok.error());

  // Assemble in RemoteFs::walk's order: a directory's entries, then its
  // subdirectories one by one, depth first.
  std::vector<WalkEntry> out;
  if (nodes.empty()) return out;
  size_t total = 0;
  for (const Node& n : nodes) total += n.names.size();
  out.reserve(total);
  std::vector<size_t> stack{0};
  while (!stack.empty()) {
    Node& node = nodes[stack.back()];
    stack.pop_back();
    for (size_t i = 0; i < node.names.size(); ++i) {
      if (!node.stats[i]) continue;
      out.push_back(WalkEntry{joinPath(node.path, node.names[i]), std::move(*node.stats[i]),
                              std::move(node.unlisted[i])});
    }
    for (size_t i = node.names.size(); i-- > 0;) {
      if (node.child[i] != kNone) stack.push_back(node.child[i]);
    }
  }
  return out;
}

Result<uint64_t> parallelRemoveStaleTemps(const std::shared_ptr<RemoteFs>& fs, WorkerPool& pool,
                                          const RelPath& top, const TreeWalkOptions& options) {
  std::vector<std::shared_ptr<Item>> backlog;
  auto first = std::make_shared<Item>();
  first->path = top;
  first->node = kNone;
  backlog.push_back(first);
  uint64_t removed = 0;

  // One directory per call: open, list (hoard's names included), remove the
  // temporaries found there.
  std::function<void(Item&)> run_item = [fs](Item& item) {
    item.opened = item.dir ? item.dir->openDir(item.name) : fs->openDir(item.path);
    if (!*item.opened) return;
    RemoteDir& dir = ***item.opened;
    item.listed = dir.list(true);
    if (!*item.listed) return;
    for (const DirEntry& e : **item.listed) {
      if (e.type == FileType::kDir || e.name.compare(0, kTempPrefix.size(), kTempPrefix) != 0)
        continue;
      auto r = dir.removeTemp(e.name);
      if (!r) {
        item.remove_error = r.error();
        return;
      }
      if (*r) ++item.removed;
    }
  };

  auto done = [&](Item& item) -> Status {
    if (!item.opened) return tl::unexpected(incomplete(item));
    const bool is_top = item.node == kNone;
    if (!*item.opened) {
      const Error& e = item.opened->error();
      if (!is_top && (skippable(e) || unreadable(e))) return {};
      return tl::unexpected(e);
    }
    if (!item.listed) return tl::unexpected(incomplete(item));
    if (!*item.listed) {
      const Error& e = item.listed->error();
      if (!is_top && (skippable(e) || unreadable(e))) return {};
      return tl::unexpected(e);
    }
    if (item.remove_error) return tl::unexpected(*item.remove_error);
    removed += item.removed;
    std::shared_ptr<RemoteDir> dir = std::move(**item.opened);
    for (const DirEntry& e : **item.listed) {
      if (e.type != FileType::kDir) continue;
      auto sub = std::make_shared<Item>();
      sub->node = 0;  // not the top
      sub->path = joinPath(item.path, e.name);
      sub->name = e.name;
      sub->dir = dir;
      backlog.push_back(std::move(sub));
    }
    return {};
  };

  if (auto ok = drive(pool, options, backlog, run_item, done); !ok)
    return tl::unexpected(ok.error());
  return removed;
}

}  // namespace hoard::remote
