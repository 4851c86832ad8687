// SPDX-License-Identifier: MIT
#include "daemon/Log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "common/RelPath.h"
#include "common/ThreadAnnotations.h"

namespace hoard::daemon {

namespace {

LogSink decideSink() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (js == nullptr) return LogSink::kStderr;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return LogSink::kStderr;
  struct stat st;
  if (::fstat(STDERR_FILENO, &st) != 0) return LogSink::kStderr;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
                 static_cast<unsigned long long>(st.st_ino) == ino
             ? LogSink::kJournal
             : LogSink::kStderr;
}

Mutex stderr_mu;

}  // namespace

LogSink logSink() {
  static const LogSink sink = decideSink();
  return sink;
}

std::string stderrLine(int priority, std::string_view message, const LogFields& f) {
  std::string line = "<" + std::to_string(priority) + ">hoardd: ";
  if (!f.share.empty()) line += "[" + f.share + "] ";
  line += message;
  std::string extra;
  auto add = [&extra](const std::string& s) { extra += (extra.empty() ? "" : ", ") + s; };
  if (!f.path.empty()) add("path " + displayPath(f.path));
  if (f.conflict_id != 0) add("conflict " + std::to_string(f.conflict_id));
  if (!f.error_name.empty()) add(f.error_name);
  if (!extra.empty()) line += " (" + extra + ")";
  return line;
}

void logMessage(int priority, std::string_view message, const LogFields& f) {
  if (priority < LOG_EMERG) priority = LOG_EMERG;
  if (priority > LOG_DEBUG) priority = LOG_DEBUG;
  if (logSink() == LogSink::kJournal) {
    std::string msg = "MESSAGE=" + std::string(message);
    std::string prio = "PRIORITY=" + std::to_string(priority);
    std::string share = "SHARE=" + f.share, path = "PATH=" + displayPath(f.path);
    std::string conflict = "CONFLICT_ID=" + std::to_string(f.conflict_id);
    std::string error = "ERROR_NAME=" + f.error_name;
    static const std::string ident = "SYSLOG_IDENTIFIER=hoardd";
    struct iovec iov[7];
    int n = 0;
    auto put = [&](const std::string& s) {
      iov[n].iov_base = const_cast<char*>(s.data());
      iov[n].iov_len = s.size();
      ++n;
    };
    put(msg);
    put(prio);
    put(ident);
    if (!f.share.empty()) put(share);
    if (!f.path.empty()) put(path);
    if (f.conflict_id != 0) put(conflict);
    if (!f.error_name.empty()) put(error);
    if (sd_journal_sendv(iov, n) >= 0) return;
  }
  std::string line = stderrLine(priority, message, f) + "\n";
  MutexLock lock(stderr_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace hoard::daemon
