// SPDX-License-Identifier: MIT
#pragma once

// What hoard-prompt says about a share's credentials: expired ("Your
// credentials for work have expired"), about to expire ("... expire in 10
// minutes"), and a renewal that failed. Pure functions, no bus.

#include <cstdint>
#include <string>

#include "prompt/Texts.h"

namespace hoard::prompt {

// The action key of Renew (Agent1.Renew, as `hoard auth SHARE --detached`).
inline constexpr const char* kRenew = "renew";

// The share's remote refuses hoard's credentials (AuthenticationRequired):
// what it means in plain words (work goes on in the cache, nothing is lost)
// and Renew; without actions the body names `hoard auth SHARE`.
NoteText authRequiredText(const std::string& share, ServerCaps caps);

// The credentials expire in `seconds_left` (AuthenticationExpiring; 0 or
// less: they have, and the text is authRequiredText's), rounded up to whole
// minutes: "Your credentials for work expire in 10 minutes", with Renew.
NoteText authExpiringText(const std::string& share, int64_t seconds_left, ServerCaps caps);

// A renewal failed; `why` is hoardd's message (the command's exit status,
// "still refuses"). Renew is offered again.
NoteText renewFailedText(const std::string& share, const std::string& why, ServerCaps caps);

}  // namespace hoard::prompt
