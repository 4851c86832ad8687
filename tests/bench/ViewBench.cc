// SPDX-License-Identifier: MIT
// The FUSE view against the same operations on a plain directory (issue 14's
// speed aims): find over a listing, a warm and a cold sequential read of a
// hydrated file, fetch-on-read of a placeholder against cp from the remote,
// and untar of small files into the view against a plain directory.
// Prints numbers; asserts nothing. Needs root (mounts).
// Usage: hoard_bench_view [ENTRIES=20000] [MIB=256]
// With HOARD_BENCH_PERF=find|warm|cold|fetch|untar, that item's command through
// the view runs under `perf record -a -g` (into /tmp/hoard-bench-ITEM.data).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "remote/PosixRemoteFs.h"
#include "view/View.h"

namespace {

using namespace hoard;

double timed(const std::string& cmd) {
  auto t0 = std::chrono::steady_clock::now();
  if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "failed: %s\n", cmd.c_str());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void writeBig(const std::string& path, size_t mib) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(1 << 20, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
  for (size_t i = 0; i < mib; ++i) out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Drops `path`'s pages from the page cache (a cold read follows). Through
// the view this drops the view's own pages; the backing file is dropped by
// its own path.
void dropCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return (void)std::fprintf(stderr, "cannot open %s to drop its cache\n", path.c_str());
  ::fdatasync(fd);  // dirty pages are not dropped
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// `files` small files (100 bytes to 4 KiB) in directories of 100, as a tar.
void makeTar(const std::string& tmp, size_t files) {
  std::string src = tmp + "/tar-src";
  for (size_t i = 0; i < files; ++i) {
    std::string dir = src + "/s" + std::to_string(i / 100);
    if (i % 100 == 0) std::filesystem::create_directories(dir);
    std::ofstream(dir + "/f" + std::to_string(i) + ".txt") << std::string(100 + (i * 37) % 4000, 'x');
  }
  timed("tar -cf " + tmp + "/small.tar -C " + src + " .");
}

// `cmd` for item `item` through the view: under perf if HOARD_BENCH_PERF names it.
std::string viewCmd(const char* item, const std::string& cmd) {
  const char* want = std::getenv("HOARD_BENCH_PERF");
  if (!want || std::string(want) != item) return cmd;
  const char* events = std::getenv("HOARD_BENCH_PERF_EVENTS");  // e.g. -e fuse:fuse_request_send
  return "perf record -q -a " + std::string(events ? events : "-g") + " -o /tmp/hoard-bench-" + std::string(item) + ".data -- sh -c '" +
         cmd + "'";
}

}  // namespace

int main(int argc, char** argv) {
  size_t entries = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256;
  char tmpl[] = "/tmp/hoard-view-bench-XXXXXX";
  std::string tmp = ::mkdtemp(tmpl);
  for (auto* d : {"/remote", "/cache", "/parts", "/mnt"}) std::filesystem::create_directory(tmp + d);
  for (size_t i = 0; i < entries; ++i) {
    std::string dir = tmp + "/remote/d" + std::to_string(i / 100);
    if (i % 100 == 0) std::filesystem::create_directory(dir);
    std::ofstream(dir + "/f" + std::to_string(i)) << i;
  }
  writeBig(tmp + "/remote/big.bin", mib);
  writeBig(tmp + "/cache/hydrated.bin", mib);

  auto fs = std::make_shared<remote::PosixRemoteFs>(tmp + "/remote");
  auto walked = fs->walk("");
  if (!walked) return std::fprintf(stderr, "%s\n", walked.error().toString().c_str()), 1;
  std::vector<journal::ListedEntry> listing;
  for (auto& w : *walked)
    listing.push_back({w.path, w.stat.meta, w.stat.data_version, w.stat.symlink_target});
  view::ViewOptions o;
  o.name = "bench";
  o.mountpoint = tmp + "/mnt";
  o.cache_root = tmp + "/cache";
  o.parts_dir = tmp + "/parts";
  // Writable (new files need it); the bench never changes a placeholder.
  o.hydrate = [](const RelPath& rel) -> Status {
    return fail(ErrorCode::kIo, "the bench hydrates nothing: " + displayPath(rel));
  };
  auto v = view::View::mount(o, listing, fs);
  if (!v) return std::fprintf(stderr, "%s\n", v.error().toString().c_str()), 1;
  (*v)->setOnline(true);

  timed("find " + tmp + "/remote > /dev/null");  // warm both
  timed("find " + tmp + "/mnt > /dev/null");
  // A find takes some 10 ms: the median of 5, each side in turn.
  std::vector<double> plain_runs, view_runs;
  for (int i = 0; i < 5; ++i) {
    plain_runs.push_back(timed("find " + tmp + "/remote > /dev/null"));
    view_runs.push_back(timed(viewCmd("find", "find " + tmp + "/mnt > /dev/null")));
  }
  double find_plain = median(plain_runs), find_view = median(view_runs);
  std::printf("find over %zu entries (median of 5): plain %.3f s, view %.3f s, ratio %.2fx\n",
              entries + 1, find_plain, find_view, find_view / find_plain);

  timed("cat " + tmp + "/cache/hydrated.bin > /dev/null");
  timed("cat " + tmp + "/mnt/hydrated.bin > /dev/null");
  double read_plain = timed("cat " + tmp + "/cache/hydrated.bin > /dev/null");
  double read_view = timed(viewCmd("warm", "cat " + tmp + "/mnt/hydrated.bin > /dev/null"));
  std::printf("warm read of a hydrated %zu MiB file: plain %.0f MiB/s, view %.0f MiB/s, %.2fx\n",
              mib, mib / read_plain, mib / read_view, read_plain / read_view);

  std::string backing = tmp + "/cache/hydrated.bin", through = tmp + "/mnt/hydrated.bin";
  dropCache(backing);
  double cold_plain = timed("cat " + backing + " > /dev/null");
  dropCache(backing);
  dropCache(through);
  double cold_view = timed(viewCmd("cold", "cat " + through + " > /dev/null"));
  std::printf("cold read of a hydrated %zu MiB file: plain %.0f MiB/s, view %.0f MiB/s, %.2fx\n",
              mib, mib / cold_plain, mib / cold_view, cold_plain / cold_view);

  double cp_plain = timed("cp " + tmp + "/remote/big.bin " + tmp + "/copy1");
  double cp_view = timed(viewCmd("fetch", "cp " + tmp + "/mnt/big.bin " + tmp + "/copy2"));
  std::printf("fetch-on-read of a %zu MiB placeholder: cp from remote %.0f MiB/s, via view %.0f MiB/s, %.2fx\n",
              mib, mib / cp_plain, mib / cp_view, cp_plain / cp_view);
  // cp copies from a plain directory in the kernel (copy_file_range), not
  // through itself as it must from the view: cat is read and write on both.
  dropCache(tmp + "/copy1");
  dropCache(tmp + "/copy2");
  std::filesystem::remove(tmp + "/copy1");
  std::filesystem::remove(tmp + "/copy2");
  (void)(*v)->evict(RelPath("big.bin"));
  double cat_plain = timed("cat " + tmp + "/remote/big.bin > " + tmp + "/copy1");
  double cat_view = timed("cat " + tmp + "/mnt/big.bin > " + tmp + "/copy2");
  std::printf("  the same with cat (read and write on both sides): remote %.0f MiB/s, via view %.0f MiB/s, %.2fx\n",
              mib / cat_plain, mib / cat_view, cat_plain / cat_view);

  const size_t small = 2000;
  makeTar(tmp, small);
  for (auto* d : {"/untar-plain1", "/untar-plain2", "/mnt/untar1", "/mnt/untar2"})
    std::filesystem::create_directory(tmp + d);
  timed("tar -xf " + tmp + "/small.tar -C " + tmp + "/untar-plain1");  // warm both
  timed("tar -xf " + tmp + "/small.tar -C " + tmp + "/mnt/untar1");
  double untar_plain = timed("tar -xf " + tmp + "/small.tar -C " + tmp + "/untar-plain2");
  double untar_view =
      timed(viewCmd("untar", "tar -xf " + tmp + "/small.tar -C " + tmp + "/mnt/untar2"));
  std::printf("untar of %zu small files: plain %.3f s, view %.3f s, ratio %.2fx\n", small,
              untar_plain, untar_view, untar_view / untar_plain);
  v->reset();
  std::filesystem::remove_all(tmp);
  return 0;
}
