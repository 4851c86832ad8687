// SPDX-License-Identifier: MIT
// An on-demand share's change log comes from the view itself (issue 14:
// "writes are logged exactly by the view, no inotify guesswork"): every
// change a program makes through the view is logged as made, hoardd puts
// no inotify watch on the backing directory (none to run out of, no
// overflow on a burst), and a file a program keeps open and writes in
// bursts reaches the server after each burst.

#include <sys/xattr.h>

#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "OnDemandFixture.h"

namespace hoard {
namespace {

using namespace hoard::ondemandtest;

class CliOnDemandChangeLogTest : public CliOnDemandTest {
 protected:
  int shRc(const std::string& command) { return run("{ " + command + "; } >/dev/null 2>&1").first; }
  // The change log's rows of share "w" after `after`, as "op path[ -> to][ mode]"
  // (op by its number in common/Change.h), in order.
  std::string rows(int64_t after, const std::string& like = "%") {
    return run("sqlite3 -readonly '" + dir_ + "/state/hoard/journal.db' \"SELECT op || ' ' || "
               "CAST(path AS TEXT) || ifnull(' -> ' || CAST(to_path AS TEXT), '') || "
               "CASE WHEN mode != 0 THEN printf(' %o', mode) ELSE '' END FROM change_log WHERE "
               "seq > " + std::to_string(after) + " AND CAST(path AS TEXT) LIKE '" + like +
               "' ORDER BY seq\"")
        .second;
  }
  int64_t lastSeq() {
    std::string out = run("sqlite3 -readonly '" + dir_ +
                          "/state/hoard/journal.db' 'SELECT ifnull(max(seq), 0) FROM change_log'")
                          .second;
    return std::stoll(out);
  }
  // The inodes of the directories hoardd holds inotify watches on.
  std::set<unsigned long> watchedInodes() {
    std::set<unsigned long> inodes;
    for (const auto& f : fs::directory_iterator("/proc/" + std::to_string(daemon_->pid()) + "/fdinfo")) {
      std::ifstream in(f.path());
      for (std::string line; std::getline(in, line);) {
        auto at = line.find(" ino:");
        if (line.rfind("inotify wd:", 0) == 0 && at != std::string::npos)
          inodes.insert(std::stoul(line.substr(at + 5), nullptr, 16));
      }
    }
    return inodes;
  }
};

TEST_F(CliOnDemandChangeLogTest, EachChangeThroughTheViewIsLoggedAsMadeAndTheBackingDirIsNotWatched) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;  // no pass takes the rows meanwhile
  const int64_t before = lastSeq();

  // Offline, through the view: a directory, a file in it written twice, a
  // kept file changed in mode, renamed and given an attribute, a symlink.
  ASSERT_EQ(shRc("mkdir -m 750 '" + C_ + "/dir-y'"), 0);
  ASSERT_EQ(shRc("printf one > '" + C_ + "/dir-y/f.txt' && printf two >> '" + C_ + "/dir-y/f.txt'"), 0);
  ASSERT_EQ(shRc("chmod 600 '" + C_ + "/pinned/p.txt'"), 0);
  ASSERT_EQ(shRc("mv '" + C_ + "/pinned/p.txt' '" + C_ + "/dir-y/p.txt'"), 0);
  ASSERT_EQ(::setxattr((C_ + "/dir-y/p.txt").c_str(), "user.tag", "t", 1, 0), 0) << strerror(errno);
  ASSERT_EQ(shRc("ln -s p.txt '" + C_ + "/dir-y/link'"), 0);

  // Exactly these, in this order: 3 mkdir (mode 750), 1 create (its mode),
  // 2 the second write (the first coalesced into the create unless the
  // tracker took them apart), 7 chmod, 9 "compare the xattrs" (a chmod's
  // attrib), 4 rename, 9 the attribute set, 8 the symlink.
  std::string want_head = "3 dir-y 750\n1 dir-y/f.txt 644\n";
  std::string want_tail = "7 pinned/p.txt 600\n9 pinned/p.txt\n4 pinned/p.txt -> dir-y/p.txt\n"
                          "9 dir-y/p.txt\n8 dir-y/link\n";
  std::string got;
  ASSERT_TRUE(eventually([&] {
    got = rows(before);
    return got.size() >= want_tail.size() && got.ends_with(want_tail);
  }, std::chrono::seconds(10)))
      << got << log();
  EXPECT_TRUE(got == want_head + want_tail || got == want_head + "2 dir-y/f.txt\n" + want_tail) << got;

  // No watch on the backing directory or beneath it: the view reports.
  std::set<unsigned long> watched = watchedInodes();
  for (const auto& d : fs::recursive_directory_iterator(backing_)) {
    if (!d.is_directory()) continue;
    struct stat st {};
    ASSERT_EQ(::lstat(d.path().c_str(), &st), 0);
    EXPECT_EQ(watched.count(st.st_ino), 0u) << d.path() << " is watched by inotify";
  }
  struct stat root {};
  ASSERT_EQ(::lstat(backing_.c_str(), &root), 0);
  EXPECT_EQ(watched.count(root.st_ino), 0u) << "the backing directory is watched by inotify";

  // Online, the server gets exactly that.
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(slurp(R_ + "/dir-y/f.txt"), "onetwo");
  EXPECT_EQ(slurp(R_ + "/dir-y/p.txt"), "kept offline\n");
  EXPECT_FALSE(fs::exists(R_ + "/pinned/p.txt"));
  EXPECT_EQ(run("stat -c %a '" + R_ + "/dir-y' '" + R_ + "/dir-y/p.txt'").second, "750\n600\n");
  EXPECT_EQ(run("readlink '" + R_ + "/dir-y/link'").second, "p.txt\n");
  char tag[8] = {};
  EXPECT_EQ(::getxattr((R_ + "/dir-y/p.txt").c_str(), "user.tag", tag, sizeof tag), 1);
  EXPECT_STREQ(tag, "t");
}

TEST_F(CliOnDemandChangeLogTest, TwoFilesSwappedByRenameExchangeReachTheServerSwapped) {
  addOnDemand();
  ASSERT_TRUE(eventually([&] { return fs::exists(backing_ + "/pinned/p.txt"); })) << log();
  ASSERT_EQ(shRc("printf 'the other\\n' > '" + C_ + "/pinned/q.txt'"), 0);
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  ASSERT_EQ(slurp(R_ + "/pinned/q.txt"), "the other\n");
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  // renameat2(RENAME_EXCHANGE), as a program swapping two files atomically does.
  put(dir_ + "/swap.py",
      "import ctypes, os, sys\n"
      "libc = ctypes.CDLL(None, use_errno=True)\n"
      "r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)\n"
      "sys.exit(0 if r == 0 else ctypes.get_errno())\n");
  ASSERT_EQ(run("/usr/bin/python3 '" + dir_ + "/swap.py' '" + C_ + "/pinned/p.txt' '" + C_ +
                "/pinned/q.txt'").first, 0);
  EXPECT_EQ(slurp(C_ + "/pinned/p.txt"), "the other\n");
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(slurp(R_ + "/pinned/p.txt"), "the other\n");
  EXPECT_EQ(slurp(R_ + "/pinned/q.txt"), "kept offline\n");
}

TEST_F(CliOnDemandChangeLogTest, AnUntarOfThousandsOfFilesIsLoggedWholeWithoutARescan) {
  addOnDemand();
  ASSERT_EQ(hoard("offline w").first, 0) << last_err_;
  const int64_t before = lastSeq();
  // 40 directories of 100 files, unpacked by tar through the view.
  const std::string src = dir_ + "/src/burst";
  for (int d = 0; d < 40; ++d) {
    fs::create_directories(src + "/d" + std::to_string(d));
    for (int f = 0; f < 100; ++f)
      put(src + "/d" + std::to_string(d) + "/f" + std::to_string(f), "file " + std::to_string(f) + "\n");
  }
  ASSERT_EQ(shRc("tar -C '" + dir_ + "/src' -cf '" + dir_ + "/b.tar' burst && tar -C '" + C_ +
                 "/dir-x' -xf '" + dir_ + "/b.tar'"),
            0);
  // Every file has its create row, every directory its mkdir: nothing was
  // left for a rescan to find.
  auto count = [&](int op) {
    return run("sqlite3 -readonly '" + dir_ + "/state/hoard/journal.db' 'SELECT count(*) FROM "
               "change_log WHERE seq > " + std::to_string(before) + " AND op = " +
               std::to_string(op) + "'")
        .second;
  };
  EXPECT_TRUE(eventually([&] { return count(1) == "4000\n"; }, std::chrono::seconds(20)))
      << count(1) << log();
  // burst/ and its 40 directories, and dir-x/, made in the backing
  // directory (it was only listed) as tar's first file went into it.
  EXPECT_EQ(count(3), "42\n");
  ASSERT_EQ(hoard("online w").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync w").first, 0) << last_err_ << log();
  EXPECT_EQ(run("diff -r '" + src + "' '" + R_ + "/dir-x/burst' && echo same").second, "same\n");
}

TEST_F(CliOnDemandChangeLogTest, AFileKeptOpenAndWrittenInBurstsReachesTheServerAfterEachBurst) {
  addOnDemand();
  // A program keeps the file open and writes it in bursts, syncing each to
  // disk; between bursts the test asks for a pass. Markers pace the two.
  const std::string m = dir_ + "/mark";
  put(dir_ + "/writer.py",
      "import os, sys, time\n"
      "def wait(n):\n"
      "    while not os.path.exists(sys.argv[2] + n): time.sleep(0.02)\n"
      "f = open(sys.argv[1], 'w')\n"
      "for i in range(3):\n"
      "    for j in range(50): f.write('burst %d line %d\\n' % (i, j))\n"
      "    f.flush(); os.fsync(f.fileno())\n"
      "    open(sys.argv[2] + 'written%d' % i, 'w').close()\n"
      "    wait('synced%d' % i)\n"
      "f.close()\n");
  pid_t writer = spawn({"/usr/bin/python3", dir_ + "/writer.py", C_ + "/dir/open.log", m},
                       dir_ + "/writer.out");
  std::string want;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 50; ++j) want += "burst " + std::to_string(i) + " line " + std::to_string(j) + "\n";
    ASSERT_TRUE(eventually([&] { return fs::exists(m + "written" + std::to_string(i)); }))
        << slurp(dir_ + "/writer.out");
    // The file is still open: the write-back pass, which looks only at what
    // the change log names, sends what the program wrote so far.
    EXPECT_TRUE(eventually([&] { return slurp(R_ + "/dir/open.log") == want; },
                           std::chrono::seconds(15)))
        << "burst " << i << ": the server has\n" << slurp(R_ + "/dir/open.log") << log();
    put(m + "synced" + std::to_string(i), "");
  }
  EXPECT_EQ(waitExit(writer), 0) << slurp(dir_ + "/writer.out");
}

}  // namespace
}  // namespace hoard
