// SPDX-License-Identifier: MIT
// hoard: the command line of hoard, a client of hoardd on the session bus.
// Exit status: 0 ok, 1 failed, 2 usage error, 3 conflicts remain, 4 not offline-ready
// (`hoard ready`).

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "AuthReady.h"
#include "Client.h"
#include "Complete.h"
#include "History.h"
#include "Misses.h"
#include "HoardVersion.h"
#include "Output.h"
#include "RulesCommands.h"
#include "SqliteTables.h"
#include "Status.h"
#include "ShowMerged.h"
#include "common/RelPath.h"

namespace {

using namespace hoard;
using namespace hoard::cli;
using nlohmann::json;

struct Target {
  std::string share;
  std::string path;  // share-relative
};

// A path on the command line: share-relative with --share, else a local path
// inside some cache root (the daemon says which share).
Target target(Agent& agent, const std::string& arg, const std::string& share) {
  if (!share.empty()) {
    std::string p = arg == "." ? std::string() : arg;
    while (!p.empty() && p.back() == '/') p.pop_back();
    return {share, p};
  }
  std::string abs = std::filesystem::absolute(arg).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  auto [s, rel] = agent.ResolvePath(bytes(abs));
  return {s, str(rel)};
}

// Waits for `job`; prints its outcome (on stdout unless `quiet`, for --json).
int runJob(Agent& agent, uint64_t job, const std::string& what, const std::string& share,
           bool quiet = false) {
  JobResult r = agent.waitForJob(job, [&](uint64_t bd, uint64_t bt, uint32_t fd, uint32_t ft) {
    showProgress(what, bd, bt, fd, ft);
  });
  endProgress();
  if (r.error == kDaemonGone) {
    std::cerr << "hoard: " << what << " of " << share << " did not finish: " << r.message << "\n";
    return kFailed;
  }
  if (!r.error.empty()) {
    std::cerr << "hoard: " << what << " of " << share << " failed: " << r.message << "\n";
    return r.error == "org.hoard.Error.InvalidArgument" ? kUsage : kFailed;
  }
  if (!quiet) std::cout << what << " of " << share << ": " << r.message << "\n";
  auto st = agent.GetStatus(share);
  uint32_t open = st.at("open_conflicts").get<uint32_t>();
  if (open > 0) {
    (quiet ? std::cerr : std::cout) << open << " conflict(s) wait for a decision: `hoard conflicts " << share << "`\n";
    return kConflictsRemain;
  }
  return kOk;
}

// What a conflict's detail says of each side, for a person: used where
// there are no file versions to show (a dir-delete, a type conflict...).
void describeConflict(Agent& a, uint64_t id) {
  auto c = a.GetConflict(id);
  std::string kind = c.at("kind").get<std::string>();
  std::cout << "conflict #" << id << " (" << kind << ") at "
            << displayPath(str(c.at("path").get<std::vector<uint8_t>>())) << "\n";
  json d = json::parse(c.at("detail").get<std::string>(), nullptr, false);
  if (d.is_discarded() || !d.is_object()) return;
  auto show = [](const json& v) {
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
  };
  // What the engine records to check a decision against (versions, inodes,
  // digests) means nothing to a person.
  auto internal = [](const std::string& k) {
    return k == "ctime_ns" || k == "inode" || k == "subtree_digest" ||
           (k.size() > 4 && k.compare(k.size() - 4, 4, "_hex") == 0);
  };
  for (const char* side : {"local", "remote", "base"}) {
    if (!d.contains(side)) continue;
    const json& s = d[side];
    std::cout << "  " << side << ":";
    if (s.is_object()) {
      if (s.contains("type")) std::cout << " " << show(s["type"]);
      for (const auto& [k, v] : s.items()) {
        if (k == "type" || internal(k)) continue;
        if (v.is_array()) {
          std::cout << "\n    " << k << ":";
          for (const auto& e : v) std::cout << "\n      " << show(e);
        } else {
          std::cout << ", " << k << " " << show(v);
        }
      }
    } else {
      std::cout << " " << show(s);
    }
    std::cout << "\n";
  }
  // A dir-delete: what the side that kept the directory did beneath it.
  for (const auto& [key, where] : {std::pair{"local_beneath", "in the cache"},
                                   std::pair{"remote_beneath", "on the remote"}}) {
    if (!d.contains(key) || !d[key].is_array()) continue;
    std::cout << "  " << where << ", beneath it:\n";
    for (const json& e : d[key])
      if (e.is_object())
        std::cout << "    " << e.value("what", "changed") << " " << e.value("path", "") << "\n";
  }
  for (const auto& [k, v] : d.items()) {
    if (k == "local" || k == "remote" || k == "base" || internal(k) ||
        k == "local_beneath" || k == "remote_beneath")
      continue;
    std::cout << "  " << k << ": " << show(v) << "\n";
  }
  if (kind == "dir-delete")
    std::cout << "  one side deleted the directory, the other changed what is beneath it; "
                 "`hoard resolve "
              << id << " --with keep-local` or `--with keep-remote` decides\n";
}

int copyFd(int fd) {
  char buf[1 << 16];
  off_t off = 0;
  ssize_t n;
  while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
    if (write(STDOUT_FILENO, buf, static_cast<size_t>(n)) != n) return kFailed;
    off += n;
  }
  return n < 0 ? kFailed : kOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "__complete") return complete(argc - 2, argv + 2);
  CLI::App app{"hoard: keep network files available offline (a client of hoardd)"};
  app.set_version_flag("--version", HOARD_VERSION_LINE("hoard"));
  app.require_subcommand(1);
  bool as_json = false;
  std::string share, name, path, remote, cache, with, glob, under, kind;
  uint32_t priority = 500;
  bool force = false, want_base = false, want_local = false, want_remote = false;
  bool want_tables = false;
  bool want_merged = false;
  std::string merge_style;
  std::vector<uint64_t> ids;
  uint64_t id = 0;
  std::function<int(Agent&)> action;
  std::function<int()> local_action;  // a command that needs no hoardd

  auto json_flag = [&](CLI::App* c) { c->add_flag("--json", as_json, "machine-readable output"); };

  auto* sh = app.add_subcommand("share", "add, remove or list shares");
  sh->require_subcommand(1);
  auto* sh_add = sh->add_subcommand("add", "keep a network folder available offline");
  sh_add->add_option("name", name, "a short name, e.g. work")->required();
  sh_add->add_option("remote", remote, "the folder on the mounted network filesystem")->required();
  sh_add->add_option("cache", cache, "the local folder you will work in (absent or empty)")
      ->required();
  std::vector<std::string> add_pins;
  sh_add->add_option("--pin", add_pins,
                     "share-relative path to keep offline (repeatable); none: the whole share "
                     "(on demand: nothing)");
  bool on_demand = false;
  sh_add->add_flag("--on-demand", on_demand,
                   "show the whole share in CACHE; keep only pinned files, fetch the rest "
                   "when read");
  sh_add->callback([&] {
    action = [&](Agent& a) {
      std::map<std::string, sdbus::Variant> opts;
      if (!add_pins.empty()) {
        std::vector<std::vector<uint8_t>> ps;
        for (const auto& p : add_pins) ps.push_back(bytes(p));
        opts["pins"] = sdbus::Variant(ps);
      }
      if (on_demand) opts["on-demand"] = sdbus::Variant(true);
      std::string at = std::filesystem::absolute(cache).lexically_normal().string();
      a.AddShare(name, bytes(std::filesystem::absolute(remote).lexically_normal().string()),
                 bytes(at), opts);
      std::string pinned = std::to_string(add_pins.size()) + " pinned path(s)";
      if (on_demand)
        std::cout << "share " << name << " added on demand: " << displayPath(at)
                  << " shows all of it, keeping "
                  << (add_pins.empty() ? std::string("nothing") : pinned)
                  << " available offline; other files are fetched when read\n";
      else
        std::cout << "share " << name << " added, keeping "
                  << (add_pins.empty() ? std::string("all of it") : pinned)
                  << " available offline; `hoard preload " << name << "` fetches it now\n";
      return kOk;
    };
  });
  auto* sh_rm = sh->add_subcommand("remove", "forget a share (its files stay where they are)");
  sh_rm->add_option("name", name)->required();
  sh_rm->add_flag("--force", force, "even with unreplayed changes or open conflicts");
  sh_rm->callback([&] {
    action = [&](Agent& a) {
      std::map<std::string, sdbus::Variant> opts;
      if (force) opts["force"] = sdbus::Variant(true);
      a.RemoveShare(name, opts);
      std::cout << "share " << name << " removed\n";
      return kOk;
    };
  });
  auto* sh_od = sh->add_subcommand(
      "on-demand", "show the whole share in its cache root, fetching what is not kept when read");
  sh_od->add_option("name", name)->required();
  bool od_off = false;
  sh_od->add_flag("--off", od_off,
                  "keep the share's files in its folder again (what is kept stays, "
                  "placeholders go)");
  sh_od->callback([&] {
    action = [&](Agent& a) {
      if (od_off) {
        a.EndOnDemand(name, {});
        std::cout << "share " << name
                  << " is no longer on demand: its folder holds what is kept (pinned, hoarded, "
                     "changed), no placeholders\n";
        return kOk;
      }
      a.MakeOnDemand(name, {});
      std::cout << "share " << name
                << " is on demand: its cache root shows all of it; what was kept stays kept "
                   "(`hoard evict PATH` frees it), other files are fetched when read\n";
      return kOk;
    };
  });
  auto* sh_ls = sh->add_subcommand("list", "list shares");
  json_flag(sh_ls);
  sh_ls->callback([&] {
    action = [&](Agent& a) {
      json out = json::array();
      for (const auto& s : a.ListShares()) {
        json j = {{"name", std::get<0>(s)},
                  {"state", std::get<3>(s)},
                  {"pending_changes", std::get<4>(s)},
                  {"open_conflicts", std::get<5>(s)}};
        putPath(j, "remote_root", str(std::get<1>(s)));
        putPath(j, "cache_root", str(std::get<2>(s)));
        out.push_back(j);
        if (!as_json)
          std::cout << std::get<0>(s) << "  " << std::get<3>(s) << "  "
                    << displayPath(str(std::get<2>(s))) << " <- "
                    << displayPath(str(std::get<1>(s))) << "  (" << std::get<4>(s)
                    << " pending, " << std::get<5>(s) << " conflicts)\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return kOk;
    };
  });

  auto* pin = app.add_subcommand("pin", "keep a file or folder available offline");
  pin->add_option("path", path, "a local path in a cache, or share-relative with --share")
      ->required();
  pin->add_option("--share", share, "the share PATH is relative to");
  pin->add_option("--priority", priority, "0..1000; higher is kept longer (default 500)");
  pin->callback([&] {
    action = [&](Agent& a) {
      Target t = target(a, path, share);
      a.Pin(t.share, bytes(t.path), priority);
      std::cout << "pinned " << (t.path.empty() ? "all of " + t.share : displayPath(t.path))
                << " (priority " << priority << ")\n";
      return kOk;
    };
  });
  auto* unpin = app.add_subcommand("unpin", "stop keeping a path pinned");
  unpin->add_option("path", path)->required();
  unpin->add_option("--share", share);
  unpin->callback([&] {
    action = [&](Agent& a) {
      Target t = target(a, path, share);
      a.Unpin(t.share, bytes(t.path));
      std::cout << "unpinned " << displayPath(t.path) << "\n";
      return kOk;
    };
  });
  auto* pins = app.add_subcommand("pins", "list a share's pins");
  pins->add_option("share", share)->required();
  json_flag(pins);
  pins->callback([&] {
    action = [&](Agent& a) {
      json out = json::array();
      for (const auto& p : a.ListPins(share)) {
        json j = {{"priority", std::get<1>(p)}, {"hoarded", std::get<2>(p)}};
        putPath(j, "path", str(std::get<0>(p)));
        out.push_back(j);
        if (!as_json)
          std::cout << std::get<1>(p) << "  " << displayPath(str(std::get<0>(p)))
                    << (std::get<2>(p) ? "" : "  (not all available offline: cache budget)")
                    << "\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return kOk;
    };
  });

  auto* misses = app.add_subcommand(
      "misses", "what programs wanted of an on-demand share while it was offline");
  misses->add_option("share", share)->required();
  json_flag(misses);
  misses->callback([&] { action = [&](Agent& a) { return listMisses(a, share, as_json); }; });
  auto* answers = app.add_subcommand(
      "answers", "the programs whose offline reads always fail, as answered on the desktop");
  json_flag(answers);
  answers->require_subcommand(0, 1);
  answers->callback([&] {
    if (!action) action = [&](Agent& a) { return listReadAnswers(a, as_json); };
  });
  std::string program;
  auto* forget = answers->add_subcommand("forget", "let PROGRAM's offline reads follow the share's policy again");
  forget->add_option("program", program)->required();
  forget->callback([&] { action = [&](Agent& a) { return forgetReadAnswer(a, program); }; });

  auto* preload = app.add_subcommand("preload", "fetch pinned data now (the hoard walk)");
  preload->add_option("share", share)->required();
  preload->callback([&] {
    action = [&](Agent& a) { return runJob(a, a.Preload(share), "preload", share); };
  });
  auto* syn = app.add_subcommand("sync", "reintegrate now: send local changes, fetch remote ones");
  syn->add_option("share", share)->required();
  bool confirm_delete = false;
  syn->add_flag("--confirm-delete", confirm_delete,
                "carry out the mass deletion a sync stopped for (shows it first)");
  json_flag(syn);
  syn->callback([&] {
    action = [&](Agent& a) {
      if (!confirm_delete) {
        if (as_json) {
          std::cerr << "hoard: sync takes --json only with --confirm-delete\n";
          return kUsage;
        }
        return runJob(a, a.SyncNow(share), "sync", share);
      }
      json j;
      addProblems(j, a.GetStatus(share));
      if (!j.contains("mass_delete")) {
        std::cerr << "hoard: no deletion of " << share << " waits for confirmation\n";
        return kFailed;
      }
      json md = j["mass_delete"];
      md["share"] = share;
      if (!as_json) showMassDelete(share, md);
      std::cout.flush();
      int rc = runJob(a, a.ConfirmMassDelete(share, md["count"].get<uint32_t>()),
                      "sync", share, as_json);
      if (as_json) {
        md["deleted"] = rc == kOk || rc == kConflictsRemain;
        std::cout << md.dump(2) << "\n";
      }
      return rc;
    };
  });

  auto* status = app.add_subcommand("status", "state of one share or of all");
  status->add_option("share", share);
  json_flag(status);
  status->callback([&] {
    action = [&](Agent& a) {
      std::vector<std::string> names = share.empty() ? a.Shares() : std::vector{share};
      json out = json::array();
      bool conflicts = false;
      for (const auto& n : names) {
        auto st = a.GetStatus(n);
        json j = statusJson(n, st);
        addProblems(j, st);
        addAuthStatus(j, st);
        conflicts = conflicts || j["open_conflicts"].get<uint32_t>() > 0;
        out.push_back(j);
        if (!as_json) printStatusText(n, st, j);
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return conflicts ? kConflictsRemain : kOk;
    };
  });

  auto* off = app.add_subcommand("offline", "work offline: nothing touches the remote");
  off->add_option("share", share)->required();
  off->callback([&] {
    action = [&](Agent& a) {
      a.SetOffline(share, true);
      std::cout << share << " is offline until `hoard online " << share << "`\n";
      return kOk;
    };
  });
  auto* on = app.add_subcommand("online", "lift `hoard offline`; reintegrate when reachable");
  on->add_option("share", share)->required();
  on->callback([&] {
    action = [&](Agent& a) {
      a.SetOffline(share, false);
      std::cout << share << " goes online as soon as its remote answers\n";
      return kOk;
    };
  });

  auto* changes = app.add_subcommand("changes", "local changes not yet sent to the remote");
  changes->add_option("share", share)->required();
  json_flag(changes);
  changes->callback([&] {
    action = [&](Agent& a) {
      json out = json::array();
      for (const auto& c : a.ListChanges(share)) {
        json j = {{"seq", std::get<0>(c)}, {"op", std::get<1>(c)}, {"logged_at_ns", std::get<4>(c)}};
        putPath(j, "path", str(std::get<2>(c)));
        if (!std::get<3>(c).empty()) putPath(j, "to", str(std::get<3>(c)));
        out.push_back(j);
        if (!as_json)
          std::cout << std::get<1>(c) << "  " << displayPath(str(std::get<2>(c)))
                    << (std::get<3>(c).empty() ? "" : " -> " + displayPath(str(std::get<3>(c))))
                    << "\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return kOk;
    };
  });

  auto* conflicts = app.add_subcommand("conflicts", "open conflicts (exit 3 if there are any)");
  conflicts->add_option("share", share);
  bool resolved = false;
  conflicts->add_flag("--resolved", resolved,
                      "the resolutions kept (newest first): who decided what, undone or not");
  json_flag(conflicts);
  conflicts->callback([&] {
    action = [&](Agent& a) {
      if (resolved) return listResolutions(a, share, as_json);
      json out = json::array();
      auto list = a.ListConflicts(share);
      // Which rule would take each one, and what it would do (nothing is changed).
      std::map<uint64_t, std::map<std::string, sdbus::Variant>> preview;
      if (!list.empty())
        for (auto& row : a.PreviewResolve({}, share, {}, ""))
          preview[row.at("id").get<uint64_t>()] = row;
      for (const auto& c : list) {
        json j = {{"id", std::get<0>(c)},
                  {"share", std::get<1>(c)},
                  {"kind", std::get<3>(c)},
                  {"created_at_ns", std::get<4>(c)}};
        putPath(j, "path", str(std::get<2>(c)));
        if (auto it = preview.find(std::get<0>(c)); it != preview.end()) {
          j["rule"] = it->second.at("rule").get<std::string>();
          j["resolver"] = it->second.at("resolver").get<std::string>();
          j["would"] = it->second.at("decision").get<std::string>();
          j["reason"] = it->second.at("reason").get<std::string>();
        }
        out.push_back(j);
        if (as_json) continue;
        std::cout << "#" << std::get<0>(c) << "  " << std::get<1>(c) << "  " << std::get<3>(c)
                  << "  " << displayPath(str(std::get<2>(c))) << "\n";
        if (j.contains("rule") && !j["resolver"].get<std::string>().empty())
          std::cout << "    " << (j["rule"] == "" ? std::string("default") : j["rule"].get<std::string>())
                    << " -> " << j["resolver"].get<std::string>() << ": "
                    << j["would"].get<std::string>() << " (" << j["reason"].get<std::string>()
                    << ")\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      else if (list.empty()) std::cout << "no open conflicts\n";
      return list.empty() ? kOk : kConflictsRemain;
    };
  });

  auto* show = app.add_subcommand("show", "print one version of a conflicted file");
  show->add_option("id", id)->required();
  auto* show_which = show->add_option_group("version")->require_option(1);
  show_which->add_flag("--base", want_base);
  show_which->add_flag("--local", want_local);
  show_which->add_flag("--remote", want_remote);
  show_which->add_flag("--merged", want_merged,
                       "git-merge's proposal, with markers where hunks conflict (exit 3)");
  show->add_option("--style", merge_style, "with --merged: merge, diff3 or zdiff3")
      ->default_val("merge");
  show_which->add_flag("--tables", want_tables,
                       "a database: the rows each side inserted, updated, deleted per table");
  json_flag(show);
  show->callback([&] {
    action = [&](Agent& a) {
      if (want_merged) return showMerged(a, id, merge_style);
      auto [base, local, remote_fd, present] = a.OpenConflictVersions(id);
      if (want_tables) {
        if (!std::get<1>(present) || !std::get<2>(present) ||
            !bothAreDatabases(local.get(), remote_fd.get())) {
          std::cerr << "hoard: conflict #" << id
                    << " is not between two SQLite databases (--tables is for those)\n";
          return kFailed;
        }
        return printSqliteTables(std::get<0>(present) ? base.get() : -1, local.get(),
                                 remote_fd.get(), as_json);
      }
      if (as_json) {
        std::cerr << "hoard: show --json goes with --tables (the other versions are bytes)\n";
        return kUsage;
      }
      const sdbus::UnixFd& fd = want_base ? base : want_local ? local : remote_fd;
      bool here = want_base ? std::get<0>(present) : want_local ? std::get<1>(present)
                                                                  : std::get<2>(present);
      if (!std::get<0>(present) && !std::get<1>(present) && !std::get<2>(present)) {
        describeConflict(a, id);  // not a file conflict: say what each side did
        return kOk;
      }
      if (!here) {
        std::cerr << "hoard: conflict #" << id << " has no "
                  << (want_base ? "base" : want_local ? "local" : "remote")
                  << " version (deleted there, or its content was not kept)\n";
        return kFailed;
      }
      return copyFd(fd.get());
    };
  });
  auto* diff = app.add_subcommand(
      "diff", "diff -u of the local and remote versions (of a database: the rows per table)");
  diff->add_option("id", id)->required();
  json_flag(diff);
  diff->callback([&] {
    action = [&](Agent& a) {
      auto [base, local, remote_fd, present] = a.OpenConflictVersions(id);
      if (!std::get<1>(present) && !std::get<2>(present)) {
        describeConflict(a, id);  // no file versions to compare: say what each side did
        return kOk;
      }
      if (std::get<1>(present) && std::get<2>(present) &&
          bothAreDatabases(local.get(), remote_fd.get()))
        return printSqliteTables(std::get<0>(present) ? base.get() : -1, local.get(),
                                 remote_fd.get(), as_json);
      if (as_json) {
        std::cerr << "hoard: diff --json is for database conflicts (others get diff -u)\n";
        return kUsage;
      }
      std::string l = "/proc/self/fd/" + std::to_string(local.get());
      std::string r = "/proc/self/fd/" + std::to_string(remote_fd.get());
      std::cout.flush();
      std::string cmd = "diff -u --label local --label remote " + l + " " + r;
      int rc = std::system(cmd.c_str());
      return WIFEXITED(rc) && WEXITSTATUS(rc) <= 1 ? kOk : kFailed;
    };
  });

  auto* resolve = app.add_subcommand("resolve", "decide conflicts: by id, or all that match");
  std::vector<std::string> id_args;  // checked by hand: CLI11 wraps "-1" to 2^64-1
  resolve->add_option("ids", id_args, "conflict ids");
  resolve->add_option("--share", share, "with --glob, --under or --kind");
  resolve->add_option("--glob", glob, "paths matching this pattern (** crosses folders)");
  resolve->add_option("--under", under, "paths in this folder");
  resolve->add_option("--kind", kind, "content, modify-delete, delete-modify, create-create, ...");
  resolve->add_option("--with", with,
                      "keep-local, keep-remote, stash, delete, git-merge, sqlite, follow, or an "
                      "external resolver's name");
  bool dry_run = false, all = false, keep_markers = false;
  resolve->add_flag("--force", keep_markers,
                    "with --with keep-local: keep a merge that still holds conflict markers");
  resolve->add_flag("--dry-run", dry_run,
                    "say which rule and resolver would decide, and what, changing nothing");
  resolve->add_flag("--all", all, "every open conflict (of --share, if given)");
  json_flag(resolve);
  resolve->callback([&] {
    action = [&](Agent& a) {
      std::vector<uint64_t> done;
      for (const auto& arg : id_args) {
        bool digits = !arg.empty() && arg.size() <= 19 &&
                      arg.find_first_not_of("0123456789") == std::string::npos;
        if (!digits || std::stoull(arg) == 0) {
          std::cerr << "hoard: '" << arg
                    << "' is not a conflict id (ids are the positive numbers `hoard conflicts` "
                       "shows)\n";
          return kUsage;
        }
        ids.push_back(std::stoull(arg));
      }
      while (under.size() > 1 && under.back() == '/') under.pop_back();
      bool by_filter = !glob.empty() || !under.empty() || !kind.empty();
      if (dry_run) {
        if (!ids.empty() && (by_filter || all)) {
          std::cerr << "hoard: give conflict ids, or --all / --glob/--under/--kind, not both\n";
          return kUsage;
        }
        if (ids.empty() && !by_filter && !all) {
          std::cerr << "hoard: --dry-run needs conflict ids, --all, or --glob/--under/--kind\n";
          return kUsage;
        }
        std::map<std::string, sdbus::Variant> filter;
        if (!glob.empty()) filter["glob"] = sdbus::Variant(bytes(glob));
        if (!under.empty()) filter["under"] = sdbus::Variant(bytes(under));
        if (!kind.empty()) filter["kind"] = sdbus::Variant(kind);
        return printPreview(a, ids, share, filter, with, as_json);
      }
      if (with.empty()) {
        std::cerr << "hoard: say how with --with (keep-local, keep-remote, stash, ...), or "
                     "preview the rules with --dry-run\n";
        return kUsage;
      }
      if (all) {
        std::cerr << "hoard: --all is for --dry-run; to decide many, use --share with "
                     "--glob/--under/--kind\n";
        return kUsage;
      }
      if (by_filter == !ids.empty()) {
        std::cerr << "hoard: give conflict ids, or --share with --glob/--under/--kind\n";
        return kUsage;
      }
      if (keep_markers && (with != "keep-local" || by_filter)) {
        std::cerr << "hoard: --force goes with conflict ids and --with keep-local (it keeps a "
                     "merge that still holds conflict markers)\n";
        return kUsage;
      }
      if (by_filter) {
        if (share.empty()) {
          std::cerr << "hoard: --glob, --under and --kind need --share\n";
          return kUsage;
        }
        std::map<std::string, sdbus::Variant> filter;
        if (!glob.empty()) filter["glob"] = sdbus::Variant(bytes(glob));
        if (!under.empty()) filter["under"] = sdbus::Variant(bytes(under));
        if (!kind.empty()) filter["kind"] = sdbus::Variant(kind);
        done = a.ResolveMatching(share, filter, with);
      } else if (keep_markers) {
        done = a.ResolveWith(ids, with, {{"force", sdbus::Variant(true)}});
      } else {
        done = a.Resolve(ids, with);
      }
      std::cout << "resolved " << done.size() << " conflict(s) with " << with << "\n";
      return a.OpenConflicts() > 0 ? kConflictsRemain : kOk;
    };
  });

  auto* undo = app.add_subcommand("undo", "take back a conflict's latest resolution, reopen it");
  undo->add_option("id", id, "the id of a resolved conflict")->required();
  undo->callback([&] { action = [&](Agent& a) { return undoResolution(a, id); }; });

  auto* evict = app.add_subcommand("evict", "drop the local copy of a clean, unpinned path");
  evict->add_option("path", path)->required();
  evict->add_option("--share", share);
  evict->callback([&] {
    action = [&](Agent& a) {
      Target t = target(a, path, share);
      if (t.path.empty()) {
        std::cerr << "hoard: cannot evict the share root of " << t.share
                  << "; evict a path inside it\n";
        return kUsage;
      }
      uint64_t freed = a.Evict(t.share, bytes(t.path));
      std::cout << "evicted " << displayPath(t.path) << ": " << freed << " bytes freed\n";
      return kOk;
    };
  });

  auto* snap = app.add_subcommand("snapshot", "pre-disconnection snapshots");
  snap->require_subcommand(1);
  auto* snap_ls = snap->add_subcommand("list", "a share's snapshots");
  snap_ls->add_option("share", share)->required();
  json_flag(snap_ls);
  snap_ls->callback([&] {
    action = [&](Agent& a) {
      json out = json::array();
      for (const auto& s : a.ListSnapshots(share)) {
        out.push_back({{"id", std::get<0>(s)},
                       {"label", std::get<1>(s)},
                       {"taken_at_ns", std::get<2>(s)},
                       {"entries", std::get<3>(s)}});
        if (!as_json)
          std::cout << "#" << std::get<0>(s) << "  " << std::get<1>(s) << "  "
                    << std::get<3>(s) << " entries\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return kOk;
    };
  });
  auto* snap_show = snap->add_subcommand("show", "the entries of a snapshot");
  snap_show->add_option("id", id)->required();
  json_flag(snap_show);
  snap_show->callback([&] {
    action = [&](Agent& a) {
      json out = json::array();
      for (const auto& e : a.ReadSnapshot(id)) {
        json j = {{"type", std::get<1>(e)},
                  {"mode", std::get<2>(e)},
                  {"size", std::get<3>(e)},
                  {"mtime_ns", std::get<4>(e)},
                  {"hash", std::get<5>(e)}};
        putPath(j, "path", str(std::get<0>(e)));
        out.push_back(j);
        if (!as_json)
          std::cout << std::get<1>(e) << "  " << std::get<3>(e) << "  "
                    << displayPath(str(std::get<0>(e))) << "\n";
      }
      if (as_json) std::cout << out.dump(2) << "\n";
      return kOk;
    };
  });

  addRulesCommands(app, Commands{as_json, action, local_action});
  addAuthReadyCommands(app, Commands{as_json, action, local_action});

  if (argc == 1 || argv[1][0] != '-') {
    std::string cmd = argc > 1 ? argv[1] : "";
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      known = known || sub->get_name() == cmd;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (cmd.empty()) {
      std::cerr << "hoard: give a command: " << names << " (`hoard --help` says more)\n";
      return kUsage;
    }
    if (!known) {
      std::cerr << "hoard: unknown command '" << cmd << "'; the commands are: " << names
                << " (`hoard --help` says more)\n";
      return kUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }
  if (local_action) return local_action();
  try {
    auto agent = Agent::connect();
    return action(*agent);
  } catch (const sdbus::Error& e) {
    return report(e);
  }
}
