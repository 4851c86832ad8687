// SPDX-License-Identifier: MIT
// Writing through the view of an on-demand share (issue 14): ordinary
// programs (sh redirections, sed -i, mv, rm, mkdir, tar, sqlite3) change
// the share in the user's directory; hoardd sends exactly their bytes to
// the server, offline changes of kept files wait for the connection, a
// placeholder needs the network, and a hoardd killed while a program writes
// loses nothing the program was told was written.

#include <sys/wait.h>
#include <sys/xattr.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "OnDemandFixture.h"

namespace hoard {
namespace {

using namespace hoard::ondemandtest;
using nlohmann::json;

class CliOnDemandWriteTest : public CliOnDemandTest {
 protected:
  // `hoard sync w` until it reports nothing left to send (a write-back pass
  // of its own may be sending some of it), then no open conflict.
  void syncAll() {
    ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
    ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
    json conflicts = json::parse(hoard("conflicts w --json").second, nullptr, false);
    ASSERT_TRUE(conflicts.is_array()) << conflicts.dump();
    EXPECT_EQ(conflicts.size(), 0u) << conflicts.dump() << log();
  }
  // The command in braces: its own redirections are not overridden by ours.
  std::string sh(const std::string& command) { return run("{ " + command + "; } 2>&1").second; }
  int shRc(const std::string& command) { return run("{ " + command + "; } >/dev/null 2>&1").first; }
  // A pinned folder of 200 files, each fetch slowed to 1 s: a preload of it
  // takes a while (about 7 s at 32 fetches in flight).
  void slowPinnedFolder() {
    for (int i = 0; i < 200; ++i) put(R_ + "/pinned/slow" + std::to_string(i) + ".txt", "slow\n");
    startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "1000"}});
  }
  // How many of them the backing directory holds.
  size_t kept() {
    size_t n = 0;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(backing_ + "/pinned", ec))
      n += f.path().filename().string().starts_with("slow");
    return n;
  }
};

TEST_F(CliOnDemandWriteTest, ProgramsChangeTheShareInTheViewAndTheServerGetsTheirBytes) {
  put(R_ + "/dir-x/quiet.txt", "never touched\n");
  addOnDemand();
  // A new file in a folder the laptop never kept: made locally at once.
  ASSERT_EQ(shRc("echo 'new beside a placeholder' > '" + C_ + "/dir/new.txt'"), 0);
  EXPECT_EQ(slurp(C_ + "/dir/new.txt"), "new beside a placeholder\n");
  EXPECT_EQ(slurp(C_ + "/dir/a.txt"), "alpha in dir\n") << "its neighbour is still the server's";
  // Appending to a placeholder: its server bytes first, then the append.
  ASSERT_EQ(shRc("echo more >> '" + C_ + "/dir-x/b.txt'"), 0);
  EXPECT_EQ(slurp(C_ + "/dir-x/b.txt"), "bravo in dir-x\nmore\n");
  // sed -i writes a temporary and renames it over the placeholder.
  ASSERT_EQ(shRc("sed -i s/charlie/CHARLIE/ '" + C_ + "/dir.bak/c.txt'"), 0);
  EXPECT_EQ(slurp(C_ + "/dir.bak/c.txt"), "CHARLIE in dir.bak\n");
  // mkdir, mv of a placeholder into it, rm of another: gone from the view at once.
  ASSERT_EQ(shRc("mkdir '" + C_ + "/moved' && mv '" + C_ + "/dir/a.txt' '" + C_ + "/moved/a.txt'"), 0);
  EXPECT_FALSE(fs::exists(C_ + "/dir/a.txt"));
  EXPECT_EQ(slurp(C_ + "/moved/a.txt"), "alpha in dir\n");
  ASSERT_EQ(shRc("rm '" + C_ + "/big.bin'"), 0);
  EXPECT_FALSE(fs::exists(C_ + "/big.bin"));
  EXPECT_EQ(sh("ls '" + C_ + "'"), "dir\ndir-x\ndir.bak\nmoved\npinned\n");
  // tar unpacks a tree with modes and times; a symlink comes along.
  fs::create_directories(dir_ + "/src/t/sub");
  put(dir_ + "/src/t/one.txt", "one\n");
  put(dir_ + "/src/t/sub/two.sh", "#!/bin/sh\necho two\n");
  ::chmod((dir_ + "/src/t/sub/two.sh").c_str(), 0755);
  ASSERT_EQ(::symlink("one.txt", (dir_ + "/src/t/link").c_str()), 0);
  ASSERT_EQ(shRc("tar -C '" + dir_ + "/src' -cf '" + dir_ + "/t.tar' t && tar -C '" + C_ +
                 "/dir-x' -xpf '" + dir_ + "/t.tar'"),
            0)
      << sh("tar -C '" + C_ + "/dir-x' -xpf '" + dir_ + "/t.tar'");

  syncAll();
  EXPECT_EQ(slurp(R_ + "/dir/new.txt"), "new beside a placeholder\n");
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\nmore\n");
  EXPECT_EQ(slurp(R_ + "/dir.bak/c.txt"), "CHARLIE in dir.bak\n");
  EXPECT_EQ(slurp(R_ + "/moved/a.txt"), "alpha in dir\n");
  EXPECT_FALSE(fs::exists(R_ + "/dir/a.txt"));
  EXPECT_FALSE(fs::exists(R_ + "/big.bin"));
  EXPECT_EQ(sh("diff -r '" + dir_ + "/src/t' '" + R_ + "/dir-x/t' && echo same"), "same\n");
  EXPECT_EQ(sh("stat -c %a '" + R_ + "/dir-x/t/sub/two.sh'"), "755\n");
  EXPECT_EQ(sh("readlink '" + R_ + "/dir-x/t/link'"), "one.txt\n");
  // The view and the server agree on every name and size.
  EXPECT_EQ(found(), run("cd '" + R_ + "' && find . -mindepth 1 -name '.hoard*' -prune -o \\( "
                         "-type d -printf '%P/\\n' \\) -o -printf '%P %s\\n' | LC_ALL=C sort")
                         .second);
  // A file the view only hydrated to change it is not pinned: what was never
  // touched stays a placeholder.
  EXPECT_FALSE(fs::exists(backing_ + "/dir-x/quiet.txt"));
  EXPECT_EQ(slurp(C_ + "/dir-x/quiet.txt"), "never touched\n");
  EXPECT_TRUE(fs::exists(backing_ + "/dir-x/b.txt"));
}

TEST_F(CliOnDemandWriteTest, OfflineKeptFilesChangeAndNewFilesAreMadeButPlaceholdersNeedTheNetwork) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  ASSERT_EQ(shRc("echo 'edited offline' >> '" + C_ + "/pinned/p.txt'"), 0);
  ASSERT_EQ(shRc("mkdir -p '" + C_ + "/dir/offline' && echo made > '" + C_ + "/dir/offline/n.txt'"),
            0);
  // A placeholder cannot be changed without its server bytes: at once, saying why.
  auto t0 = std::chrono::steady_clock::now();
  std::string out = sh("echo x >> '" + C_ + "/dir-x/b.txt'");
  EXPECT_NE(out.find("Network is unreachable"), std::string::npos) << out;
  out = sh("rm '" + C_ + "/dir.bak/c.txt'");
  EXPECT_NE(out.find("Network is unreachable"), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s) << "no change may wait under 'error'";
  EXPECT_TRUE(fs::exists(C_ + "/dir.bak/c.txt")) << "a refused rm removes nothing";
  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array()) << misses.dump();
  EXPECT_EQ(misses.size(), 2u) << misses.dump();
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "kept offline\n") << "offline: nothing sent yet";

  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  syncAll();
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "kept offline\nedited offline\n");
  EXPECT_EQ(slurp(R_ + "/dir/offline/n.txt"), "made\n");
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\n");
  EXPECT_EQ(slurp(R_ + "/dir.bak/c.txt"), "charlie in dir.bak\n");
  // Online, the same changes go through.
  ASSERT_EQ(shRc("echo x >> '" + C_ + "/dir-x/b.txt' && rm '" + C_ + "/dir.bak/c.txt'"), 0);
  syncAll();
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\nx\n");
  EXPECT_FALSE(fs::exists(R_ + "/dir.bak/c.txt"));
}

TEST_F(CliOnDemandWriteTest, UnderTheWaitPolicyAChangeOfAPlaceholderWaitsForTheNetwork) {
  withConfig(R"({"shares": {"w": {"offline_reads": "wait", "offline_wait_s": 60}}})");
  addOnDemand();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  pid_t writer = spawn({"/bin/sh", "-c", "echo 'written after the wait' >> '" + C_ + "/dir-x/b.txt'"},
                       dir_ + "/writer.log");
  std::this_thread::sleep_for(1500ms);
  int status = 0;
  EXPECT_EQ(::waitpid(writer, &status, WNOHANG), 0) << "the append must wait while offline";
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\n");
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_EQ(waitExit(writer), 0) << slurp(dir_ + "/writer.log");
  EXPECT_EQ(slurp(C_ + "/dir-x/b.txt"), "bravo in dir-x\nwritten after the wait\n");
  syncAll();
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\nwritten after the wait\n");
  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array() && misses.size() == 1u) << misses.dump();
  EXPECT_EQ(misses[0]["path"], "dir-x/b.txt");
}

TEST_F(CliOnDemandWriteTest, TheWholeShareShowsWhileTheFirstPreloadStillRuns) {
  slowPinnedFolder();
  ASSERT_EQ(hoard("share add w " + R_ + " " + C_ + " --on-demand --pin pinned").first, 0)
      << last_err_ << log();
  // Listed before the pinned files are hoarded, not after the whole preload.
  ASSERT_TRUE(eventually([&] { return fs::exists(C_ + "/dir/a.txt"); })) << log();
  EXPECT_LT(kept(), 200u) << "the view showed the share only after the preload" << log();
  EXPECT_EQ(slurp(C_ + "/dir.bak/c.txt"), "charlie in dir.bak\n");
  EXPECT_TRUE(eventually([&] { return kept() == 200u; }, std::chrono::seconds(90))) << log();
  EXPECT_EQ(slurp(C_ + "/pinned/slow7.txt"), "slow\n");
}

TEST_F(CliOnDemandWriteTest, AChangeOfAPlaceholderDoesNotWaitForALongPreloadToEnd) {
  slowPinnedFolder();
  ASSERT_EQ(hoard("share add w " + R_ + " " + C_ + " --on-demand").first, 0) << last_err_ << log();
  ASSERT_TRUE(eventually([&] { return fs::exists(C_ + "/dir/a.txt"); })) << log();
  // Pinning the folder starts the long pass.
  ASSERT_EQ(hoard("pin " + C_ + "/pinned").first, 0) << last_err_ << log();
  std::this_thread::sleep_for(1500ms);  // into its fetches (they land 128 at a time)
  ASSERT_LT(kept(), 200u);
  // An append to a placeholder while the preload runs: it is hydrated at
  // once (the preload gives way), not after the whole preload.
  ASSERT_EQ(shRc("echo appended >> '" + C_ + "/dir/a.txt'"), 0) << log();
  const size_t kept_when_done = kept();
  EXPECT_LT(kept_when_done, 200u) << "the append waited for the whole preload" << log();
  EXPECT_EQ(slurp(C_ + "/dir/a.txt"), "alpha in dir\nappended\n");
  // The preload goes on by itself and finishes; the append reaches the server.
  EXPECT_TRUE(eventually([&] { return kept() == 200u; }, std::chrono::seconds(90)))
      << kept() << log();
  EXPECT_TRUE(eventually([&] { return slurp(R_ + "/dir/a.txt") == "alpha in dir\nappended\n"; },
                         std::chrono::seconds(60)))
      << log();
}

TEST_F(CliOnDemandWriteTest, WhatAPassDeletedOrRenamedOnTheServerStaysGoneFromTheView) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(shRc("cat '" + C_ + "/dir-x/b.txt' >/dev/null && mv '" + C_ + "/dir-x/b.txt' '" + C_ + "/dir-x/b2.txt'"), 0);
  syncAll();
  // Offline, a kept file removed and another renamed; the pass that
  // reconnects lists the server (which still has both) before it applies.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  ASSERT_EQ(shRc("rm '" + C_ + "/pinned/p.txt' && mv '" + C_ + "/dir-x/b2.txt' '" + C_ + "/dir-x/b3.txt'"), 0);
  // One pass, the reconnection's: no later pass lists the server again.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] {
    json st = json::parse(hoard("status w --json").second, nullptr, false);
    return !fs::exists(R_ + "/dir-x/b2.txt") && st.is_array() && st.size() == 1u &&
           st[0].value("state", "") == "online" && st[0].value("pending_changes", 1) == 0;
  })) << hoard("status w --json").second << log();
  EXPECT_FALSE(fs::exists(R_ + "/pinned/p.txt"));
  EXPECT_EQ(slurp(R_ + "/dir-x/b3.txt"), "bravo in dir-x\n");
  auto shows = [&] {
    return run("ls -a '" + C_ + "/pinned' '" + C_ + "/dir-x' | tr '\\n' ' '").second;
  };
  std::string before_restart = shows();
  EXPECT_EQ(before_restart.find("p.txt"), std::string::npos) << before_restart;
  EXPECT_EQ(before_restart.find("b2.txt"), std::string::npos) << before_restart;
  EXPECT_NE(before_restart.find("b3.txt"), std::string::npos) << before_restart;
  // The journal's listing agrees, so a restarted hoardd shows the same at once.
  startDaemon();
  ASSERT_TRUE(eventually([&] { return isFuseMount(C_) && fs::exists(C_ + "/dir.bak/c.txt"); })) << log();
  std::string after_restart = shows();
  EXPECT_EQ(after_restart.find("p.txt"), std::string::npos) << after_restart;
  EXPECT_EQ(after_restart.find("b2.txt"), std::string::npos) << after_restart;
  EXPECT_NE(after_restart.find("b3.txt"), std::string::npos) << after_restart;
}

TEST_F(CliOnDemandWriteTest, HardLinksAndGivingFilesAwayAreRefusedAndChangeNothing) {
  addOnDemand();
  std::string out = sh("ln '" + C_ + "/dir/a.txt' '" + C_ + "/dir/hard.txt'");
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(C_ + "/dir/hard.txt"));
  out = sh("chown nobody '" + C_ + "/dir-x/b.txt'");
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
  // Writing the root's own name or one of hoard's is refused too.
  out = sh("echo x > '" + C_ + "/.hoard-tmp-x'");
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << out;
  syncAll();
  EXPECT_FALSE(fs::exists(R_ + "/dir/hard.txt"));
  EXPECT_EQ(sh("stat -c %U '" + R_ + "/dir-x/b.txt'"), "root\n");
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo in dir-x\n");
}

std::string xattrOf(const std::string& path, const std::string& name, int* err = nullptr) {
  char buf[256];
  ssize_t n = ::getxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (err) *err = n < 0 ? errno : 0;
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

std::string xattrNames(const std::string& path) {
  char buf[1024];
  ssize_t n = ::listxattr(path.c_str(), buf, sizeof buf);
  if (n < 0) return "error " + std::to_string(errno);
  std::string out(buf, static_cast<size_t>(n));
  std::replace(out.begin(), out.end(), '\0', ' ');
  return out;
}

TEST_F(CliOnDemandWriteTest, UserXattrsShowFromTheServerAndChangesReachIt) {
  ASSERT_EQ(::setxattr((R_ + "/dir-x/b.txt").c_str(), "user.note", "from the server", 15, 0), 0)
      << strerror(errno);
  ASSERT_EQ(::setxattr((R_ + "/dir/a.txt").c_str(), "user.note", "alpha's", 7, 0), 0);
  addOnDemand();
  // A placeholder's attributes come from the server; it stays a placeholder.
  EXPECT_EQ(xattrOf(C_ + "/dir-x/b.txt", "user.note"), "from the server");
  EXPECT_EQ(xattrNames(C_ + "/dir-x/b.txt"), "user.note ");
  EXPECT_FALSE(fs::exists(backing_ + "/dir-x/b.txt"));
  ASSERT_EQ(shRc("cp --preserve=xattr '" + C_ + "/dir-x/b.txt' '" + dir_ + "/copy.txt'"), 0)
      << sh("cp --preserve=xattr '" + C_ + "/dir-x/b.txt' '" + dir_ + "/copy.txt'");
  EXPECT_EQ(xattrOf(dir_ + "/copy.txt", "user.note"), "from the server");
  // Setting one on a placeholder makes it local, and the server gets it.
  ASSERT_EQ(::setxattr((C_ + "/dir.bak/c.txt").c_str(), "user.tag", "set in the view", 15, 0), 0)
      << strerror(errno);
  EXPECT_TRUE(fs::exists(backing_ + "/dir.bak/c.txt"));
  EXPECT_EQ(xattrOf(C_ + "/dir.bak/c.txt", "user.tag"), "set in the view");
  // Only user.* attributes travel: others are refused, not kept on one side.
  EXPECT_NE(::setxattr((C_ + "/dir.bak/c.txt").c_str(), "trusted.x", "1", 1, 0), 0);
  EXPECT_EQ(errno, ENOTSUP);
  // One that the local copy has anyway (put there behind the view's back)
  // does not show either: the view has only user.* attributes.
  ASSERT_EQ(::setxattr((backing_ + "/dir.bak/c.txt").c_str(), "trusted.x", "1", 1, 0), 0);
  int trusted_err = 0;
  EXPECT_EQ(xattrOf(C_ + "/dir.bak/c.txt", "trusted.x", &trusted_err), "");
  EXPECT_EQ(trusted_err, ENODATA);
  ASSERT_EQ(::removexattr((backing_ + "/dir.bak/c.txt").c_str(), "trusted.x"), 0);
  syncAll();
  EXPECT_EQ(xattrOf(R_ + "/dir.bak/c.txt", "user.tag"), "set in the view");
  EXPECT_EQ(slurp(R_ + "/dir.bak/c.txt"), "charlie in dir.bak\n");
  // A server change of a placeholder's attributes shows after the next pass.
  ASSERT_EQ(::setxattr((R_ + "/dir/a.txt").c_str(), "user.note", "alpha's, changed", 16, 0), 0);
  ASSERT_EQ(::setxattr((R_ + "/dir/a.txt").c_str(), "user.bin", "\xff\0\n", 3, 0), 0);
  ASSERT_EQ(::removexattr((R_ + "/dir-x/b.txt").c_str(), "user.note"), 0);
  syncAll();
  // Offline a placeholder shows what the last listing held, at once; a
  // kept file shows its own.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  int err = 0;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(xattrOf(C_ + "/dir/a.txt", "user.note"), "alpha's, changed");
  EXPECT_EQ(xattrOf(C_ + "/dir/a.txt", "user.bin"), std::string("\xff\0\n", 3));
  EXPECT_EQ(xattrNames(C_ + "/dir/a.txt"), "user.bin user.note ");
  EXPECT_EQ(xattrOf(C_ + "/dir-x/b.txt", "user.note", &err), "");
  EXPECT_EQ(err, ENODATA) << "removed on the server before the last pass";
  EXPECT_EQ(xattrNames(C_ + "/dir-x/b.txt"), "");
  EXPECT_EQ(xattrOf(C_ + "/big.bin", "user.note", &err), "");
  EXPECT_EQ(err, ENODATA);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "a metadata call never waits";
  EXPECT_FALSE(fs::exists(backing_ + "/dir/a.txt")) << "still a placeholder";
  EXPECT_EQ(xattrOf(C_ + "/dir.bak/c.txt", "user.tag"), "set in the view");
  // Removed offline (setfattr -x), it is gone from the server once online.
  ASSERT_EQ(::removexattr((C_ + "/dir.bak/c.txt").c_str(), "user.tag"), 0) << strerror(errno);
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  syncAll();
  EXPECT_EQ(xattrOf(R_ + "/dir.bak/c.txt", "user.tag", &err), "");
  EXPECT_EQ(err, ENODATA) << "the removal reached the server";
  EXPECT_EQ(slurp(R_ + "/dir.bak/c.txt"), "charlie in dir.bak\n");
}

std::string hexOf(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

// Names with a newline and bytes that are not UTF-8, read, changed, renamed
// and made by ordinary programs (argv, no shell quoting), and missed offline.
TEST_F(CliOnDemandWriteTest, NamesWithANewlineOrNotUtf8WorkForEveryCall) {
  const std::string nl = "dir/odd\nname.txt", latin = "dir-x/caf\xe9.txt",
                    missed = "dir.bak/gr\xfc\xdf.txt";
  put(R_ + "/" + nl, "newline name\n");
  put(R_ + "/" + latin, "latin-1 name\n");
  put(R_ + "/" + missed, "never fetched\n");
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(C_ + "/" + missed); })) << log();
  auto runArgv = [&](const std::vector<std::string>& argv) {
    const std::string out = dir_ + "/argv.out";
    fs::remove(out);
    int rc = waitExit(spawn(argv, out));
    return std::make_pair(rc, slurp(out));
  };
  EXPECT_EQ(runArgv({"/bin/cat", C_ + "/" + nl}), std::make_pair(0, std::string("newline name\n")));
  EXPECT_EQ(runArgv({"/bin/sh", "-c", "echo appended >> \"$1\"", "sh", C_ + "/" + latin}).first, 0);
  const std::string renamed = "dir/renamed\xff.txt", made = "dir-x/new\nfile\xfe";
  EXPECT_EQ(runArgv({"/bin/mv", C_ + "/" + nl, C_ + "/" + renamed}).first, 0);
  EXPECT_EQ(runArgv({"/bin/sh", "-c", "printf made > \"$1\"", "sh", C_ + "/" + made}).first, 0);
  EXPECT_FALSE(fs::exists(C_ + "/" + nl));
  EXPECT_EQ(slurp(C_ + "/" + renamed), "newline name\n");
  syncAll();
  EXPECT_EQ(slurp(R_ + "/" + latin), "latin-1 name\nappended\n");
  EXPECT_EQ(slurp(R_ + "/" + renamed), "newline name\n");
  EXPECT_FALSE(fs::exists(R_ + "/" + nl));
  EXPECT_EQ(slurp(R_ + "/" + made), "made");
  // Offline, a miss of a name that is not UTF-8 is listed byte-exact.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return runArgv({"/bin/cat", C_ + "/" + missed}).first != 0; }));
  json misses = json::parse(hoard("misses w --json").second, nullptr, false);
  ASSERT_TRUE(misses.is_array() && !misses.empty()) << misses.dump();
  EXPECT_EQ(misses.back()["path_hex"], hexOf(missed)) << misses.dump();
}

TEST_F(CliOnDemandWriteTest, AServerEditOfAFileChangedOfflineInTheViewIsAConflictNotALoss) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  ASSERT_EQ(shRc("echo 'laptop line' >> '" + C_ + "/pinned/p.txt'"), 0);
  put(R_ + "/pinned/p.txt", "kept offline\nserver line\n");
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  EXPECT_EQ(hoard("sync w").first, 3) << "exit status 3: conflicts remain\n" << last_err_;
  json conflicts = json::parse(hoard("conflicts w --json").second, nullptr, false);
  ASSERT_TRUE(conflicts.is_array() && conflicts.size() == 1u) << conflicts.dump() << log();
  EXPECT_EQ(conflicts[0]["path"], "pinned/p.txt");
  // Both versions are where the user looks: the laptop's in the view, the
  // server's on the server.
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\nlaptop line\n");
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "kept offline\nserver line\n");
}

TEST_F(CliOnDemandWriteTest, ADatabaseMadeAndChangedInTheViewArrivesWhole) {
  addOnDemand();
  const std::string db = C_ + "/dir/notes.db";
  ASSERT_EQ(shRc("sqlite3 '" + db + "' 'CREATE TABLE n(id INTEGER PRIMARY KEY, t TEXT);"
                 " INSERT INTO n(t) VALUES (\"one\"), (\"two\");'"),
            0)
      << sh("sqlite3 '" + db + "' 'SELECT 1'");
  ASSERT_EQ(shRc("sqlite3 '" + db + "' 'UPDATE n SET t = \"TWO\" WHERE id = 2;'"), 0);
  syncAll();
  EXPECT_EQ(sh("sqlite3 '" + R_ + "/dir/notes.db' 'PRAGMA integrity_check; SELECT t FROM n ORDER BY id;'"),
            "ok\none\nTWO\n");
}

TEST_F(CliOnDemandWriteTest, AKilledHoarddLosesNothingAProgramWasToldWasWritten) {
  addOnDemand();
  // A writer makes numbered files through the view and notes each one whose
  // write and close succeeded; hoardd is killed in the middle.
  fs::create_directories(C_ + "/dir-x/crash");
  const std::string done = dir_ + "/done.log";
  pid_t writer = spawn({"/bin/sh", "-c",
                        "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); "
                        "printf 'file %s of the writer\\n' $i > '" + C_ + "/dir-x/crash/f'$i.txt "
                        "&& echo $i >> '" + done + "'; done"},
                       dir_ + "/writer.log");
  auto written = [&] {
    std::string d = slurp(done);
    return static_cast<size_t>(std::count(d.begin(), d.end(), '\n'));
  };
  ASSERT_TRUE(eventually([&] { return written() >= 200; })) << slurp(dir_ + "/writer.log");
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  waitExit(daemon_->pid());
  waitExit(writer);
  startDaemon();
  ASSERT_TRUE(eventually([&] { return isFuseMount(C_) && fs::exists(C_ + "/dir.bak/c.txt"); }))
      << log();
  syncAll();
  std::istringstream lines(slurp(done));
  size_t checked = 0;
  for (std::string i; std::getline(lines, i); ++checked) {
    const std::string want = "file " + i + " of the writer\n";
    EXPECT_EQ(slurp(C_ + "/dir-x/crash/f" + i + ".txt"), want) << "in the view";
    EXPECT_EQ(slurp(R_ + "/dir-x/crash/f" + i + ".txt"), want) << "on the server";
  }
  EXPECT_GE(checked, 200u);
  EXPECT_LT(checked, 3000u) << "hoardd was killed before the writer was done";
}

}  // namespace
}  // namespace hoard
