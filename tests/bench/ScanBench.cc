// SPDX-License-Identifier: MIT
// hoard_bench_scan: how long a full scan of a cache root takes, as a ratio to
//   find TREE -printf '%s %T@ %i\n'
// (the same walk and stat, with nothing compared), and how long the tracker
// takes to absorb a burst of new files. A benchmark, not a test: it prints
// numbers and asserts nothing about time.
//
// Usage: hoard_bench_scan [--files N] [--dirs D] [--depth L] [--seed S]
//                         [--runs R] [--dir PATH] [--keep]
//                         [--burst N] [--no-scan] [--no-burst]
//   --files  files in the generated tree (default 100000)
//   --dirs   directories, nested up to --depth levels (default 1000, 5)
//   --dir    where to generate (default: a new mkdtemp dir under /tmp);
//            removed afterwards unless --keep
//   --runs   runs per measurement; the median is reported (default 5, min 3)
//   --burst  files in the tracker burst (default 10000)

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "common/Hash.h"
#include "common/UniqueFd.h"
#include "track/FolderTracker.h"
#include "track/Scanner.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using hoard::track::BaseIndex;
using hoard::track::Scanner;
using hoard::track::ScanOptions;

struct Args {
  size_t files = 100000;
  size_t dirs = 1000;
  size_t depth = 5;
  uint64_t seed = 42;
  size_t runs = 5;
  size_t burst = 10000;
  std::string dir;
  bool keep = false;
  bool scan = true;
  bool burst_enabled = true;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "hoard_bench_scan: %s\nusage: hoard_bench_scan [--files N] [--dirs D] [--depth L] "
               "[--seed S] [--runs R] [--dir PATH] [--keep] [--burst N] [--no-scan] "
               "[--no-burst]\n",
               msg);
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto num = [&]() -> uint64_t {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      char* end = nullptr;
      uint64_t v = std::strtoull(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0') usage(("not a number: " + std::string(argv[i])).c_str());
      return v;
    };
    if (k == "--files")
      a.files = num();
    else if (k == "--dirs")
      a.dirs = num();
    else if (k == "--depth")
      a.depth = num();
    else if (k == "--seed")
      a.seed = num();
    else if (k == "--runs")
      a.runs = std::max<uint64_t>(3, num());
    else if (k == "--burst")
      a.burst = num();
    else if (k == "--dir") {
      if (i + 1 >= argc) usage("missing value for --dir");
      a.dir = argv[++i];
    } else if (k == "--keep")
      a.keep = true;
    else if (k == "--no-scan")
      a.scan = false;
    else if (k == "--no-burst")
      a.burst_enabled = false;
    else
      usage(("unknown argument " + k).c_str());
  }
  if (a.dirs == 0 || a.depth == 0) usage("--dirs and --depth must be at least 1");
  return a;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void die(const std::string& what) {
  std::fprintf(stderr, "hoard_bench_scan: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

// ~`dirs` directories nested up to `depth` levels and `files` small files
// spread over them, all from `seed`.
void generateTree(const std::string& root, const Args& a) {
  std::mt19937_64 rng(a.seed);
  std::vector<std::string> dirs = {""};
  std::vector<size_t> depth_of = {0};
  for (size_t i = 0; i < a.dirs; ++i) {
    size_t parent;
    do {
      parent = rng() % dirs.size();
    } while (depth_of[parent] >= a.depth);
    std::string p = (dirs[parent].empty() ? "" : dirs[parent] + "/") + "dir" + std::to_string(i);
    if (::mkdir((root + "/" + p).c_str(), 0755) != 0) die("mkdir " + p);
    dirs.push_back(p);
    depth_of.push_back(depth_of[parent] + 1);
  }
  std::string buf(4096, 'x');
  for (auto& c : buf) c = static_cast<char>('a' + rng() % 26);
  for (size_t i = 0; i < a.files; ++i) {
    const std::string& d = dirs[rng() % dirs.size()];
    std::string p = root + "/" + (d.empty() ? "" : d + "/") + "file" + std::to_string(i) + ".txt";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("create " + p);
    size_t size = rng() % 2048;
    if (::write(fd, buf.data() + rng() % 2048, size) != static_cast<ssize_t>(size)) die("write");
    ::close(fd);
  }
}

double timeFind(const std::string& root) {
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, devnull, 1);
  std::string fmt = "%s %T@ %i\\n";
  std::vector<char*> argv = {const_cast<char*>("find"), const_cast<char*>(root.c_str()),
                             const_cast<char*>("-printf"), fmt.data(), nullptr};
  auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawnp(&pid, "find", &fa, nullptr, argv.data(), environ) != 0) die("spawn find");
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto t1 = Clock::now();
  posix_spawn_file_actions_destroy(&fa);
  ::close(devnull);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "hoard_bench_scan: find failed\n");
    std::exit(1);
  }
  return ms(t1 - t0);
}

struct ScanTiming {
  double ms = 0;
  size_t changes = 0;
  uint64_t hashed = 0;
};

ScanTiming timeScan(const std::string& root, const BaseIndex& base, ScanOptions opts) {
  Scanner scanner(root, std::move(opts));
  auto t0 = Clock::now();
  auto r = scanner.scan(base);
  auto t1 = Clock::now();
  if (!r) {
    std::fprintf(stderr, "hoard_bench_scan: scan failed: %s\n", r.error().toString().c_str());
    std::exit(1);
  }
  return {ms(t1 - t0), r->changes.size(), r->stats.files_hashed};
}

BaseIndex buildBase(const std::string& root) {
  auto r = Scanner(root).scan({});
  if (!r) {
    std::fprintf(stderr, "hoard_bench_scan: scan failed: %s\n", r.error().toString().c_str());
    std::exit(1);
  }
  hoard::UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::vector<hoard::BaseEntry> rows;
  rows.reserve(r->observed.size());
  for (auto& o : r->observed) {
    hoard::BaseEntry b;
    b.path = std::move(o.path);
    b.local = o.meta;
    b.symlink_target = std::move(o.symlink_target);
    if (b.local.type == hoard::FileType::kFile) {
      auto h = hoard::hashFileAt(root_fd.get(), b.path);
      if (h) b.hash = *h;
    }
    rows.push_back(std::move(b));
  }
  return hoard::track::makeBaseIndex(std::move(rows));
}

void runScanBench(const std::string& tree, const Args& a) {
  std::printf("tree: %s (%zu files, %zu dirs, depth <= %zu, seed %" PRIu64 ")\n", tree.c_str(),
              a.files, a.dirs, a.depth, a.seed);
  BaseIndex base = buildBase(tree);
  std::printf("base: %zu entries\n", base.size());

  // Warm the dentry and inode caches for everyone alike.
  timeFind(tree);
  timeScan(tree, base, {});

  std::vector<double> find_ms, scan_ms, lean_ms, verify_ms;
  size_t changes = 0;
  uint64_t hashed = 0;
  for (size_t i = 0; i < a.runs; ++i) {
    // Interleaved so drift in machine load hits every variant alike.
    find_ms.push_back(timeFind(tree));
    auto s = timeScan(tree, base, {});
    scan_ms.push_back(s.ms);
    changes += s.changes;
    ScanOptions lean;
    lean.collect_observed = false;
    lean_ms.push_back(timeScan(tree, base, lean).ms);
    ScanOptions verify;
    verify.verify = true;
    auto v = timeScan(tree, base, verify);
    verify_ms.push_back(v.ms);
    hashed = v.hashed;
    changes += v.changes;
  }
  const double f = median(find_ms);
  std::printf("\n%-44s %10s %10s %8s\n", "measurement (median of runs, warm cache)", "median ms",
              "min ms", "x find");
  auto row = [&](const char* name, const std::vector<double>& v) {
    std::printf("%-44s %10.1f %10.1f %8.2f\n", name, median(v),
                *std::min_element(v.begin(), v.end()), median(v) / f);
  };
  row("find -printf '%s %T@ %i\\n' > /dev/null", find_ms);
  row("scanner, full scan vs base (unchanged)", scan_ms);
  row("scanner, same without collecting observed", lean_ms);
  row("scanner, verify (hash every file)", verify_ms);
  std::printf(
      "(%zu runs each; changes reported on the unchanged tree: %zu; files hashed by "
      "verify: %" PRIu64 ")\n",
      a.runs, changes, hashed);
  if (changes != 0) {
    std::fprintf(stderr, "hoard_bench_scan: the scanner reported changes on an unchanged tree\n");
    std::exit(1);
  }
}

// Counts the creates and mkdirs delivered and notes when the last expected
// one arrived: "absorbed" means every new entry is durable in the sink.
class BurstSink : public hoard::track::ChangeSink {
 public:
  explicit BurstSink(size_t expected) : expected_(expected) {}
  hoard::Status recordChanges(const std::vector<hoard::Change>& changes) override {
    std::lock_guard lock(mu_);
    for (const auto& c : changes) {
      ++total_;
      if (c.op == hoard::ChangeOp::kCreate || c.op == hoard::ChangeOp::kMkdir) ++created_;
    }
    if (created_ >= expected_ && !done_) {
      done_ = true;
      done_at_ = Clock::now();
      cv_.notify_all();
    }
    return {};
  }
  void rescanNeeded(const hoard::RelPath&) override {
    std::lock_guard lock(mu_);
    ++rescans_;
    cv_.notify_all();
  }
  // Waits until every expected entry arrived or a rescan was requested.
  bool wait(std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_ || rescans_ > 0; }) && done_;
  }
  Clock::time_point doneAt() {
    std::lock_guard lock(mu_);
    return done_at_;
  }
  size_t created() {
    std::lock_guard lock(mu_);
    return created_;
  }
  size_t total() {
    std::lock_guard lock(mu_);
    return total_;
  }
  size_t rescans() {
    std::lock_guard lock(mu_);
    return rescans_;
  }

 private:
  const size_t expected_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t created_ = 0;           // GUARDED_BY(mu_)
  size_t total_ = 0;             // GUARDED_BY(mu_)
  size_t rescans_ = 0;           // GUARDED_BY(mu_)
  bool done_ = false;            // GUARDED_BY(mu_)
  Clock::time_point done_at_{};  // GUARDED_BY(mu_)
};

void runBurstBench(const std::string& parent, const Args& a) {
  const std::string root = parent + "/burst";
  if (::mkdir(root.c_str(), 0755) != 0) die("mkdir " + root);
  // 10 top directories, each with 10 subdirectories, files spread over the
  // 100 leaves: the shape of an unpacked archive or a checkout.
  const size_t tops = 10, subs = 10;
  const size_t expected = a.burst + tops + tops * subs;
  BurstSink sink(expected);
  auto tracker = hoard::track::FolderTracker::start(root, sink);
  if (!tracker) {
    std::fprintf(stderr, "hoard_bench_scan: tracker: %s\n", tracker.error().toString().c_str());
    std::exit(1);
  }
  auto t0 = Clock::now();
  for (size_t t = 0; t < tops; ++t) {
    std::string top = root + "/top" + std::to_string(t);
    if (::mkdir(top.c_str(), 0755) != 0) die("mkdir " + top);
    for (size_t s = 0; s < subs; ++s) {
      std::string sub = top + "/sub" + std::to_string(s);
      if (::mkdir(sub.c_str(), 0755) != 0) die("mkdir " + sub);
      const size_t leaf = t * subs + s;
      for (size_t i = leaf; i < a.burst; i += tops * subs) {
        std::string p = sub + "/f" + std::to_string(i);
        int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) die("create " + p);
        if (::write(fd, "x", 1) != 1) die("write " + p);
        ::close(fd);
      }
    }
  }
  auto t1 = Clock::now();
  const bool done = sink.wait(std::chrono::seconds(120));
  const auto t2 = done ? sink.doneAt() : Clock::now();
  auto stats = (*tracker)->stats();
  auto st = (*tracker)->stop();
  std::printf("\ntracker burst: %zu files in %zu new nested directories\n", a.burst,
              tops + tops * subs);
  std::printf("  creating them took (tracker running)    %10.1f ms\n", ms(t1 - t0));
  if (done) {
    std::printf("  last create/mkdir recorded after        %10.1f ms from the first mkdir\n",
                ms(t2 - t0));
    std::printf("  tracker lag after the burst ended       %10.1f ms\n",
                std::max(0.0, ms(t2 - t1)));
  } else {
    std::printf("  NOT all absorbed: %zu of %zu creates/mkdirs, %zu rescans requested\n",
                sink.created(), expected, sink.rescans());
  }
  std::printf("  watcher events %" PRIu64 ", changes recorded %zu, rescans %zu%s\n", stats.events,
              sink.total(), sink.rescans(), st ? "" : (", stop: " + st.error().toString()).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parseArgs(argc, argv);
  std::string parent = a.dir;
  bool made = false;
  if (parent.empty()) {
    char tmpl[] = "/tmp/hoard-bench-scan-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    parent = tmpl;
    made = true;
  } else if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
    die("mkdir " + parent);
  }
  const std::string tree = parent + "/tree";
  if (a.scan) {
    struct stat st;
    if (::stat(tree.c_str(), &st) == 0) {
      std::printf("reusing existing tree %s\n", tree.c_str());
    } else {
      if (::mkdir(tree.c_str(), 0755) != 0) die("mkdir " + tree);
      auto t0 = Clock::now();
      generateTree(tree, a);
      std::printf("generated in %.1f s\n", ms(Clock::now() - t0) / 1000);
    }
    runScanBench(tree, a);
  }
  if (a.burst_enabled) {
    std::error_code ec;
    std::filesystem::remove_all(parent + "/burst", ec);  // a kept one from an earlier run
    runBurstBench(parent, a);
  }
  std::error_code ec;
  if (!a.keep) {
    std::filesystem::remove_all(tree, ec);
    std::filesystem::remove_all(parent + "/burst", ec);
    if (made) std::filesystem::remove_all(parent, ec);
  }
  return 0;
}
