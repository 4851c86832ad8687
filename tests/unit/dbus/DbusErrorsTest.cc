// SPDX-License-Identifier: MIT
// Every hoard error has a D-Bus name under org.hoard.Error, distinct from the
// others, and the CLI can read each name back.

#include "dbus/DbusErrors.h"

#include <set>

#include <gtest/gtest.h>

// The generated headers compile against sdbus-c++ 1.2 (the contract builds).
#include "dbus/org.hoard.Agent1.adaptor.h"
#include "dbus/org.hoard.Agent1.proxy.h"
#include "dbus/org.hoard.Resolver1.adaptor.h"
#include "dbus/org.hoard.Resolver1.proxy.h"

namespace hoard::dbus {
namespace {

TEST(DbusErrors, EveryCodeHasItsOwnNameThatReadsBack) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    std::string name = errorName(code);
    EXPECT_EQ(name.rfind("org.hoard.Error.", 0), 0u) << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(codeFromDbusName(name), code) << name;
  }
  EXPECT_EQ(errorName(ErrorCode::kAuthExpired), "org.hoard.Error.AuthenticationRequired");
  EXPECT_EQ(codeFromDbusName(kUnknownShare), ErrorCode::kNotFound);
  EXPECT_EQ(codeFromDbusName(kOutsideShare), ErrorCode::kOutsideRoot);
  EXPECT_FALSE(codeFromDbusName("org.freedesktop.DBus.Error.ServiceUnknown"));
  EXPECT_FALSE(codeFromDbusName("org.hoard.Error.NoSuchThing"));
}

TEST(DbusErrors, TheMessageTravelsWithTheName) {
  sdbus::Error e = toDbus(Error(ErrorCode::kBusy, "cannot evict docs: notes.txt has changes"));
  EXPECT_EQ(e.getName(), "org.hoard.Error.Busy");
  EXPECT_EQ(e.getMessage(), "cannot evict docs: notes.txt has changes");
}

}  // namespace
}  // namespace hoard::dbus
