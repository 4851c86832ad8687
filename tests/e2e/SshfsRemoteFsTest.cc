// SPDX-License-Identifier: MIT
// PosixRemoteFs on a real sshfs mount: every mutation is checked byte for
// byte on the server side (the export directory sshd serves), never only
// through the mount that made it.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/UniqueFd.h"
#include "e2e/SshfsFixture.h"
#include "remote/PosixRemoteFs.h"

namespace hoard::e2e {
namespace {

using remote::Expect;
using remote::PosixRemoteFs;
using remote::ReplaceOptions;

class SshfsRemoteFsTest : public SshfsTest {
 protected:
  PosixRemoteFs fs_{mountPath()};
};

// Bytes no text layer would survive: NUL, 0xff, CR LF, a lone surrogate half.
std::string binaryBytes(size_t n, char seed) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    s += static_cast<char>((i * 131 + static_cast<size_t>(seed)) & 0xff);
  s += std::string("\0\xff\r\n\xed\xa0\x80", 7);
  return s;
}

mode_t serverMode(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

std::string serverLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "<not a symlink>" : std::string(buf, static_cast<size_t>(n));
}

TEST_F(SshfsRemoteFsTest, EveryOperationRoundTripsToTheServer) {
  const std::string v1 = binaryBytes(200000, 'a');
  UniqueFd src(memfdWith(v1));
  ASSERT_TRUE(src);
  ReplaceOptions ro;
  ro.mode = 0640;
  auto created = fs_.replaceFile("doc.bin", src.get(), Expect::absent(), ro, {});
  ASSERT_TRUE(created) << created.error().toString();
  EXPECT_EQ(readFileBytes(serverPath("doc.bin")), v1);
  EXPECT_EQ(serverMode(serverPath("doc.bin")), 0640u);
  EXPECT_EQ(created->meta.size, v1.size());

  // Replace under the version it reported: the new bytes land whole.
  const std::string v2 = binaryBytes(70000, 'b');
  UniqueFd src2(memfdWith(v2));
  auto replaced =
      fs_.replaceFile("doc.bin", src2.get(), Expect::version(created->data_version), ro, {});
  ASSERT_TRUE(replaced) << replaced.error().toString();
  EXPECT_EQ(readFileBytes(serverPath("doc.bin")), v2);

  // Fetch reads back exactly what the server holds.
  UniqueFd out(memfdWith(""));
  auto fetched = fs_.fetchFile("doc.bin", out.get(), {});
  ASSERT_TRUE(fetched) << fetched.error().toString();
  EXPECT_EQ(readFd(out.get()), v2);

  ASSERT_TRUE(fs_.mkdir("dir", 0750)) << "mkdir";
  struct stat st;
  ASSERT_EQ(::lstat(serverPath("dir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  auto ren = fs_.rename("doc.bin", "dir/moved.bin", Expect::version(replaced->data_version),
                        Expect::absent());
  ASSERT_TRUE(ren) << ren.error().toString();
  EXPECT_FALSE(pathExists(serverPath("doc.bin")));
  EXPECT_EQ(readFileBytes(serverPath("dir/moved.bin")), v2);

  const std::string target = std::string("elsewhere/\xff\x01target", 18);
  auto sl = fs_.symlink("dir/link", target, Expect::absent());
  ASSERT_TRUE(sl) << sl.error().toString();
  EXPECT_EQ(serverLink(serverPath("dir/link")), target);
  auto lst = fs_.lstat("dir/link");
  ASSERT_TRUE(lst) << lst.error().toString();
  EXPECT_EQ(lst->meta.type, FileType::kSymlink);
  EXPECT_EQ(lst->symlink_target, target);

  ASSERT_TRUE(fs_.chmod("dir/moved.bin", 0600));
  EXPECT_EQ(serverMode(serverPath("dir/moved.bin")), 0600u);

  auto listed = fs_.listDir("dir");
  ASSERT_TRUE(listed) << listed.error().toString();
  std::vector<std::string> names;
  for (const auto& e : *listed) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"link", "moved.bin"}));

  auto moved = fs_.lstat("dir/moved.bin");
  ASSERT_TRUE(moved);
  ASSERT_TRUE(fs_.unlink("dir/moved.bin", Expect::version(moved->data_version)));
  ASSERT_TRUE(fs_.unlink("dir/link", Expect::anything()));
  ASSERT_TRUE(fs_.rmdir("dir", Expect::anything()));
  EXPECT_TRUE(listNames(serverPath()).empty())
      << "left on the server: " << listNames(serverPath()).size();
}

TEST_F(SshfsRemoteFsTest, HostileNamesArriveByteForByte) {
  const std::string latin1 = std::string("caf\xe9-\xff\xfe.txt");
  const std::string newline = "line one\nline two";
  const std::string long_name(255, 'n');
  for (const auto& name : {latin1, newline, long_name}) {
    const std::string data = "content of " + name;
    UniqueFd src(memfdWith(data));
    auto r = fs_.replaceFile(name, src.get(), Expect::absent(), {}, {});
    ASSERT_TRUE(r) << r.error().toString();
    EXPECT_EQ(readFileBytes(serverPath(name)), data) << displayPath(name);
  }
  auto names = listNames(serverPath());
  std::sort(names.begin(), names.end());
  std::vector<std::string> want{latin1, newline, long_name};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);

  auto listed = fs_.listDir("");
  ASSERT_TRUE(listed);
  std::vector<std::string> seen;
  for (const auto& e : *listed) seen.push_back(e.name);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, want);

  // Rename one hostile name onto another's directory and fetch it back.
  ASSERT_TRUE(fs_.mkdir(newline + ".d", 0755));
  auto ren = fs_.rename(latin1, newline + ".d/" + latin1, Expect::anything(), Expect::absent());
  ASSERT_TRUE(ren) << ren.error().toString();
  EXPECT_EQ(readFileBytes(serverPath(newline + ".d/" + latin1)), "content of " + latin1);
  UniqueFd out(memfdWith(""));
  auto f = fs_.fetchFile(newline + ".d/" + latin1, out.get(), {});
  ASSERT_TRUE(f) << f.error().toString();
  EXPECT_EQ(readFd(out.get()), "content of " + latin1);

  ASSERT_TRUE(fs_.unlink(newline, Expect::anything()));
  EXPECT_FALSE(pathExists(serverPath(newline)));
}

TEST_F(SshfsRemoteFsTest, ServerSideEditMakesReplaceAConflictAndSurvives) {
  UniqueFd base(memfdWith("base version\n"));
  auto first = fs_.replaceFile("shared.txt", base.get(), Expect::absent(), {}, {});
  ASSERT_TRUE(first) << first.error().toString();

  // A third party edits the file on the server (not through our mount).
  const std::string theirs = "their edit, made on the server side, longer than the base\n";
  ASSERT_TRUE(writeFileBytes(serverPath("shared.txt"), theirs));

  UniqueFd mine(memfdWith("my offline edit\n"));
  auto r = fs_.replaceFile("shared.txt", mine.get(), Expect::version(first->data_version), {}, {});
  ASSERT_FALSE(r) << "replaced a file a third party had changed";
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict) << r.error().toString();
  EXPECT_EQ(readFileBytes(serverPath("shared.txt")), theirs);
  EXPECT_EQ(countTemps(serverPath()), 0u);

  // Deleting and renaming under the stale version are conflicts too.
  auto un = fs_.unlink("shared.txt", Expect::version(first->data_version));
  ASSERT_FALSE(un);
  EXPECT_EQ(un.error().code(), ErrorCode::kConflict);
  auto ren = fs_.rename("shared.txt", "elsewhere.txt", Expect::version(first->data_version),
                        Expect::absent());
  ASSERT_FALSE(ren);
  EXPECT_EQ(ren.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFileBytes(serverPath("shared.txt")), theirs);
  EXPECT_FALSE(pathExists(serverPath("elsewhere.txt")));

  // A file created on the server where we expected nothing: create-create.
  ASSERT_TRUE(writeFileBytes(serverPath("new.txt"), "theirs first"));
  UniqueFd created(memfdWith("mine"));
  auto cc = fs_.replaceFile("new.txt", created.get(), Expect::absent(), {}, {});
  ASSERT_FALSE(cc);
  EXPECT_EQ(cc.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(readFileBytes(serverPath("new.txt")), "theirs first");
  EXPECT_EQ(countTemps(serverPath()), 0u);
}

}  // namespace
}  // namespace hoard::e2e
