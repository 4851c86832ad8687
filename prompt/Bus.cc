// SPDX-License-Identifier: MIT
#include "prompt/Bus.h"

#include <algorithm>
#include <type_traits>

#include "dbus/DbusErrors.h"

namespace hoard::prompt {

namespace {

// The one catch ladder of hoard-prompt's calls: a D-Bus error becomes an
// Error carrying its name (so the person sees what hoardd said).
Error fromDbus(const sdbus::Error& e) {
  std::string name = e.getName();
  ErrorCode code = name == dbus::kUnknownConflict ? ErrorCode::kNotFound
                                                  : dbus::codeFromDbusName(name).value_or(
                                                        ErrorCode::kAborted);
  return Error(code, e.getMessage().empty() ? name : e.getMessage() + " (" + name + ")");
}

template <typename F>
auto guarded(F&& f) -> Result<decltype(f())> {
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      return {};
    } else {
      return f();
    }
  } catch (const sdbus::Error& e) {
    return tl::unexpected(fromDbus(e));
  }
}

template <typename T>
T member(const std::map<std::string, sdbus::Variant>& m, const std::string& key, T fallback) {
  auto it = m.find(key);
  if (it == m.end() || !it->second.containsValueOfType<T>()) return fallback;
  return it->second.get<T>();
}

std::string sideType(const std::map<std::string, sdbus::Variant>& conflict, const std::string& side) {
  auto s = member(conflict, side, std::map<std::string, sdbus::Variant>{});
  return member(s, "type", std::string("none"));
}

}  // namespace

AgentLink::AgentLink(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, kAgentName, "/org/hoard/Agent1") {
  registerProxy();
}

AgentLink::~AgentLink() { unregisterProxy(); }

void AgentLink::onConflictResolved(const uint64_t& id, const std::string&,
                                   const std::vector<uint8_t>&, const std::string&,
                                   const std::string&, const std::string&) {
  if (on_resolved) on_resolved(id);
}

void AgentLink::onStateChanged(const std::string& share, const std::string&, const std::string&) {
  if (on_state_changed) on_state_changed(share);
}

void AgentLink::onJobFinished(const uint64_t& job, const std::string&, const std::string& error,
                              const std::string& message) {
  if (on_job_finished) on_job_finished(job, error, message);
}

void AgentLink::onAuthenticationRequired(const std::string& share, const std::string&) {
  if (on_auth_required) on_auth_required(share);
}

void AgentLink::onAuthenticationExpiring(const std::string& share, const int64_t& seconds_left,
                                         const std::string&) {
  if (on_auth_expiring) on_auth_expiring(share, seconds_left);
}

Status AgentLink::registerPrompt() {
  Status st = guarded([&] {
    RegisterResolver(sdbus::ObjectPath(kResolverObject), "prompt",
                     {{"default", sdbus::Variant(true)}, {"timeout_s", sdbus::Variant(uint32_t{30})}});
  });
  // Registered already by this connection (hoardd names the object then;
  // a name taken by another program is a different message): that is done.
  if (!st && st.error().code() == ErrorCode::kExists &&
      st.error().message().find(std::string("object ") + kResolverObject) != std::string::npos)
    return {};
  return st;
}

Status AgentLink::answerRead(uint64_t question, const std::string& answer) {
  return guarded([&] { AnswerRead(question, answer); });
}

void AgentLink::onReadWanted(const uint64_t& question, const std::string& share,
                             const std::vector<uint8_t>& path, const std::string& program,
                             const uint32_t& deadline_s) {
  if (on_read_wanted)
    on_read_wanted(ReadWanted{question, share, std::string(path.begin(), path.end()), program,
                              deadline_s});
}

void AgentLink::onReadQuestionOver(const uint64_t& question, const std::string&,
                                   const std::string&) {
  if (on_read_over) on_read_over(question);
}

Status AgentLink::resolve(uint64_t id, const std::string& how) {
  return guarded([&] { Resolve({id}, how); });
}

Result<bool> AgentLink::isOpen(uint64_t id) {
  auto got = guarded([&] { return GetConflict(id); });
  if (!got) {
    if (got.error().code() == ErrorCode::kNotFound) return false;
    return tl::unexpected(got.error());
  }
  return member(*got, "state", std::string("open")) != "resolved";
}

Result<std::vector<sdbus::UnixFd>> AgentLink::versions(uint64_t id) {
  return guarded([&] {
    auto [base, local, remote, present] = OpenConflictVersions(id);
    (void)present;  // an absent version is an empty file: shown as such
    return std::vector<sdbus::UnixFd>{base, local, remote};
  });
}

Result<uint64_t> AgentLink::renew(const std::string& share) {
  return guarded([&] { return Renew(share, {}); });
}

Result<bool> AgentLink::authRequired(const std::string& share) {
  return guarded([&] { return member(GetStatus(share), "auth_required", false); });
}

Result<std::vector<std::string>> AgentLink::sharesAwaitingAuth() {
  return guarded([&] {
    std::vector<std::string> out;
    for (const auto& s : ListShares())
      if (std::get<3>(s) == "auth-required") out.push_back(std::get<0>(s));
    return out;
  });
}

Result<std::vector<ShareReadiness>> AgentLink::readiness() {
  return guarded([&] {
    std::vector<ShareReadiness> out;
    for (const auto& s : ListShares()) {
      ShareReadiness r;
      r.share = std::get<0>(s);
      r.state = std::get<3>(s);
      for (const auto& p : CheckReady(r.share))
        r.problems.push_back({std::get<0>(p), std::get<3>(p)});
      out.push_back(std::move(r));
    }
    return out;
  });
}

Notifier::Notifier(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, kNotificationsName, "/org/freedesktop/Notifications") {
  registerProxy();
}

Notifier::~Notifier() { unregisterProxy(); }

ServerCaps Notifier::capabilities() {
  ServerCaps caps;
  auto got = guarded([&] { return GetCapabilities(); });
  if (!got) return caps;
  caps.actions = std::count(got->begin(), got->end(), "actions") > 0;
  caps.markup = std::count(got->begin(), got->end(), "body-markup") > 0;
  return caps;
}

Result<uint32_t> Notifier::show(const NoteText& t, uint32_t replaces) {
  std::map<std::string, sdbus::Variant> hints = {
      {"urgency", sdbus::Variant(uint8_t{1})},
      {"category", sdbus::Variant(std::string("transfer"))}};
  // A conflict's timeout is 0: it waits until the person chooses or closes it.
  return guarded([&] {
    return Notify("hoard", replaces, t.icon, t.summary, t.body, t.actions, hints, t.expire_timeout);
  });
}

void Notifier::close(uint32_t id) {
  (void)guarded([&] { CloseNotification(id); });
}

void Notifier::onNotificationClosed(const uint32_t& id, const uint32_t& reason) {
  if (on_closed) on_closed(id, reason);
}

void Notifier::onActionInvoked(const uint32_t& id, const std::string& key) {
  if (on_action) on_action(id, key);
}

ResolverObject::ResolverObject(sdbus::IConnection& connection)
    : AdaptorInterfaces(connection, kResolverObject) {
  registerAdaptor();
}

ResolverObject::~ResolverObject() { unregisterAdaptor(); }

std::string ResolverObject::Resolve(const std::map<std::string, sdbus::Variant>& conflict,
                                    const sdbus::UnixFd&, const sdbus::UnixFd&,
                                    const sdbus::UnixFd&, const sdbus::UnixFd&) {
  // A dry run's preview: a person is asked only for real.
  if (member(conflict, "preview", false)) return "defer";
  ConflictInfo c;
  c.id = member(conflict, "id", uint64_t{0});
  c.share = member(conflict, "share", std::string());
  auto path = member(conflict, "path", std::vector<uint8_t>{});
  c.path.assign(path.begin(), path.end());
  c.kind = member(conflict, "kind", std::string());
  c.local_type = sideType(conflict, "local");
  c.remote_type = sideType(conflict, "remote");
  if (c.id != 0 && on_conflict) on_conflict(std::move(c));
  return "defer";
}

std::unique_ptr<sdbus::IProxy> watchNames(
    sdbus::IConnection& connection,
    std::function<void(const std::string&, const std::string&)> on_owner) {
  auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus->uponSignal("NameOwnerChanged")
      .onInterface("org.freedesktop.DBus")
      .call([on_owner](const std::string& name, const std::string&, const std::string& owner) {
        if (name == kAgentName || name == kNotificationsName) on_owner(name, owner);
      });
  bus->finishRegistration();
  return bus;
}

}  // namespace hoard::prompt
