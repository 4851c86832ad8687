// SPDX-License-Identifier: MIT
// Invariant 1 of design.md: a change acknowledged by recordChanges survives
// kill -9 at any instant. A forked child records unique changes in batches
// and reports each batch on a pipe only after recordChanges returned; the
// parent kills it (SIGKILL) after a seeded random number of acknowledgements,
// reopens the journal and checks that every acknowledged change is there,
// that no batch is half-stored, that the file passes integrity_check, and
// that writing goes on. Twenty rounds on the same journal.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "JournalTestUtil.h"
#include "journal/Journal.h"

namespace hoard::journal {
namespace {

using namespace hoard::journal::testing;  // NOLINT: test helpers

// Batch paths encode their batch and size: "r<round>/b<batch>-<i>of<n>\n<bytes>",
// so the parent can tell a half-stored batch from a whole one.
std::string batchPath(int round, int batch, int i, int n) {
  return "r" + std::to_string(round) + "/b" + std::to_string(batch) + "-" + std::to_string(i) +
         "of" + std::to_string(n) + std::string("\n\xff", 2);
}

// The child: never returns. Writes "<seq> <batch>\n" after each durable batch.
[[noreturn]] void childLoop(const std::string& path, int64_t share, int round, int out_fd,
                            uint32_t seed) {
  auto j = Journal::open(path);
  if (!j) {
    std::string msg = "child: " + j.error().toString() + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(2);
  }
  std::mt19937 rng(seed);
  for (int batch = 0;; ++batch) {
    int n = 1 + static_cast<int>(rng() % 5);
    std::vector<Change> changes;
    for (int i = 0; i < n; ++i) {
      changes.push_back(Change{ChangeOp::kCreate, batchPath(round, batch, i, n), {}, 0644, {}});
    }
    auto seq = (*j)->recordChanges(share, changes);
    if (!seq) {
      std::string msg = "child: " + seq.error().toString() + "\n";
      (void)!::write(2, msg.data(), msg.size());
      ::_exit(3);
    }
    std::string ack = std::to_string(*seq) + " " + std::to_string(batch) + "\n";
    if (::write(out_fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) ::_exit(4);
  }
}

struct Ack {
  int64_t seq;
  int batch;
};

// Reads whole lines until `want` acks arrived (or the child died).
std::vector<Ack> readAcks(int fd, size_t want) {
  std::vector<Ack> acks;
  std::string buf;
  char chunk[4096];
  while (acks.size() < want) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::istringstream line(buf.substr(0, nl));
      buf.erase(0, nl + 1);
      Ack a{};
      line >> a.seq >> a.batch;
      acks.push_back(a);
    }
  }
  return acks;
}

TEST(JournalCrashTest, AcknowledgedChangesSurviveSigkill) {
  TempDir dir;
  const std::string path = dir.file("journal.db");
  int64_t share = 0;
  {
    auto j = openOk(path);
    ASSERT_TRUE(j);
    auto s = j->addShare(shareSpec("crash"));
    ASSERT_TRUE(s);
    share = *s;
  }
  std::mt19937 rng(20261124);  // fixed seed: reproducible kill points
  int64_t last_acked_seq = 0;
  for (int round = 0; round < 20; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    uint32_t child_seed = static_cast<uint32_t>(rng());
    size_t kill_after = 1 + rng() % 60;
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      childLoop(path, share, round, fds[1], child_seed);
    }
    ::close(fds[1]);
    std::vector<Ack> acks = readAcks(fds[0], kill_after);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // Acks written before the kill but not yet read are acknowledged too.
    std::vector<Ack> late = readAcks(fds[0], SIZE_MAX);
    acks.insert(acks.end(), late.begin(), late.end());
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "round " << round << ": the child ended on its own (status " << status << ")";
    ASSERT_GE(acks.size(), kill_after) << "round " << round;

    {
      RawDb raw(path);
      EXPECT_EQ(raw.scalar("PRAGMA integrity_check"), "ok") << "round " << round;
    }
    auto j = openOk(path);
    ASSERT_TRUE(j) << "round " << round;
    auto log = j->changes(share, 0);
    ASSERT_TRUE(log);
    std::set<std::string> present;
    std::map<int, int> batch_sizes;  // this round's batches in the log: batch -> records
    std::map<int, int> batch_expected;
    std::string prefix = "r" + std::to_string(round) + "/b";
    for (const LoggedChange& c : *log) {
      present.insert(c.change.path);
      if (c.change.path.rfind(prefix, 0) == 0) {
        int b = 0, i = 0, n = 0;
        ASSERT_EQ(std::sscanf(c.change.path.c_str() + prefix.size(), "%d-%dof%d", &b, &i, &n), 3);
        ++batch_sizes[b];
        batch_expected[b] = n;
      }
    }
    for (const auto& [b, count] : batch_sizes) {
      EXPECT_EQ(count, batch_expected[b]) << "round " << round << ": batch " << b << " half-stored";
    }
    for (const Ack& a : acks) {
      EXPECT_GT(a.seq, last_acked_seq) << "round " << round << ": seqs go forward";
      last_acked_seq = a.seq;
      EXPECT_EQ(batch_sizes.count(a.batch), 1u)
          << "round " << round << ": acknowledged batch " << a.batch << " is lost";
    }
    // Every earlier round's acknowledged work is still there too.
    EXPECT_EQ(present.size(), log->size());
    ASSERT_FALSE(log->empty());
    EXPECT_GE(log->back().seq, last_acked_seq) << "round " << round << ": the log went back";
    // And the journal keeps working.
    std::vector<Change> more{
        Change{ChangeOp::kCreate, "after-round-" + std::to_string(round), {}, 0644, {}}};
    auto seq = j->recordChanges(share, more);
    ASSERT_TRUE(seq) << seq.error().toString();
    EXPECT_GT(*seq, last_acked_seq);
    last_acked_seq = *seq;
  }
  // Nothing acknowledged in any round went missing at the end either.
  auto j = openOk(path);
  ASSERT_TRUE(j);
  auto count = j->changeCount(share);
  ASSERT_TRUE(count);
  EXPECT_GE(*count, 20 + 20);
}

}  // namespace
}  // namespace hoard::journal
