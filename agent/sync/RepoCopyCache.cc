// SPDX-License-Identifier: MIT
#include "sync/RepoCopyCache.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "GitRepoOrder.h"
#include "common/UniqueFd.h"

namespace hoard::sync {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "hoard-repo-";

// One side's copy: each file's path inside the repository and the version
// it was copied at.
struct SideCopy {
  std::map<std::string, std::string> versions;
};

// Copies `from` (a file of the side) to `to` through a temporary beside it.
Status fetchInto(remote::RemoteFs& fs, const RelPath& from, const std::string& to, uint32_t mode,
                 RepoCopies::Stats& stats) {
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  const std::string tmp = to + ".hoard-copy";
  ::unlink(tmp.c_str());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return failErrno(errno, "make " + displayPath(tmp));
  auto got = fs.fetchFile(from, fd.get(), nullptr);
  if (!got) {
    ::unlink(tmp.c_str());
    return tl::unexpected(got.error().withContext("copy " + displayPath(from)));
  }
  if (::fchmod(fd.get(), mode & 0777) != 0 || ::rename(tmp.c_str(), to.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return failErrno(err, "place the copy of " + displayPath(from));
  }
  ++stats.copied;
  stats.copied_bytes += got->meta.size;
  return {};
}

// Brings `into` up to what `fs` holds at `p`: false if it holds no
// directory there (the copy is then emptied).
Result<bool> refreshSide(remote::RemoteFs& fs, const RelPath& p, const std::string& into,
                         SideCopy& copy, RepoCopies::Stats& stats) {
  std::error_code ec;
  auto st = fs.lstat(p);
  if (!st && st.error().code() != ErrorCode::kNotFound) return tl::unexpected(st.error());
  if (!st || st->meta.type != FileType::kDir) {
    fs::remove_all(into, ec);
    copy.versions.clear();
    return false;
  }
  if (::mkdir(into.c_str(), 0700) != 0 && errno != EEXIST)
    return failErrno(errno, "make " + displayPath(into));
  auto walked = fs.walk(p);
  if (!walked) return tl::unexpected(walked.error());
  std::set<std::string> seen;
  for (const remote::WalkEntry& e : *walked) {
    if (e.unlisted) return tl::unexpected(*e.unlisted);
    const std::string inside = p.empty() ? e.path : e.path.substr(p.size() + 1);
    const std::string to = into + "/" + inside;
    if (e.stat.meta.type == FileType::kDir) {
      fs::create_directories(to, ec);
      continue;
    }
    if (e.stat.meta.type == FileType::kSymlink) {  // kept as one: the resolver decides (GitRepo.h)
      seen.insert(inside);
      const std::string version = "symlink:" + e.stat.symlink_target;
      auto was = copy.versions.find(inside);
      if (was != copy.versions.end() && was->second == version) {
        ++stats.reused;
        continue;
      }
      fs::create_directories(fs::path(to).parent_path(), ec);
      ::unlink(to.c_str());
      if (::symlink(e.stat.symlink_target.c_str(), to.c_str()) != 0)
        return failErrno(errno, "make " + displayPath(to));
      copy.versions[inside] = version;
      continue;
    }
    if (e.stat.meta.type != FileType::kFile) continue;
    seen.insert(inside);
    const std::string version = e.stat.data_version + "/" + std::to_string(e.stat.meta.size);
    auto was = copy.versions.find(inside);
    struct stat held;
    const bool have = was != copy.versions.end() && ::lstat(to.c_str(), &held) == 0;
    // An object or pack is named by its content: git may touch it (its
    // data version moves), never change it.
    if (have && (was->second == version ||
                 (resolvers::isImmutableGitFile(inside) &&
                  static_cast<uint64_t>(held.st_size) == e.stat.meta.size))) {
      was->second = version;
      ++stats.reused;
      continue;
    }
    if (Status got = fetchInto(fs, e.path, to, e.stat.meta.mode, stats); !got)
      return tl::unexpected(got.error());
    copy.versions[inside] = version;
  }
  for (auto it = copy.versions.begin(); it != copy.versions.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    ::unlink((into + "/" + it->first).c_str());
    ++stats.removed;
    it = copy.versions.erase(it);
  }
  return true;
}

// Removes the copies of processes that no longer run.
void sweepDead(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    char* rest = nullptr;
    long pid = std::strtol(name.c_str() + std::char_traits<char>::length(kPrefix), &rest, 10);
    if (pid <= 0 || rest == nullptr || *rest != '-' || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

// `mu`, held here, now belongs to a handle that outlives the scope (and
// unlocks it when it goes): the analysis cannot follow a lock out of the
// function that took it, so this tells it the lock is let go.
void handOver(Mutex& mu) HOARD_RELEASE(mu) HOARD_NO_THREAD_SAFETY_ANALYSIS { (void)mu; }

}  // namespace

struct RepoCopyCache::Entry {
  std::string root;
  Mutex use;  // held by the copy's one user (a RepoCopies handle)
  // For the least recently used; guarded by the cache's mu_ (another
  // object's lock, which HOARD_GUARDED_BY cannot name from here).
  uint64_t used = 0;
  SideCopy sides[2] HOARD_GUARDED_BY(use);  // the cache's, the remote's
  ~Entry() {
    std::error_code ec;
    if (!root.empty()) fs::remove_all(root, ec);
  }
};

RepoCopyCache::RepoCopyCache(std::string tmp_dir) : tmp_dir_(std::move(tmp_dir)) {
  if (tmp_dir_.empty()) {
    std::error_code ec;
    tmp_dir_ = fs::temp_directory_path(ec).string();
    if (ec || tmp_dir_.empty()) tmp_dir_ = "/tmp";
  }
  sweepDead(tmp_dir_);
}

RepoCopyCache::~RepoCopyCache() {
  MutexLock lock(mu_);
  entries_.clear();
}

void RepoCopyCache::drop(const RelPath& p) {
  std::shared_ptr<Entry> gone;  // removed outside the lock
  MutexLock lock(mu_);
  auto it = entries_.find(p);
  if (it == entries_.end()) return;
  gone = std::move(it->second);
  entries_.erase(it);
}

std::vector<std::string> RepoCopyCache::dirs() const {
  MutexLock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [p, e] : entries_) out.push_back(e->root);
  return out;
}

Result<std::unique_ptr<RepoCopies>> RepoCopyCache::get(remote::RemoteFs& local,
                                                       remote::RemoteFs& remote, const RelPath& p,
                                                       const RepoBase* base, Mutex& quiet) {
  std::shared_ptr<Entry> e;
  std::vector<std::shared_ptr<Entry>> evicted;
  {
    MutexLock lock(mu_);
    std::shared_ptr<Entry>& slot = entries_[p];
    if (!slot) {
      std::string tmpl = tmp_dir_ + "/" + kPrefix + std::to_string(::getpid()) + "-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) {
        int err = errno;
        entries_.erase(p);
        return failErrno(err, "make a directory in " + tmp_dir_);
      }
      slot = std::make_shared<Entry>();
      slot->root = tmpl;
    }
    e = slot;
    e->used = ++clock_;
    while (entries_.size() > kMaxCopies) {
      auto oldest = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second != e && (oldest == entries_.end() || it->second->used < oldest->second->used))
          oldest = it;
      evicted.push_back(std::move(oldest->second));
      entries_.erase(oldest);
    }
  }
  e->use.lock();  // another user of this copy finishes first; the handle lets it go
  std::unique_ptr<RepoCopies> c(new RepoCopies);
  // Lets the copy go (unlocked by the caller first) and passes `err` on.
  auto fail_and_drop = [&](Error err) -> Result<std::unique_ptr<RepoCopies>> {
    MutexLock lock(mu_);
    auto it = entries_.find(p);
    if (it != entries_.end() && it->second == e) entries_.erase(it);
    return tl::unexpected(std::move(err));
  };
  {
    MutexLock no_pass(quiet);
    auto l = refreshSide(local, p, e->root + "/local", e->sides[0], c->stats_);
    if (!l) {
      e->use.unlock();
      return fail_and_drop(l.error().withContext("copy the cache's repository"));
    }
    auto r = refreshSide(remote, p, e->root + "/remote", e->sides[1], c->stats_);
    if (!r) {
      e->use.unlock();
      return fail_and_drop(r.error().withContext("copy the remote's repository"));
    }
    c->local_ = *l ? e->root + "/local" : "";
    c->remote_ = *r ? e->root + "/remote" : "";
    std::error_code ec;
    fs::remove_all(e->root + "/base", ec);
    if (base != nullptr) {
      auto complete = copyBaseRefs(*base, p, e->root + "/base");
      if (!complete) {
        e->use.unlock();
        return fail_and_drop(complete.error().withContext("copy the base's refs"));
      }
      if (*complete) c->base_ = e->root + "/base";
    }
  }
  struct Hold {
    std::shared_ptr<Entry> entry;
    std::unique_lock<Mutex> use;
  };
  c->hold_ = std::make_shared<Hold>(Hold{e, std::unique_lock<Mutex>(e->use, std::adopt_lock)});
  handOver(e->use);
  return c;
}

}  // namespace hoard::sync
