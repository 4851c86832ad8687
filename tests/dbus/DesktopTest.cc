// SPDX-License-Identifier: MIT
// The desktop side, through the real hoardd and the real CLI on a private
// session bus, with a second private bus playing the system bus
// (DBUS_SYSTEM_BUS_ADDRESS) where python3-dbusmock's networkmanager and
// logind templates run:
//  - credentials that expire (an injected EKEYEXPIRED, the kernel cannot
//    give one on demand) -> auth-required, work goes on in the cache,
//    AuthenticationRequired once, `hoard auth` runs the renewal command,
//    reintegration with the bytes on both sides;
//  - `hoard ready` in each state, its exit codes and --json against
//    schemas/cli/ready.schema.json;
//  - NetworkManager's connectivity and logind's PrepareForSleep changing the
//    share's state promptly, the sleep inhibitor taken and released.

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include "BusHarness.h"
#include "SchemaCheck.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

// A second dbus-daemon, as the system bus: its address only, set for hoardd
// and the mocks (not for this process's session bus).
class SystemBus {
 public:
  explicit SystemBus(const std::string& log) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      execlp("dbus-daemon", "dbus-daemon", "--session", "--nofork", "--print-address=1",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    char ch;
    while (read(fds[0], &ch, 1) == 1 && ch != '\n') address_.push_back(ch);
    close(fds[0]);
    (void)log;
  }
  ~SystemBus() {
    for (pid_t m : mocks_) stopProcess(m);
    if (pid_ > 0) stopProcess(pid_);
  }
  const std::string& address() const { return address_; }
  // python3-dbusmock with `tmpl` on this bus; waits until `name` answers.
  bool mock(const std::string& tmpl, const std::string& name, const std::string& path,
            const std::string& log) {
    mocks_.push_back(spawn({"/usr/bin/python3", "-m", "dbusmock", "--system", "--template", tmpl},
                           log, {{"DBUS_SYSTEM_BUS_ADDRESS", address_}}));
    return eventually([&] {
      return gdbus(name, path, "org.freedesktop.DBus.Introspectable.Introspect", "").first == 0;
    });
  }
  // gdbus call on this bus; {exit status, stdout}.
  std::pair<int, std::string> gdbus(const std::string& dest, const std::string& path,
                                    const std::string& method, const std::string& args) {
    return run("gdbus call --address '" + address_ + "' --dest " + dest + " --object-path " +
               path + " --method " + method + " " + args + " 2>&1");
  }

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::vector<pid_t> mocks_;
};

class DesktopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-desktop-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = dir_ + "/server";
    cache_ = dir_ + "/cache";
    fault_ = dir_ + "/credentials-expired";
    put(server_ + "/docs/report.txt", "report v1\n");
    put(server_ + "/docs/plan.txt", "plan v1\r\nno final newline");
    put(server_ + "/docs-x/other.txt", "other\n");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
  }
  void TearDown() override {
    daemon_.reset();
    system_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  void config(const json& c) { put(dir_ + "/config/hoard/config.json", c.dump(2)); }
  void startDaemon(std::vector<std::pair<std::string, std::string>> env = {}) {
    env.emplace_back("XDG_CONFIG_HOME", dir_ + "/config");
    env.emplace_back("HOARD_FAULT_REMOTE_WHILE", fault_);
    env.emplace_back("DBUS_SYSTEM_BUS_ADDRESS",
                     system_ ? system_->address() : "unix:path=" + dir_ + "/no-system-bus");
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log", env);
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  void startSystemBus() {
    system_ = std::make_unique<SystemBus>(dir_ + "/system.log");
    ASSERT_FALSE(system_->address().empty());
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  json listing(const std::string& args, const std::string& schema, int want_rc = 0) {
    auto [rc, out] = hoard(args + " --json");
    EXPECT_EQ(rc, want_rc) << args << "\n" << out << last_err_;
    json doc = json::parse(out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << args << " printed no JSON: " << out;
    std::string why = schemaViolations(doc, schema);
    if (!why.empty())
      ADD_FAILURE() << args << " --json does not match " << schema << ".schema.json:\n"
                    << why << doc.dump(2);
    return doc;
  }
  std::string state() {
    json s = json::parse(hoard("status docs --json").second, nullptr, false);
    return s.is_array() && !s.empty() ? s[0]["state"].get<std::string>() : "?";
  }
  void addShare() {
    ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
    ASSERT_TRUE(eventually([&] { return slurp(cache_ + "/docs/report.txt") == "report v1\n"; }));
    ASSERT_TRUE(eventually([&] { return state() == "online"; }));
  }
  // Waits for `want`; how long it took.
  std::chrono::milliseconds timeUntilState(const std::string& want) {
    auto t0 = SteadyClock::now();
    EXPECT_TRUE(eventually([&] { return state() == want; }, std::chrono::seconds(20)))
        << "state " << state() << ", wanted " << want << "\n" << slurp(dir_ + "/hoardd.log");
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
  }
  // Counts `member` signals of org.hoard.Agent1 seen by dbus-monitor since it started.
  void monitor() {
    monitor_pid_ = spawn({"dbus-monitor", "--session",
                          "type='signal',interface='org.hoard.Agent1'"},
                         dir_ + "/signals.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  size_t signals(const std::string& member) {
    std::string log = slurp(dir_ + "/signals.log");
    size_t n = 0;
    for (size_t at = 0; (at = log.find("member=" + member + "\n", at)) != std::string::npos; ++at)
      ++n;
    return n;
  }
  void stopMonitor() {
    if (monitor_pid_ > 0) {
      stopProcess(monitor_pid_);
      monitor_pid_ = -1;
    }
  }

  std::string dir_, server_, cache_, fault_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<SystemBus> system_;
  std::unique_ptr<Daemon> daemon_;
  pid_t monitor_pid_ = -1;
};

// --- re-authentication ----------------------------------------------------------

TEST_F(DesktopTest, ExpiredCredentialsWaitForHoardAuthAndNothingIsLost) {
  config({{"probe_interval_offline_s", 0.3},
          {"shares", {{"docs", {{"auth_command", "rm -f " + fault_ + " && echo renewed"}}}}}});
  startDaemon();
  addShare();
  monitor();
  put(fault_, "EKEYEXPIRED\n");
  put(cache_ + "/docs/report.txt", "report: edited while the key was expiring\n");
  timeUntilState("auth-required");
  json st = listing("status docs", "status");
  EXPECT_TRUE(st[0]["auth_required"].get<bool>());
  auto [rc, text] = hoard("status docs");
  EXPECT_NE(text.find("hoard auth docs"), std::string::npos) << text;
  // Work goes on in the cache; several probes later there was still one signal.
  put(cache_ + "/docs/new.txt", "written while refused\n");
  ASSERT_TRUE(eventually([&] {
    for (auto& c : listing("changes docs", "changes"))
      if (c["path"] == "docs/new.txt") return true;
    return false;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(state(), "auth-required");
  EXPECT_EQ(signals("AuthenticationRequired"), 1u) << slurp(dir_ + "/signals.log");
  // Nothing cached is dropped while access is lost.
  ASSERT_EQ(hoard("pin --share docs docs-x").first, 0) << last_err_;
  EXPECT_EQ(hoard("evict --share docs docs/plan.txt").first, 1);
  EXPECT_NE(last_err_.find("refuses hoard's credentials"), std::string::npos) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/plan.txt"), "plan v1\r\nno final newline");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report v1\n") << "the remote was not touched";

  // `hoard auth` runs the renewal command here, then hoard reintegrates.
  auto [arc, aout] = hoard("auth docs");
  EXPECT_EQ(arc, 0) << aout << last_err_ << slurp(dir_ + "/hoardd.log");
  EXPECT_FALSE(fs::exists(fault_)) << "the auth_command ran";
  EXPECT_NE(aout.find("credentials work"), std::string::npos) << aout;
  timeUntilState("online");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report: edited while the key was expiring\n");
  EXPECT_EQ(slurp(server_ + "/docs/new.txt"), "written while refused\n");
  EXPECT_EQ(slurp(cache_ + "/docs/new.txt"), "written while refused\n");
  EXPECT_TRUE(listing("changes docs", "changes").empty());
  EXPECT_FALSE(listing("status docs", "status")[0]["auth_required"].get<bool>());
  stopMonitor();
  EXPECT_EQ(signals("AuthenticationRequired"), 1u);
}

TEST_F(DesktopTest, RenewRunsTheCommandDetachedAndLogsItsOutput) {
  config({{"probe_interval_offline_s", 60},
          {"shares", {{"docs", {{"auth_command", "echo 'ticket renewed for docs'; rm -f " + fault_}}}}}});
  startDaemon();
  addShare();
  put(fault_, "EKEYREVOKED\n");
  put(cache_ + "/docs/plan.txt", "plan v2\n");
  timeUntilState("auth-required");
  auto [rc, out] = hoard("auth docs --detached");
  EXPECT_EQ(rc, 0) << out << last_err_;
  EXPECT_NE(slurp(dir_ + "/hoardd.log").find("auth_command: ticket renewed for docs"),
            std::string::npos)
      << slurp(dir_ + "/hoardd.log");
  // Online without waiting for the 60 s probe: the renewal probed at once.
  timeUntilState("online");
  EXPECT_EQ(slurp(server_ + "/docs/plan.txt"), "plan v2\n");
}

TEST_F(DesktopTest, AFailingRenewalSaysSoAndTheShareStaysRefused) {
  config({{"shares", {{"docs", {{"auth_command", "echo 'kinit: Password incorrect'; exit 3"}}}}}});
  startDaemon();
  addShare();
  put(fault_, "EKEYREJECTED\n");
  put(cache_ + "/docs/plan.txt", "plan v2\n");
  timeUntilState("auth-required");
  auto [rc, out] = hoard("auth docs");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(last_err_.find("exited with status 3"), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("auth docs --detached").first, 1);
  EXPECT_NE(last_err_.find("still refuses"), std::string::npos) << last_err_;
  EXPECT_EQ(state(), "auth-required");
  EXPECT_EQ(slurp(cache_ + "/docs/plan.txt"), "plan v2\n");
  EXPECT_EQ(slurp(server_ + "/docs/plan.txt"), "plan v1\r\nno final newline");
}

TEST_F(DesktopTest, TheAuthCheckWarnsBeforeExpiry) {
  config({{"shares",
           {{"docs",
             {{"auth_command", "true"},
              {"auth_check_command", "echo 600 seconds left"},
              {"auth_warn_before_s", 900}}}}}});
  monitor();
  startDaemon();
  addShare();
  ASSERT_TRUE(eventually([&] { return signals("AuthenticationExpiring") == 1; }))
      << slurp(dir_ + "/signals.log");
  EXPECT_NE(slurp(dir_ + "/signals.log").find("expire in 10 minutes"), std::string::npos);
  json st = listing("status docs", "status");
  EXPECT_EQ(st[0]["auth_expiry"], "expire in 10 minutes");
  EXPECT_LE(st[0]["auth_expires_in_s"].get<int64_t>(), 600);
  auto [rc, text] = hoard("status docs");
  EXPECT_NE(text.find("the credentials expire in 10 minutes"), std::string::npos) << text;
}

TEST_F(DesktopTest, AnUnknownShareKeyNamesTheFileAndTheKey) {
  config({{"shares", {{"docs", {{"auth_comand", "kinit"}}}}}});
  auto [rc, out] = run("XDG_CONFIG_HOME=" + dir_ + "/config XDG_STATE_HOME=" + dir_ +
                       "/state " + HOARDD_PATH + " 2>" + dir_ + "/hoardd.log");
  EXPECT_EQ(rc, 1) << "hoardd does not start on a bad config";
  std::string log = slurp(dir_ + "/hoardd.log");
  EXPECT_NE(log.find("config.json"), std::string::npos) << log;
  EXPECT_NE(log.find("auth_comand"), std::string::npos) << log;
}

// --- hoard ready ---------------------------------------------------------------

TEST_F(DesktopTest, ReadySaysWhatIsNotOfflineReadyAndWhy) {
  config({{"write_back_quiet_ms", 600000}, {"write_back_max_delay_ms", 600000}});
  startDaemon();
  addShare();
  ASSERT_EQ(hoard("sync docs").first, 0) << last_err_;
  json r = listing("ready docs", "ready");
  EXPECT_TRUE(r[0]["ready"].get<bool>()) << r.dump(2);
  EXPECT_EQ(hoard("ready").first, 0);

  // A change not sent yet (the write-back waits 10 minutes here).
  put(cache_ + "/docs/report.txt", "report v2\n");
  ASSERT_TRUE(eventually([&] { return !listing("changes docs", "changes").empty(); }));
  r = listing("ready docs", "ready", 4);
  ASSERT_FALSE(r[0]["ready"].get<bool>());
  EXPECT_EQ(r[0]["problems"][0]["reason"], "unsent");
  EXPECT_EQ(r[0]["problems"][0]["path"], "docs/report.txt");
  auto [rc, text] = hoard("ready docs");
  EXPECT_EQ(rc, 4);
  EXPECT_NE(text.find("NOT offline-ready"), std::string::npos) << text;

  // A pin not fetched yet (offline: nothing can fetch it), and a conflict.
  ASSERT_EQ(hoard("offline docs").first, 0);
  put(server_ + "/later/big.bin", std::string("\x00\xff\xfe", 3));
  ASSERT_EQ(hoard("pin --share docs later").first, 0) << last_err_;
  put(server_ + "/docs/report.txt", "report: theirs\n");
  r = listing("ready docs", "ready", 4);
  std::set<std::string> reasons;
  for (auto& p : r[0]["problems"]) reasons.insert(p["reason"].get<std::string>());
  EXPECT_EQ(reasons, (std::set<std::string>{"unsent", "not-fetched"})) << r.dump(2);
  ASSERT_EQ(hoard("online docs").first, 0);
  EXPECT_TRUE(eventually([&] { return hoard("sync docs").first == 3; })) << last_err_;
  r = listing("ready docs", "ready", 4);
  reasons.clear();
  for (auto& p : r[0]["problems"]) reasons.insert(p["reason"].get<std::string>());
  EXPECT_TRUE(reasons.count("conflict")) << r.dump(2);
  EXPECT_FALSE(reasons.count("not-fetched")) << "the reconnect fetched the pin: " << r.dump(2);
  EXPECT_EQ(slurp(cache_ + "/later/big.bin"), std::string("\x00\xff\xfe", 3));
  // Resolved and sent: ready again.
  ASSERT_EQ(hoard("resolve --share docs --glob '**' --with keep-local").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("ready docs").first == 0; }))
      << listing("ready docs", "ready", 4).dump(2);
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report v2\n");
}

TEST_F(DesktopTest, ReadyNamesWhatTheBudgetLeftOut) {
  config({{"cache_budget_bytes", 40}});
  put(server_ + "/docs/large.txt", std::string(100, 'x'));
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("pin --share docs docs").first, 0) << last_err_;
  ASSERT_EQ(hoard("sync docs").first, 0) << last_err_;
  json r = listing("ready docs", "ready", 4);
  bool over = false;
  for (auto& p : r[0]["problems"])
    over = over || (p["reason"] == "over-budget" && p["path"] == "docs/large.txt");
  EXPECT_TRUE(over) << r.dump(2);
}

// --- the session's signals ---------------------------------------------------------

TEST_F(DesktopTest, NetworkManagerConnectivityChangesTheStateAtOnce) {
  startSystemBus();
  ASSERT_TRUE(system_->mock("networkmanager", "org.freedesktop.NetworkManager",
                            "/org/freedesktop/NetworkManager", dir_ + "/nm.log"));
  // Probes far apart: only the hints can move the share within the test.
  config({{"probe_interval_offline_s", 600}, {"probe_interval_online_s", 600}});
  startDaemon();
  addShare();
  auto nm = [&](const std::string& method, const std::string& arg) {
    auto [rc, out] = system_->gdbus("org.freedesktop.NetworkManager",
                                    "/org/freedesktop/NetworkManager",
                                    "org.freedesktop.DBus.Mock." + method, arg);
    ASSERT_EQ(rc, 0) << out;
  };
  nm("SetConnectivity", "1");  // NM_CONNECTIVITY_NONE
  auto down = timeUntilState("offline");
  put(cache_ + "/docs/report.txt", "report: written on the train\n");
  nm("SetConnectivity", "4");  // NM_CONNECTIVITY_FULL
  auto up = timeUntilState("online");
  ASSERT_TRUE(eventually([&] {
    return slurp(server_ + "/docs/report.txt") == "report: written on the train\n";
  }));
  // StateChanged(20): disconnected; StateChanged(70): connected global.
  nm("SetGlobalConnectionState", "20");
  auto down2 = timeUntilState("offline");
  nm("SetGlobalConnectionState", "70");
  auto up2 = timeUntilState("online");
  std::cout << "[ measured ] NetworkManager: offline after " << down.count() << " ms, online after "
            << up.count() << " ms (connectivity); " << down2.count() << " ms / " << up2.count()
            << " ms (state); probe interval 600 s\n";
  EXPECT_LT(down.count(), 1000);
  EXPECT_LT(up.count(), 1000);
  EXPECT_LT(down2.count(), 1000);
  EXPECT_LT(up2.count(), 1000);
}

TEST_F(DesktopTest, SleepSendsPendingChangesUnderADelayLockAndResumeProbes) {
  startSystemBus();
  ASSERT_TRUE(system_->mock("logind", "org.freedesktop.login1", "/org/freedesktop/login1",
                            dir_ + "/logind.log"));
  config({{"write_back_quiet_ms", 600000},
          {"write_back_max_delay_ms", 600000},
          {"probe_interval_offline_s", 600},
          {"probe_interval_online_s", 600}});
  startDaemon();
  addShare();
  auto inhibitors = [&] {
    return system_->gdbus("org.freedesktop.login1", "/org/freedesktop/login1",
                          "org.freedesktop.login1.Manager.ListInhibitors", "").second;
  };
  auto sleep = [&](bool start) {
    auto [rc, out] = system_->gdbus(
        "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.DBus.Mock.EmitSignal",
        std::string("org.freedesktop.login1.Manager PrepareForSleep b '[<") +
            (start ? "true" : "false") + ">]'");
    ASSERT_EQ(rc, 0) << out;
  };
  ASSERT_TRUE(eventually([&] { return inhibitors().find("'hoard'") != std::string::npos; }))
      << inhibitors();
  EXPECT_NE(inhibitors().find("'delay'"), std::string::npos) << inhibitors();
  // An edit the write-back would leave for 10 minutes goes before the sleep.
  put(cache_ + "/docs/report.txt", "report: saved just before closing the lid\n");
  ASSERT_TRUE(eventually([&] { return !listing("changes docs", "changes").empty(); }));
  auto t0 = SteadyClock::now();
  sleep(true);
  ASSERT_TRUE(eventually([&] { return inhibitors().find("'hoard'") == std::string::npos; }))
      << "the lock is released once the pass is done: " << inhibitors();
  auto released = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "report: saved just before closing the lid\n");
  EXPECT_TRUE(listing("changes docs", "changes").empty());
  // Asleep: the server changes; on resume hoard probes and pulls at once
  // (the 600 s interval would not).
  put(server_ + "/docs/plan.txt", "plan: changed overnight\n");
  size_t log_before = slurp(dir_ + "/hoardd.log").size();
  t0 = SteadyClock::now();
  sleep(false);
  ASSERT_TRUE(eventually([&] {
    return slurp(dir_ + "/hoardd.log").find("resumed from sleep", log_before) != std::string::npos;
  }));
  auto resumed = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
  EXPECT_TRUE(eventually([&] { return inhibitors().find("'hoard'") != std::string::npos; }))
      << "the lock is taken again for the next sleep";
  std::cout << "[ measured ] logind: lock released " << released.count()
            << " ms after PrepareForSleep(true); resume noticed after " << resumed.count()
            << " ms\n";
  EXPECT_LT(resumed.count(), 1000);
}

TEST_F(DesktopTest, WithoutASystemBusHoardWorksAsBefore) {
  startDaemon();  // DBUS_SYSTEM_BUS_ADDRESS names a socket that is not there
  addShare();
  EXPECT_NE(slurp(dir_ + "/hoardd.log").find("no system bus"), std::string::npos)
      << slurp(dir_ + "/hoardd.log");
  put(cache_ + "/docs/report.txt", "report v2\n");
  EXPECT_TRUE(eventually([&] { return slurp(server_ + "/docs/report.txt") == "report v2\n"; }));
}

}  // namespace
}  // namespace hoard
