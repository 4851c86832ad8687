// SPDX-License-Identifier: MIT
#include "common/FileMeta.h"

namespace hoard {

std::string_view fileTypeName(FileType t) {
  switch (t) {
    case FileType::kNone: return "none";
    case FileType::kFile: return "file";
    case FileType::kDir: return "dir";
    case FileType::kSymlink: return "symlink";
    case FileType::kOther: return "other";
  }
  return "other";
}

FileType fileTypeFromMode(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kFile;
  if (S_ISDIR(mode)) return FileType::kDir;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kOther;
}

FileMeta FileMeta::fromStat(const struct stat& st) {
  FileMeta m;
  m.type = fileTypeFromMode(st.st_mode);
  m.size = m.type == FileType::kDir ? 0 : static_cast<uint64_t>(st.st_size);
  m.mode = st.st_mode & 07777;
  m.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  m.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  m.inode = st.st_ino;
  return m;
}

}  // namespace hoard
