// SPDX-License-Identifier: MIT
// hoard-lister: run on the server next to a share's data (by hoardd, over
// ssh), it walks the tree beneath ROOT and writes what it holds to stdout
// in the form agent/remote/ListerProtocol.h describes. No daemon, no root,
// nothing written: a pass learns the whole tree in one ssh round trip
// instead of one per directory and per file through the mount.
//
//   hoard-lister ROOT        the tree beneath ROOT
//   hoard-lister --version

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "remote/ListerProtocol.h"
#include "remote/RemoteFs.h"

namespace {

using hoard::FileMeta;
using hoard::remote::ListerEntry;

class Walker {
 public:
  explicit Walker(FILE* out) : out_(out) {}

  // The entries of the directory `fd` (which it closes), at `path`.
  void walk(int fd, const std::string& path) {
    std::vector<std::string> names;
    if (int err = readNames(fd, names); err != 0) {
      emitUnlisted(path, err);
      return;
    }
    std::sort(names.begin(), names.end());
    std::vector<std::string> subdirs;
    for (const auto& name : names) {
      if (hoard::remote::listerSkips(name, path.empty())) continue;
      struct stat st;
      if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
      ListerEntry e;
      e.path = path.empty() ? name : path + "/" + name;
      e.meta = FileMeta::fromStat(st);
      e.dev = st.st_dev;
      emit(e);
      if (S_ISDIR(st.st_mode)) subdirs.push_back(name);
    }
    for (const auto& name : subdirs) {
      std::string sub = path.empty() ? name : path + "/" + name;
      int child = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        if (errno != ENOENT) emitUnlisted(sub, errno);
        continue;
      }
      walk(child, sub);
    }
    close(fd);
  }

  uint64_t count() const { return count_; }

 private:
  // 0, or the errno that stopped the listing.
  static int readNames(int fd, std::vector<std::string>& names) {
    int dup_fd = dup(fd);
    if (dup_fd < 0) return errno;
    DIR* d = fdopendir(dup_fd);
    if (d == nullptr) {
      int err = errno;
      close(dup_fd);
      return err;
    }
    errno = 0;
    while (struct dirent* de = readdir(d)) {
      if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0)
        names.emplace_back(de->d_name);
      errno = 0;
    }
    int err = errno;
    closedir(d);
    return err;
  }
  void emit(const ListerEntry& e) {
    std::string line = hoard::remote::listerEntryLine(e);
    std::fwrite(line.data(), 1, line.size(), out_);
    ++count_;
  }
  void emitUnlisted(const std::string& path, int err) {
    ListerEntry e;
    e.path = path;
    e.unlisted_errno = err;
    emit(e);
  }

  FILE* out_;
  uint64_t count_ = 0;
};

// The marker's bytes, if the root has one.
bool readMarker(int root, std::string& bytes) {
  int fd = openat(root, std::string(hoard::remote::kMarkerName).c_str(),
                  O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n < 0) return false;
  bytes.assign(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("hoard-lister protocol %d\n", hoard::remote::kListerProtocol);
    return 0;
  }
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: hoard-lister ROOT\n");
    return 2;
  }
  int root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    std::fprintf(stderr, "hoard-lister: cannot open %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  static char buffer[1 << 16];
  std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  std::string marker;
  bool has_marker = readMarker(root, marker);
  std::string header = hoard::remote::listerHeader(marker, has_marker);
  std::fwrite(header.data(), 1, header.size(), stdout);
  Walker walker(stdout);
  walker.walk(root, "");
  std::string end = hoard::remote::listerEndLine(walker.count());
  std::fwrite(end.data(), 1, end.size(), stdout);
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "hoard-lister: writing the answer: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}
