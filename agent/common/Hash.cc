// SPDX-License-Identifier: MIT
#include "common/Hash.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "common/RelPath.h"
#include "common/UniqueFd.h"

namespace hoard {

std::string ContentHash::hex() const {
  static const char kHex[] = "0123456789abcdef";
  std::string out(kSize * 2, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xF];
  }
  return out;
}

Result<ContentHash> ContentHash::fromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != kSize * 2)
    return fail(ErrorCode::kInvalidArgument, "content hash must be 64 hex digits");
  ContentHash h;
  for (size_t i = 0; i < kSize; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return fail(ErrorCode::kInvalidArgument, "content hash has a non-hex digit");
    h.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

Result<ContentHash> ContentHash::fromRaw(std::string_view raw) {
  if (raw.size() != kSize)
    return fail(ErrorCode::kCorrupt, "stored content hash has " + std::to_string(raw.size()) +
                                         " bytes, expected 32");
  ContentHash h;
  __builtin_memcpy(h.bytes.data(), raw.data(), kSize);
  return h;
}

Hasher::Hasher() { blake2b_init(&state_, ContentHash::kSize); }

void Hasher::update(const void* data, size_t len) {
  blake2b_update(&state_, static_cast<const uint8_t*>(data), len);
}

ContentHash Hasher::finish() {
  ContentHash h;
  blake2b_final(&state_, h.bytes.data(), ContentHash::kSize);
  return h;
}

ContentHash hashBytes(std::string_view data) {
  Hasher h;
  h.update(data);
  return h.finish();
}

Result<ContentHash> hashFd(int fd, std::string_view what) {
  Hasher h;
  // One buffer per thread: hashing many small files must not allocate and
  // zero-fill 128 KiB each time.
  thread_local std::vector<char> buf(1 << 17);
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, "read " + displayPath(what));
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    off += n;
  }
  return h.finish();
}

Result<ContentHash> hashFileAt(int dirfd, const std::string& path) {
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) return failErrno(errno, "open " + displayPath(path));
  return hashFd(fd.get(), path);
}

}  // namespace hoard
