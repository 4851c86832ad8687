// SPDX-License-Identifier: MIT
// Extended attributes in the view. A file the cache root holds answers with
// its own (as the engine syncs them: user.* both ways); a placeholder's
// user.* attributes come from the listing (a pass read them with it), online
// and offline, without waiting; where the listing holds none (it predates
// them, or the remote failed to say) from the remote while online, under
// the fetch deadline, and none offline. Setting or removing one makes the
// placeholder local first, like any change.

#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "remote/RemoteFs.h"
#include "view/ViewOps.h"

namespace hoard::view {

namespace {

ViewCore& core() { return requestCore(); }

bool isUserName(const char* name) { return std::strncmp(name, "user.", 5) == 0; }

// Runs fn(proc_path, follow) on the local copy of `p`: the path through
// /proc that reaches it without following a symlink of the share, and
// whether the call may follow the last component (only for the root).
template <class F>
long onLocal(const RelPath& p, F fn) {
  if (!p.empty()) {
    return atLocalParent(p, [&](int dir, const char* name) -> long {
      std::string proc = "/proc/self/fd/" + std::to_string(dir) + "/" + name;
      return fn(proc.c_str(), false);
    });
  }
  int fd = core().openLocal(RelPath(), O_PATH | O_DIRECTORY);
  if (fd < 0) return fd;
  long r = fn(("/proc/self/fd/" + std::to_string(fd)).c_str(), true);
  int err = errno;
  ::close(fd);
  return r < 0 ? -err : r;
}

// Copies `value` out as getxattr(2) does: its size when size is 0.
int answer(const std::string& value, char* out, size_t size) {
  if (size == 0) return static_cast<int>(value.size());
  if (value.size() > size) return -ERANGE;
  std::memcpy(out, value.data(), value.size());
  return static_cast<int>(value.size());
}

int opGetxattr(const char* path, const char* name, char* value, size_t size) {
  // Only user.* attributes exist in the view (the others are never taken,
  // opSetxattr), so the kernel's security.capability question before each
  // write is answered without touching the disk.
  if (!isUserName(name)) return -ENODATA;
  RelPath p = requestPath(path);
  if (isLocal(p)) {
    return static_cast<int>(onLocal(p, [&](const char* at, bool follow) {
      return follow ? ::getxattr(at, name, value, size) : ::lgetxattr(at, name, value, size);
    }));
  }
  auto e = core().tree.find(p);
  if (!e) return -ENOENT;
  if (e->xattrs) {  // as the last listing saw them: never waits
    auto it = e->xattrs->find(name);
    return it == e->xattrs->end() ? -ENODATA : answer(it->second, value, size);
  }
  if (!core().online()) return -ENODATA;
  std::string n = name;
  auto v = core().pool.run<std::string>(
      "getxattr " + displayPath(p), core().opts.fetch_deadline,
      [remote = core().remote, p, n](const remote::ProgressFn&) { return remote->getXattr(p, n); });
  if (!v) return v.error().code() == ErrorCode::kNotFound ? -ENODATA : -errnoOf(v.error());
  return answer(*v, value, size);
}

int opListxattr(const char* path, char* list, size_t size) {
  RelPath p = requestPath(path);
  if (isLocal(p)) {
    return static_cast<int>(onLocal(p, [&](const char* at, bool follow) {
      return follow ? ::listxattr(at, list, size) : ::llistxattr(at, list, size);
    }));
  }
  auto e = core().tree.find(p);
  if (!e) return -ENOENT;
  if (e->xattrs) {
    std::string packed;
    for (const auto& [n, v] : *e->xattrs)
      if (isUserName(n.c_str())) packed.append(n).push_back('\0');
    return answer(packed, list, size);
  }
  if (!core().online()) return 0;
  auto names = core().pool.run<std::vector<std::string>>(
      "listxattr " + displayPath(p), core().opts.fetch_deadline,
      [remote = core().remote, p](const remote::ProgressFn&) { return remote->listXattrs(p); });
  if (!names) return -errnoOf(names.error());
  std::string packed;
  for (const std::string& n : *names)
    if (isUserName(n.c_str())) packed.append(n).push_back('\0');
  return answer(packed, list, size);
}

// A change of `p`'s attributes: on its local copy, made local first.
int changeAttr(const char* path, const char* name) {
  RelPath p = requestPath(path);
  if (!core().opts.hydrate) return -EROFS;
  if (!p.empty() && remote::isInternalName(baseName(p), parentOf(p).empty())) return -EPERM;
  // Only user.* attributes go to the server; others would stay on this
  // laptop alone, so they are not taken.
  if (!isUserName(name)) return -ENOTSUP;
  return core().localize(p);
}

// `r` of a change of `path`'s attributes, reported once made.
int reported(const char* path, int r) {
  if (r == 0) core().reportAttrib(requestPath(path));
  return r;
}

int opSetxattr(const char* path, const char* name, const char* value, size_t size, int flags) {
  if (int r = changeAttr(path, name)) return r;
  return reported(path, static_cast<int>(onLocal(requestPath(path), [&](const char* at, bool follow) {
    return follow ? ::setxattr(at, name, value, size, flags)
                  : ::lsetxattr(at, name, value, size, flags);
  })));
}

int opRemovexattr(const char* path, const char* name) {
  if (int r = changeAttr(path, name)) return r;
  return reported(path, static_cast<int>(onLocal(requestPath(path), [&](const char* at, bool follow) {
    return follow ? ::removexattr(at, name) : ::lremovexattr(at, name);
  })));
}

}  // namespace

void addXattrOperations(fuse_operations& ops) {
  ops.getxattr = opGetxattr;
  ops.listxattr = opListxattr;
  ops.setxattr = opSetxattr;
  ops.removexattr = opRemovexattr;
}

}  // namespace hoard::view
