// SPDX-License-Identifier: MIT
// Where hoardd asks ssh to keep the connection to a share's lister: a path
// ssh can bind as a Unix socket, or none (and the reason) where none fits.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "remote/ListerSettings.h"

namespace hoard::remote {
namespace {

// What ssh binds: %C expanded to 40 hex digits, then ".XXXXXXXXXXXXXXXX".
std::string asSshBindsIt(std::string path) {
  path.replace(path.find("%C"), 2, std::string(40, 'f'));
  return path + ".0123456789abcdef";
}

bool fitsAUnixSocket(const std::string& path) {
  return path.size() < sizeof(sockaddr_un{}.sun_path);
}

TEST(SshControlPathTest, TheRuntimeDirectoryComesFirst) {
  std::string why;
  EXPECT_EQ(sshControlPath("/run/user/1000/hoard", "/home/ann/.local/state/hoard", &why),
            "/run/user/1000/hoard/ssh-%C");
  EXPECT_TRUE(why.empty());
  EXPECT_EQ(sshControlPath("", "/home/ann/.local/state/hoard", &why),
            "/home/ann/.local/state/hoard/ssh-%C");
}

TEST(SshControlPathTest, ALongStateDirectoryFallsBackToTheShortRuntimeOne) {
  // A home as SSSD makes them, where the old place (beside the journal) was
  // too long for ssh: the lister fell back to the mount on every pass.
  const std::string state = "/home/firstname.lastname@corp.example.com/.local/state/hoard";
  std::string why;
  ASSERT_FALSE(fitsAUnixSocket(asSshBindsIt(state + "/ssh-%C")));
  std::string path = sshControlPath("/run/user/123456/hoard", state, &why);
  EXPECT_EQ(path, "/run/user/123456/hoard/ssh-%C");
  EXPECT_TRUE(fitsAUnixSocket(asSshBindsIt(path)));
}

TEST(SshControlPathTest, WhereNothingFitsThereIsNoneAndTheReasonSaysWhy) {
  const std::string state(80, 's');
  std::string why;
  EXPECT_EQ(sshControlPath("", "/" + state, &why), "");
  EXPECT_NE(why.find("connection sharing is off"), std::string::npos) << why;
  EXPECT_NE(why.find(state), std::string::npos) << why;
  EXPECT_NE(why.find("107 bytes"), std::string::npos) << why;
}

TEST(SshControlPathTest, TheLongestPathItGivesStillFits) {
  for (size_t n = 1; n < 120; ++n) {
    std::string why;
    std::string dir = "/" + std::string(n, 'd');
    std::string path = sshControlPath("", dir, &why);
    if (path.empty()) continue;
    EXPECT_TRUE(fitsAUnixSocket(asSshBindsIt(path))) << n;
  }
  std::string why;
  EXPECT_NE(sshControlPath("", "/" + std::string(44, 'd'), &why), "") << why;
  EXPECT_EQ(sshControlPath("", "/" + std::string(45, 'd'), &why), "");
}

}  // namespace
}  // namespace hoard::remote
