// SPDX-License-Identifier: MIT
#include "remote/FdUtil.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <vector>

namespace hoard::remote::detail {

std::string fdProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string entryProcPath(int dirfd, std::string_view name) {
  std::string p = fdProcPath(dirfd);
  p += '/';
  p += name;
  return p;
}

namespace {

constexpr size_t kChunk = 1 << 20;

bool writeAll(int fd, const char* data, size_t len, int* err) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

Error stopped(std::string_view what) {
  return Error(ErrorCode::kAborted, std::string(what) + ": stopped on request mid-transfer");
}

}  // namespace

Result<uint64_t> copyFd(int in_fd, int out_fd, const ProgressFn& progress, std::string_view what,
                        std::optional<uint64_t> expected) {
  uint64_t done = 0;
  loff_t off_in = 0;
  bool use_cfr = true;
  auto chunk = [&] {
    return expected ? static_cast<size_t>(std::min<uint64_t>(kChunk, *expected - done)) : kChunk;
  };
  while (use_cfr) {
    if (expected && done >= *expected) return done;
    ssize_t n = ::copy_file_range(in_fd, &off_in, out_fd, nullptr, chunk(), 0);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      // The kernel (or this pair of filesystems) cannot do it: plain copy from
      // where we are. Partial progress is kept; offsets are explicit.
      if (err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP || err == EBADF) {
        use_cfr = false;
        break;
      }
      return failErrno(err, std::string("copy_file_range ") + std::string(what));
    }
    if (n == 0) return done;
    done += static_cast<uint64_t>(n);
    if (progress && !progress(done)) return tl::unexpected(stopped(what));
  }
  std::vector<char> buf(kChunk);
  for (;;) {
    if (expected && done >= *expected) return done;
    ssize_t n = ::pread(in_fd, buf.data(), chunk(), static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, std::string("read ") + std::string(what));
    }
    if (n == 0) return done;
    int err = 0;
    if (!writeAll(out_fd, buf.data(), static_cast<size_t>(n), &err)) {
      return failErrno(err, std::string("write ") + std::string(what));
    }
    done += static_cast<uint64_t>(n);
    if (progress && !progress(done)) return tl::unexpected(stopped(what));
  }
}

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail on a sane kernel; keep names unique regardless.
      std::random_device rd;
      for (; got < bytes; ++got) raw[got] = static_cast<unsigned char>(rd());
      break;
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace hoard::remote::detail
