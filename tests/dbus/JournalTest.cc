// SPDX-License-Identifier: MIT
// Issue 15: under systemd hoardd's stderr is a journal stream and its
// messages go to the journal with structured fields, so `journalctl
// SHARE=docs` tells one share's story. Tested with the real
// systemd-journald, started in a mount namespace of this test's own (fresh
// tmpfs over /run/systemd, /run/log and /var/log/journal, so the machine's
// journal is untouched), the real hoardd with its stderr connected to the
// journal as systemd connects a service's (sd_journal_stream_fd, with
// $JOURNAL_STREAM naming it) and the real CLI and journalctl.

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "BusHarness.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

constexpr const char* kJournald = "/lib/systemd/systemd-journald";

// Why this machine cannot run the test, or "" if it can.
std::string cannotRun() {
  if (geteuid() != 0) return "needs root (a mount namespace and a journald of its own)";
  if (access(kJournald, X_OK) != 0) return std::string(kJournald) + " is not installed";
  return "";
}

// The test's own journal: a mount namespace with empty journal directories
// and a systemd-journald serving them. Once per test process (ctest runs
// each test in a process of its own), while the process has one thread.
class PrivateJournal {
 public:
  bool start(std::string* why) {
    if (unshare(CLONE_NEWNS) != 0) return fail(why, "unshare(CLONE_NEWNS)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return fail(why, "making / private");
    for (const char* d : {"/run/systemd", "/run/log", "/var/log/journal"}) {
      fs::create_directories(d);
      if (mount("tmpfs", d, "tmpfs", 0, "mode=0755") != 0)
        return fail(why, std::string("a tmpfs on ") + d);
    }
    fs::create_directories("/run/systemd/journal");
    pid_ = spawn({kJournald}, "/run/log/journald.out");
    bool up = eventually([] { return fs::exists("/run/systemd/journal/stdout"); });
    if (!up) *why = "systemd-journald did not start: " + slurp("/run/log/journald.out");
    return up;
  }
  ~PrivateJournal() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  static bool fail(std::string* why, const std::string& what) {
    *why = what + " failed: " + std::strerror(errno);
    return false;
  }
  pid_t pid_ = -1;
};

// hoardd as systemd starts a service: stdout and stderr a journal stream,
// $JOURNAL_STREAM naming that stream.
pid_t spawnOnJournalStream(const std::vector<std::pair<std::string, std::string>>& env) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = sd_journal_stream_fd("hoardd", LOG_INFO, 1);
  if (fd < 0) _exit(126);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
  struct stat st;
  fstat(2, &st);
  setenv("JOURNAL_STREAM",
         (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  execl(HOARDD_PATH, HOARDD_PATH, nullptr);
  _exit(127);
}

class JournalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    why_not_ = cannotRun();
    if (!why_not_.empty()) return;
    journal_ = new PrivateJournal;
    if (!journal_->start(&why_not_)) why_not_ = "no journal of its own: " + why_not_;
  }
  static void TearDownTestSuite() {
    delete journal_;
    journal_ = nullptr;
  }
  void SetUp() override {
    if (!why_not_.empty()) GTEST_SKIP() << why_not_;
    char tmpl[] = "/tmp/hoard-journal-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
  }
  void TearDown() override {
    if (hoardd_ > 0) {
      kill(hoardd_, SIGTERM);
      waitpid(hoardd_, nullptr, 0);
    }
    bus_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void startDaemon(std::vector<std::pair<std::string, std::string>> env) {
    env.emplace_back("XDG_STATE_HOME", dir_ + "/state");
    hoardd_ = spawnOnJournalStream(env);
    ASSERT_TRUE(eventually([] { return busNameOwnerPid("org.hoard.Agent1") > 0; }))
        << "hoardd did not come up; its journal:\n" << journalText("SYSLOG_IDENTIFIER=hoardd");
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  // The journal's entries matching `match` (journalctl's FIELD=VALUE), as
  // JSON objects, oldest first.
  static std::vector<json> entries(const std::string& match) {
    auto [rc, out] = run("journalctl --no-pager -o json " + match + " 2>/dev/null");
    std::vector<json> all;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      json e = json::parse(line, nullptr, false);
      if (!e.is_discarded()) all.push_back(std::move(e));
    }
    return all;
  }
  static std::string journalText(const std::string& match) {
    return run("journalctl --no-pager -o cat " + match + " 2>&1").second;
  }
  // The first entry matching `match` whose MESSAGE holds `text`.
  static std::optional<json> entryWith(const std::string& match, const std::string& text) {
    for (auto& e : entries(match))
      if (e.value("MESSAGE", "").find(text) != std::string::npos) return e;
    return std::nullopt;
  }

  static inline std::string why_not_;
  static inline PrivateJournal* journal_ = nullptr;
  std::string dir_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  pid_t hoardd_ = -1;
};

TEST_F(JournalTest, OneSharesStoryIsItsEntriesWithStructuredFields) {
  const std::string server = dir_ + "/server", cache = dir_ + "/cache";
  const std::string other = dir_ + "/other", other_cache = dir_ + "/other-cache";
  put(server + "/docs/report.txt", "report v1\n");
  put(other + "/plan.txt", "plan v1\n");
  put(other + "/secret/hidden.txt", "hidden\n");
  startDaemon({{"HOARD_FAULT_UNREADABLE_REMOTE", "secret"}});
  ASSERT_EQ(hoard("share add docs " + server + " " + cache).first, 0) << last_err_;
  ASSERT_EQ(hoard("share add other " + other + " " + other_cache).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  EXPECT_EQ(hoard("preload other").first, 1) << "other's secret/ failed";

  // A conflict on docs/report.txt.
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  put(cache + "/docs/report.txt", "mine\n");
  put(server + "/docs/report.txt", "theirs\n");
  ASSERT_TRUE(eventually([&] {
    return hoard("changes docs --json").second.find("docs/report.txt") != std::string::npos;
  })) << "the offline edit is in the change log";
  ASSERT_EQ(hoard("online docs").first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return hoard("sync docs").first == 3; })) << last_err_;
  auto [rc, listing] = hoard("conflicts docs --json");
  json conflicts = json::parse(listing, nullptr, false);
  ASSERT_TRUE(conflicts.is_array() && conflicts.size() == 1) << listing;
  const std::string id = std::to_string(conflicts[0]["id"].get<uint64_t>());

  std::optional<json> conflict;
  ASSERT_TRUE(eventually([&] {
    conflict = entryWith("SHARE=docs", "conflict #" + id);
    return conflict.has_value();
  })) << "journalctl SHARE=docs has no conflict #" << id << ":\n" << journalText("SHARE=docs");
  EXPECT_EQ((*conflict)["CONFLICT_ID"], id) << conflict->dump(2);
  EXPECT_EQ((*conflict)["PATH"], "docs/report.txt") << conflict->dump(2);
  EXPECT_EQ((*conflict)["PRIORITY"], "4") << conflict->dump(2);
  EXPECT_EQ((*conflict)["SYSLOG_IDENTIFIER"], "hoardd") << conflict->dump(2);
  EXPECT_EQ((*conflict)["_TRANSPORT"], "journal") << "sent natively, not as a stderr line";

  auto failed = entryWith("SHARE=other", "could not be synced");
  ASSERT_TRUE(failed.has_value()) << journalText("SHARE=other");
  EXPECT_EQ((*failed)["PATH"], "secret") << failed->dump(2);
  EXPECT_EQ((*failed)["ERROR_NAME"], "org.hoard.Error.PermissionDenied") << failed->dump(2);

  // The match by field is exact: SHARE=docs holds only docs' entries, and
  // the other share's story is its own.
  for (auto& e : entries("SHARE=docs")) EXPECT_EQ(e["SHARE"], "docs") << e.dump(2);
  auto others = entries("SHARE=other");
  EXPECT_FALSE(others.empty()) << journalText("SYSLOG_IDENTIFIER=hoardd");
  for (auto& e : others) {
    EXPECT_EQ(e["SHARE"], "other");
    EXPECT_EQ(e.value("MESSAGE", "").find("docs"), std::string::npos) << e.dump(2);
  }
  // Nothing went twice: no structured message also came as a stderr line.
  for (auto& e : entries("_TRANSPORT=stdout"))
    EXPECT_EQ(e.value("MESSAGE", "").find("conflict #"), std::string::npos) << e.dump(2);
}

}  // namespace
}  // namespace hoard
