// SPDX-License-Identifier: MIT
// `hoard share on-demand NAME` (issue 14): a share that keeps its files in
// the user's folder becomes an on-demand share. What it kept stays kept (an
// edit not yet written back included), the rest of the share shows up as
// placeholders, and a switch that cannot be made (another filesystem, a
// backing directory in the way) changes nothing. `hoard share on-demand
// NAME --off` is the way back: the folder holds what is kept again, an
// unsent edit included, and a view with files open is not pulled away.

#include <sys/mount.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "OnDemandFixture.h"

namespace hoard {
namespace {

using namespace hoard::ondemandtest;
using nlohmann::json;

class CliOnDemandSwitchTest : public CliOnDemandTest {
 protected:
  // Share "w" kept in C_ as an ordinary share, with pinned/ and dir-x/ pinned.
  void addKept() {
    auto [rc, out] = hoard("share add w " + R_ + " " + C_ + " --pin pinned --pin dir-x");
    ASSERT_EQ(rc, 0) << last_err_ << log();
    ASSERT_TRUE(eventually([&] {
      return fs::exists(C_ + "/pinned/p.txt") && fs::exists(C_ + "/dir-x/b.txt");
    })) << log();
  }
  std::string sh(const std::string& command) { return run("{ " + command + "; } 2>&1").second; }
};

TEST_F(CliOnDemandSwitchTest, AKeptShareBecomesOnDemandKeepingItsFilesAndItsUnsentEdit) {
  addKept();
  EXPECT_FALSE(fs::exists(C_ + "/dir/a.txt")) << "not pinned: not kept";
  // Offline, an edit that cannot be written back yet.
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  put(C_ + "/dir-x/b.txt", "bravo, edited before the switch\n");
  ASSERT_TRUE(eventually([&] {
    json st = json::parse(hoard("status w --json").second, nullptr, false);
    return st.is_array() && st.size() == 1u && st[0].value("pending_changes", 0) > 0;
  })) << hoard("status w --json").second;

  auto [rc, out] = hoard("share on-demand w");
  ASSERT_EQ(rc, 0) << last_err_ << log();
  EXPECT_NE(out.find("is on demand"), std::string::npos) << out;
  EXPECT_TRUE(isFuseMount(C_));
  // The kept files moved into the backing directory, unchanged.
  EXPECT_EQ(slurp(backing_ + "/dir-x/b.txt"), "bravo, edited before the switch\n");
  EXPECT_EQ(slurp(backing_ + "/pinned/p.txt"), "kept offline\n");
  EXPECT_EQ(slurp(C_ + "/dir-x/b.txt"), "bravo, edited before the switch\n");
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\n");
  // Asking again changes nothing; a restarted hoardd mounts the view again.
  EXPECT_EQ(hoard("share on-demand w").first, 0) << last_err_;
  startDaemon();
  ASSERT_TRUE(eventually([&] { return isFuseMount(C_); })) << log();
  EXPECT_EQ(slurp(C_ + "/dir-x/b.txt"), "bravo, edited before the switch\n");

  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(slurp(R_ + "/dir-x/b.txt"), "bravo, edited before the switch\n");
  // The rest of the share is visible now, as placeholders read on demand.
  ASSERT_TRUE(eventually([&] { return fs::exists(C_ + "/dir.bak/c.txt"); })) << log();
  EXPECT_EQ(found(),
            "big.bin 3145728\n"
            "dir-x/\n"
            "dir-x/b.txt 32\n"
            "dir.bak/\n"
            "dir.bak/c.txt 19\n"
            "dir/\n"
            "dir/a.txt 13\n"
            "pinned/\n"
            "pinned/p.txt 13\n")
      << log();
  EXPECT_FALSE(fs::exists(backing_ + "/dir/a.txt"));
  EXPECT_EQ(slurp(C_ + "/dir/a.txt"), "alpha in dir\n");
  EXPECT_EQ(slurp(C_ + "/big.bin"), big_);
  // Removing the share gives the user the kept files back, in C_.
  ASSERT_EQ(hoard("share remove w").first, 0) << last_err_;
  EXPECT_FALSE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/dir-x/b.txt"), "bravo, edited before the switch\n");
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\n");
}

TEST_F(CliOnDemandSwitchTest, AProgramWritingThroughTheSwitchLosesNothing) {
  addKept();
  // The program opened its file before the switch and writes after it.
  pid_t writer = spawn({"/bin/sh", "-c",
                        "exec 3>>'" + C_ + "/pinned/p.txt'; echo before >&3; sleep 2; "
                        "echo after >&3"},
                       dir_ + "/writer.log");
  ASSERT_TRUE(eventually([&] { return slurp(C_ + "/pinned/p.txt").find("before") != std::string::npos; }));
  ASSERT_EQ(hoard("share on-demand w").first, 0) << last_err_ << log();
  EXPECT_EQ(waitExit(writer), 0) << slurp(dir_ + "/writer.log");
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\nbefore\nafter\n");
  ASSERT_TRUE(eventually([&] {
    (void)hoard("sync w");
    return slurp(R_ + "/pinned/p.txt") == "kept offline\nbefore\nafter\n";
  })) << slurp(R_ + "/pinned/p.txt") << log();
}

TEST_F(CliOnDemandSwitchTest, ACacheOnAnotherFilesystemIsRefusedAndStaysAsItWas) {
  fs::create_directories(C_);
  if (::mount("tmpfs", C_.c_str(), "tmpfs", 0, "size=16m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(errno);
  addKept();
  auto [rc, out] = hoard("share on-demand w");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(last_err_.find("different filesystems"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("stays as it was"), std::string::npos) << last_err_;
  EXPECT_FALSE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\n");
  // The share goes on as before: an edit reaches the server.
  put(C_ + "/pinned/p.txt", "edited after the refusal\n");
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "edited after the refusal\n");
  json st = json::parse(hoard("status w --json").second, nullptr, false);
  ASSERT_TRUE(st.is_array() && st.size() == 1u) << st.dump();
  EXPECT_FALSE(st[0].contains("on_demand")) << st.dump();
  ASSERT_EQ(hoard("share remove w").first, 0) << last_err_;
  ::umount2(C_.c_str(), MNT_DETACH);
}

TEST_F(CliOnDemandSwitchTest, ABackingDirectoryInTheWayIsRefusedAndNothingMoves) {
  addKept();
  put(backing_ + "/someone-elses.txt", "left here\n");
  EXPECT_EQ(hoard("share on-demand w").first, 1);
  EXPECT_NE(last_err_.find("not empty"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find(backing_), std::string::npos) << last_err_;
  EXPECT_FALSE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept offline\n");
  EXPECT_EQ(slurp(backing_ + "/someone-elses.txt"), "left here\n");
  EXPECT_EQ(hoard("share on-demand nope").first, 1);
  EXPECT_NE(last_err_.find("no share is named \"nope\""), std::string::npos) << last_err_;
}

TEST_F(CliOnDemandSwitchTest, SwitchedBackTheFolderHoldsWhatIsKeptAndUnsentWorkGoesOut) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  EXPECT_EQ(slurp(C_ + "/big.bin"), big_);  // fetched into the parts directory
  ASSERT_FALSE(fs::is_empty(dir_ + "/state/hoard/parts/w"));
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  put(C_ + "/pinned/p.txt", "kept, edited offline\n");
  put(C_ + "/dir-x/new.txt", "made offline in the view\n");

  // A program holds a file open in the view: refused, nothing changes.
  pid_t holder = spawn({"/bin/sh", "-c", "exec 3<'" + C_ + "/pinned/p.txt'; exec sleep 30"},
                       dir_ + "/holder.log");
  ASSERT_TRUE(eventually([&] {
    return run("ls -l /proc/" + std::to_string(holder) + "/fd").second.find("p.txt") !=
           std::string::npos;
  }));
  EXPECT_EQ(hoard("share on-demand w --off").first, 1);
  EXPECT_NE(last_err_.find("stays on demand"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("1 file(s) open"), std::string::npos) << last_err_;
  EXPECT_TRUE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept, edited offline\n");
  ::kill(holder, SIGKILL);
  waitExit(holder);

  auto [rc, out] = hoard("share on-demand w --off");
  ASSERT_EQ(rc, 0) << last_err_ << log();
  EXPECT_NE(out.find("no longer on demand"), std::string::npos) << out;
  EXPECT_FALSE(isFuseMount(C_));
  // The folder itself holds what was kept and made; placeholders are gone.
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "kept, edited offline\n");
  EXPECT_EQ(slurp(C_ + "/dir-x/new.txt"), "made offline in the view\n");
  EXPECT_FALSE(fs::exists(C_ + "/dir/a.txt"));
  EXPECT_FALSE(fs::exists(C_ + "/big.bin"));
  EXPECT_FALSE(fs::exists(backing_));
  EXPECT_FALSE(fs::exists(dir_ + "/state/hoard/parts/w")) << "the fetched blocks are freed";
  json st = json::parse(hoard("status w --json").second, nullptr, false);
  ASSERT_TRUE(st.is_array() && st.size() == 1u) << st.dump();
  EXPECT_FALSE(st[0].contains("on_demand")) << st.dump();
  // Online, the unsent work goes out; the server keeps what was never kept here.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "kept, edited offline\n");
  EXPECT_EQ(slurp(R_ + "/dir-x/new.txt"), "made offline in the view\n");
  EXPECT_EQ(slurp(R_ + "/dir/a.txt"), "alpha in dir\n");
  EXPECT_EQ(slurp(R_ + "/big.bin"), big_);
  // A restarted hoardd mounts nothing; an edit in the folder is tracked again.
  startDaemon();
  ASSERT_TRUE(eventually([&] {
    return hoard("status w --json").first == 0;
  })) << log();
  EXPECT_FALSE(isFuseMount(C_));
  put(C_ + "/pinned/p.txt", "edited in the plain folder\n");
  ASSERT_TRUE(eventually([&] {
    (void)hoard("sync w");
    return slurp(R_ + "/pinned/p.txt") == "edited in the plain folder\n";
  })) << log();
  // And it can go on demand again, with what it keeps.
  ASSERT_EQ(hoard("share on-demand w").first, 0) << last_err_ << log();
  EXPECT_TRUE(isFuseMount(C_));
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "edited in the plain folder\n");
  EXPECT_EQ(slurp(C_ + "/dir/a.txt"), "alpha in dir\n");
  // Asked of a share not on demand, --off changes nothing.
  ASSERT_EQ(hoard("share on-demand w --off").first, 0) << last_err_;
  EXPECT_EQ(hoard("share on-demand w --off").first, 0) << last_err_;
  EXPECT_FALSE(isFuseMount(C_));
}

}  // namespace
}  // namespace hoard
