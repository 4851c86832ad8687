// SPDX-License-Identifier: MIT
#pragma once

// A position in one journal's change log, after watchman's clock: the
// journal's random id plus a change-log sequence number. A consumer keeps the
// cursor of the last change it processed and asks for what came after; a
// cursor from another journal (the file was recreated or replaced) or one
// older than what has been pruned cannot be answered from the log, and the
// consumer must rescan everything instead.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/Error.h"

namespace hoard::journal {

struct Cursor {
  std::string journal_id;  // 32 lowercase hex digits
  int64_t seq = 0;         // >= 0; 0 means "before the first change"

  bool operator==(const Cursor&) const = default;

  // "<journal_id>:<seq>", e.g. "0f3a...9c:42".
  std::string toString() const;
  // Parses toString()'s format; kInvalidArgument naming the text otherwise.
  static Result<Cursor> parse(std::string_view text);
};

struct CursorCheck {
  enum class Verdict {
    kCurrent,  // same journal, nothing after seq was pruned: read changes(after seq)
    kRescan,   // the log cannot answer: rescan everything, then take a fresh cursor
  };
  Verdict verdict = Verdict::kRescan;
  std::string reason;  // why a rescan is needed (empty for kCurrent), for logs

  bool current() const { return verdict == Verdict::kCurrent; }
};

}  // namespace hoard::journal
