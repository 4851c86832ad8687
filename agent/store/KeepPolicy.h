// SPDX-License-Identifier: MIT
#pragma once

// Which files keep their base *content* in the store. Every file keeps its base
// metadata and hash in the journal whatever this says; the policy only decides
// whether the bytes are worth keeping for a later three-way merge. By default
// that is text-like files and SQLite databases (with their -wal/-journal
// siblings) up to a size limit: the files a merge resolver can do something
// with.
//
// The policy is pure (no I/O but decideFd's read of a file's first bytes) and
// immutable after construction, so any thread may call it.
//
// The store's byte budget (StoreOptions::budget_bytes) is separate: the policy
// says "worth keeping", the store may still refuse with kNoSpace when full. The
// caller asks BaseStore::wouldFit(size) first to skip a doomed copy, and treats
// kNoSpace from put() as "keep metadata and hash only" for that file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/Error.h"
#include "common/RelPath.h"

namespace hoard::store {

struct KeepPolicyConfig {
  enum class Mode {
    kDefault,  // text-like and SQLite files (see KeepPolicy::decide)
    kAll,      // every regular file up to max_size
    kNone,     // no content is kept
  };
  Mode mode = Mode::kDefault;
  // Files larger than this never keep content (in every mode).
  uint64_t max_size = uint64_t{8} << 20;
  // fnmatch(3) globs. A glob without '/' is matched against the file's base
  // name, one with '/' against the whole RelPath ('*' then also crosses '/').
  // Excludes win over includes; an include keeps a file of any type (within
  // max_size) in kDefault mode.
  std::vector<std::string> include_globs;
  std::vector<std::string> exclude_globs;
};

enum class KeepReason {
  kTooLarge,       // size > max_size
  kKeepNone,       // mode kNone
  kExcluded,       // matched an exclude glob
  kKeepAll,        // mode kAll
  kIncluded,       // matched an include glob
  kSqlite,         // SQLite database, WAL or rollback journal
  kTextExtension,  // a known text extension
  kTextContent,    // the first bytes sniff as text
  kBinary,         // none of the above
};

std::string_view keepReasonName(KeepReason r);  // "too-large", "keep-none", ...

struct KeepDecision {
  bool keep = false;
  KeepReason reason = KeepReason::kBinary;
};

class KeepPolicy {
 public:
  // How many leading bytes decide() wants to sniff.
  static constexpr size_t kSniffBytes = 8192;

  KeepPolicy() = default;
  explicit KeepPolicy(KeepPolicyConfig config) : config_(std::move(config)) {}

  const KeepPolicyConfig& config() const { return config_; }

  // Decides for the regular file at `path` of `size` bytes whose first bytes
  // are `head` (up to kSniffBytes; fewer if the file is shorter). In order:
  // too large, keep-none, excluded, keep-all, included, SQLite (header
  // "SQLite format 3\0", or a name ending in -wal / -journal whose head is a
  // SQLite WAL or journal header, or is empty), text extension, text content
  // (no NUL byte, valid UTF-8 apart from a sequence cut at the end of `head`,
  // and few control characters), else binary.
  KeepDecision decide(std::string_view path, uint64_t size, std::string_view head) const;

  // As decide(), reading the head from `fd` with pread (offset untouched) and
  // the size from fstat. Errors: kIo naming `path`.
  Result<KeepDecision> decideFd(std::string_view path, int fd) const;

 private:
  KeepPolicyConfig config_;
};

// Exposed for tests and for the sync layer's own sniffing.
bool looksLikeText(std::string_view head, bool may_be_truncated);
bool hasTextExtension(std::string_view name);
bool isSqliteHeader(std::string_view head);

}  // namespace hoard::store
