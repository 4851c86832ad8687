// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "remote/Mountinfo.h"

namespace hoard::remote {
namespace {

constexpr std::string_view kSample =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
    "40 27 0:40 / /mnt/my\\040share rw,relatime shared:7 master:2 - cifs "
    "//server/team\\040docs rw,vers=3.0\n"
    "41 27 0:41 / /mnt/my rw - nfs4 server:/export rw\n"
    "42 27 0:42 / /home/u/remote rw,nosuid - fuse.sshfs u@host:/srv rw\n"
    "43 42 0:43 /sub/dir /home/u/remote/bound rw - ext4 /dev/vdb rw\n"
    "44 27 0:44 / /odd\\011tab\\012nl\\134bs rw - tmpfs tmpfs rw\n"
    "45 42 0:45 / /home/u/remote rw - tmpfs tmpfs rw\n";

TEST(MountinfoTest, UnescapesOctal) {
  EXPECT_EQ(unescapeMountField("a\\040b"), "a b");
  EXPECT_EQ(unescapeMountField("\\011\\012\\134"), "\t\n\\");
  EXPECT_EQ(unescapeMountField("\\377"), std::string(1, '\xff'));
  EXPECT_EQ(unescapeMountField("trail\\04"), "trail\\04");
  EXPECT_EQ(unescapeMountField("\\x41"), "\\x41");
}

TEST(MountinfoTest, ParsesFieldsAndEscapes) {
  auto m = parseMountinfo(kSample);
  ASSERT_TRUE(m) << m.error().toString();
  ASSERT_EQ(m->size(), 8u);
  const MountEntry& cifs = (*m)[2];
  EXPECT_EQ(cifs.mount_id, 40);
  EXPECT_EQ(cifs.parent_id, 27);
  EXPECT_EQ(cifs.device, "0:40");
  EXPECT_EQ(cifs.mount_point, "/mnt/my share");
  EXPECT_EQ(cifs.optional_fields, (std::vector<std::string>{"shared:7", "master:2"}));
  EXPECT_EQ(cifs.fstype, "cifs");
  EXPECT_EQ(cifs.source, "//server/team docs");
  EXPECT_EQ(cifs.super_options, "rw,vers=3.0");
  EXPECT_EQ((*m)[5].root, "/sub/dir");
  EXPECT_EQ((*m)[6].mount_point, "/odd\ttab\nnl\\bs");
  EXPECT_TRUE((*m)[4].optional_fields.empty());
}

TEST(MountinfoTest, LongestComponentWisePrefixWins) {
  auto m = parseMountinfo(kSample);
  ASSERT_TRUE(m);
  auto at = [&](std::string_view p) {
    const MountEntry* e = findMountFor(*m, p);
    return e ? e->mount_point : std::string("<none>");
  };
  EXPECT_EQ(at("/mnt/my share/x"), "/mnt/my share");
  EXPECT_EQ(at("/mnt/my"), "/mnt/my");
  EXPECT_EQ(at("/mnt/my/a/b"), "/mnt/my");
  EXPECT_EQ(at("/mnt/myother"), "/") << "a string prefix is not a path prefix";
  EXPECT_EQ(at("/home/u/remote/bound/f"), "/home/u/remote/bound");
  EXPECT_EQ(at("/odd\ttab\nnl\\bs/f"), "/odd\ttab\nnl\\bs");
  EXPECT_EQ(at("/etc"), "/");
}

TEST(MountinfoTest, StackedMountsTopOneWins) {
  auto m = parseMountinfo(kSample);
  ASSERT_TRUE(m);
  const MountEntry* e = findMountFor(*m, "/home/u/remote/file");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mount_id, 45);
  EXPECT_EQ(e->fstype, "tmpfs");
}

TEST(MountinfoTest, MalformedLineNamesItsNumber) {
  auto m = parseMountinfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n22 27 0:21 / /proc rw proc\n");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(m.error().message().find("line 2"), std::string::npos) << m.error().message();
  auto bad_id = parseMountinfo("x 1 254:0 / / rw - ext4 /dev/vda rw\n");
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().message().find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace hoard::remote
