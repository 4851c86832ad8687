// SPDX-License-Identifier: MIT
// A RemoteFs decorator for crash tests: it counts the mutating calls made on
// both sides of a share and SIGKILLs its own process at the planned one
// (just before it, in the middle of a file copy, or just after it), telling
// the parent which point it reached through g_report_fd.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cstdint>

#include "remote/RemoteFs.h"

namespace hoard::sync {

// The child tells the parent which of its own kill points it reached (one
// byte, the KillPlan::When) just before it dies; -1 in the parent.
inline int g_report_fd = -1;

// Where a child kills itself: at its `at_op`-th mutating call on either side
// (counted across both sides, recover's included).
struct KillPlan {
  enum class When : uint8_t { kBefore, kMidCopy, kAfter };
  uint64_t at_op = 0;  // 0: never
  When when = When::kBefore;
};

// Counts the mutating calls of the pass on both sides and SIGKILLs its own
// process at the planned one: the decorator the child wraps both roots in.
class KillingFs final : public remote::RemoteFs {
 public:
  KillingFs(remote::RemoteFs& inner, const KillPlan& plan, uint64_t& counter)
      : inner_(inner), plan_(plan), counter_(counter) {}

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
    bool mine = step();
    if (mine && plan_.when == KillPlan::When::kMidCopy) {
      // The temporary holds its first chunk (a large file) or all its bytes
      // (a small one) but is neither synced nor renamed into place.
      return after(inner_.replaceFile(p, fd, e, o, [this](uint64_t) { die(); return true; }), true);
    }
    return after(inner_.replaceFile(p, fd, e, o, pr), mine);
  }
  Status mkdir(const RelPath& p, uint32_t m) override { return after(inner_.mkdir(p, m), step()); }
  Status rmdir(const RelPath& p, const remote::Expect& e) override {
    return after(inner_.rmdir(p, e), step());
  }
  Status unlink(const RelPath& p, const remote::Expect& e) override {
    return after(inner_.unlink(p, e), step());
  }
  Status rename(const RelPath& f, const RelPath& t, const remote::Expect& fe,
                const remote::Expect& te) override {
    return after(inner_.rename(f, t, fe, te), step());
  }
  Status symlink(const RelPath& p, const std::string& t, const remote::Expect& e) override {
    return after(inner_.symlink(p, t, e), step());
  }
  Status chmod(const RelPath& p, uint32_t m) override { return after(inner_.chmod(p, m), step()); }
  Status setMtime(const RelPath& p, int64_t t) override {
    return after(inner_.setMtime(p, t), step());
  }
  Result<std::string> getXattr(const RelPath& p, const std::string& n) override {
    return inner_.getXattr(p, n);
  }
  Status setXattr(const RelPath& p, const std::string& n, const std::string& v) override {
    return after(inner_.setXattr(p, n, v), step());
  }
  Status removeXattr(const RelPath& p, const std::string& n) override {
    return after(inner_.removeXattr(p, n), step());
  }
  Result<std::vector<std::string>> listXattrs(const RelPath& p) override {
    return inner_.listXattrs(p);
  }
  Result<remote::FsStats> statfs() override { return inner_.statfs(); }
  Status syncAll() override { return inner_.syncAll(); }
  Result<std::string> dataVersion(const RelPath& p) override { return inner_.dataVersion(p); }
  Result<uint64_t> removeStaleTemps(const RelPath& d) override {
    return after(inner_.removeStaleTemps(d), step());
  }

 private:
  [[noreturn]] void die() {
    char when = static_cast<char>(plan_.when);
    if (g_report_fd >= 0 && ::write(g_report_fd, &when, 1) != 1) _exit(14);
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
  }
  // Counts one mutating call; kills now if the plan says "before" it. True if
  // this is the planned call.
  bool step() {
    bool mine = ++counter_ == plan_.at_op;
    if (mine && plan_.when == KillPlan::When::kBefore) die();
    return mine;
  }
  template <class T>
  T after(T result, bool mine) {
    if (mine) die();  // kAfter (and a kMidCopy whose call never copied a byte)
    return result;
  }

  remote::RemoteFs& inner_;
  const KillPlan& plan_;
  uint64_t& counter_;
};

}  // namespace hoard::sync
