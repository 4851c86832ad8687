// SPDX-License-Identifier: MIT
// A pinned root: once the share is unmounted under hoard's feet, the bare
// mountpoint is neither read nor written, and the call says offline.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "remote/PosixRemoteFs.h"

namespace hoard::remote {
namespace {

namespace fs = std::filesystem;

TEST(PinRootTest, AnUnmountedShareIsOfflineAndTheMountpointStaysEmpty) {
  char tmpl[] = "/tmp/hoard-pin-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  ASSERT_EQ(::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=4m"), 0)
      << "mounting a tmpfs needs root: " << strerror(errno);
  PosixRemoteFs remote(root);
  ASSERT_TRUE(remote.pinRoot());
  auto write = [&](const std::string& name) {
    int fd = ::open(root.c_str(), O_TMPFILE | O_RDWR, 0600);
    if (fd < 0) fd = ::open("/tmp", O_TMPFILE | O_RDWR, 0600);
    EXPECT_EQ(::write(fd, "bytes", 5), 5);
    auto r = remote.replaceFile(name, fd, Expect::absent(), {}, nullptr);
    ::close(fd);
    return r;
  };
  ASSERT_TRUE(write("on-the-share.txt"));

  ASSERT_EQ(::umount2(root.c_str(), MNT_DETACH), 0);
  auto lost = write("new-top-level.txt");
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code(), ErrorCode::kOffline) << lost.error().toString();
  EXPECT_NE(lost.error().message().find("no longer on the share's filesystem"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(root)) << "nothing was written into the bare mountpoint";
  EXPECT_EQ(remote.lstat("on-the-share.txt").error().code(), ErrorCode::kOffline);

  // Mounted again: whether it is the share is the identity check's question
  // (marker, fsid; a fresh tmpfs may even reuse the old device number); once
  // it says yes and the root is re-pinned, calls go through.
  ASSERT_EQ(::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=4m"), 0);
  ASSERT_TRUE(remote.pinRoot());
  EXPECT_TRUE(write("after-remount.txt"));
  ::umount2(root.c_str(), MNT_DETACH);
  fs::remove_all(root);
}

}  // namespace
}  // namespace hoard::remote
