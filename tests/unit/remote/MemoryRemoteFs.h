// SPDX-License-Identifier: MIT
#pragma once

// An in-memory RemoteFs for unit tests: files, directories and symlinks in a
// map, a data version that is a counter bumped on every change. Data crosses
// in and out through the caller's fds (memfds in tests: memory only).

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <string>

#include "remote/RemoteFs.h"

namespace hoard::remote::testing {

class MemoryRemoteFs final : public RemoteFs {
 public:
  struct Node {
    FileType type = FileType::kFile;
    std::string data;  // file content or symlink target
    uint32_t mode = 0644;
    int64_t mtime_ns = 0;
    uint64_t version = 0;
    std::map<std::string, std::string> xattrs;
    uint64_t ino = 0;  // set when created; kept by a rename, new for a replace
  };

  MemoryRemoteFs() { nodes_[""] = Node{FileType::kDir, {}, 0755, 0, 0, {}, ++inodes_}; }

  // Test helpers (any thread).
  void putFile(const RelPath& p, std::string data) {
    std::lock_guard lock(mu_);
    Node n;
    n.data = std::move(data);
    n.version = ++clock_;
    n.ino = ++inodes_;
    nodes_[p] = std::move(n);
  }
  bool exists(const RelPath& p) const {
    std::lock_guard lock(mu_);
    return nodes_.count(p) != 0;
  }
  std::string content(const RelPath& p) const {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(p);
    return it == nodes_.end() ? std::string() : it->second.data;
  }

  Result<Stat> lstat(const RelPath& path) override {
    std::lock_guard lock(mu_);
    return statLocked(path);
  }
  Result<std::vector<DirEntry>> listDir(const RelPath& dir) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(dir);
    if (it == nodes_.end() || it->second.type != FileType::kDir) return notFound(dir);
    std::vector<DirEntry> out;
    for (const auto& [p, n] : nodes_) {
      if (p.empty() || p == dir || !isUnder(p, dir) || parentOf(p) != dir) continue;
      out.push_back(DirEntry{std::string(baseName(p)), n.type});
    }
    return out;
  }
  Result<std::vector<WalkEntry>> walk(const RelPath& dir) override {
    std::lock_guard lock(mu_);
    if (nodes_.count(dir) == 0) return notFound(dir);
    std::vector<WalkEntry> out;
    for (const auto& [p, n] : nodes_) {
      if (p == dir || !isUnder(p, dir)) continue;
      out.push_back(WalkEntry{p, *statLocked(p), std::nullopt});
    }
    return out;
  }
  Result<Stat> fetchFile(const RelPath& path, int out_fd, const ProgressFn& progress) override {
    std::string data;
    Stat st;
    {
      std::lock_guard lock(mu_);
      auto s = statLocked(path);
      if (!s) return s;
      if (s->meta.type != FileType::kFile) return fail(ErrorCode::kInvalidArgument, "not a file");
      st = *s;
      data = nodes_[path].data;
    }
    if (::write(out_fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      return failErrno(errno, "memory fetch write");
    }
    if (progress) progress(data.size());
    return st;
  }
  Result<std::string> readSmallFile(const RelPath& path, size_t max_bytes) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    if (it->second.data.size() > max_bytes) return fail(ErrorCode::kInvalidArgument, "too big");
    return it->second.data;
  }
  // A memfd holding a copy of the file's bytes, with the file's Stat.
  Result<OpenedFile> openRead(const RelPath& path) override {
    std::string data;
    OpenedFile out;
    {
      std::lock_guard lock(mu_);
      auto st = statLocked(path);
      if (!st) return tl::unexpected(st.error());
      if (st->meta.type != FileType::kFile) return fail(ErrorCode::kInvalidArgument, "not a file");
      out.st.meta = st->meta;
      data = nodes_[path].data;
    }
    auto fd = openTemp();
    if (!fd) return tl::unexpected(fd.error());
    if (::pwrite(fd->get(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()))
      return failErrno(errno, "memory open write");
    out.fd = std::move(*fd);
    return out;
  }
  Result<UniqueFd> openTemp() override {
    UniqueFd fd(::memfd_create("memory-fs", MFD_CLOEXEC));
    if (!fd) return failErrno(errno, "memfd_create");
    return fd;
  }
  Result<Stat> replaceFile(const RelPath& path, int src_fd, const Expect& expect,
                           const ReplaceOptions& options, const ProgressFn& progress) override {
    std::string data;
    char buf[4096];
    for (;;) {
      ssize_t n = ::pread(src_fd, buf, sizeof buf, static_cast<off_t>(data.size()));
      if (n < 0) return failErrno(errno, "memory replace read");
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    std::lock_guard lock(mu_);
    if (auto ok = checkLocked(path, expect); !ok) return tl::unexpected(ok.error());
    if (nodes_.count(RelPath(parentOf(path))) == 0) return notFound(path);
    Node n;
    n.data = std::move(data);
    n.mode = options.mode;
    n.mtime_ns = options.mtime_ns.value_or(0);
    n.version = ++clock_;
    n.ino = ++inodes_;
    nodes_[path] = std::move(n);
    if (progress) progress(nodes_[path].data.size());
    return statLocked(path);
  }
  Status mkdir(const RelPath& path, uint32_t mode) override {
    std::lock_guard lock(mu_);
    if (nodes_.count(path)) return fail(ErrorCode::kExists, "exists");
    if (nodes_.count(RelPath(parentOf(path))) == 0) return notFound(path);
    nodes_[path] = Node{FileType::kDir, {}, mode, 0, ++clock_, {}, ++inodes_};
    return {};
  }
  Status rmdir(const RelPath& path, const Expect& expect) override {
    std::lock_guard lock(mu_);
    if (auto ok = checkLocked(path, expect); !ok) return ok;
    for (const auto& [p, n] : nodes_) {
      if (p != path && isUnder(p, path)) return fail(ErrorCode::kConflict, "not empty");
    }
    if (nodes_.erase(path) == 0) return notFound(path);
    return {};
  }
  Status unlink(const RelPath& path, const Expect& expect) override {
    std::lock_guard lock(mu_);
    if (auto ok = checkLocked(path, expect); !ok) return ok;
    if (nodes_.erase(path) == 0) return notFound(path);
    return {};
  }
  Status rename(const RelPath& from, const RelPath& to, const Expect& from_expect,
                const Expect& to_expect) override {
    std::lock_guard lock(mu_);
    if (auto ok = checkLocked(from, from_expect); !ok) return ok;
    if (auto ok = checkLocked(to, to_expect); !ok) return ok;
    auto it = nodes_.find(from);
    if (it == nodes_.end()) return notFound(from);
    std::map<RelPath, Node> moved;
    for (auto i = nodes_.begin(); i != nodes_.end();) {
      if (isUnder(i->first, from)) {
        moved[rebase(i->first, from, to)] = std::move(i->second);
        i = nodes_.erase(i);
      } else {
        ++i;
      }
    }
    for (auto& [p, n] : moved) nodes_[p] = std::move(n);
    return {};
  }
  Status symlink(const RelPath& path, const std::string& target, const Expect& expect) override {
    std::lock_guard lock(mu_);
    if (auto ok = checkLocked(path, expect); !ok) return ok;
    nodes_[path] = Node{FileType::kSymlink, target, 0777, 0, ++clock_, {}, ++inodes_};
    return {};
  }
  Status chmod(const RelPath& path, uint32_t mode) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    it->second.mode = mode;
    return {};
  }
  Status setMtime(const RelPath& path, int64_t mtime_ns) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    it->second.mtime_ns = mtime_ns;
    return {};
  }
  Result<std::string> getXattr(const RelPath& path, const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    auto x = it->second.xattrs.find(name);
    if (x == it->second.xattrs.end()) return fail(ErrorCode::kNotFound, "no attribute");
    return x->second;
  }
  Status setXattr(const RelPath& path, const std::string& name, const std::string& value) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    it->second.xattrs[name] = value;
    return {};
  }
  Status removeXattr(const RelPath& path, const std::string& name) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    if (it->second.xattrs.erase(name) == 0) return fail(ErrorCode::kNotFound, "no attribute");
    return {};
  }
  Result<std::vector<std::string>> listXattrs(const RelPath& path) override {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    std::vector<std::string> out;
    for (const auto& [k, v] : it->second.xattrs) out.push_back(k);
    return out;
  }
  Status syncAll() override { return {}; }  // memory is as durable as it gets here
  Result<FsStats> statfs() override {
    FsStats s;
    s.block_size = 4096;
    s.total_bytes = s.free_bytes = s.avail_bytes = 1 << 30;
    return s;
  }
  Result<std::string> dataVersion(const RelPath& path) override {
    std::lock_guard lock(mu_);
    auto st = statLocked(path);
    if (!st) return tl::unexpected(st.error());
    return st->data_version;
  }
  Result<uint64_t> removeStaleTemps(const RelPath&) override { return uint64_t{0}; }

 private:
  static tl::unexpected<Error> notFound(const RelPath& p) {
    return fail(ErrorCode::kNotFound, "memory fs: '" + displayPath(p) + "' not found", ENOENT);
  }
  Result<Stat> statLocked(const RelPath& path) const {
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return notFound(path);
    const Node& n = it->second;
    Stat st;
    st.meta.type = n.type;
    st.meta.size = n.type == FileType::kDir ? 0 : n.data.size();
    st.meta.mode = n.mode;
    st.meta.mtime_ns = n.mtime_ns;
    st.meta.inode = n.ino;
    if (n.type == FileType::kSymlink) st.symlink_target = n.data;
    st.data_version = "mem:" + std::to_string(n.version);
    return st;
  }
  Status checkLocked(const RelPath& path, const Expect& e) const {
    auto it = nodes_.find(path);
    if (e.kind == Expect::Kind::kAnything) return {};
    if (e.kind == Expect::Kind::kAbsent) {
      if (it == nodes_.end()) return {};
      return fail(ErrorCode::kConflict, "exists");
    }
    if (it == nodes_.end()) return fail(ErrorCode::kConflict, "gone");
    if ("mem:" + std::to_string(it->second.version) != e.data_version) {
      return fail(ErrorCode::kConflict, "version differs");
    }
    return {};
  }

  mutable std::mutex mu_;
  std::map<RelPath, Node> nodes_;  // guarded by mu_
  uint64_t clock_ = 0;             // guarded by mu_
  uint64_t inodes_ = 0;            // guarded by mu_
};

}  // namespace hoard::remote::testing
