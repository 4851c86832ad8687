// SPDX-License-Identifier: MIT
#include "journal/Cursor.h"

#include <charconv>

namespace hoard::journal {

std::string Cursor::toString() const { return journal_id + ":" + std::to_string(seq); }

Result<Cursor> Cursor::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument, "cursor \"" + std::string(text) +
                                                 "\": " + std::string(why) +
                                                 " (expected <32 hex digits>:<seq>)");
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad("no ':'");
  std::string_view id = text.substr(0, colon);
  std::string_view num = text.substr(colon + 1);
  if (id.size() != 32) return bad("journal id is not 32 hex digits");
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return bad("journal id is not lowercase hex");
    }
  }
  int64_t seq = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), seq);
  if (num.empty() || ec != std::errc() || end != num.data() + num.size() || seq < 0) {
    return bad("sequence is not a non-negative integer");
  }
  return Cursor{std::string(id), seq};
}

}  // namespace hoard::journal
