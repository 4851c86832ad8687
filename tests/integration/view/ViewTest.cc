// SPDX-License-Identifier: MIT
// The FUSE view mounted for real (as root) and driven by ordinary programs:
// ls, stat, find, cat, cp, dd, cmp, sqlite3, a python mmap reader. The
// listing goes through a real journal; the remote is a local directory
// behind PosixRemoteFs.

#include "integration/view/ViewFixture.h"

namespace hoard::view {
namespace {

using namespace fixture;

TEST_F(ViewTest, ListsAndStatsTheWholeShareOfflineWithTheRemoteGone) {
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  struct stat remote_st {};
  ASSERT_EQ(::lstat(remote("dir-x/a.txt").c_str(), &remote_st), 0);
  // The remote vanishes (an unmounted share): the view still shows it all.
  ASSERT_EQ(::rename((tmp_ / "remote").c_str(), (tmp_ / "remote-gone").c_str()), 0);

  Ran ls = sh("ls -1 " + mnt());
  EXPECT_EQ(ls.status, 0) << ls.out;
  EXPECT_EQ(ls.out, "big.bin\ndir\ndir-x\ndir.bak\nlink\n");
  Ran find = sh("cd " + mnt() + " && find . | LC_ALL=C sort");
  EXPECT_EQ(find.out,
            ".\n./big.bin\n./dir\n./dir-x\n./dir-x/a.txt\n./dir.bak\n./dir.bak/a.txt\n./dir/a.txt\n"
            "./dir/sub\n./dir/sub/deep.txt\n./link\n");
  Ran st = sh("stat -c \"%s %a %Y %F\" " + in("dir-x/a.txt") + " " + in("big.bin") + " " + in("dir"));
  EXPECT_EQ(st.out, "5 600 " + std::to_string(remote_st.st_mtim.tv_sec) + " regular file\n" +
                        std::to_string(big_.size()) + " 644 " +
                        sh("stat -c %Y " + tmp_ / "remote-gone/big.bin").out.substr(0, 10) +
                        " regular file\n" + "0 755 " +
                        sh("stat -c %Y " + tmp_ / "remote-gone/dir").out.substr(0, 10) +
                        " directory\n");
  EXPECT_EQ(sh("readlink " + in("link")).out, "dir/a.txt\n");
  EXPECT_EQ(sh("ls " + in("nope")).status, 2);
  // Without a hydrate function (as here) the view is read-only.
  Ran t = sh("touch " + in("dir/new"));
  EXPECT_NE(t.status, 0);
  EXPECT_NE(t.out.find("Read-only file system"), std::string::npos) << t.out;
}

TEST_F(ViewTest, HydratedFilesComeFromTheCacheRootOffline) {
  ASSERT_EQ(::mkdir((tmp_ / "cache/dir").c_str(), 0755), 0);
  ASSERT_TRUE(writeFile(tmp_ / "cache/dir/a.txt", "alpha, edited locally\n"));
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  Ran cat = sh("cat " + in("dir/a.txt"));
  EXPECT_EQ(cat.status, 0);
  EXPECT_EQ(cat.out, "alpha, edited locally\n");
  EXPECT_EQ(sh("stat -c %s " + in("dir/a.txt")).out, "22\n");
  // Its neighbours of similar names are placeholders: offline, no data.
  EXPECT_NE(sh("cat " + in("dir-x/a.txt")).status, 0);
  EXPECT_TRUE(misses().size() == 1 && misses()[0].path == "dir-x/a.txt");
}

TEST_F(ViewTest, AHydratedFileTheEngineReplacesIsReadAnewAtOnce) {
  ASSERT_EQ(::mkdir((tmp_ / "cache/dir").c_str(), 0755), 0);
  std::string local = tmp_ / "cache/dir/a.txt";
  ASSERT_TRUE(writeFile(local, "version one, hydrated\n"));
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  // Read twice: the second open may keep the pages the first one cached.
  EXPECT_EQ(sh("cat " + in("dir/a.txt")).out, "version one, hydrated\n");
  EXPECT_EQ(sh("cat " + in("dir/a.txt")).out, "version one, hydrated\n");
  // A pull renames a new version over it, with the remote's mtime: here the
  // same size and mtime as before, so only the file's identity tells.
  struct stat before {};
  ASSERT_EQ(::stat(local.c_str(), &before), 0);
  ASSERT_TRUE(writeFile(local + ".new", "version 2, same size!\n"));
  ASSERT_EQ(sh("stat -c %s " + local + ".new").out, "22\n");
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (local + ".new").c_str(), times, 0), 0);
  ASSERT_EQ(::rename((local + ".new").c_str(), local.c_str()), 0);
  EXPECT_EQ(sh("cat " + in("dir/a.txt")).out, "version 2, same size!\n");
  // Another size, at once (well within the attribute timeout): all of it.
  ASSERT_TRUE(writeFile(local + ".new", "version three, longer than the others\n"));
  ASSERT_EQ(::rename((local + ".new").c_str(), local.c_str()), 0);
  EXPECT_EQ(sh("cat " + in("dir/a.txt")).out, "version three, longer than the others\n");
  EXPECT_EQ(sh("stat -c %s " + in("dir/a.txt")).out, "38\n");
}

TEST_F(ViewTest, OnlineReadsFetchOnlyTheBlocksRead) {
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  // One 4 KiB read in the third block fetches that block alone.
  Ran dd = sh("dd if=" + in("big.bin") + " bs=4096 skip=130 count=1 status=none iflag=direct | od -An -tx1 | head -c 48");
  EXPECT_EQ(dd.status, 0) << dd.out;
  view_->setOnline(false);
  writeFile(tmp_ / "expect", big_.substr(130 * 4096, 4096));
  Ran again = sh("dd if=" + in("big.bin") + " bs=4096 skip=130 count=1 status=none iflag=direct | cmp - " +
                 tmp_ / "expect");
  EXPECT_EQ(again.status, 0) << again.out;  // present now, offline
  Ran first = sh("dd if=" + in("big.bin") + " bs=4096 count=1 status=none iflag=direct");
  EXPECT_NE(first.status, 0);
  EXPECT_NE(first.out.find("Network is unreachable"), std::string::npos) << first.out;
  view_->setOnline(true);
  Ran cp = sh("cp " + in("big.bin") + " " + tmp_ / "copy && cmp " + tmp_ / "copy " + remote("big.bin"));
  EXPECT_EQ(cp.status, 0) << cp.out;
}

TEST_F(ViewTest, ParallelReadersOfOnePlaceholderEachGetItsBytes) {
  // A bigger file than the fetch unit: the readers' fetches (and the
  // kernel's parallel read-ahead) share its blocks out, none is lost.
  big_ = randomBytes(9 * 1024 * 1024 + 777, 11);
  ASSERT_TRUE(writeFile(remote("big.bin"), big_));
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  std::string cmd;
  for (int i = 0; i < 4; ++i)
    cmd += "(cat " + in("big.bin") + " | cmp - " + remote("big.bin") + " && echo ok) & ";
  Ran r = sh(cmd + "wait");
  EXPECT_EQ(r.out, "ok\nok\nok\nok\n");
  // Offline now: every block is local.
  view_->setOnline(false);
  EXPECT_EQ(sh("cmp " + in("big.bin") + " " + remote("big.bin") + " && echo same").out, "same\n");
  EXPECT_TRUE(misses().empty());
}

TEST_F(ViewTest, ProgramsReadPlaceholdersOnline) {
  Ran made = sh("sqlite3 " + remote("dir/db.sqlite") +
                " \"CREATE TABLE t(x); INSERT INTO t VALUES (1),(2),(3);\"");
  ASSERT_EQ(made.status, 0) << made.out;
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  Ran q = sh("sqlite3 -readonly " + in("dir/db.sqlite") + " \"SELECT sum(x) FROM t\"");
  EXPECT_EQ(q.status, 0) << q.out;
  EXPECT_EQ(q.out, "6\n");
  std::string py =
      "import hashlib, mmap, sys\n"
      "with open(sys.argv[1], \"rb\") as f:\n"
      "    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
      "    print(hashlib.sha256(m[:]).hexdigest())\n";
  writeFile(tmp_ / "reader.py", py);
  Ran viaMmap = sh("/usr/bin/python3 " + tmp_ / "reader.py " + in("big.bin"));
  Ran direct = sh("sha256sum < " + remote("big.bin") + " | cut -d\" \" -f1");
  EXPECT_EQ(viaMmap.status, 0) << viaMmap.out;
  EXPECT_EQ(viaMmap.out, direct.out);
  EXPECT_EQ(sh("cat " + in("dir.bak/a.txt")).out, "backup\n");
  EXPECT_TRUE(misses().empty());
}

TEST_F(ViewTest, HoleSkippingReadersGetTheRealBytesOfAPartlyFetchedFile) {
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  // One block from the middle fetched: the local copy is sparse around it.
  ASSERT_EQ(sh("dd if=" + in("big.bin") + " bs=256K skip=2 count=1 status=none > /dev/null").status,
            0);
  // SEEK_DATA / SEEK_HOLE see one run of data, the whole file, never the
  // holes of the local copy (a reader that skips holes would get zeros).
  std::string py =
      "import os, sys\n"
      "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
      "print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE))\n";
  writeFile(tmp_ / "seek.py", py);
  Ran seek = sh("/usr/bin/python3 " + tmp_ / "seek.py " + in("big.bin"));
  EXPECT_EQ(seek.status, 0) << seek.out;
  EXPECT_EQ(seek.out, "0 " + std::to_string(big_.size()) + "\n");
  // cp --sparse=always looks for holes with SEEK_DATA; it must copy every byte.
  Ran cp = sh("cp --sparse=always " + in("big.bin") + " " + tmp_ / "copy.bin" + " && cmp " +
              tmp_ / "copy.bin " + remote("big.bin") + " && echo same");
  EXPECT_EQ(cp.out, "same\n");
}

TEST_F(ViewTest, ARemoteFileChangedSinceListingIsFetchedAnewNeverSpliced) {
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  // The first block of the listed version is fetched...
  ASSERT_EQ(sh("head -c 10 " + in("big.bin") + " > /dev/null").status, 0);
  // ...then the file is rewritten on the server (same size, other bytes).
  std::string next = randomBytes(big_.size(), 8);
  ASSERT_TRUE(writeFile(remote("big.bin.new"), next));
  ASSERT_EQ(::rename(remote("big.bin.new").c_str(), remote("big.bin").c_str()), 0);
  Ran cmp = sh("cat " + in("big.bin") + " | cmp - " + remote("big.bin"));
  EXPECT_EQ(cmp.status, 0) << cmp.out;
  // A rewrite to another size: all of the new content, at its new size.
  ASSERT_TRUE(writeFile(remote("dir/a.txt"), "alpha, rewritten on the server\n"));
  Ran cat = sh("cat " + in("dir/a.txt"));
  EXPECT_EQ(cat.out, "alpha, rewritten on the server\n");
}

TEST_F(ViewTest, OfflineErrorPolicyFailsAtOnceAndRecordsTheMiss) {
  ASSERT_NO_FATAL_FAILURE(mount(options(MissPolicy::kError)));
  auto t0 = std::chrono::steady_clock::now();
  Ran cat = sh("cat " + in("dir/sub/deep.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(cat.status, 1);
  EXPECT_NE(cat.out.find("Network is unreachable"), std::string::npos) << cat.out;
  auto m = misses();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].path, "dir/sub/deep.txt");
  EXPECT_EQ(m[0].program, "cat");
  EXPECT_EQ(m[0].outcome, "failed");
  std::lock_guard<std::mutex> lock(misses_mu_);
  auto stored = journal_->misses(share_);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].path, "dir/sub/deep.txt");
  EXPECT_EQ((*stored)[0].program, "cat");
  EXPECT_EQ((*stored)[0].outcome, "failed");
}

TEST_F(ViewTest, FilesStillOpenWhenTheViewStopsAreFreedAndNothingHangs) {
  // The kernel's RELEASE of a file open at unmount never reaches the view;
  // its open files go with it (under ASan a leak fails this test at exit).
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  int placeholder = ::open(in("dir/a.txt").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(placeholder, 0) << strerror(errno);
  int big = ::open(in("big.bin").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(big, 0) << strerror(errno);
  char buf[6] = {};
  ASSERT_EQ(::read(placeholder, buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "alpha\n");
  auto t0 = std::chrono::steady_clock::now();
  view_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "an open file must not hold the unmount";
  // The programs' files fail from then on, never giving wrong data (what
  // the page cache already holds may still be served: the same bytes).
  errno = 0;
  EXPECT_EQ(::read(big, buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENOTCONN) << strerror(errno);
  ssize_t again = ::pread(placeholder, buf, sizeof buf, 0);
  if (again < 0) {
    EXPECT_EQ(errno, ENOTCONN) << strerror(errno);
  } else {
    EXPECT_EQ(std::string(buf, static_cast<size_t>(again)), "alpha\n");
  }
  ::close(placeholder);  // the flush may fail (ENOTCONN); the descriptor is gone either way
  ::close(big);
}

TEST_F(ViewTest, OfflineWaitPolicyHoldsTheReadUntilOnline) {
  ASSERT_NO_FATAL_FAILURE(mount(options(MissPolicy::kWait)));
  auto cat = std::async(std::launch::async, [&] { return sh("cat " + in("dir/a.txt")); });
  ASSERT_EQ(cat.wait_for(500ms), std::future_status::timeout);  // held
  view_->setOnline(true);
  ASSERT_EQ(cat.wait_for(10s), std::future_status::ready);
  Ran r = cat.get();
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "alpha\n");
  ASSERT_EQ(misses().size(), 1u);
  EXPECT_EQ(misses()[0].outcome, "fetched");
}

TEST_F(ViewTest, OfflineWaitPolicyGivesUpAtTheDeadline) {
  ViewOptions o = options(MissPolicy::kWait);
  o.wait_deadline = 300ms;
  ASSERT_NO_FATAL_FAILURE(mount(std::move(o)));
  Ran r = sh("cat " + in("dir/a.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("Connection timed out"), std::string::npos) << r.out;
  ASSERT_EQ(misses().size(), 1u);
  EXPECT_EQ(misses()[0].outcome, "timed-out");
}

TEST_F(ViewTest, CtrlCInterruptsAWaitingRead) {
  ViewOptions o = options(MissPolicy::kWait);
  o.wait_deadline = 60s;
  ASSERT_NO_FATAL_FAILURE(mount(std::move(o)));
  auto t0 = std::chrono::steady_clock::now();
  Ran r = sh("timeout -s INT 0.5 cat " + in("dir/a.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(r.status, 0);
  ASSERT_TRUE(eventually([&] { return misses().size() == 1; }));
  EXPECT_EQ(misses()[0].outcome, "interrupted");
}

TEST_F(ViewTest, AKilledViewGivesEnotconnAndARestartRecovers) {
  recordListing();
  auto listing = journal_->remoteListing(share_);
  ASSERT_TRUE(listing);
  child_ = ::fork();
  ASSERT_GE(child_, 0);
  if (child_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto v = View::mount(options(), *listing, remote_fs_);
    if (!v) ::_exit(3);
    for (;;) ::pause();
  }
  ASSERT_TRUE(eventually([&] { return sh("ls " + mnt()).out.find("dir.bak") != std::string::npos; }));
  ::kill(child_, SIGKILL);
  ::waitpid(child_, nullptr, 0);
  child_ = -1;
  Ran dead = sh("stat " + in("dir"));
  EXPECT_NE(dead.out.find("Transport endpoint is not connected"), std::string::npos) << dead.out;
  // A restart detaches the dead mount and mounts again.
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  EXPECT_EQ(sh("cat " + in("dir-x/a.txt")).out, "dash\n");
}

TEST_F(ViewTest, AHungRemoteFailsTheReadAtTheDeadlineNotForever) {
  auto faulty = std::make_shared<remote::FaultyRemoteFs>(remote_fs_);
  remote::FaultRule hang;
  hang.hang = true;
  faulty->addRule(hang);  // every call: the link is up, the server is not
  ViewOptions o = options(MissPolicy::kError);
  o.fetch_deadline = 300ms;
  ASSERT_NO_FATAL_FAILURE(mount(std::move(o), faulty));
  view_->setOnline(true);
  auto t0 = std::chrono::steady_clock::now();
  Ran cat = sh("cat " + in("dir-x/a.txt"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(cat.status, 1);
  EXPECT_NE(cat.out.find("Network is unreachable"), std::string::npos) << cat.out;
  EXPECT_EQ(sh("ls " + in("dir-x")).out, "a.txt\n");  // metadata never waited
  faulty->clearRules();
  EXPECT_EQ(sh("cat " + in("dir-x/a.txt")).out, "dash\n");  // the server is back
}

TEST_F(ViewTest, AFailedFetchLeavesNothingTakenForData) {
  auto faulty = std::make_shared<remote::FaultyRemoteFs>(remote_fs_);
  remote::FaultRule eio;
  eio.op = remote::RemoteOp::kOpenRead;
  eio.err = EIO;
  int rule = faulty->addRule(eio);
  ASSERT_NO_FATAL_FAILURE(mount(options(), faulty));
  view_->setOnline(true);
  Ran cat = sh("cat " + in("big.bin"));
  EXPECT_EQ(cat.status, 1);
  EXPECT_NE(cat.out.find("Input/output error"), std::string::npos) << cat.out;
  // Offline now: had anything been marked present, it would be served.
  view_->setOnline(false);
  EXPECT_NE(sh("head -c 1 " + in("big.bin")).status, 0);
  faulty->removeRule(rule);
  view_->setOnline(true);
  EXPECT_EQ(sh("cmp " + in("big.bin") + " " + remote("big.bin")).status, 0);
}

TEST_F(ViewTest, FetchedBlocksOutliveARestartOfTheView) {
  ASSERT_NO_FATAL_FAILURE(mount(options()));
  view_->setOnline(true);
  ASSERT_EQ(sh("cat " + in("big.bin") + " > /dev/null").status, 0);  // closed: flushed
  view_.reset();
  ASSERT_EQ(::rename((tmp_ / "remote").c_str(), (tmp_ / "remote-gone").c_str()), 0);
  ASSERT_EQ(::mkdir((tmp_ / "remote").c_str(), 0755), 0);  // an empty mountpoint
  auto listing = journal_->remoteListing(share_);
  ASSERT_TRUE(listing);
  auto v = View::mount(options(), *listing, remote_fs_);  // offline
  ASSERT_TRUE(v) << v.error().toString();
  view_ = std::move(*v);
  Ran cmp = sh("cmp " + in("big.bin") + " " + tmp_ / "remote-gone/big.bin");
  EXPECT_EQ(cmp.status, 0) << cmp.out;
  EXPECT_TRUE(misses().empty());
}

TEST_F(ViewTest, RefusesACacheRootBeneathItsMountpoint) {
  ViewOptions o = options();
  o.cache_root = in("inside");
  auto v = View::mount(std::move(o), {}, remote_fs_);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(v.error().message().find("beneath its mountpoint"), std::string::npos);
}

}  // namespace
}  // namespace hoard::view
