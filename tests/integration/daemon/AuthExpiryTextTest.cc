// SPDX-License-Identifier: MIT
// How hoardd words the time credentials have left (notifications, status).

#include <gtest/gtest.h>

#include "daemon/AuthWatch.h"

namespace hoard::daemon {
namespace {

TEST(AuthExpiryTextTest, TheTimeLeftIsSaidToTheNearestUnit) {
  EXPECT_EQ(expiryText(600, true), "expire in 10 minutes");
  EXPECT_EQ(expiryText(599, true), "expire in 10 minutes");  // a second after the check
  EXPECT_EQ(expiryText(569, true), "expire in 9 minutes");
  EXPECT_EQ(expiryText(119, true), "expire in 119 seconds");
  EXPECT_EQ(expiryText(120, true), "expire in 2 minutes");
  EXPECT_EQ(expiryText(61, true), "expire in 61 seconds");
  EXPECT_EQ(expiryText(7169, true), "expire in 119 minutes");
  EXPECT_EQ(expiryText(7170, true), "expire in 2 hours");
  EXPECT_EQ(expiryText(5 * 3600 - 1, true), "expire in 5 hours");
  EXPECT_EQ(expiryText(1, true), "expire in 1 second");
}

TEST(AuthExpiryTextTest, ExpiredUnknownAndInvalidAreSaidPlainly) {
  EXPECT_EQ(expiryText(0, true), "have expired");
  EXPECT_EQ(expiryText(-5, true), "have expired");
  EXPECT_EQ(expiryText(600, false), "have expired");
  EXPECT_EQ(expiryText(std::nullopt, true), "are valid");
}

}  // namespace
}  // namespace hoard::daemon
