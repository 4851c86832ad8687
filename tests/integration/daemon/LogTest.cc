// SPDX-License-Identifier: MIT
// hoardd's log: plain lines with priorities on stderr when stderr is not the
// journal, naming the share, the path, the conflict and the error.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "daemon/Log.h"

namespace hoard::daemon {
namespace {

TEST(LogTest, StderrLinesCarryThePriorityAndTheFields) {
  EXPECT_EQ(stderrLine(6, "share added", {}), "<6>hoardd: share added");
  LogFields f;
  f.share = "work";
  f.path = "docs/a\nb.txt";
  f.conflict_id = 12;
  f.error_name = "org.hoard.Error.Conflict";
  std::string line = stderrLine(4, "conflict detected", f);
  EXPECT_EQ(line.rfind("<4>hoardd: [work] conflict detected (path ", 0), 0u) << line;
  EXPECT_NE(line.find("conflict 12"), std::string::npos) << line;
  EXPECT_NE(line.find("org.hoard.Error.Conflict"), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a newline in a path must not split the line";
}

TEST(LogTest, WithoutTheJournalMessagesGoToStderr) {
  // JOURNAL_STREAM naming some other file: not the journal.
  setenv("JOURNAL_STREAM", "1:1", 1);
  ASSERT_EQ(logSink(), LogSink::kStderr);
  char tmpl[] = "/tmp/hoard-log-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  LogFields f;
  f.share = "work";
  logMessage(3, "cannot reach the remote", f);
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out(4096, '\0');
  ssize_t n = pread(fd, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  close(fd);
  unlink(tmpl);
  EXPECT_EQ(out, "<3>hoardd: [work] cannot reach the remote\n");
}

}  // namespace
}  // namespace hoard::daemon
