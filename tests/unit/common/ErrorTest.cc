// SPDX-License-Identifier: MIT
#include "common/Error.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace hoard {
namespace {

TEST(Error, MapsErrnoToCodes) {
  EXPECT_EQ(Error::fromErrno(ENOENT, "open x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(Error::fromErrno(ENOSPC, "write x").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(Error::fromErrno(EKEYEXPIRED, "stat x").code(), ErrorCode::kAuthExpired);
  EXPECT_EQ(Error::fromErrno(ENOTCONN, "stat x").code(), ErrorCode::kOffline);
  EXPECT_EQ(Error::fromErrno(ETIMEDOUT, "stat x").code(), ErrorCode::kTimeout);
  EXPECT_EQ(Error::fromErrno(EACCES, "open x").code(), ErrorCode::kPermission);
  EXPECT_EQ(Error::fromErrno(EIO, "read x").code(), ErrorCode::kIo);
}

TEST(Error, MessageNamesTheCallAndKeepsErrno) {
  Error e = Error::fromErrno(ENOENT, "open notes.txt");
  EXPECT_EQ(e.message(), "open notes.txt: No such file or directory");
  EXPECT_EQ(e.sysErrno(), ENOENT);
  EXPECT_EQ(e.toString(), "NotFound: open notes.txt: No such file or directory");
  EXPECT_EQ(e.withContext("share docs").message(),
            "share docs: open notes.txt: No such file or directory");
  EXPECT_EQ(errorCodeName(ErrorCode::kAuthExpired), "AuthenticationRequired");
}

}  // namespace
}  // namespace hoard
