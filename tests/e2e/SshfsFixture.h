// SPDX-License-Identifier: MIT
#pragma once

// A real network filesystem for end-to-end tests: our own sshd (own keys, own
// config, a port of its own) serving an export directory, mounted with sshfs
// at a mountpoint that plays the share's remote root, and a link that can be
// cut for real.
//
// Where the kernel lets us (root, CAP_NET_ADMIN), sshd runs in a network
// namespace of its own joined to this host by a veth pair with link-local
// addresses that never leave the machine; cutting the link adds a blackhole
// route for the client's address inside the namespace, so sshd's packets
// vanish silently (what a laptop sees when Wi-Fi drops). Otherwise sshd listens
// on 127.0.0.1 and a "cut" kills it (the drop flavour) until restoreLink()
// restarts it on the same port; sshfs reconnects either way.
//
// Every wait is a condition poll with a generous overall timeout. Teardown
// leaves nothing behind (mount, processes, namespace, veth, temp dir), and a
// new harness first removes what a crashed earlier run left (names carry the
// pid of the run that made them).
//
// Threads: one test thread drives a harness; none of its methods are
// thread-safe with each other.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/Error.h"
#include "remote/WorkerPool.h"

namespace hoard::e2e {

using namespace std::chrono_literals;

struct CommandResult {
  int exit_code = -1;  // -1 if it could not run, was killed or timed out
  bool timed_out = false;
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (PATH searched) with stdin from /dev/null and waits at most
// `timeout` (then SIGKILLs it).
CommandResult runCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = 30s);

// Polls `condition` every `interval` until it holds or `timeout` passes;
// returns whether it held. Never a fixed sleep as synchronisation.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = 50ms);

class SshfsHarness {
 public:
  enum class CutMode : uint8_t {
    kBlackholeRoute,  // sshd in a netns; cut = blackhole route to the client (silent drop)
    kKillServer,      // sshd on loopback; cut = kill every sshd process (drop)
  };

  struct Options {
    // sshfs -o options added to the harness's own (reconnect, ServerAlive...).
    std::vector<std::string> extra_mount_options;
    // Round trip added between client and server (needs the namespace):
    // netem on the veth pair where the kernel has sch_netem, else a TUN pair
    // joined by the harness's own delay line (DelayLine.cc), half of it each
    // way. Zero: a plain veth pair.
    std::chrono::microseconds added_round_trip{0};
  };

  // Sets everything up (keys, config, namespace, sshd, mount). The error says
  // which step failed and carries the logs.
  static Result<std::unique_ptr<SshfsHarness>> start(Options options);
  ~SshfsHarness();  // tears everything down, whatever state it is in
  SshfsHarness(const SshfsHarness&) = delete;
  SshfsHarness& operator=(const SshfsHarness&) = delete;

  // The sshfs mountpoint: the remote root hoard sees.
  const std::string& mountPath() const { return mount_point_; }
  // A path in the export directory on the server side, for checking bytes and
  // for third-party edits (never through the mount, so it never hangs).
  std::string serverPath(const std::string& rel = {}) const;
  const std::string& exportPath() const { return export_dir_; }
  // ssh to the server as the mount does (our key, port, no host key checks):
  // the argv of `ssh` up to the destination, and the destination
  // ("root@ADDR"), for tools that run over ssh themselves (rsync, unison).
  std::vector<std::string> sshArgv() const;
  std::string sshDestination() const { return "root@" + server_addr_; }

  CutMode cutMode() const { return cut_mode_; }
  // Why the netns flavour is not in use (empty when it is).
  const std::string& fallbackReason() const { return fallback_reason_; }

  // Cuts the link (silent drop, or sshd killed in the fallback) / restores it.
  Status cutLink();
  Status restoreLink();
  bool linkCut() const { return link_cut_; }

  // SIGSTOPs every sftp server process: requests go unanswered while ssh
  // keepalives still are, so sshfs blocks callers indefinitely (a hang, not a
  // drop). resumeServer() SIGCONTs them.
  Status hangServer();
  Status resumeServer();

  // Kills every sshd process (listener and sessions) / starts sshd again on the
  // same address and port.
  Status killServer();
  Status startServer();

  // fusermount3 -u (lazy if busy) and waits for sshfs to exit / mounts again.
  Status unmount();
  Status mount();
  // The mountpoint is an sshfs mount right now (per /proc/self/mountinfo).
  bool isMounted() const;

  // Polls an uncached statvfs of the mount (each attempt under its own
  // deadline, on a pool, so a hung mount cannot block the poll) until it
  // answers as sshfs. False if it did not within `timeout`.
  bool waitUntilReachable(std::chrono::milliseconds timeout = 60s);

  // The last lines of sshd's and sshfs's logs, for failure messages.
  std::string logs() const;
  // How many SFTP requests of `type` ("LSTAT", "OPEN", ...; empty: all) the
  // current mount has sent so far. Needs the mount option sshfs_debug, which
  // logs one line per request; -1 without it.
  long sftpRequests(const std::string& type = {}) const;

  // How latency was added ("netem", "tun delay line", or "none").
  const std::string& latencyMethod() const { return latency_method_; }
  // The round trip over the mount as measured now: the median of `samples`
  // uncached statvfs calls (one SFTP request each), in milliseconds; < 0 if
  // the mount did not answer.
  double measureRoundTripMs(int samples = 15);

 private:
  SshfsHarness() = default;
  Status setUp();
  Status setUpNetns();
  Status setUpVeth(const std::string& veth_ns);
  Status setUpTunDelayLine(const std::string& tun_ns);
  void tearDown();
  Status spawnSshd();
  std::vector<pid_t> sshdProcesses() const;
  Status signalSftpServers(int sig);

  Options options_;
  std::string dir_;  // the temp dir holding everything
  std::string export_dir_;
  std::string mount_point_;
  std::string client_key_;
  std::string sshd_config_;
  std::string sshd_log_;
  std::string sshfs_log_;

  CutMode cut_mode_ = CutMode::kKillServer;
  std::string fallback_reason_;
  std::string netns_;      // empty in the fallback
  std::string veth_host_;  // host side of the veth pair
  std::string client_addr_;
  std::string server_addr_;
  int port_ = 0;

  std::string latency_method_ = "none";
  pid_t delay_line_pid_ = -1;
  pid_t sshd_pid_ = -1;
  pid_t sshfs_pid_ = -1;
  int mounts_ = 0;  // numbers the sshfs logs
  bool link_cut_ = false;
  bool hung_ = false;
  std::shared_ptr<remote::WorkerPool> probe_pool_;
};

// The mount options README.md advises, dir_cache=no,attr_timeout=0,
// entry_timeout=0 (an honest stat), or those in HOARD_E2E_SSHFS_OPTIONS
// (comma-separated, "" for sshfs's defaults).
std::vector<std::string> advisedMountOptions();

// GoogleTest fixture: the harness is started per test suite; ctest runs each
// test in a process of its own, and a second test in the same process gets a
// fresh harness, mounted with advisedMountOptions(). A setup failure fails
// every test with the reason; never skipped.

class SshfsTest : public ::testing::Test {
 public:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

 protected:
  // Fails the test if the harness did not start. Restores the link and
  // resumes the server after each test, so one failing test cannot leave a
  // hung mount to the next.
  void SetUp() override;
  void TearDown() override;

  SshfsTest();

  static SshfsHarness& harness() { return *harness_; }
  // Usable before SetUp has checked the harness (a path that does not exist
  // if it did not start).
  static std::string serverPath(const std::string& rel = {});
  static const std::string& mountPath();

  static std::unique_ptr<SshfsHarness> harness_;
  static std::string setup_error_;
  static bool used_;  // a test of this suite has already run in this process
};

// Raw helpers on local paths (server side), byte-exact.
bool writeFileBytes(const std::string& path, const std::string& data, mode_t mode = 0644);
std::string readFileBytes(const std::string& path);  // "<missing>" if it cannot be opened
bool pathExists(const std::string& path);
std::vector<std::string> listNames(const std::string& dir);  // every name, internal ones too
size_t countTemps(const std::string& dir);                   // `.hoard-tmp-*` names in dir
// A memfd holding `data` (offset 0), or an invalid fd.
int memfdWith(const std::string& data);
// Everything readable from `fd` from offset 0.
std::string readFd(int fd);

}  // namespace hoard::e2e
