// SPDX-License-Identifier: MIT
#pragma once

// The fixture of the on-demand CLI tests (CliOnDemandTest.cc,
// CliOnDemandWriteTest.cc): a server folder with names that sort between a
// directory and its children (dir, dir-x, dir.bak), a pinned folder and a
// 3 MiB file; hoardd on a private bus; share "w" added on demand.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"

namespace hoard::ondemandtest {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using namespace std::chrono_literals;

inline constexpr long kFuseMagic = 0x65735546;

inline std::string randomBytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

inline bool isFuseMount(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == kFuseMagic;
}

// Bytes of disk the view's fetched blocks take (sparse files: allocated blocks).
inline uint64_t diskUse(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    struct stat st {};
    if (::lstat(f.path().c_str(), &st) == 0) n += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return n;
}

class CliOnDemandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) GTEST_SKIP() << "/dev/fuse cannot be opened here: " << strerror(errno);
    ::close(fd);
    char tmpl[] = "/tmp/hoard-cli-ondemand-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    backing_ = dir_ + "/state/hoard/backing/w";
    fs::create_directories(R_ + "/dir");
    fs::create_directories(R_ + "/dir-x");
    fs::create_directories(R_ + "/dir.bak");
    fs::create_directories(R_ + "/pinned");
    put(R_ + "/dir/a.txt", "alpha in dir\n");
    put(R_ + "/dir-x/b.txt", "bravo in dir-x\n");
    put(R_ + "/dir.bak/c.txt", "charlie in dir.bak\n");
    put(R_ + "/pinned/p.txt", "kept offline\n");
    big_ = randomBytes(3 << 20, 7);
    put(R_ + "/big.bin", big_);
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    startDaemon();
  }
  // hoardd on the test's state, with `env` (test hooks) added.
  void startDaemon(std::vector<std::pair<std::string, std::string>> env = {}) {
    daemon_.reset();
    env.emplace_back("XDG_CONFIG_HOME", dir_ + "/config");
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log", env);
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  void withConfig(const std::string& config) {
    put(dir_ + "/config/hoard/config.json", config);
    startDaemon();
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    if (dir_.empty()) return;
    run("umount -l '" + C_ + "' 2>/dev/null");  // a view a killed hoardd left
    fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  std::string log() { return slurp(dir_ + "/hoardd.log"); }
  // Adds share "w" on demand with pinned/ pinned, and waits for the view to
  // show the first listing.
  void addOnDemand() {
    auto [rc, out] = hoard("share add w " + R_ + " " + C_ + " --on-demand --pin pinned");
    ASSERT_EQ(rc, 0) << last_err_ << log();
    EXPECT_NE(out.find("on demand"), std::string::npos) << out;
    ASSERT_TRUE(eventually([&] { return fs::exists(C_ + "/dir.bak/c.txt"); }))
        << "the view never showed the listing\n" << log();
  }
  // Every path the view shows, as find(1) prints it: directories with a
  // slash, files with their size.
  std::string found() {
    return run("cd '" + C_ + "' && find . -mindepth 1 \\( -type d -printf '%P/\\n' \\) -o "
               "-printf '%P %s\\n' | LC_ALL=C sort")
        .second;
  }

  // cat of `rel` while share "w" is offline under the wait policy: still
  // waiting after 1.5 s; once `hoard online w`, it ends with `bytes`.
  void expectCatWaitsUntilOnline(const std::string& rel, const std::string& bytes) {
    std::string out_file = dir_ + "/cat.out";
    pid_t cat = spawn({"/bin/cat", C_ + "/" + rel}, out_file);
    std::this_thread::sleep_for(1500ms);
    int status = 0;
    EXPECT_EQ(::waitpid(cat, &status, WNOHANG), 0) << "cat must wait while the share is offline";
    ASSERT_EQ(hoard("online w").first, 0) << last_err_;
    EXPECT_EQ(waitExit(cat), 0) << slurp(out_file);
    EXPECT_EQ(slurp(out_file), bytes);
  }

  std::string dir_, R_, C_, backing_, last_err_, big_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace hoard::ondemandtest
