// SPDX-License-Identifier: MIT
// hoard-local: the journal, tracker, scanner and base store at work on a
// folder. Every command prints what it did; errors go to stderr with exit 1.

#include <poll.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/RelPath.h"
#include "journal/Journal.h"
#include "store/BaseStore.h"
#include "store/KeepPolicy.h"
#include "sync/LocalRecorder.h"
#include "track/FolderTracker.h"
#include "Commands.h"

namespace hoard::demo {

int failWith(const Error& e) {
  std::cerr << "hoard-local: " << e.toString() << "\n";
  return 1;
}

}  // namespace hoard::demo

namespace {

using namespace hoard;
using namespace hoard::demo;

std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop = true; }


std::string describe(const Change& c) {
  std::string s(changeOpName(c.op));
  s.resize(8, ' ');
  s += displayPath(c.path);
  if (c.op == ChangeOp::kRename) s += " -> " + displayPath(c.to);
  if (c.op == ChangeOp::kSymlink) s += " -> " + displayPath(c.target);
  if (c.op == ChangeOp::kChmod) {
    char mode[16];
    std::snprintf(mode, sizeof mode, " (%04o)", c.mode);
    s += mode;
  }
  return s;
}

void printRescan(const sync::RescanReport& r) {
  std::cout << "scanned " << (r.subtree.empty() ? "the whole share" : displayPath(r.subtree))
            << ": " << r.stats.files << " files, " << r.stats.dirs << " directories; "
            << r.changes_recorded << " change(s) the log was missing, " << r.base_refreshed
            << " base row(s) refreshed\n";
  for (const auto& s : r.skipped)
    std::cout << "  could not read " << displayPath(s.path) << ": " << s.error.message() << "\n";
}

int cmdInit(Context& ctx, const std::string& name, const std::string& root) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  journal::ShareSpec spec;
  spec.name = name;
  spec.cache_root = root;
  spec.remote_root = root;  // the local half alone: no remote yet
  auto id = ctx.journal->addShare(spec);
  if (!id) return failWith(id.error());
  auto store = store::BaseStore::open(ctx.store_dir);
  if (!store) return failWith(store.error());
  auto report = sync::adoptAsBase(*ctx.journal, *id, root, *store, store::KeepPolicy{});
  if (!report) return failWith(report.error());
  std::cout << "share '" << name << "' recorded " << report->entries
            << " entries as its base; content of " << report->objects_kept
            << " text/SQLite file(s) kept in the base store (" << report->bytes_kept
            << " bytes, " << report->reflinked << " by reflink)\n";
  return 0;
}

int cmdWatch(Context& ctx, const std::string& name, double seconds) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  std::mutex journal_mu;
  sync::LocalRecorder recorder(*ctx.journal, journal_mu, share->id, share->cache_root);

  // Start watching first, then scan: a change made in between is seen by both
  // and the change log coalesces it; a change made before is seen by the scan.
  auto tracker = track::FolderTracker::start(share->cache_root, recorder);
  if (!tracker) return failWith(tracker.error());
  auto startup = recorder.rescan("", /*verify=*/false);
  if (!startup) return failWith(startup.error());
  std::cout << "start-up ";
  printRescan(*startup);
  std::cout << "watching " << displayPath(share->cache_root) << " ("
            << (*tracker)->watchCount() << " directories)" << std::endl;

  signal(SIGINT, onSignal);
  signal(SIGTERM, onSignal);
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (!g_stop && (seconds <= 0 || std::chrono::steady_clock::now() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (recorder.rescanPending()) {
      auto reports = recorder.runPendingRescans();
      if (!reports) {
        std::cerr << "hoard-local: rescan failed: " << reports.error().toString() << "\n";
        continue;
      }
      for (const auto& r : *reports) {
        std::cout << "events were lost; ";
        printRescan(r);
      }
    }
  }
  Status stopped = (*tracker)->stop();
  auto stats = (*tracker)->stats();
  std::cout << "stopped: " << stats.events << " events, " << stats.changes_recorded
            << " changes made durable, " << stats.rescans << " rescan request(s)\n";
  if (!stopped) return failWith(stopped.error());
  return 0;
}

int cmdScan(Context& ctx, const std::string& name, bool verify) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  std::mutex journal_mu;
  sync::LocalRecorder recorder(*ctx.journal, journal_mu, share->id, share->cache_root);
  auto report = recorder.rescan("", verify);
  if (!report) return failWith(report.error());
  printRescan(*report);
  return 0;
}

int cmdLog(Context& ctx, const std::string& name) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  auto log = ctx.journal->changes(share->id, 0);
  if (!log) return failWith(log.error());
  std::cout << "change log of '" << name << "': " << log->size() << " record(s)\n";
  for (const auto& lc : *log) std::cout << "  #" << lc.seq << "  " << describe(lc.change) << "\n";
  return 0;
}

int cmdSnapshot(Context& ctx, const std::string& name, const std::string& label) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  auto id = ctx.journal->takeSnapshot(share->id, label);
  if (!id) return failWith(id.error());
  auto entries = ctx.journal->snapshotEntries(*id);
  if (!entries) return failWith(entries.error());
  std::cout << "snapshot #" << *id << " '" << label << "' holds the base of " << entries->size()
            << " entries\n";
  return 0;
}

int cmdSnapshots(Context& ctx, const std::string& name) {
  if (auto st = ctx.open(); !st) return failWith(st.error());
  auto share = ctx.share(name);
  if (!share) return failWith(share.error());
  auto list = ctx.journal->snapshots(share->id);
  if (!list) return failWith(list.error());
  for (const auto& s : *list) {
    auto entries = ctx.journal->snapshotEntries(s.id);
    if (!entries) return failWith(entries.error());
    std::cout << "  #" << s.id << "  " << s.label << "  " << entries->size()
              << " entries, through change #" << s.through_seq << "\n";
    for (const auto& e : *entries)
      std::cout << "      " << fileTypeName(e.local.type) << "  " << displayPath(e.path)
                << (e.object ? "  (content kept)" : "") << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hoard-local: the journal, tracker, scanner and base store at work on a folder"};
  app.require_subcommand(1);
  Context ctx;
  app.add_option("--journal", ctx.journal_path, "journal file (SQLite)")->required();
  app.add_option("--store", ctx.store_dir, "base store directory")->required();

  std::string name, root, label;
  double seconds = 0;
  bool verify = false;
  int rc = 0;

  auto* init = app.add_subcommand("init", "record a folder as a share and adopt it as the base");
  init->add_option("name", name)->required();
  init->add_option("root", root)->required();
  init->callback([&] { rc = cmdInit(ctx, name, root); });

  auto* watch = app.add_subcommand("watch", "scan for changes made while away, then track live");
  watch->add_option("name", name)->required();
  watch->add_option("--seconds", seconds, "stop after this long (default: until SIGTERM)");
  watch->callback([&] { rc = cmdWatch(ctx, name, seconds); });

  auto* scan = app.add_subcommand("scan", "compare the folder with the base and log what changed");
  scan->add_option("name", name)->required();
  scan->add_flag("--verify", verify, "hash files whose metadata matches too");
  scan->callback([&] { rc = cmdScan(ctx, name, verify); });

  auto* log = app.add_subcommand("log", "print the change log");
  log->add_option("name", name)->required();
  log->callback([&] { rc = cmdLog(ctx, name); });

  auto* snap = app.add_subcommand("snapshot", "take a snapshot of the base");
  snap->add_option("name", name)->required();
  snap->add_option("label", label)->required();
  snap->callback([&] { rc = cmdSnapshot(ctx, name, label); });

  auto* snaps = app.add_subcommand("snapshots", "list snapshots with their entries");
  snaps->add_option("name", name)->required();
  snaps->callback([&] { rc = cmdSnapshots(ctx, name); });

  std::string remote_root, path, with;
  int priority = 500;
  uint64_t budget = 0;
  bool confirm = false;
  int64_t id = 0;

  auto* add = app.add_subcommand("share-add", "record a share: a remote folder and a cache folder");
  add->add_option("name", name)->required();
  add->add_option("remote", remote_root, "the remote root (a mounted network folder)")->required();
  add->add_option("cache", root, "the local cache root (absent or empty)")->required();
  add->callback([&] { rc = cmdShareAdd(ctx, name, remote_root, root); });

  auto* pin = app.add_subcommand("pin", "keep a path available offline");
  pin->add_option("name", name)->required();
  pin->add_option("path", path, "share-relative path")->required();
  pin->add_option("--priority", priority, "0..1000, higher is kept longer");
  pin->callback([&] { rc = cmdPin(ctx, name, path, priority); });

  auto* syn = app.add_subcommand("sync", "reintegrate: push local changes, pull remote ones");
  syn->add_option("name", name)->required();
  syn->add_option("--budget", budget, "cache budget in bytes (0: none)");
  syn->add_flag("--confirm-delete", confirm, "go ahead with a mass deletion");
  syn->callback([&] { rc = cmdSync(ctx, name, budget, confirm); });

  auto* con = app.add_subcommand("conflicts", "list open conflicts");
  con->add_option("name", name)->required();
  con->callback([&] { rc = cmdConflicts(ctx, name); });

  auto* res = app.add_subcommand("resolve", "decide a conflict");
  res->add_option("name", name)->required();
  res->add_option("id", id)->required();
  res->add_option("--with", with, "keep-local, keep-remote or stash")->required();
  res->callback([&] { rc = cmdResolve(ctx, name, id, with); });

  auto* ev = app.add_subcommand("evict", "drop the local copy of a clean, unpinned path");
  ev->add_option("name", name)->required();
  ev->add_option("path", path)->required();
  ev->callback([&] { rc = cmdEvict(ctx, name, path); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return rc;
}
