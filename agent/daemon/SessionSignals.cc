// SPDX-License-Identifier: MIT
#include "daemon/SessionSignals.h"

#include <sdbus-c++/StandardInterfaces.h>
#include <sdbus-c++/sdbus-c++.h>

#include <mutex>

#include "common/ThreadAnnotations.h"
#include "common/UniqueFd.h"
#include "daemon/Log.h"
#include "daemon/Strand.h"
#include "dbus/org.freedesktop.NetworkManager.proxy.h"
#include "dbus/org.freedesktop.login1.Manager.proxy.h"

namespace hoard::daemon {

namespace {

constexpr uint32_t kNmStateDisconnected = 20;     // and 10 asleep, 0 unknown
constexpr uint32_t kNmStateConnectedLocal = 50;   // 60 site, 70 global
constexpr uint32_t kNmConnectivityNone = 1;       // 2 portal, 3 limited, 4 full
constexpr std::chrono::milliseconds kDefaultDelay{5000};  // logind's default InhibitDelayMaxSec
constexpr std::chrono::milliseconds kMargin{1000};

class NetworkManager final
    : public sdbus::ProxyInterfaces<org::freedesktop::NetworkManager_proxy, sdbus::Properties_proxy> {
 public:
  NetworkManager(sdbus::IConnection& c, const SessionHooks& hooks)
      : ProxyInterfaces(c, "org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager"),
        hooks_(hooks) {
    registerProxy();
  }
  ~NetworkManager() { unregisterProxy(); }

 private:
  void onStateChanged(const uint32_t& state) override {
    if (state >= kNmStateConnectedLocal)
      hooks_.network_up("NetworkManager: connected (state " + std::to_string(state) + ")");
    else if (state <= kNmStateDisconnected && state != 0)
      hooks_.network_down("NetworkManager: no network connection (state " + std::to_string(state) + ")");
  }
  void onPropertiesChanged(const std::string& iface,
                           const std::map<std::string, sdbus::Variant>& changed,
                           const std::vector<std::string>&) override {
    if (iface != org::freedesktop::NetworkManager_proxy::INTERFACE_NAME) return;
    auto it = changed.find("Connectivity");
    if (it == changed.end() || !it->second.containsValueOfType<uint32_t>()) return;
    const uint32_t c = it->second.get<uint32_t>();
    if (c == kNmConnectivityNone)
      hooks_.network_down("NetworkManager: connectivity none");
    else if (c > kNmConnectivityNone)
      hooks_.network_up("NetworkManager: connectivity " + std::to_string(c));
  }
  const SessionHooks& hooks_;
};

class Logind final : public sdbus::ProxyInterfaces<org::freedesktop::login1::Manager_proxy> {
 public:
  Logind(sdbus::IConnection& c, std::function<void(bool)> on_sleep)
      : ProxyInterfaces(c, "org.freedesktop.login1", "/org/freedesktop/login1"),
        on_sleep_(std::move(on_sleep)) {
    registerProxy();
  }
  ~Logind() { unregisterProxy(); }

 private:
  void onPrepareForSleep(const bool& start) override { on_sleep_(start); }
  std::function<void(bool)> on_sleep_;
};

}  // namespace

class SessionSignals::Impl {
 public:
  explicit Impl(SessionHooks hooks) : hooks_(std::move(hooks)) {}
  ~Impl() {
    logind_.reset();
    nm_.reset();
    work_.reset();  // a sleep hook in progress finishes first
    if (connection_) connection_->leaveEventLoop();
  }

  void start() {
    connection_ = sdbus::createSystemBusConnection();
    nm_ = std::make_unique<NetworkManager>(*connection_, hooks_);
    logind_ = std::make_unique<Logind>(*connection_, [this](bool start) { onSleep(start); });
    connection_->enterEventLoopAsync();
    takeLock();
  }

 private:
  // The delay lock, held until the next PrepareForSleep(true) is handled.
  void takeLock() {
    try {
      sdbus::UnixFd fd = logind_->Inhibit("sleep", "hoard",
                                          "sending local changes to the network shares", "delay");
      MutexLock lock(mu_);
      lock_fd_.reset(fd.release());
    } catch (const sdbus::Error& e) {
      log(6, "no logind sleep inhibitor (" + e.getName() + "): suspend is not prepared for");
    }
  }
  std::chrono::milliseconds delayBudget() {
    try {
      auto max = std::chrono::microseconds(logind_->InhibitDelayMaxUSec());
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(max) - kMargin;
      return std::max(ms, std::chrono::milliseconds(500));
    } catch (const sdbus::Error&) {
      return kDefaultDelay - kMargin;
    }
  }
  // On the bus thread: the work goes to the strand, which may take seconds.
  void onSleep(bool start) {
    work_->post([this, start] {
      if (start) {
        const auto budget = delayBudget();
        log(6, "suspend coming: finishing within " + std::to_string(budget.count()) + " ms");
        hooks_.sleep(budget);
        MutexLock lock(mu_);
        lock_fd_.reset();  // the machine may sleep now
      } else {
        hooks_.resumed();
        takeLock();
      }
    });
  }

  SessionHooks hooks_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<NetworkManager> nm_;
  std::unique_ptr<Logind> logind_;
  std::unique_ptr<Strand> work_ = std::make_unique<Strand>("hoard-session");
  Mutex mu_;
  UniqueFd lock_fd_ HOARD_GUARDED_BY(mu_);
};

SessionSignals::SessionSignals(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SessionSignals::~SessionSignals() = default;

std::unique_ptr<SessionSignals> SessionSignals::start(SessionHooks hooks) {
  auto impl = std::make_unique<Impl>(std::move(hooks));
  try {
    impl->start();
  } catch (const sdbus::Error& e) {
    log(6, "no system bus (" + e.getMessage() +
               "): NetworkManager and logind hints are off; probes alone decide");
    return nullptr;
  }
  log(6, "listening to NetworkManager and logind on the system bus");
  return std::unique_ptr<SessionSignals>(new SessionSignals(std::move(impl)));
}

}  // namespace hoard::daemon
