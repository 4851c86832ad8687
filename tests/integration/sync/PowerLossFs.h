// SPDX-License-Identifier: MIT
// The cache side as a power cut leaves it, after leveldb's
// FaultInjectionTestEnv: a RemoteFs decorator that writes down, before each
// mutation of the cache root, what that mutation would give back if the
// machine lost power before it was synced, and cutPower() that gives it back.
//
// What counts as synced follows what PosixRemoteFs does and what a local
// filesystem guarantees:
//  - file data written through replaceFile is always fsynced before its
//    rename; the rename itself is durable only with ReplaceOptions::sync_dir
//    (the directory is fsynced), else only after syncAll();
//  - rename and symlink fsync the destination's directory: durable at once;
//  - mkdir, rmdir, unlink, chmod and setMtime are durable only after an
//    fsync of their directory (one of the durable calls above, in the same
//    directory) or a syncAll();
//  - a directory whose own creation is not durable takes its whole subtree
//    with it, whatever was synced inside it.
// Not modelled: xattrs, the data of unnamed temporaries (linkNewFile's
// caller syncs them), and writes SQLite makes into a live database (SQLite
// journals them itself).
//
// The records are files in a directory of their own, written before the call
// they undo, so a child killed with SIGKILL leaves them for the parent (a
// killed process loses no page cache; only the power cut that follows is
// simulated). Calls are serialised, so the records' order is the calls'.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "common/UniqueFd.h"
#include "remote/RemoteFs.h"

namespace hoard::sync {

class PowerLossFs final : public remote::RemoteFs {
 public:
  // `inner` is the cache root's filesystem; `log_dir` an existing directory
  // outside the cache for the records.
  PowerLossFs(remote::RemoteFs& inner, std::string log_dir)
      : inner_(inner), log_dir_(std::move(log_dir)) {
    for (const Record& r : load(log_dir_)) next_ = std::max(next_, r.seq + 1);
  }

  // What a power cut now takes back: every record, newest first, is undone on
  // `fs` (the cache root, opened afresh), then the log is emptied. Returns how
  // many records were undone, or the first error.
  static Result<size_t> cutPower(remote::RemoteFs& fs, const std::string& log_dir) {
    std::vector<Record> all = load(log_dir);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (Status st = undo(fs, *it); !st)
        return tl::unexpected(st.error().withContext("undo record " + std::to_string(it->seq)));
    }
    clearLog(log_dir, [](const Record&) { return true; });
    return all.size();
  }

  Result<remote::Stat> lstat(const RelPath& p) override { return inner_.lstat(p); }
  Result<std::vector<remote::DirEntry>> listDir(const RelPath& d) override {
    return inner_.listDir(d);
  }
  Result<std::vector<remote::WalkEntry>> walk(const RelPath& d) override { return inner_.walk(d); }
  Result<remote::Stat> fetchFile(const RelPath& p, int fd, const remote::ProgressFn& pr) override {
    return inner_.fetchFile(p, fd, pr);
  }
  Result<std::string> readSmallFile(const RelPath& p, size_t max) override {
    return inner_.readSmallFile(p, max);
  }
  Result<remote::OpenedFile> openRead(const RelPath& p) override { return inner_.openRead(p); }
  Result<UniqueFd> openTemp() override { return inner_.openTemp(); }
  Result<remote::Stat> replaceFile(const RelPath& p, int fd, const remote::Expect& e,
                                   const remote::ReplaceOptions& o,
                                   const remote::ProgressFn& pr) override {
    std::lock_guard lock(mu_);
    if (!o.sync_dir) remember(p, Kind::kWhole);
    auto r = inner_.replaceFile(p, fd, e, o, pr);
    if (r && o.sync_dir) durable(parentDir(p));
    return r;
  }
  Result<remote::Stat> linkNewFile(const RelPath& p, int fd,
                                   const remote::ReplaceOptions& o) override {
    std::lock_guard lock(mu_);
    if (!o.sync_dir) remember(p, Kind::kWhole);
    auto r = inner_.linkNewFile(p, fd, o);
    if (r && o.sync_dir) durable(parentDir(p));
    return r;
  }
  Status mkdir(const RelPath& p, uint32_t m) override { return unsyncedOp(p, Kind::kWhole, [&] {
      return inner_.mkdir(p, m); }); }
  Status rmdir(const RelPath& p, const remote::Expect& e) override {
    return unsyncedOp(p, Kind::kWhole, [&] { return inner_.rmdir(p, e); });
  }
  Status unlink(const RelPath& p, const remote::Expect& e) override {
    return unsyncedOp(p, Kind::kWhole, [&] { return inner_.unlink(p, e); });
  }
  Status rename(const RelPath& f, const RelPath& t, const remote::Expect& fe,
                const remote::Expect& te) override {
    std::lock_guard lock(mu_);
    Status st = inner_.rename(f, t, fe, te);
    if (st) {
      durable(parentDir(t));
      durable(parentDir(f));
    }
    return st;
  }
  Status symlink(const RelPath& p, const std::string& t, const remote::Expect& e) override {
    std::lock_guard lock(mu_);
    Status st = inner_.symlink(p, t, e);
    if (st) durable(parentDir(p));
    return st;
  }
  Status chmod(const RelPath& p, uint32_t m) override {
    return unsyncedOp(p, Kind::kMeta, [&] { return inner_.chmod(p, m); });
  }
  Status setMtime(const RelPath& p, int64_t t) override {
    return unsyncedOp(p, Kind::kMeta, [&] { return inner_.setMtime(p, t); });
  }
  Result<std::string> getXattr(const RelPath& p, const std::string& n) override {
    return inner_.getXattr(p, n);
  }
  Status setXattr(const RelPath& p, const std::string& n, const std::string& v) override {
    return inner_.setXattr(p, n, v);
  }
  Status removeXattr(const RelPath& p, const std::string& n) override {
    return inner_.removeXattr(p, n);
  }
  Result<std::vector<std::string>> listXattrs(const RelPath& p) override {
    return inner_.listXattrs(p);
  }
  Result<remote::FsStats> statfs() override { return inner_.statfs(); }
  Status syncAll() override {
    std::lock_guard lock(mu_);
    Status st = inner_.syncAll();
    if (st) clearLog(log_dir_, [](const Record&) { return true; });
    return st;
  }
  Result<std::string> dataVersion(const RelPath& p) override { return inner_.dataVersion(p); }
  Result<uint64_t> removeStaleTemps(const RelPath& d) override {
    return inner_.removeStaleTemps(d);
  }
  Status pinRoot() override { return inner_.pinRoot(); }

 private:
  // What a record keeps of a path: all of it (type, bytes or target, mode,
  // mtime) for a call that may replace or remove it; its mode and mtime only
  // for a call that changes those.
  enum class Kind : char { kWhole = 'w', kMeta = 'm' };
  struct Record {
    uint64_t seq = 0;
    Kind kind = Kind::kWhole;
    RelPath path;
    bool existed = false;
    FileType type = FileType::kOther;
    uint32_t mode = 0;
    int64_t mtime_ns = 0;
    std::string bytes;  // a file's content or a symlink's target
  };

  template <class F>
  Status unsyncedOp(const RelPath& p, Kind kind, F op) {
    std::lock_guard lock(mu_);
    remember(p, kind);
    return op();
  }

  // Writes the record of `p` as it is now (before the call that may change it).
  void remember(const RelPath& p, Kind kind) {
    Record r;
    r.seq = next_++;
    r.kind = kind;
    r.path = p;
    if (auto st = inner_.lstat(p)) {
      r.existed = true;
      r.type = st->meta.type;
      r.mode = st->meta.mode;
      r.mtime_ns = st->meta.mtime_ns;
      if (kind == Kind::kWhole && r.type == FileType::kFile) r.bytes = contentOf(p);
      if (r.type == FileType::kSymlink) r.bytes = st->symlink_target;
    }
    std::string name = log_dir_ + "/" + seqName(r.seq);
    {
      std::ofstream out(name + ".part", std::ios::binary | std::ios::trunc);
      out << static_cast<char>(r.kind) << (r.existed ? '1' : '0') << static_cast<int>(r.type)
          << ' ' << r.mode << ' ' << r.mtime_ns << ' ' << r.path.size() << ' ' << r.bytes.size()
          << '\n'
          << r.path << r.bytes;
    }
    std::filesystem::rename(name + ".part", name);  // whole, or not there
  }

  std::string contentOf(const RelPath& p) {
    UniqueFd fd(::memfd_create("powerloss", MFD_CLOEXEC));
    if (!fd || !inner_.fetchFile(p, fd.get(), nullptr)) return {};
    std::string out;
    char buf[65536];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(fd.get(), buf, sizeof buf, at);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }

  // An fsync of directory `dir` made the entries in it durable.
  void durable(const RelPath& dir) {
    clearLog(log_dir_, [&](const Record& r) { return parentDir(r.path) == dir; });
  }

  static RelPath parentDir(const RelPath& p) { return RelPath(parentOf(p)); }

  static std::string seqName(uint64_t seq) {
    std::string n = std::to_string(seq);
    return std::string(12 - std::min<size_t>(12, n.size()), '0') + n;
  }

  static std::vector<Record> load(const std::string& log_dir) {
    std::vector<Record> out;
    for (const auto& e : std::filesystem::directory_iterator(log_dir)) {
      std::string name = e.path().filename();
      if (name.size() != 12 || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      std::ifstream in(e.path(), std::ios::binary);
      Record r;
      r.seq = std::stoull(name);
      char kind = 0, existed = 0;
      int type = 0;
      size_t path_len = 0, bytes_len = 0;
      in.get(kind).get(existed) >> type >> r.mode >> r.mtime_ns >> path_len >> bytes_len;
      in.get();  // the newline
      r.kind = static_cast<Kind>(kind);
      r.existed = existed == '1';
      r.type = static_cast<FileType>(type);
      r.path.resize(path_len);
      in.read(r.path.data(), static_cast<std::streamsize>(path_len));
      r.bytes.resize(bytes_len);
      in.read(r.bytes.data(), static_cast<std::streamsize>(bytes_len));
      out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.seq < b.seq; });
    return out;
  }

  template <class Pred>
  static void clearLog(const std::string& log_dir, Pred drop) {
    for (const Record& r : load(log_dir))
      if (drop(r)) std::filesystem::remove(log_dir + "/" + seqName(r.seq));
  }

  // Removes whatever is at `p` now, a whole subtree for a directory.
  static Status removeAll(remote::RemoteFs& fs, const RelPath& p) {
    auto st = fs.lstat(p);
    if (!st) return st.error().code() == ErrorCode::kNotFound ? Status{} : Status(tl::unexpected(st.error()));
    if (st->meta.type != FileType::kDir) return fs.unlink(p, remote::Expect::anything());
    if (auto t = fs.removeStaleTemps(p); !t) return tl::unexpected(t.error());
    auto below = fs.walk(p);
    if (!below) return tl::unexpected(below.error());
    for (auto it = below->rbegin(); it != below->rend(); ++it) {
      Status gone = it->stat.meta.type == FileType::kDir
                        ? fs.rmdir(it->path, remote::Expect::anything())
                        : fs.unlink(it->path, remote::Expect::anything());
      if (!gone) return gone;
    }
    return fs.rmdir(p, remote::Expect::anything());
  }

  // Puts `r.path` back as the record found it.
  static Status undo(remote::RemoteFs& fs, const Record& r) {
    auto now = fs.lstat(r.path);
    if (r.kind == Kind::kMeta || (r.existed && r.type == FileType::kDir && now &&
                                  now->meta.type == FileType::kDir)) {
      // The entry itself stays; its mode and mtime go back.
      if (!r.existed || !now || now->meta.type != r.type) return {};
      if (r.type != FileType::kSymlink) {
        if (Status m = fs.chmod(r.path, r.mode); !m) return m;
      }
      return fs.setMtime(r.path, r.mtime_ns);
    }
    if (Status gone = removeAll(fs, r.path); !gone) return gone;
    if (!r.existed) return {};
    switch (r.type) {
      case FileType::kDir:
        if (Status m = fs.mkdir(r.path, r.mode); !m) return m;
        return fs.setMtime(r.path, r.mtime_ns);
      case FileType::kSymlink:
        return fs.symlink(r.path, r.bytes, remote::Expect::absent());
      case FileType::kFile: {
        UniqueFd fd(::memfd_create("powerloss", MFD_CLOEXEC));
        if (!fd || ::write(fd.get(), r.bytes.data(), r.bytes.size()) !=
                       static_cast<ssize_t>(r.bytes.size()))
          return failErrno(errno, "restore " + displayPath(r.path));
        remote::ReplaceOptions o;
        o.mode = r.mode;
        o.mtime_ns = r.mtime_ns;
        auto put = fs.replaceFile(r.path, fd.get(), remote::Expect::absent(), o, nullptr);
        if (!put) return tl::unexpected(put.error());
        return {};
      }
      default:
        return {};  // fifos and the like are never written by hoard
    }
  }

  remote::RemoteFs& inner_;
  const std::string log_dir_;
  std::mutex mu_;
  uint64_t next_ = 1;
};

}  // namespace hoard::sync
