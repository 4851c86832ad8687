// SPDX-License-Identifier: MIT
#pragma once

// hoardd's log. Under systemd (stderr connected to the journal, as
// $JOURNAL_STREAM says) each message goes to the journal with structured
// fields, so `journalctl --user -u hoardd SHARE=work` shows one share's
// story; otherwise it is one plain line on stderr with an sd-daemon priority
// prefix ("<4>hoardd: ..."), which journald also understands.

#include <cstdint>
#include <string>
#include <string_view>

namespace hoard::daemon {

// Fields of one message; empty ones are left out. PATH is shown as text
// (displayPath), since a journal field is text here.
struct LogFields {
  std::string share;         // SHARE=
  std::string path;          // PATH=  (share-relative)
  uint64_t conflict_id = 0;  // CONFLICT_ID= (0: none)
  std::string error_name;    // ERROR_NAME= (org.hoard.Error.*)
};

enum class LogSink : uint8_t { kJournal, kStderr };

// Where messages go: kJournal when $JOURNAL_STREAM names the device and
// inode of fd 2, else kStderr. Decided once, at the first message.
LogSink logSink();

// Logs `message` at syslog `priority` (0 emerg .. 7 debug). Any thread.
// Never throws; a journal that refuses the message falls back to stderr.
void logMessage(int priority, std::string_view message, const LogFields& fields = {});
// The same without fields.
inline void log(int priority, const std::string& message) { logMessage(priority, message); }

// The stderr form of a message: "<P>hoardd: [SHARE] MESSAGE" plus, when
// set, " (path P, conflict N, ERROR)". For tests and for the fallback.
std::string stderrLine(int priority, std::string_view message, const LogFields& fields);

}  // namespace hoard::daemon
