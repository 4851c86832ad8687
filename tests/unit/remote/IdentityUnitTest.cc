// SPDX-License-Identifier: MIT
#include "remote/Identity.h"

#include <gtest/gtest.h>

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
