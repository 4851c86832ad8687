// SPDX-License-Identifier: MIT
// org.hoard.Agent1: shares and pins.
#include <filesystem>

#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"
#include "sync/ShareQueries.h"
#include "sync/ShareSetup.h"
#include "view/View.h"

namespace hoard::daemon {

void Agent::AddShare(sdbus::Result<>&& result, std::string name, std::vector<uint8_t> remote_root,
                     std::vector<uint8_t> cache_root,
                     std::map<std::string, sdbus::Variant> options) {
  // The identity check touches the remote and the first scan reads the
  // cache: on the control strand, never on the bus thread.
  async(control_, "AddShare", std::move(result),
        [this, name, remote_root, cache_root, options](sdbus::Result<>& reply) {
          onlyKeys(options, {"pins", "on-demand"}, "AddShare");
          std::vector<RelPath> pins;
          if (auto ps = option<std::vector<std::vector<uint8_t>>>(options, "pins", "AddShare"))
            for (const auto& p : *ps) pins.push_back(relPath(p, "AddShare pin"));
          bool on_demand = option<bool>(options, "on-demand", "AddShare").value_or(false);
          std::string cache = str(cache_root), view;
          if (on_demand) {
            // Before anything is stored: a view that cannot mount is said now.
            if (options_.state_dir.empty())
              raise(Error(ErrorCode::kUnsupported,
                          "this hoardd has no state directory for on-demand shares"));
            orRaise(view::canMount());
            view = cache;
            cache = backingDir(options_.state_dir, name);
          }
          auto id = sync::createShare(journal_, journal_mu_, name, str(remote_root), cache, *pool_,
                                      view);
          if (!id) raise(id.error());
          {
            // Before the engine starts, so its first pass hoards only what is pinned.
            MutexLock lock(journal_mu_);
            for (const RelPath& p : pins) orRaise(journal_.pin(*id, p, 500));
          }
          journal::ShareRecord rec = shareRecord(name);
          startEngine(rec);
          if (rec.onDemand()) {
            auto e = engine(name);
            std::string why;
            {
              MutexLock lock(e->view_mu);
              if (!e->view) why = e->view_error;
            }
            if (!why.empty()) {
              // The view did not mount: the share is taken back, nothing kept.
              stopEngine(name);
              {
                MutexLock lock(journal_mu_);
                orRaise(journal_.removeShare(rec.id));
              }
              std::error_code ec;
              std::filesystem::remove_all(rec.cache_root, ec);
              raise(Error(ErrorCode::kIo, "share \"" + name + "\" not added: " + why));
            }
          }
          log(5, "share " + name + " added: " + displayPath(rec.remote_root) + " -> " +
                     displayPath(rec.userRoot()) + (rec.onDemand() ? " (on demand)" : ""));
          reply.returnResults();
        });
}

void Agent::RemoveShare(sdbus::Result<>&& result, std::string name,
                        std::map<std::string, sdbus::Variant> options) {
  // Stopping the engine waits for its pass and its threads (which emit
  // signals on this connection): on the control strand.
  async(control_, "RemoveShare", std::move(result),
        [this, name, options](sdbus::Result<>& reply) {
          onlyKeys(options, {"force"}, "RemoveShare");
          bool force = option<bool>(options, "force", "RemoveShare").value_or(false);
          journal::ShareRecord rec = shareRecord(name);
          if (!force) {
            sync::ShareCounts n = orRaise(sync::shareCounts(journal_, journal_mu_, rec.id));
            if (n.pending_changes > 0 || n.open_conflicts > 0)
              raise(Error(ErrorCode::kBusy,
                          "share \"" + name + "\" has " + std::to_string(n.pending_changes) +
                              " change(s) not yet written back and " +
                              std::to_string(n.open_conflicts) +
                              " open conflict(s); sync and resolve first, or remove it with "
                              "force (the cache and the remote stay as they are)"));
          }
          stopEngine(name);
          {
            MutexLock lock(journal_mu_);
            orRaise(journal_.removeShare(rec.id));
          }
          if (rec.onDemand()) returnBackingFiles(rec);
          log(5, "share " + name + " removed");
          reply.returnResults();
        });
}

std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::vector<uint8_t>, std::string,
                          uint32_t, uint32_t>>
Agent::ListShares() {
  return call("ListShares", [&] {
    std::vector<journal::ShareRecord> shares;
    {
      MutexLock lock(journal_mu_);
      shares = orRaise(journal_.shares());
    }
    std::vector<sdbus::Struct<std::string, std::vector<uint8_t>, std::vector<uint8_t>,
                              std::string, uint32_t, uint32_t>>
        out;
    for (const auto& s : shares) {
      sync::ShareCounts n = orRaise(sync::shareCounts(journal_, journal_mu_, s.id));
      std::string state(journal::shareStateName(s.state));
      {
        MutexLock lock(mu_);  // a running engine knows of an auth episode
        if (auto it = engines_.find(s.name); it != engines_.end())
          state = sync::shareStateLabel(it->second->engine->status());
      }
      out.emplace_back(s.name, bytes(s.remote_root), bytes(s.userRoot()), state,
                       static_cast<uint32_t>(n.pending_changes),
                       static_cast<uint32_t>(n.open_conflicts));
    }
    return out;
  });
}

void Agent::Pin(const std::string& share, const std::vector<uint8_t>& path,
                const uint32_t& priority) {
  call("Pin", [&] {
    journal::ShareRecord rec = shareRecord(share);
    RelPath p = relPath(path, "Pin");
    if (priority > 1000)
      raise(Error(ErrorCode::kInvalidArgument,
                  "priority " + std::to_string(priority) + " is outside 0..1000"));
    {
      MutexLock lock(journal_mu_);
      orRaise(journal_.pin(rec.id, p, static_cast<int>(priority)));
    }
    engine(share)->engine->syncNow();  // hoard what the pin now asks for
  });
}

void Agent::Unpin(const std::string& share, const std::vector<uint8_t>& path) {
  call("Unpin", [&] {
    journal::ShareRecord rec = shareRecord(share);
    RelPath p = relPath(path, "Unpin");
    MutexLock lock(journal_mu_);
    orRaise(journal_.unpin(rec.id, p));
  });
}

std::vector<sdbus::Struct<std::vector<uint8_t>, uint32_t, bool>> Agent::ListPins(
    const std::string& share) {
  return call("ListPins", [&] {
    journal::ShareRecord rec = shareRecord(share);
    std::vector<RelPath> missing;
    if (auto last = engine(share)->engine->lastPass()) missing = last->not_hoarded;
    std::vector<journal::Pin> pins;
    {
      MutexLock lock(journal_mu_);
      pins = orRaise(journal_.pins(rec.id));
    }
    std::vector<sdbus::Struct<std::vector<uint8_t>, uint32_t, bool>> out;
    for (const auto& pin : pins)
      out.emplace_back(bytes(pin.path), static_cast<uint32_t>(pin.priority),
                       sync::pinFullyHoarded(pin.path, missing));
    return out;
  });
}

}  // namespace hoard::daemon
