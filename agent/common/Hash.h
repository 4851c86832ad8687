// SPDX-License-Identifier: MIT
#pragma once

// Content hashes: BLAKE2b with a 32-byte digest (libb2). Cryptographic, so a
// crafted collision cannot make two different contents look equal.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <blake2.h>

#include "common/Error.h"

namespace hoard {

struct ContentHash {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  auto operator<=>(const ContentHash&) const = default;

  // 64 lowercase hex digits.
  std::string hex() const;
  // Parses 64 hex digits; kInvalidArgument otherwise.
  static Result<ContentHash> fromHex(std::string_view hex);
  // The raw 32 bytes as a string (for BLOB columns).
  std::string_view raw() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  static Result<ContentHash> fromRaw(std::string_view raw);
};

// Incremental hasher. Not thread-safe; one per stream.
class Hasher {
 public:
  Hasher();
  void update(const void* data, size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  ContentHash finish();

 private:
  blake2b_state state_;
};

ContentHash hashBytes(std::string_view data);

// Hashes everything readable from `fd` from its current offset (uses pread
// from offset 0, so the fd's offset is left alone). `what` names the file in
// error messages.
Result<ContentHash> hashFd(int fd, std::string_view what);

// Opens `path` (O_NOFOLLOW) relative to `dirfd` (AT_FDCWD for absolute) and hashes it.
Result<ContentHash> hashFileAt(int dirfd, const std::string& path);

}  // namespace hoard

template <>
struct std::hash<hoard::ContentHash> {
  size_t operator()(const hoard::ContentHash& h) const noexcept {
    size_t v;
    static_assert(sizeof(v) <= hoard::ContentHash::kSize);
    __builtin_memcpy(&v, h.bytes.data(), sizeof(v));
    return v;
  }
};
