// SPDX-License-Identifier: MIT
#pragma once

// python3-dbusmock's notification_daemon template on the test's private
// session bus, standing in for the desktop's notification server: the test
// reads the calls hoard-prompt made (GetMethodCalls) and plays the person
// by emitting ActionInvoked and NotificationClosed from it.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

namespace hoard::desktoptest {

struct NotifyCall {
  uint32_t replaces = 0;
  uint32_t id = 0;  // what the mock answered: replaces, or the next new id
  std::string summary, body;
  std::vector<std::string> actions;
  int32_t expire_timeout = -1;
};

class NotificationMock {
 public:
  // `capabilities`: the server's, space-separated ("actions body body-markup").
  // The bus must be up (DBUS_SESSION_BUS_ADDRESS set). `log`: its output.
  NotificationMock(const std::string& capabilities, const std::string& log);
  ~NotificationMock();
  bool ok() const { return ok_; }

  std::vector<NotifyCall> notifies();
  std::vector<uint32_t> closes();  // CloseNotification's ids
  void act(uint32_t id, const std::string& key);  // ActionInvoked
  void dismiss(uint32_t id);                      // NotificationClosed, reason 2

 private:
  void emit(const std::string& name, const std::string& signature,
            const std::vector<sdbus::Variant>& args);
  std::vector<sdbus::Struct<uint64_t, std::vector<sdbus::Variant>>> calls(const std::string& m);

  pid_t pid_ = -1;
  bool ok_ = false;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> mock_;
};

}  // namespace hoard::desktoptest
