// SPDX-License-Identifier: MIT
#include "NotificationMock.h"

#include <signal.h>
#include <sys/wait.h>

#include "dbus/BusHarness.h"

namespace hoard::desktoptest {

namespace {
constexpr const char* kMockIface = "org.freedesktop.DBus.Mock";
constexpr const char* kName = "org.freedesktop.Notifications";
}  // namespace

NotificationMock::NotificationMock(const std::string& capabilities, const std::string& log) {
  pid_ = bustest::spawn({"/usr/bin/python3", "-m", "dbusmock", "--template", "notification_daemon",
                         "-p", "{\"capabilities\": \"" + capabilities + "\"}"},
                        log);
  if (!bustest::eventually([] { return bustest::busNameOwnerPid(kName) > 0; })) return;
  connection_ = sdbus::createSessionBusConnection();
  mock_ = sdbus::createProxy(*connection_, kName, "/org/freedesktop/Notifications");
  mock_->finishRegistration();
  ok_ = true;
}

NotificationMock::~NotificationMock() {
  mock_.reset();
  connection_.reset();
  bustest::stopProcess(pid_);
}

std::vector<sdbus::Struct<uint64_t, std::vector<sdbus::Variant>>> NotificationMock::calls(
    const std::string& method) {
  std::vector<sdbus::Struct<uint64_t, std::vector<sdbus::Variant>>> out;
  mock_->callMethod("GetMethodCalls").onInterface(kMockIface).withArguments(method).storeResultsTo(
      out);
  return out;
}

std::vector<NotifyCall> NotificationMock::notifies() {
  std::vector<NotifyCall> out;
  uint32_t next = 1;  // the template numbers new notifications from 1
  for (auto& call : calls("Notify")) {
    auto& a = std::get<1>(call);
    NotifyCall n;
    n.replaces = a.at(1).get<uint32_t>();
    n.summary = a.at(3).get<std::string>();
    n.body = a.at(4).get<std::string>();
    n.actions = a.at(5).get<std::vector<std::string>>();
    n.expire_timeout = a.at(7).get<int32_t>();
    n.id = n.replaces != 0 ? n.replaces : next++;
    out.push_back(std::move(n));
  }
  return out;
}

std::vector<uint32_t> NotificationMock::closes() {
  std::vector<uint32_t> out;
  for (auto& call : calls("CloseNotification")) {
    const sdbus::Variant& v = std::get<1>(call).at(0);
    out.push_back(v.containsValueOfType<uint32_t>() ? v.get<uint32_t>()
                                                    : static_cast<uint32_t>(v.get<int32_t>()));
  }
  return out;
}

void NotificationMock::emit(const std::string& name, const std::string& signature,
                            const std::vector<sdbus::Variant>& args) {
  mock_->callMethod("EmitSignal")
      .onInterface(kMockIface)
      .withArguments(std::string(kName), name, signature, args);
}

void NotificationMock::act(uint32_t id, const std::string& key) {
  emit("ActionInvoked", "us", {sdbus::Variant(id), sdbus::Variant(key)});
}

void NotificationMock::dismiss(uint32_t id) {
  emit("NotificationClosed", "uu", {sdbus::Variant(id), sdbus::Variant(uint32_t{2})});
}

}  // namespace hoard::desktoptest
