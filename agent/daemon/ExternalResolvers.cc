// SPDX-License-Identifier: MIT
#include "daemon/ExternalResolvers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <future>
#include <vector>

#include "common/UniqueFd.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"

namespace hoard::daemon {

namespace {

constexpr const char* kInterface = "org.hoard.Resolver1";

// A dry run's question ("preview": true) waits at most this long: a
// resolver that would ask a person must answer a preview at once.
constexpr std::chrono::milliseconds kPreviewTimeout{2000};

// The bus's names for a call that got no answer in time.
bool timedOut(const std::string& error_name) {
  return error_name == "org.freedesktop.DBus.Error.NoReply" ||
         error_name == "org.freedesktop.DBus.Error.Timeout" ||
         error_name == "org.freedesktop.DBus.Error.TimedOut";
}

// A sealed copy of what `fd` holds: readable, never writable by anyone.
Result<UniqueFd> sealedCopy(int fd, const char* what) {
  UniqueFd out(::memfd_create(what, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (out.get() < 0) return failErrno(errno, "memfd_create");
  if (fd >= 0) {
    char buf[1 << 16];
    off_t off = 0;
    for (;;) {
      ssize_t n = ::pread(fd, buf, sizeof buf, off);
      if (n < 0) return failErrno(errno, std::string("read the ") + what + " version");
      if (n == 0) break;
      for (ssize_t done = 0; done < n;) {
        ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
        if (w < 0) return failErrno(errno, std::string("copy the ") + what + " version");
        done += w;
      }
      off += n;
    }
  }
  if (::fcntl(out.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return failErrno(errno, "seal the copy");
  // A read-only descriptor of the sealed file, so the resolver gets no write access at all.
  UniqueFd ro(::open(("/proc/self/fd/" + std::to_string(out.get())).c_str(), O_RDONLY | O_CLOEXEC));
  if (ro.get() < 0) return failErrno(errno, "reopen the sealed copy read-only");
  return ro;
}

std::map<std::string, sdbus::Variant> side(const resolvers::Version& v) {
  std::map<std::string, sdbus::Variant> out = {
      {"type", sdbus::Variant(std::string(fileTypeName(v.type)))},
      {"size", sdbus::Variant(v.size)},
      {"mode", sdbus::Variant(v.mode)},
      {"mtime_ns", sdbus::Variant(v.mtime_ns)}};
  if (v.hash) out["hash"] = sdbus::Variant(v.hash->hex());
  if (v.type == FileType::kSymlink) out["target"] = sdbus::Variant(bytes(v.symlink_target));
  return out;
}

}  // namespace

class ExternalResolvers::Remote final : public resolvers::Resolver {
 public:
  Remote(sdbus::IConnection& connection, std::string sender, std::string object, std::string name,
         std::chrono::milliseconds timeout)
      : proxy_(sdbus::createProxy(connection, sender, object)),
        sender_(std::move(sender)),
        object_(std::move(object)),
        name_(std::move(name)),
        timeout_(timeout) {
    proxy_->finishRegistration();
  }
  std::string_view name() const override { return name_; }
  std::string_view summary() const override { return "an external resolver"; }
  Status checkOptions(const nlohmann::json&) const override { return {}; }  // its own business
  // Asked in dry runs too, with "preview": true (see resolve()).
  bool previewable() const override { return true; }
  const std::string& sender() const { return sender_; }

  // In a dry run (no output fd) the resolver is asked for a preview: the
  // conflict carries "preview": true, the output fd is a sealed empty file,
  // and the answer is what it would decide. It must not act on a preview;
  // one that does not answer within kPreviewTimeout is reported as such.
  Result<resolvers::Decision> resolve(const resolvers::ConflictView& c,
                                      const nlohmann::json&) override {
    const bool preview = c.output_fd < 0;
    auto base = sealedCopy(c.base.fd, "base");
    auto local = sealedCopy(c.local.fd, "local");
    auto remote = sealedCopy(c.remote.fd, "remote");
    auto none = preview ? sealedCopy(-1, "output") : Result<UniqueFd>(UniqueFd());
    for (auto* r : {&base, &local, &remote, &none})
      if (!*r) return tl::unexpected(r->error());
    const int output = preview ? none->get() : c.output_fd;
    const auto timeout = preview ? std::min(timeout_, kPreviewTimeout) : timeout_;
    std::map<std::string, sdbus::Variant> conflict = {
        {"id", sdbus::Variant(static_cast<uint64_t>(c.id))},
        {"share", sdbus::Variant(c.share)},
        {"path", sdbus::Variant(bytes(c.path))},
        {"kind", sdbus::Variant(std::string(conflictKindName(c.kind)))},
        {"base", sdbus::Variant(side(c.base))},
        {"local", sdbus::Variant(side(c.local))},
        {"remote", sdbus::Variant(side(c.remote))}};
    if (preview) conflict["preview"] = sdbus::Variant(true);
    auto answer = std::make_shared<std::promise<Result<std::string>>>();
    auto got = answer->get_future();
    proxy_->callMethodAsync("Resolve")
        .onInterface(kInterface)
        .withTimeout(timeout)
        .withArguments(conflict, sdbus::UnixFd(base->get()), sdbus::UnixFd(local->get()),
                       sdbus::UnixFd(remote->get()), sdbus::UnixFd(output))
        .uponReplyInvoke([answer](const sdbus::Error* err, std::string decision) {
          if (!err)
            answer->set_value(std::move(decision));
          else if (timedOut(err->getName()))
            answer->set_value(fail(ErrorCode::kTimeout, err->getName() + ": " + err->getMessage()));
          else
            answer->set_value(fail(ErrorCode::kAborted, err->getName() + ": " + err->getMessage()));
        });
    // The bus enforces the timeout; this wait only guards against a reply
    // that never comes back to us (the bus itself gone).
    const bool came = got.wait_for(timeout + std::chrono::seconds(5)) == std::future_status::ready;
    Result<std::string> reply = fail(ErrorCode::kTimeout, "no reply");
    if (came) reply = got.get();
    if (preview && !reply && reply.error().code() == ErrorCode::kTimeout)
      return resolvers::Decision::defer(
          "would ask " + name_ + ", which did not answer the preview within " +
          std::to_string(timeout.count()) + " ms");
    if (!came) return fail(ErrorCode::kTimeout, "resolver " + name_ + " did not answer in time");
    if (!reply) return tl::unexpected(reply.error().withContext("resolver " + name_));
    auto kind = resolvers::decisionKindFromName(*reply);
    if (!kind)
      return fail(ErrorCode::kInvalidArgument,
                    "resolver " + name_ + " answered \"" + *reply +
                        "\" (expected keep-local, keep-remote, stash, merged, delete or defer)");
    if (preview)
      return resolvers::Decision{*kind, "its answer to a preview", 0};
    return resolvers::Decision{*kind, "decided by " + name_, 0};
  }

  // Tells the resolver it is no longer used; does not wait for it.
  void release() {
    try {
      proxy_->callMethodAsync("Release").onInterface(kInterface).uponReplyInvoke(
          [](const sdbus::Error*) {});
    } catch (const sdbus::Error&) {
      // gone already
    }
  }

 private:
  std::unique_ptr<sdbus::IProxy> proxy_;
  std::string sender_, object_, name_;
  std::chrono::milliseconds timeout_;
};

ExternalResolvers::ExternalResolvers(sdbus::IConnection& connection, ResolverChain& chain)
    : connection_(connection), chain_(chain) {
  bus_ = sdbus::createProxy(connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus_->uponSignal("NameOwnerChanged")
      .onInterface("org.freedesktop.DBus")
      .call([this](const std::string& name, const std::string&, const std::string& new_owner) {
        onNameOwnerChanged(name, new_owner);
      });
  bus_->finishRegistration();
}

ExternalResolvers::~ExternalResolvers() {
  // No D-Bus call under mu_: the bus thread runs onNameOwnerChanged holding
  // sdbus-c++'s connection lock and waits there for mu_, so a Release sent
  // under mu_ (it needs that connection lock) would wait for it for ever.
  // Seen as hoardd hanging on SIGTERM right after a resolver left the bus.
  bus_.reset();  // no NameOwnerChanged from here on
  std::vector<std::shared_ptr<Remote>> gone;
  {
    MutexLock lock(mu_);
    while (!byKey_.empty()) {
      gone.push_back(byKey_.begin()->second);
      drop(byKey_.begin()->first);
    }
  }
  for (auto& r : gone) r->release();
}

Status ExternalResolvers::add(const std::string& sender, const std::string& object,
                              const std::string& name, bool is_default,
                              std::chrono::milliseconds timeout) {
  if (name.empty() || name.size() > 64 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos)
    return fail(ErrorCode::kInvalidArgument,
                "resolver name \"" + name +
                    "\": use 1 to 64 lowercase letters, digits, '-', '_' or '.'");
  MutexLock lock(mu_);
  std::string key = sender + " " + object;
  if (byKey_.count(key))
    return fail(ErrorCode::kExists, "object " + object + " is already registered as a resolver");
  auto r = std::make_shared<Remote>(connection_, sender, object, name, timeout);
  if (auto st = chain_.registry().add(r); !st) return st;
  byKey_.emplace(key, r);
  if (is_default) chain_.setDefaultResolver(name);
  log(6, "resolver " + name + " registered by " + sender + " at " + object +
             (is_default ? " (the default)" : ""));
  return {};
}

void ExternalResolvers::drop(const std::string& key) {
  auto it = byKey_.find(key);
  if (it == byKey_.end()) return;
  std::string name(it->second->name());
  chain_.registry().remove(name, it->second.get());
  if (chain_.defaultResolver() == name) chain_.setDefaultResolver({});
  log(6, "resolver " + name + " (" + key + ") is gone; its conflicts stay open");
  byKey_.erase(it);
}

Status ExternalResolvers::remove(const std::string& sender, const std::string& object) {
  MutexLock lock(mu_);
  std::string key = sender + " " + object;
  if (!byKey_.count(key))
    return fail(ErrorCode::kNotFound, "no resolver is registered at " + object + " by this caller");
  drop(key);
  return {};
}

void ExternalResolvers::onNameOwnerChanged(const std::string& name, const std::string& new_owner) {
  if (!new_owner.empty() || name.empty() || name[0] != ':') return;
  MutexLock lock(mu_);
  for (auto it = byKey_.begin(); it != byKey_.end();) {
    auto next = std::next(it);
    if (it->second->sender() == name) drop(it->first);
    it = next;
  }
}

}  // namespace hoard::daemon
