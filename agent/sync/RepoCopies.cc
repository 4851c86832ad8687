// SPDX-License-Identifier: MIT
#include "sync/RepoCopies.h"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/UniqueFd.h"

namespace hoard::sync {

namespace {

Status copyInto(remote::RemoteFs& fs, const RelPath& p, const std::string& into,
                RepoCopies::Stats& stats) {
  if (::mkdir(into.c_str(), 0700) != 0) return failErrno(errno, "make " + displayPath(into));
  auto walked = fs.walk(p);
  if (!walked) return tl::unexpected(walked.error());
  for (const remote::WalkEntry& e : *walked) {
    if (e.unlisted) return tl::unexpected(*e.unlisted);
    const std::string to = into + "/" + (p.empty() ? e.path : e.path.substr(p.size() + 1));
    if (e.stat.meta.type == FileType::kDir) {
      if (::mkdir(to.c_str(), 0700) != 0 && errno != EEXIST)
        return failErrno(errno, "make " + displayPath(to));
      continue;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);
    if (e.stat.meta.type == FileType::kSymlink) {  // as a symlink: the resolver decides (GitRepo.h)
      if (::symlink(e.stat.symlink_target.c_str(), to.c_str()) != 0)
        return failErrno(errno, "make " + displayPath(to));
      continue;
    }
    if (e.stat.meta.type != FileType::kFile) continue;
    UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return failErrno(errno, "make " + displayPath(to));
    auto got = fs.fetchFile(e.path, fd.get(), nullptr);
    if (!got) return tl::unexpected(got.error().withContext("copy " + displayPath(e.path)));
    if (::fchmod(fd.get(), e.stat.meta.mode & 0777) != 0)
      return failErrno(errno, "chmod " + displayPath(to));
    ++stats.copied;
    stats.copied_bytes += got->meta.size;
  }
  return {};
}

// "": no directory at `p` on that side.
Result<std::string> copySide(remote::RemoteFs& fs, const RelPath& p, const std::string& into,
                             RepoCopies::Stats& stats) {
  auto st = fs.lstat(p);
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return std::string();
    return tl::unexpected(st.error());
  }
  if (st->meta.type != FileType::kDir) return std::string();
  if (Status done = copyInto(fs, p, into, stats); !done) return tl::unexpected(done.error());
  return into;
}

bool isRefFile(const std::string& inside) {
  return inside == "packed-refs" || inside.rfind("refs/", 0) == 0;
}

}  // namespace

Result<bool> copyBaseRefs(const RepoBase& base, const RelPath& p, const std::string& into) {
  if (::mkdir(into.c_str(), 0700) != 0) return failErrno(errno, "make " + displayPath(into));
  for (const BaseEntry& e : base.entries) {
    if (e.local.type != FileType::kFile || e.path.size() <= p.size() + 1) continue;
    const std::string inside = p.empty() ? e.path : e.path.substr(p.size() + 1);
    if (!isRefFile(inside)) continue;
    if (!e.object || base.store == nullptr) return false;
    auto src = base.store->open(*e.object);
    if (!src) return false;  // collected, or never kept
    const std::string to = into + "/" + inside;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) return failErrno(errno, "make " + displayPath(to));
    char buf[8192];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(src->get(), buf, sizeof buf, at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failErrno(errno, "read the base of " + displayPath(e.path));
      if (n == 0) break;
      if (::write(out.get(), buf, static_cast<size_t>(n)) != n)
        return failErrno(errno, "write " + displayPath(to));
      at += n;
    }
  }
  return true;
}

Result<std::unique_ptr<RepoCopies>> RepoCopies::make(remote::RemoteFs& local,
                                                     remote::RemoteFs& remote, const RelPath& p,
                                                     const RepoBase* base) {
  std::unique_ptr<RepoCopies> c(new RepoCopies);
  std::string tmpl = (std::filesystem::temp_directory_path() / "hoard-repo-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno(errno, "make a directory in " + tmpl);
  c->root_ = tmpl;
  auto l = copySide(local, p, c->root_ + "/local", c->stats_);
  if (!l) return tl::unexpected(l.error().withContext("copy the cache's repository"));
  auto r = copySide(remote, p, c->root_ + "/remote", c->stats_);
  if (!r) return tl::unexpected(r.error().withContext("copy the remote's repository"));
  c->local_ = *l;
  c->remote_ = *r;
  if (base != nullptr) {
    auto complete = copyBaseRefs(*base, p, c->root_ + "/base");
    if (!complete) return tl::unexpected(complete.error().withContext("copy the base's refs"));
    if (*complete) c->base_ = c->root_ + "/base";
  }
  return c;
}

RepoCopies::~RepoCopies() {
  std::error_code ec;
  if (!root_.empty()) std::filesystem::remove_all(root_, ec);
}

}  // namespace hoard::sync
