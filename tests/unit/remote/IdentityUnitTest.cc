// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cerrno>

#include "remote/Identity.h"

namespace hoard::remote {
namespace {

TEST(FakeConnectivityProbeTest, AnswersWhatItWasTold) {
  FakeConnectivityProbe probe;
  EXPECT_EQ(probe.probe().state, Reachability::kReachable);
  probe.setOffline("link down");
  ProbeResult r = probe.probe();
  EXPECT_EQ(r.state, Reachability::kOffline);
  EXPECT_EQ(r.reason, "link down");
  probe.set(ProbeResult{Reachability::kAuthExpired, "ticket expired", std::nullopt});
  EXPECT_EQ(probe.probe().state, Reachability::kAuthExpired);
  EXPECT_EQ(probe.probes(), 3u);
}

TEST(ReachabilityTest, Names) {
  EXPECT_EQ(reachabilityName(Reachability::kReachable), "reachable");
  EXPECT_EQ(reachabilityName(Reachability::kOffline), "offline");
  EXPECT_EQ(reachabilityName(Reachability::kAuthExpired), "auth-expired");
}

}  // namespace
}  // namespace hoard::remote

namespace hoard::remote {
namespace {

TEST(ProbeResultFromErrorTest, AuthErrorsAreAuthExpiredOthersOffline) {
  const std::pair<int, Reachability> cases[] = {
      {EACCES, Reachability::kAuthExpired},
      {EPERM, Reachability::kAuthExpired},
      {EKEYEXPIRED, Reachability::kAuthExpired},
      {ENOTCONN, Reachability::kOffline},
      {EIO, Reachability::kOffline},
      {ETIMEDOUT, Reachability::kOffline},
  };
  for (const auto& [err, want] : cases) {
    ProbeResult r = probeResultFromError(Error::fromErrno(err, "statvfs"), "remote root '/r'");
    EXPECT_EQ(r.state, want) << err;
    EXPECT_NE(r.reason.find("remote root '/r': statvfs"), std::string::npos) << r.reason;
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->sysErrno(), err);
  }
}

}  // namespace
}  // namespace hoard::remote
