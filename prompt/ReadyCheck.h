// SPDX-License-Identifier: MIT
#pragma once

// `hoard-prompt --ready`: "Is my work offline-ready?" asked of the running
// hoardd (CheckReady for every share; D-Bus activation starts it where it
// is not running) and answered with one desktop notification, the same
// text on stdout.

namespace hoard::prompt {

// Exit status: 0 every share is offline-ready, 4 some are not (as `hoard
// ready`), 1 hoardd did not answer or there is no session bus.
int checkReady();

}  // namespace hoard::prompt
