// SPDX-License-Identifier: MIT
// Which offline-read policy a program gets (view/ProgramPolicy.h): the
// cgroup texts of a unified (Debian 12) and a hybrid machine, names the
// kernel cut to 15 bytes, a unit before a name, and this very process read
// from /proc.

#include <unistd.h>

#include <gtest/gtest.h>

#include "view/ProgramPolicy.h"

namespace hoard::view {
namespace {

TEST(ProgramPolicyTest, UnitsComeFromTheUnifiedLine) {
  EXPECT_EQ(unitsOfCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                          "tracker-miner-fs-3.service\n"),
            (std::vector<std::string>{"user@1000.service", "tracker-miner-fs-3.service"}));
  EXPECT_EQ(unitsOfCgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                          "app-gnome-org.gnome.Nautilus-2211.scope\n"),
            (std::vector<std::string>{"user@1000.service",
                                      "app-gnome-org.gnome.Nautilus-2211.scope"}));
  // A name that only contains ".service" is not a unit; slices are not units.
  EXPECT_EQ(unitsOfCgroup("0::/system.slice/x.service.d/y\n"), std::vector<std::string>{});
}

TEST(ProgramPolicyTest, AHybridMachineUsesSystemdsOwnHierarchy) {
  EXPECT_EQ(unitsOfCgroup("12:memory:/system.slice/tumblerd.service\n"
                          "1:name=systemd:/system.slice/tumblerd.service\n"
                          "0::/\n"),
            std::vector<std::string>{"tumblerd.service"});
  EXPECT_EQ(unitsOfCgroup(""), std::vector<std::string>{});
  EXPECT_EQ(unitsOfCgroup("garbage without colons\n0:/x.service\n"), std::vector<std::string>{});
}

TEST(ProgramPolicyTest, NamesMatchTheExecutableOrTheCutComm) {
  std::map<std::string, MissPolicy> list{{"tracker-extract-3", MissPolicy::kError},
                                         {"mycat", MissPolicy::kWait},
                                         {"tumblerd.service", MissPolicy::kWait}};
  EXPECT_EQ(policyFor(list, {"mycat", "", {}}), MissPolicy::kWait);
  EXPECT_EQ(policyFor(list, {"other", "mycat", {}}), MissPolicy::kWait);
  // The kernel keeps 15 bytes of "tracker-extract-3".
  EXPECT_EQ(policyFor(list, {"tracker-extrac", "", {}}), std::nullopt) << "14 bytes is a whole name";
  EXPECT_EQ(policyFor(list, {"tracker-extract", "", {}}), MissPolicy::kError);
  EXPECT_EQ(policyFor(list, {"cat", "cat", {"user@0.service"}}), std::nullopt);
  // A unit wins over a name.
  EXPECT_EQ(policyFor(list, {"tracker-extract", "tracker-extract-3", {"tumblerd.service"}}),
            MissPolicy::kWait);
  EXPECT_EQ(policyFor({}, {"mycat", "mycat", {}}), std::nullopt);
}

TEST(ProgramPolicyTest, TheShippedListFailsThumbnailersAndIndexersAtOnce) {
  const auto& d = defaultProgramPolicies();
  for (const char* p : {"gdk-pixbuf-thumbnailer", "tracker-miner-fs-3", "baloo_file", "tumblerd"}) {
    ASSERT_TRUE(d.count(p)) << p;
    EXPECT_EQ(d.at(p), MissPolicy::kError) << p;
  }
  EXPECT_FALSE(d.count("cat"));
  EXPECT_FALSE(d.count("nautilus")) << "the user's own file manager opening a file may wait";
}

TEST(ProgramPolicyTest, ThisProcessIsReadFromProc) {
  ReadingProcess me = readingProcess(::getpid());
  EXPECT_EQ(me.exe, "view_unit_test");
  EXPECT_EQ(me.comm, "view_unit_test");
  ReadingProcess gone = readingProcess(999999999);
  EXPECT_EQ(gone.comm, "");
  EXPECT_EQ(gone.exe, "");
  EXPECT_TRUE(gone.units.empty());
}

}  // namespace
}  // namespace hoard::view
