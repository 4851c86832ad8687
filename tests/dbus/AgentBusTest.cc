// SPDX-License-Identifier: MIT
// hoardd as a client sees it: a private session bus, the real daemon, calls
// through the proxy generated from the contract. Checks what a desktop prompt
// or a script relies on: the answers, the signals, the error names, the files.

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include "BusHarness.h"
#include "dbus/org.hoard.Agent1.proxy.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace hoard::bustest;

std::vector<uint8_t> b(const std::string& s) { return {s.begin(), s.end()}; }

class AgentProxy final : public sdbus::ProxyInterfaces<org::hoard::Agent1_proxy> {
 public:
  explicit AgentProxy(sdbus::IConnection& c)
      : ProxyInterfaces(c, "org.hoard.Agent1", "/org/hoard/Agent1") {
    registerProxy();
  }
  ~AgentProxy() { unregisterProxy(); }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::tuple<uint64_t, std::string, std::string>> finished;  // job, error, message
  std::vector<uint64_t> detected, resolved;
  std::vector<std::pair<std::string, std::string>> resolved_by;  // (resolver, rule)
  std::vector<std::string> auth;  // AuthenticationRequired messages
  std::vector<std::string> states;

  template <class P>
  bool waitFor(P pred) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, pred);
  }

 private:
  void onStateChanged(const std::string&, const std::string& state, const std::string&) override {
    std::lock_guard lock(mu);
    states.push_back(state);
    cv.notify_all();
  }
  void onConflictDetected(const uint64_t& id, const std::string&, const std::vector<uint8_t>&,
                          const std::string&) override {
    std::lock_guard lock(mu);
    detected.push_back(id);
    cv.notify_all();
  }
  void onConflictResolved(const uint64_t& id, const std::string&, const std::vector<uint8_t>&,
                          const std::string&, const std::string& resolver,
                          const std::string& rule) override {
    resolved_by.emplace_back(resolver, rule);
    std::lock_guard lock(mu);
    resolved.push_back(id);
    cv.notify_all();
  }
  void onProgress(const uint64_t&, const std::string&, const std::string&, const uint64_t&,
                  const uint64_t&, const uint32_t&, const uint32_t&) override {}
  void onFetchProgress(const std::string&, const std::vector<uint8_t>&, const std::string&,
                       const uint64_t&, const uint64_t&) override {}
  void onReadWanted(const uint64_t&, const std::string&, const std::vector<uint8_t>&,
                    const std::string&, const uint32_t&) override {}
  void onReadQuestionOver(const uint64_t&, const std::string&, const std::string&) override {}
  void onJobFinished(const uint64_t& job, const std::string&, const std::string& error,
                     const std::string& message) override {
    std::lock_guard lock(mu);
    finished.emplace_back(job, error, message);
    cv.notify_all();
  }
  void onAuthenticationRequired(const std::string&, const std::string& message) override {
    std::lock_guard lock(mu);
    auth.push_back(message);
    cv.notify_all();
  }
  void onAuthenticationExpiring(const std::string&, const int64_t&, const std::string&) override {}
};

class AgentBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-bus-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = dir_ + "/server";
    cache_ = dir_ + "/cache";
    put(server_ + "/docs/report.txt", "report v1\n");
    put(server_ + "/docs/notes.txt", "notes\n");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok()) << "dbus-daemon did not start";
    startDaemon();
    connection_ = sdbus::createSessionBusConnection();
    connection_->enterEventLoopAsync();
    proxy_ = std::make_unique<AgentProxy>(*connection_);
  }
  void TearDown() override {
    proxy_.reset();
    if (connection_) connection_->leaveEventLoop();
    connection_.reset();
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  void startDaemon() {
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  // The D-Bus error name of a failing call.
  template <class F>
  std::string errorOf(F f) {
    try {
      f();
    } catch (const sdbus::Error& e) {
      return e.getName();
    }
    return "<no error>";
  }
  std::string stateOf(const std::string& share) {
    return proxy_->GetStatus(share).at("state").get<std::string>();
  }
  uint64_t syncAndWait(const std::string& share) {
    uint64_t job = proxy_->SyncNow(share);
    EXPECT_TRUE(proxy_->waitFor([&] {
      for (auto& f : proxy_->finished)
        if (std::get<0>(f) == job) return true;
      return false;
    })) << "job " << job << " never finished";
    return job;
  }
  std::string jobError(uint64_t job) {
    std::lock_guard lock(proxy_->mu);
    for (auto& f : proxy_->finished)
      if (std::get<0>(f) == job) return std::get<1>(f);
    return "<unfinished>";
  }

  std::string dir_, server_, cache_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<AgentProxy> proxy_;
};

TEST_F(AgentBusTest, ASecondDaemonOnTheSameBusExitsWithAClearMessage) {
  std::string log = dir_ + "/second.log";
  pid_t second = spawn({HOARDD_PATH}, log, {{"XDG_STATE_HOME", dir_ + "/state2"}});
  EXPECT_EQ(waitExit(second), 1);
  EXPECT_NE(slurp(log).find("another hoardd already runs on this session bus"), std::string::npos)
      << slurp(log);
}

TEST_F(AgentBusTest, AddPinSyncAndStatus) {
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  auto shares = proxy_->ListShares();
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(std::get<0>(shares[0]), "docs");
  EXPECT_EQ(std::get<1>(shares[0]), b(server_));
  EXPECT_EQ(proxy_->Shares(), std::vector<std::string>{"docs"});
  proxy_->Pin("docs", b("docs"), 800);
  auto pins = proxy_->ListPins("docs");
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(std::get<1>(pins[0]), 800u);
  uint64_t job = syncAndWait("docs");
  EXPECT_EQ(jobError(job), "");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "report v1\n");
  EXPECT_TRUE(eventually([&] { return stateOf("docs") == "online"; }));
  auto status = proxy_->GetStatus("docs");
  EXPECT_EQ(status.at("open_conflicts").get<uint32_t>(), 0u);
  EXPECT_GT(status.at("hoarded_bytes").get<uint64_t>(), 0u);
}

TEST_F(AgentBusTest, EveryErrorHasItsName) {
  EXPECT_EQ(errorOf([&] { proxy_->GetStatus("nope"); }), "org.hoard.Error.UnknownShare");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  EXPECT_EQ(errorOf([&] { proxy_->AddShare("docs", b(server_), b(dir_ + "/c2"), {}); }),
            "org.hoard.Error.Exists");
  EXPECT_EQ(errorOf([&] { proxy_->AddShare("rel", b("relative/path"), b(dir_ + "/c3"), {}); }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] {
              proxy_->AddShare("opt", b(server_), b(dir_ + "/c4"), {{"bogus", sdbus::Variant(1)}});
            }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] { proxy_->Pin("docs", b("docs"), 2000); }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] { proxy_->Pin("docs", b("../etc"), 1); }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] { proxy_->Unpin("docs", b("never/pinned")); }), "org.hoard.Error.NotFound");
  EXPECT_EQ(errorOf([&] { proxy_->Resolve({999}, "keep-local"); }),
            "org.hoard.Error.UnknownConflict");
  EXPECT_EQ(errorOf([&] { proxy_->GetConflict(999); }), "org.hoard.Error.UnknownConflict");
  EXPECT_EQ(errorOf([&] { proxy_->Resolve({}, "merge-magic"); }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] { proxy_->ResolvePath(b("/etc/passwd")); }),
            "org.hoard.Error.OutsideShare");
  auto [share, rel] = proxy_->ResolvePath(b(cache_ + "/docs/report.txt"));
  EXPECT_EQ(share, "docs");
  EXPECT_EQ(rel, b("docs/report.txt"));
  EXPECT_EQ(errorOf([&] { proxy_->Evict("docs", b("docs")); }), "org.hoard.Error.Busy")
      << "a share without pins keeps everything";
}

// Issue 9, point 14: a wrongly typed option or filter is InvalidArgument
// (it was System.Error.ENXIO), and "under" cannot climb out of the share.
TEST_F(AgentBusTest, WronglyTypedOptionsAndBadFiltersAreInvalidArgument) {
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  EXPECT_EQ(errorOf([&] {
              proxy_->RemoveShare("docs", {{"force", sdbus::Variant(std::string("yes"))}});
            }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] {
              proxy_->AddShare("other", b(server_), b(dir_ + "/c2"),
                               {{"pins", sdbus::Variant(std::string("docs"))}});
            }),
            "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] {
              proxy_->ResolveMatching("docs", {{"under", sdbus::Variant(std::string("docs"))}},
                                      "keep-local");
            }),
            "org.hoard.Error.InvalidArgument");
  for (const char* bad : {"..", "../etc", "docs/../..", "/docs", "docs//x"})
    EXPECT_EQ(errorOf([&] {
                proxy_->ResolveMatching("docs", {{"under", sdbus::Variant(b(bad))}}, "keep-local");
              }),
              "org.hoard.Error.InvalidArgument")
        << bad;
  EXPECT_EQ(errorOf([&] { proxy_->Evict("docs", b("")); }), "org.hoard.Error.InvalidArgument");
  EXPECT_EQ(errorOf([&] { proxy_->ConfirmMassDelete("docs", 3); }), "org.hoard.Error.NotFound");
  // hoardd is still there and the share untouched.
  EXPECT_EQ(proxy_->Shares(), std::vector<std::string>{"docs"});
}

TEST_F(AgentBusTest, OfflineEditsConflictVersionsAndResolution) {
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  syncAndWait("docs");
  ASSERT_EQ(slurp(cache_ + "/docs/report.txt"), "report v1\n");
  proxy_->SetOffline("docs", true);
  ASSERT_TRUE(eventually([&] { return stateOf("docs") == "offline"; }));
  // The snapshot is stored as the share goes offline; the state may be
  // seen a moment before it is (a flake seen on a loaded machine).
  EXPECT_TRUE(eventually([&] { return proxy_->ListSnapshots("docs").size() == 1u; }))
      << "pre-disconnection snapshot: " << proxy_->ListSnapshots("docs").size();
  put(cache_ + "/docs/report.txt", "report: mine\n");
  put(server_ + "/docs/report.txt", "report: theirs\n");
  put(cache_ + "/docs/notes.txt", "notes, edited offline\n");
  ASSERT_TRUE(eventually([&] { return proxy_->ListChanges("docs").size() >= 2; }));
  uint64_t refused = proxy_->SyncNow("docs");
  ASSERT_TRUE(proxy_->waitFor([&] {
    for (auto& f : proxy_->finished)
      if (std::get<0>(f) == refused) return true;
    return false;
  }));
  EXPECT_EQ(jobError(refused), "org.hoard.Error.Offline") << "nothing touches the remote";
  EXPECT_EQ(slurp(server_ + "/docs/notes.txt"), "notes\n");

  proxy_->SetOffline("docs", false);
  ASSERT_TRUE(proxy_->waitFor([&] { return !proxy_->detected.empty(); }));
  EXPECT_TRUE(eventually([&] { return slurp(server_ + "/docs/notes.txt") == "notes, edited offline\n"; }));
  auto conflicts = proxy_->ListConflicts("docs");
  ASSERT_EQ(conflicts.size(), 1u);
  uint64_t id = std::get<0>(conflicts[0]);
  EXPECT_EQ(std::get<2>(conflicts[0]), b("docs/report.txt"));
  EXPECT_EQ(std::get<3>(conflicts[0]), "content");
  EXPECT_EQ(proxy_->OpenConflicts(), 1u);

  auto [base, local, remote, present] = proxy_->OpenConflictVersions(id);
  auto read = [](const sdbus::UnixFd& fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    off_t off = 0;
    while ((n = pread(fd.get(), buf, sizeof buf, off)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      off += n;
    }
    return out;
  };
  EXPECT_EQ(read(base), "report v1\n");
  EXPECT_EQ(read(local), "report: mine\n");
  EXPECT_EQ(read(remote), "report: theirs\n");
  EXPECT_TRUE(std::get<0>(present) && std::get<1>(present) && std::get<2>(present));
  EXPECT_EQ(fcntl(local.get(), F_GETFL) & O_ACCMODE, O_RDONLY) << "versions are read-only";

  // A client written before ConflictResolved carried the resolver and the
  // rule reads only the first four arguments, and still gets the signal.
  std::vector<std::string> old_client;
  auto old_proxy = sdbus::createProxy(*connection_, "org.hoard.Agent1", "/org/hoard/Agent1");
  old_proxy->uponSignal("ConflictResolved")
      .onInterface("org.hoard.Agent1")
      .call([&](uint64_t, const std::string&, const std::vector<uint8_t>&,
                const std::string& resolution) {
        std::lock_guard lock(proxy_->mu);
        old_client.push_back(resolution);
        proxy_->cv.notify_all();
      });
  old_proxy->finishRegistration();

  auto done = proxy_->Resolve({id}, "keep-local");
  EXPECT_EQ(done, std::vector<uint64_t>{id});
  ASSERT_TRUE(proxy_->waitFor([&] { return !proxy_->resolved.empty() && !old_client.empty(); }));
  EXPECT_EQ(old_client, std::vector<std::string>{"keep-local"});
  {
    std::lock_guard lock(proxy_->mu);
    ASSERT_EQ(proxy_->resolved_by.size(), 1u);
    EXPECT_EQ(proxy_->resolved_by[0], (std::pair<std::string, std::string>{"keep-local", ""}));
  }
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report: mine\n");
  EXPECT_TRUE(proxy_->ListConflicts("docs").empty());
  // The history says what was decided and by whom.
  auto history = proxy_->ListResolutions("docs");
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(std::get<1>(history[0]), id);
  EXPECT_EQ(std::get<4>(history[0]), "content");
  EXPECT_EQ(std::get<5>(history[0]), "keep-local");
  EXPECT_EQ(std::get<6>(history[0]), "keep-local");
  EXPECT_EQ(std::get<10>(history[0]), 0);
  EXPECT_EQ(errorOf([&] { proxy_->Undo(999); }), "org.hoard.Error.UnknownConflict");
  // Undo: both sides back, the conflict announced again.
  size_t detected_before = proxy_->detected.size();
  proxy_->Undo(id);
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report: theirs\n");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "report: mine\n");
  ASSERT_TRUE(proxy_->waitFor([&] { return proxy_->detected.size() > detected_before; }));
  EXPECT_EQ(proxy_->ListConflicts("docs").size(), 1u);
  EXPECT_EQ(errorOf([&] { proxy_->Undo(id); }), "org.hoard.Error.UnknownConflict");
}

TEST_F(AgentBusTest, SigtermStopsCleanly) {
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  EXPECT_EQ(daemon_->stop(), 0);
  EXPECT_NE(slurp(dir_ + "/hoardd.log").find("stopped cleanly"), std::string::npos);
  // It comes back with its shares.
  startDaemon();
  EXPECT_TRUE(eventually([&] {
    try {
      return proxy_->Shares() == std::vector<std::string>{"docs"};
    } catch (const sdbus::Error&) {
      return false;
    }
  }));
}

// Faults the kernel cannot produce on demand, injected into the daemon's
// remote (HOARD_FAULT_INJECT_REMOTE): each reaches the bus under its name.
class AgentFaultBusTest : public AgentBusTest {
 protected:
  void restartWith(const std::string& fault) {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log",
                                       std::vector<std::pair<std::string, std::string>>{
                                           {"HOARD_FAULT_INJECT_REMOTE", fault}});
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  // A local edit, then a sync job: its error name.
  std::string failingSync() {
    put(cache_ + "/docs/report.txt", "an edit the remote refuses\n");
    uint64_t job = syncAndWait("docs");
    return jobError(job);
  }
};

TEST_F(AgentFaultBusTest, ExpiredCredentialsAskForAuthentication) {
  restartWith("EKEYEXPIRED");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  ASSERT_TRUE(eventually([&] { return slurp(cache_ + "/docs/report.txt") == "report v1\n"; }));
  EXPECT_EQ(failingSync(), "org.hoard.Error.AuthenticationRequired");
  ASSERT_TRUE(proxy_->waitFor([&] { return !proxy_->auth.empty(); }))
      << "the AuthenticationRequired signal";
  EXPECT_NE(proxy_->auth[0].find("report.txt"), std::string::npos) << proxy_->auth[0];
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report v1\n");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "an edit the remote refuses\n") << "nothing lost";
}

TEST_F(AgentFaultBusTest, AFullRemoteIsNoSpace) {
  restartWith("ENOSPC");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  ASSERT_TRUE(eventually([&] { return slurp(cache_ + "/docs/report.txt") == "report v1\n"; }));
  EXPECT_EQ(failingSync(), "org.hoard.Error.NoSpace");
}

TEST_F(AgentFaultBusTest, ATimedOutRemoteIsTimeout) {
  restartWith("ETIMEDOUT");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  ASSERT_TRUE(eventually([&] { return slurp(cache_ + "/docs/report.txt") == "report v1\n"; }));
  EXPECT_EQ(failingSync(), "org.hoard.Error.Timeout");
}

TEST_F(AgentFaultBusTest, ARefusedWriteIsPermissionDeniedAndAnIoErrorIsIoError) {
  restartWith("EACCES");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  ASSERT_TRUE(eventually([&] { return slurp(cache_ + "/docs/report.txt") == "report v1\n"; }));
  EXPECT_EQ(failingSync(), "org.hoard.Error.PermissionDenied");
  restartWith("EIO");
  put(cache_ + "/docs/notes.txt", "another refused edit\n");
  EXPECT_EQ(failingSync(), "org.hoard.Error.IoError");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report v1\n");
}

TEST_F(AgentFaultBusTest, AMassDeletionIsAbortedUntilConfirmed) {
  put(server_ + "/docs/a.txt", "a\n");
  put(server_ + "/docs/b.txt", "b\n");
  proxy_->AddShare("docs", b(server_), b(cache_), {});
  syncAndWait("docs");
  ASSERT_EQ(slurp(cache_ + "/docs/a.txt"), "a\n");
  // Everything vanishes from the server at once: the folder is swapped for an
  // empty one, so no pass (the state machine may be running one now) can see
  // the files go one by one, each deletion too small to stop for.
  fs::rename(server_ + "/docs", dir_ + "/docs-gone");
  fs::create_directory(server_ + "/docs");
  uint64_t job = proxy_->SyncNow("docs");
  ASSERT_TRUE(proxy_->waitFor([&] {
    for (auto& f : proxy_->finished)
      if (std::get<0>(f) == job) return true;
    return false;
  }));
  EXPECT_EQ(jobError(job), "org.hoard.Error.Aborted");
  EXPECT_EQ(slurp(cache_ + "/docs/a.txt"), "a\n") << "nothing deleted until confirmed";
}

}  // namespace
}  // namespace hoard
