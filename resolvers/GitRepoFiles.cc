// SPDX-License-Identifier: MIT
// The file phases of a repository merge: each side's files listed, objects
// unioned, reflogs merged line by line, and the rest following the side
// whose HEAD is kept.

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "GitRepoOrder.h"
#include "GitRepoState.h"
#include "common/UniqueFd.h"

namespace hoard::resolvers::gitrepo {

namespace fs = std::filesystem;

Status listFiles(Side& side) {
  if (side.dir.empty()) return {};
  std::error_code ec;
  fs::recursive_directory_iterator it(side.dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    std::string rel = fs::relative(it->path(), side.dir, ec).generic_string();
    side.files[rel] = {static_cast<uint32_t>(st.st_mode & 07777), static_cast<uint64_t>(st.st_size)};
  }
  if (ec)
    return fail(ErrorCode::kIo, "list " + side.name() + " repository copy " +
                                    displayPath(side.dir) + ": " + ec.message());
  return {};
}

Result<std::string> readFile(const Side& side, const std::string& p) {
  const std::string path = side.dir + "/" + p;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return failErrno(errno, "read " + displayPath(p) + " of " + side.name() + " repository");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "read " + displayPath(p) + " of " + side.name() + " repository");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

namespace {

Side& other(MergeState& m, const Side& s) { return s.is_remote ? m.local : m.remote; }

void addWrite(MergeState& m, const Side& to, TreeWrite w) {
  w.to_remote = to.is_remote;
  m.out.writes.push_back(std::move(w));
}

}  // namespace

Status putBytes(MergeState& m, Side& to, const std::string& p, std::string bytes, uint32_t mode) {
  if (to.dir.empty()) return {};  // no repository on that side: nothing to give it
  if (to.has(p)) {
    auto now = readFile(to, p);
    if (!now) return tl::unexpected(now.error());
    if (*now == bytes) return {};
    mode = to.files[p].mode;
  }
  TreeWrite w;
  w.path = p;
  w.from = TreeWrite::From::kBytes;
  w.bytes = std::move(bytes);
  w.mode = mode;
  addWrite(m, to, std::move(w));
  return {};
}

void removeFile(MergeState& m, const Side& from, const std::string& p) {
  if (!from.has(p)) return;
  TreeWrite w;
  w.path = p;
  w.remove = true;
  addWrite(m, from, std::move(w));
}

Status copyAcross(MergeState& m, const Side& from, const std::string& p) {
  Side& to = other(m, from);
  if (to.dir.empty()) return {};
  if (to.has(p)) {
    if (to.files[p].size == from.files.at(p).size) {
      auto a = readFile(from, p);
      if (!a) return tl::unexpected(a.error());
      auto b = readFile(to, p);
      if (!b) return tl::unexpected(b.error());
      if (*a == *b) return {};
    }
  }
  TreeWrite w;
  w.path = p;
  w.from = from.is_remote ? TreeWrite::From::kRemote : TreeWrite::From::kLocal;
  w.mode = from.files.at(p).mode;
  addWrite(m, to, std::move(w));
  return {};
}

Status unionObjects(MergeState& m) {
  for (Side* from : {&m.local, &m.remote}) {
    Side& to = other(m, *from);
    if (to.dir.empty()) continue;
    for (const auto& [p, info] : from->files) {
      if (!isImmutableGitFile(p) || to.has(p)) continue;  // never overwritten
      TreeWrite w;
      w.path = p;
      w.from = from->is_remote ? TreeWrite::From::kRemote : TreeWrite::From::kLocal;
      w.create_only = true;
      w.mode = info.mode;
      addWrite(m, to, std::move(w));
      ++(to.is_remote ? m.out.objects_to_remote : m.out.objects_to_local);
    }
  }
  return {};
}

namespace {

// The cache's lines, then the remote's that the cache lacks, in their order.
std::string unionLines(const std::string& first, const std::string& second) {
  std::set<std::string> seen;
  std::string out = first;
  if (!out.empty() && out.back() != '\n') out += '\n';
  std::istringstream a(first), b(second);
  for (std::string line; std::getline(a, line);) seen.insert(line);
  for (std::string line; std::getline(b, line);)
    if (seen.insert(line).second) out += line + "\n";
  return out;
}

bool isReflog(const std::string& p) { return p.rfind("logs/", 0) == 0; }

}  // namespace

Status mergeReflogs(MergeState& m) {
  std::set<std::string> logs;
  for (const Side* s : {&m.local, &m.remote})
    for (const auto& [p, info] : s->files)
      if (isReflog(p)) logs.insert(p);
  for (const std::string& p : logs) {
    if (m.gone.count(p.substr(5))) {  // a deleted branch's reflog goes with it
      for (const Side* s : {&m.local, &m.remote}) removeFile(m, *s, p);
      m.settled.insert(p);
      continue;
    }
    std::string l, r;
    if (m.local.has(p)) {
      auto b = readFile(m.local, p);
      if (!b) return tl::unexpected(b.error());
      l = std::move(*b);
    }
    if (m.remote.has(p)) {
      auto b = readFile(m.remote, p);
      if (!b) return tl::unexpected(b.error());
      r = std::move(*b);
    }
    const std::string merged = unionLines(l, r);
    const uint32_t mode = m.local.has(p) ? m.local.files[p].mode : m.remote.files[p].mode;
    if (Status st = putBytes(m, m.local, p, merged, mode); !st) return st;
    if (Status st = putBytes(m, m.remote, p, merged, mode); !st) return st;
    m.settled.insert(p);
  }
  return {};
}

Status followHead(MergeState& m) {
  const Side& kept = m.out.head_from_remote ? m.remote : m.local;
  const Side& second = m.out.head_from_remote ? m.local : m.remote;
  for (const Side* from : {&kept, &second}) {
    for (const auto& [p, info] : from->files) {
      if (isImmutableGitFile(p) || m.settled.count(p)) continue;
      if (from == &second && kept.has(p)) continue;  // the kept side's version wins
      if (Status st = copyAcross(m, *from, p); !st) return st;
      m.settled.insert(p);
    }
  }
  return {};
}

}  // namespace hoard::resolvers::gitrepo
