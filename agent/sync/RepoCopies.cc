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

Status copyInto(remote::RemoteFs& fs, const RelPath& p, const std::string& into) {
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
    if (e.stat.meta.type != FileType::kFile) continue;
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);
    UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return failErrno(errno, "make " + displayPath(to));
    auto got = fs.fetchFile(e.path, fd.get(), nullptr);
    if (!got) return tl::unexpected(got.error().withContext("copy " + displayPath(e.path)));
    if (::fchmod(fd.get(), e.stat.meta.mode & 0777) != 0)
      return failErrno(errno, "chmod " + displayPath(to));
  }
  return {};
}

// "": no directory at `p` on that side.
Result<std::string> copySide(remote::RemoteFs& fs, const RelPath& p, const std::string& into) {
  auto st = fs.lstat(p);
  if (!st) {
    if (st.error().code() == ErrorCode::kNotFound) return std::string();
    return tl::unexpected(st.error());
  }
  if (st->meta.type != FileType::kDir) return std::string();
  if (Status done = copyInto(fs, p, into); !done) return tl::unexpected(done.error());
  return into;
}

}  // namespace

Result<std::unique_ptr<RepoCopies>> RepoCopies::make(remote::RemoteFs& local,
                                                     remote::RemoteFs& remote, const RelPath& p) {
  std::unique_ptr<RepoCopies> c(new RepoCopies);
  std::string tmpl = (std::filesystem::temp_directory_path() / "hoard-repo-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return failErrno(errno, "make a directory in " + tmpl);
  c->root_ = tmpl;
  auto l = copySide(local, p, c->root_ + "/local");
  if (!l) return tl::unexpected(l.error().withContext("copy the cache's repository"));
  auto r = copySide(remote, p, c->root_ + "/remote");
  if (!r) return tl::unexpected(r.error().withContext("copy the remote's repository"));
  c->local_ = *l;
  c->remote_ = *r;
  return c;
}

RepoCopies::~RepoCopies() {
  std::error_code ec;
  if (!root_.empty()) std::filesystem::remove_all(root_, ec);
}

}  // namespace hoard::sync
