// SPDX-License-Identifier: MIT
// On-demand shares as a user meets them (issue 14): `hoard share add
// --on-demand` through the real CLI and hoardd on a private bus, the FUSE
// view mounted for real (root), driven with ordinary programs (ls, find,
// cat, dd, stat), online and offline, with `hoard misses`, a killed hoardd
// and the share removed again. Names that sort between a directory and its
// children (dir, dir-x, dir.bak) everywhere.

#include <sys/wait.h>

#include <chrono>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "OnDemandFixture.h"
#include "SchemaCheck.h"

namespace hoard {
namespace {

using namespace hoard::ondemandtest;
using nlohmann::json;

TEST_F(CliOnDemandTest, TheWholeShareIsVisibleAndOnlyPinsAreKeptLocally) {
  addOnDemand();
  EXPECT_TRUE(isFuseMount(C_));
  EXPECT_EQ(found(),
            "big.bin 3145728\n"
            "dir-x/\n"
            "dir-x/b.txt 15\n"
            "dir.bak/\n"
            "dir.bak/c.txt 19\n"
            "dir/\n"
            "dir/a.txt 13\n"
            "pinned/\n"
            "pinned/p.txt 13\n")
      << log();
  // The pin is hoarded into hoardd's backing directory; nothing else is.
  EXPECT_TRUE(eventually([&] { return slurp(backing_ + "/pinned/p.txt") == "kept offline\n"; }))
      << log();
  EXPECT_FALSE(fs::exists(backing_ + "/dir/a.txt"));
  EXPECT_FALSE(fs::exists(backing_ + "/big.bin"));

  // Reading fetches: cat a small file, dd a block from the middle of a big one.
  EXPECT_EQ(run("cat '" + C_ + "/dir-x/b.txt'").second, "bravo in dir-x\n");
  auto [dd_rc, middle] =
      run("dd if='" + C_ + "/big.bin' bs=4096 skip=300 count=2 status=none");
  EXPECT_EQ(dd_rc, 0);
  EXPECT_EQ(middle, big_.substr(300 * 4096, 8192));
  EXPECT_EQ(run("cmp '" + C_ + "/big.bin' '" + R_ + "/big.bin' && echo same").second, "same\n");
  EXPECT_FALSE(fs::exists(backing_ + "/big.bin")) << "a read is not a pin";

  // The user's directory is the share's: listed as its cache, and a path in
  // it names a path of the share.
  json shares = json::parse(hoard("share list --json").second, nullptr, false);
  ASSERT_TRUE(shares.is_array() && shares.size() == 1u) << shares.dump();
  EXPECT_EQ(shares[0]["cache_root"], C_);
  EXPECT_EQ(schemaViolations(shares, "shares"), "");
  json status = json::parse(hoard("status w --json").second, nullptr, false);
  ASSERT_TRUE(status.is_array() && status.size() == 1u) << status.dump();
  EXPECT_EQ(schemaViolations(status, "status"), "");
  EXPECT_EQ(status[0]["on_demand"]["root"], C_);
  EXPECT_EQ(status[0]["on_demand"]["mounted"], true);
  EXPECT_NE(hoard("status w").second.find("on demand: the whole share shows in " + C_),
            std::string::npos);
  ASSERT_EQ(hoard("pin " + C_ + "/dir.bak").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return slurp(backing_ + "/dir.bak/c.txt") == "charlie in dir.bak\n"; }))
      << log();
  EXPECT_FALSE(fs::exists(backing_ + "/dir/a.txt")) << "dir.bak's pin must not take dir";
  // Still read through the view, now from the local copy.
  EXPECT_EQ(run("cat '" + C_ + "/dir.bak/c.txt'").second, "charlie in dir.bak\n");
}

// The FetchProgress signals dbus-monitor printed: (path, program, done, total).
struct SeenProgress {
  std::string path, program;
  uint64_t done = 0, total = 0;
};
std::vector<SeenProgress> fetchProgressIn(const std::string& monitor_out) {
  std::vector<SeenProgress> seen;
  std::istringstream in(monitor_out);
  std::string line;
  int field = -1;  // which argument of the current FetchProgress comes next
  while (std::getline(in, line)) {
    if (line.rfind("signal ", 0) == 0) {
      field = line.find("member=FetchProgress") != std::string::npos ? 0 : -1;
      if (field == 0) seen.emplace_back();
      continue;
    }
    if (field < 0) continue;
    auto quoted = [&] {
      size_t a = line.find('"'), b = line.rfind('"');
      return a == std::string::npos || b <= a ? std::string() : line.substr(a + 1, b - a - 1);
    };
    auto number = [&] { return std::stoull(line.substr(line.rfind(' ') + 1)); };
    switch (field++) {
      case 0: break;  // the share
      case 1: seen.back().path = quoted(); break;
      case 2: seen.back().program = quoted(); break;
      case 3: seen.back().done = number(); break;
      case 4: seen.back().total = number(); field = -1; break;
    }
  }
  return seen;
}

TEST_F(CliOnDemandTest, DataArrivingForAReaderIsShownOnTheBus) {
  addOnDemand();
  const std::string out = dir_ + "/monitor.out";
  pid_t monitor = spawn({"/usr/bin/dbus-monitor", "--session",
                         "type='signal',interface='org.hoard.Agent1',member='FetchProgress'"},
                        out);
  ASSERT_TRUE(eventually([&] { return slurp(out).find("member=NameLost") != std::string::npos; }))
      << slurp(out);
  EXPECT_EQ(run("dd if='" + C_ + "/big.bin' of=/dev/null bs=64k 2>/dev/null").first, 0);
  auto done = [&] {
    auto seen = fetchProgressIn(slurp(out));
    return !seen.empty() && seen.back().done == big_.size();
  };
  EXPECT_TRUE(eventually(done)) << slurp(out);
  ::kill(monitor, SIGTERM);
  waitExit(monitor);
  auto seen = fetchProgressIn(slurp(out));
  ASSERT_FALSE(seen.empty()) << slurp(out);
  uint64_t last = 0;
  for (const SeenProgress& p : seen) {
    EXPECT_EQ(p.path, "big.bin");
    EXPECT_EQ(p.program, "dd");
    EXPECT_EQ(p.total, big_.size());
    EXPECT_GE(p.done, last) << "progress never goes back";
    EXPECT_GT(p.done, 0u);
    last = p.done;
  }
  EXPECT_EQ(seen.back().done, big_.size()) << "the last signal says the file is complete";
  // A file already local (pinned, or fetched) sends nothing more.
  size_t before = seen.size();
  EXPECT_EQ(run("cat '" + C_ + "/big.bin' '" + C_ + "/pinned/p.txt' >/dev/null").first, 0);
  EXPECT_EQ(fetchProgressIn(slurp(out)).size(), before);
}

TEST_F(CliOnDemandTest, OfflineAReadOfDataNotKeptFailsAtOnceAndIsListedAsAMiss) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;

  // Metadata never needs the network.
  EXPECT_EQ(run("ls '" + C_ + "/dir'").second, "a.txt\n");
  EXPECT_EQ(run("stat -c %s '" + C_ + "/big.bin'").second, "3145728\n");
  // Pinned data is there; the rest fails at once, saying why.
  EXPECT_EQ(run("cat '" + C_ + "/pinned/p.txt'").second, "kept offline\n");
  auto t0 = std::chrono::steady_clock::now();
  auto [rc, out] = run("cat '" + C_ + "/dir/a.txt' 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Network is unreachable"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "an offline read must not wait";

  // hoard misses: what was wanted, by which program, and what became of it.
  auto [mrc, mout] = hoard("misses w --json");
  EXPECT_EQ(mrc, 0) << last_err_;
  json misses = json::parse(mout, nullptr, false);
  ASSERT_TRUE(misses.is_array()) << mout;
  EXPECT_EQ(schemaViolations(misses, "misses"), "");
  ASSERT_EQ(misses.size(), 1u) << mout;
  EXPECT_EQ(misses[0]["path"], "dir/a.txt");
  EXPECT_EQ(misses[0]["program"], "cat");
  EXPECT_EQ(misses[0]["outcome"], "failed");
  std::string text = hoard("misses w").second;
  EXPECT_NE(text.find("cat  dir/a.txt  failed at once (offline)"), std::string::npos) << text;

  // Back online, the same read is served.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return run("cat '" + C_ + "/dir/a.txt'").second == "alpha in dir\n"; }))
      << log();
}

TEST_F(CliOnDemandTest, UnderTheWaitPolicyAReadWaitsForTheShareToComeBack) {
  withConfig(R"({"shares": {"w": {"offline_reads": "wait", "offline_wait_s": 60}}})");
  addOnDemand();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  expectCatWaitsUntilOnline("dir/a.txt", "alpha in dir\n");
  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array() && misses.size() == 1u) << misses.dump();
  EXPECT_EQ(misses[0]["outcome"], "fetched");
}

// The cgroup hierarchy systemd's units live in here: its own on a hybrid
// (v1) machine, else the unified one.
std::string unitHierarchy() {
  return fs::exists("/sys/fs/cgroup/systemd/cgroup.procs") ? "/sys/fs/cgroup/systemd"
                                                           : "/sys/fs/cgroup";
}

TEST_F(CliOnDemandTest, ThumbnailersAndListedProgramsFailAtOnceWhileOthersWait) {
  // The share waits; the user adds "mycat" and a unit to fail at once; the
  // shipped list already has tumblerd (a thumbnailer daemon).
  withConfig(R"({"offline_reads_by_program": {"hoard-test-reader.service": "error"},
                 "shares": {"w": {"offline_reads": "wait", "offline_wait_s": 60,
                                  "offline_reads_by_program": {"mycat": "error"}}}})");
  addOnDemand();
  fs::create_directories(dir_ + "/bin");
  for (const char* name : {"tumblerd", "mycat"})
    fs::copy_file("/bin/cat", dir_ + "/bin/" + name);
  const std::string unit = unitHierarchy() + "/hoard-test-reader.service";
  ::rmdir(unit.c_str());  // left by a run that was killed (empty once its reader exited)
  ASSERT_EQ(::mkdir(unit.c_str(), 0755), 0) << unit << ": " << strerror(errno);
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;

  auto t0 = std::chrono::steady_clock::now();
  for (const char* name : {"tumblerd", "mycat"}) {
    auto [rc, out] = run("'" + dir_ + "/bin/" + name + "' '" + C_ + "/dir/a.txt' 2>&1");
    EXPECT_NE(rc, 0) << name;
    EXPECT_NE(out.find("Network is unreachable"), std::string::npos) << name << ": " << out;
  }
  // Plain cat, in a unit of the list: the unit decides.
  auto [urc, uout] = run("sh -c 'echo $$ > " + unit + "/cgroup.procs && exec cat " + C_ +
                         "/dir-x/b.txt' 2>&1");
  ::rmdir(unit.c_str());
  EXPECT_NE(urc, 0);
  EXPECT_NE(uout.find("Network is unreachable"), std::string::npos) << uout;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "none of them may wait";

  // Any other program waits, as the share says.
  expectCatWaitsUntilOnline("dir.bak/c.txt", "charlie in dir.bak\n");

  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array() && misses.size() == 4u) << misses.dump();
  std::multiset<std::string> seen;  // the unit's reader is cat too, once exec'd
  for (const auto& m : misses)
    seen.insert(m["program"].get<std::string>() + " " + m["outcome"].get<std::string>());
  EXPECT_EQ(seen, (std::multiset<std::string>{"cat failed", "cat fetched", "mycat failed",
                                              "tumblerd failed"}))
      << misses.dump();
}

TEST_F(CliOnDemandTest, WithFetchMissedWhatWasWantedOfflineIsThereTheNextTime) {
  withConfig(R"({"shares": {"w": {"fetch_missed": true}}})");
  addOnDemand();
  const std::string parts = dir_ + "/state/hoard/parts/w";
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  EXPECT_NE(run("cat '" + C_ + "/dir/a.txt' 2>/dev/null").first, 0);
  EXPECT_NE(run("dd if='" + C_ + "/big.bin' bs=4096 skip=500 count=1 status=none >/dev/null 2>&1")
                .first,
            0);
  EXPECT_LT(diskUse(parts), 64u * 1024) << "nothing could be fetched offline (block maps only)";

  // Back online: both files come whole, on hoardd's own, nobody reading.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] {
    return log().find("2 file(s) read while offline are now available offline") !=
           std::string::npos;
  })) << log();
  EXPECT_GE(diskUse(parts), big_.size());

  // Offline again, they read from the laptop; a file nobody wanted does not.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  EXPECT_EQ(run("cat '" + C_ + "/dir/a.txt'").second, "alpha in dir\n");
  EXPECT_EQ(run("cmp '" + C_ + "/big.bin' '" + R_ + "/big.bin' && echo same").second, "same\n");
  auto [rc, out] = run("cat '" + C_ + "/dir-x/b.txt' 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Network is unreachable"), std::string::npos) << out;

  // Evicted since, a file fetched once for a miss stays a placeholder at the
  // next connection: only the new miss (dir-x/b.txt, just now) is fetched.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("evict '" + C_ + "/big.bin'").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] {
    return log().find("1 file(s) read while offline are now available offline") !=
           std::string::npos;
  })) << log();
  std::this_thread::sleep_for(500ms);
  EXPECT_LT(diskUse(parts), big_.size() / 2) << "big.bin was not fetched again";
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  EXPECT_EQ(run("cat '" + C_ + "/dir-x/b.txt'").second, "bravo in dir-x\n");
  EXPECT_NE(run("cmp -s '" + C_ + "/big.bin' '" + R_ + "/big.bin'").first, 0);
}

TEST_F(CliOnDemandTest, ABadProgramPolicyStopsHoarddNamingTheKey) {
  put(dir_ + "/config/hoard/config.json", R"({"offline_reads_by_program": {"tumblerd": "maybe"}})");
  daemon_.reset();
  auto d = std::make_unique<Daemon>(
      dir_ + "/state", dir_ + "/hoardd.log",
      std::vector<std::pair<std::string, std::string>>{{"XDG_CONFIG_HOME", dir_ + "/config"}});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(d->start());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "hoardd must stop at once";
  EXPECT_NE(log().find("config " + dir_ + "/config/hoard/config.json"), std::string::npos) << log();
  EXPECT_NE(log().find("offline_reads_by_program"), std::string::npos) << log();
  EXPECT_NE(log().find("not starting"), std::string::npos) << log();
}

TEST_F(CliOnDemandTest, NewAndRemovedServerFilesShowAfterTheNextPass) {
  addOnDemand();
  put(R_ + "/dir/new.txt", "new on the server\n");
  fs::remove(R_ + "/dir-x/b.txt");
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return fs::exists(C_ + "/dir/new.txt"); })) << log();
  EXPECT_FALSE(fs::exists(C_ + "/dir-x/b.txt"));
  EXPECT_EQ(run("cat '" + C_ + "/dir/new.txt'").second, "new on the server\n");
}

TEST_F(CliOnDemandTest, AKilledHoarddLeavesENOTCONNAndARestartMountsAgain) {
  addOnDemand();
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  waitExit(daemon_->pid());
  auto [rc, out] = run("stat '" + C_ + "' 2>&1");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Transport endpoint is not connected"), std::string::npos) << out;
  startDaemon();
  EXPECT_TRUE(eventually([&] { return run("cat '" + C_ + "/dir/a.txt'").second == "alpha in dir\n"; }))
      << log();
  EXPECT_TRUE(isFuseMount(C_));
}

TEST_F(CliOnDemandTest, RemovingTheShareUnmountsAndLeavesTheKeptFilesInTheCache) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("share remove w").first, 0) << last_err_;
  EXPECT_FALSE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\n");
  EXPECT_FALSE(fs::exists(C_ + "/dir/a.txt")) << "never kept, so not there";
  EXPECT_FALSE(fs::exists(backing_));
  EXPECT_EQ(slurp(R_ + "/dir/a.txt"), "alpha in dir\n") << "the server is untouched";
}

TEST_F(CliOnDemandTest, EvictTurnsFilesBackIntoPlaceholdersAndRefusesPins) {
  addOnDemand();
  const std::string parts = dir_ + "/state/hoard/parts/w";
  ASSERT_EQ(hoard("pin " + C_ + "/dir.bak").first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/dir.bak/c.txt"); })) << log();
  ASSERT_EQ(run("cmp '" + C_ + "/big.bin' '" + R_ + "/big.bin' && echo same").second, "same\n");
  ASSERT_GE(diskUse(parts), big_.size()) << "the read fetched big.bin whole";
  const std::string before = found();

  // A pinned path is refused, naming the pin, and nothing is dropped.
  EXPECT_EQ(hoard("evict " + C_ + "/dir.bak").first, 1);
  EXPECT_NE(last_err_.find("is pinned"), std::string::npos) << last_err_;
  EXPECT_EQ(slurp(backing_ + "/dir.bak/c.txt"), "charlie in dir.bak\n");
  // Unpinned, it goes back to a placeholder: the name stays, the data goes.
  ASSERT_EQ(hoard("unpin " + C_ + "/dir.bak").first, 0) << last_err_;
  auto [rc, out] = hoard("evict " + C_ + "/dir.bak");
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_NE(out.find("evicted dir.bak: "), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(backing_ + "/dir.bak"));
  // A file that reads fetched whole: its blocks are freed.
  auto [brc, bout] = hoard("evict " + C_ + "/big.bin");
  EXPECT_EQ(brc, 0) << last_err_;
  EXPECT_NE(bout.find("evicted big.bin: "), std::string::npos) << bout;
  uint64_t freed = std::stoull(bout.substr(bout.find(": ") + 2));
  EXPECT_GE(freed, big_.size()) << bout;
  EXPECT_LT(diskUse(parts), 64u * 1024) << "big.bin's blocks are still on disk";
  EXPECT_EQ(found(), before) << "evicting keeps every name and size";
  // A name the share does not have is an error saying so.
  EXPECT_NE(hoard("evict " + C_ + "/dir/none.txt").first, 0);
  EXPECT_NE(last_err_.find("no such file"), std::string::npos) << last_err_;

  // Offline, both are placeholders again: reads are misses, the pin is kept.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  for (const char* f : {"/big.bin", "/dir.bak/c.txt"}) {
    auto [crc, cout_] = run("cat '" + C_ + f + "' 2>&1 >/dev/null");
    EXPECT_NE(crc, 0) << f;
    EXPECT_NE(cout_.find("Network is unreachable"), std::string::npos) << f << ": " << cout_;
  }
  EXPECT_EQ(run("cat '" + C_ + "/pinned/p.txt'").second, "kept offline\n");
  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array()) << misses.dump();
  EXPECT_EQ(misses.size(), 2u) << misses.dump();
  // Online again, a read fetches them anew, with the server's bytes.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] {
    return run("cat '" + C_ + "/dir.bak/c.txt'").second == "charlie in dir.bak\n";
  })) << log();
  EXPECT_EQ(run("cmp '" + C_ + "/big.bin' '" + R_ + "/big.bin' && echo same").second, "same\n");
  EXPECT_FALSE(fs::exists(backing_ + "/dir.bak")) << "a read is not a pin";
}

TEST_F(CliOnDemandTest, AnEvictionIsNotAChangeToWriteBackSoRemovingTheShareAtOnceWorks) {
  // No write-back pass for a minute: what the tracker logged stays logged.
  withConfig(R"({"write_back_quiet_ms": 60000, "write_back_max_delay_ms": 60000,
                 "poll_interval_s": 3600})");
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("unpin " + C_ + "/pinned").first, 0) << last_err_;
  ASSERT_EQ(hoard("evict " + C_ + "/pinned").first, 0) << last_err_;
  EXPECT_FALSE(fs::exists(backing_ + "/pinned"));
  std::this_thread::sleep_for(1500ms);  // the tracker has seen the deletions by now
  json st = json::parse(hoard("status w --json").second, nullptr, false);
  ASSERT_TRUE(st.is_array() && st.size() == 1u) << st.dump();
  EXPECT_EQ(st[0]["pending_changes"], 0) << hoard("changes w").second;
  EXPECT_EQ(hoard("share remove w").first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "kept offline\n") << "evicting never touches the server";
}

TEST_F(CliOnDemandTest, AFileHeldOpenByAProgramHoldsNeitherAStopNorARemove) {
  addOnDemand();
  // A program keeps a file of the view open (as an editor or a player does).
  pid_t holder = spawn({"/bin/sh", "-c", "exec 3< '" + C_ + "/dir/a.txt'; exec sleep 120"},
                       dir_ + "/holder.log");
  ASSERT_TRUE(eventually([&] { return run("ls -l /proc/" + std::to_string(holder) + "/fd")
                                          .second.find(C_ + "/dir/a.txt") != std::string::npos; }));
  // hoardd stops at once (SIGTERM), and a restart mounts again.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(daemon_->stop(), 0) << log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  startDaemon();
  ASSERT_TRUE(eventually([&] { return isFuseMount(C_) && fs::exists(C_ + "/dir.bak/c.txt"); }))
      << log();
  ::kill(holder, SIGKILL);
  waitExit(holder);
  holder = spawn({"/bin/sh", "-c", "exec 3< '" + C_ + "/dir-x/b.txt'; exec sleep 120"},
                 dir_ + "/holder.log");
  ASSERT_TRUE(eventually([&] { return run("ls -l /proc/" + std::to_string(holder) + "/fd")
                                          .second.find(C_ + "/dir-x/b.txt") != std::string::npos; }));
  // Removing the share does not wait for the program either.
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(hoard("share remove w").first, 0) << last_err_;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_FALSE(isFuseMount(C_));
  ::kill(holder, SIGKILL);
  waitExit(holder);
}

TEST_F(CliOnDemandTest, ASecondShareInsideTheViewIsRefusedNamingBoth) {
  addOnDemand();
  fs::create_directories(dir_ + "/other");
  auto [rc, out] = hoard("share add v " + dir_ + "/other " + C_ + "/dir-x/inner");
  EXPECT_NE(rc, 0);
  EXPECT_NE(last_err_.find("share \"w\""), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("share list --json").second.find("\"v\""), std::string::npos);
}

}  // namespace
}  // namespace hoard
