// SPDX-License-Identifier: MIT
// The user's story through the real `hoard` CLI only, against the real
// hoardd on a private bus: add a share, pin, preload, go offline, edit,
// reconnect, see the conflict, resolve it with each of keep-local,
// keep-remote and stash, and `status --json` says clean. Every --json output
// is validated against its schema under schemas/cli/; exit statuses are the
// documented ones (0 ok, 1 failed, 2 usage, 3 conflicts remain).

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <memory>
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

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = dir_ + "/server";
    cache_ = dir_ + "/cache";
    put(server_ + "/docs/report.txt", "report v1\n");
    put(server_ + "/docs/plan.txt", "plan v1\n");
    put(server_ + "/docs/notes.txt", "notes v1\n");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  void startDaemon(std::vector<std::pair<std::string, std::string>> env = {}) {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log", env);
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  // Files directly in `dir` (0 if it is gone).
  size_t filesIn(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file()) ++n;
    return n;
  }
  // `n` files on the server under many/.
  void manyOnServer(int n) {
    for (int i = 0; i < n; ++i)
      put(server_ + "/many/f" + std::to_string(i) + ".txt", "file " + std::to_string(i) + "\n");
  }
  // Runs `hoard ARGS`; stdout returned, stderr kept in last_err_.
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  // Runs a --json listing, checks it against schemas/cli/NAME.schema.json.
  json listing(const std::string& args, const std::string& schema, int want_rc = 0) {
    auto [rc, out] = hoard(args + " --json");
    EXPECT_EQ(rc, want_rc) << args << "\n" << last_err_;
    json doc = json::parse(out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << args << " printed no JSON: " << out;
    std::string why = schemaViolations(doc, schema);
    if (!why.empty())
      ADD_FAILURE() << args << " --json does not match " << schema << ".schema.json:\n"
                    << why << doc.dump(2);
    return doc;
  }
  // Makes one conflict on docs/NAME (offline edit vs third-party edit);
  // returns its id.
  uint64_t makeConflict(const std::string& name) { return makeConflict(name, "mine\n", "theirs\n"); }
  // The same with the bytes each side writes.
  uint64_t makeConflict(const std::string& name, const std::string& mine,
                        const std::string& theirs) {
    EXPECT_EQ(hoard("offline docs").first, 0) << last_err_;
    put(cache_ + "/docs/" + name, mine);
    put(server_ + "/docs/" + name, theirs);
    EXPECT_TRUE(eventually([&] {
      for (auto& c : listing("changes docs", "changes"))
        if (c["path"] == "docs/" + name) return true;
      return false;
    })) << "the offline edit is in the change log";
    EXPECT_EQ(hoard("online docs").first, 0);
    // Reconnect: the sync reports that a conflict remains.
    EXPECT_TRUE(eventually([&] { return hoard("sync docs").first == 3; })) << last_err_;
    json conflicts = listing("conflicts docs", "conflicts", 3);
    for (auto& c : conflicts)
      if (c["path"] == "docs/" + name) return c["id"].get<uint64_t>();
    ADD_FAILURE() << "no conflict for " << name << ": " << conflicts.dump();
    return 0;
  }

  std::string dir_, server_, cache_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(CliTest, SaysClearlyWhenTheDaemonIsNotRunning) {
  auto [rc, out] = hoard("status");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(last_err_.find("hoardd is not running"), std::string::npos) << last_err_;
}

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  startDaemon();
  EXPECT_EQ(hoard("frobnicate").first, 2);
  EXPECT_EQ(hoard("resolve 1").first, 2) << "--with is required";
  EXPECT_EQ(hoard("resolve 1 --with merge-magic").first, 2);
  EXPECT_NE(last_err_.find("keep-local, keep-remote, stash or delete"), std::string::npos)
      << last_err_;
}

TEST_F(CliTest, TheWholeStoryThroughTheCliOnly) {
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  json shares = listing("share list", "shares");
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0]["name"], "docs");
  ASSERT_EQ(hoard("pin " + cache_ + "/docs --priority 800").first, 0) << last_err_;
  json pins = listing("pins docs", "pins");
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0]["path"], "docs");
  EXPECT_EQ(pins[0]["priority"], 800);
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "report v1\n");

  // keep-local: my offline version goes to the server.
  uint64_t a = makeConflict("report.txt");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");
  auto shown = hoard("show " + std::to_string(a) + " --remote");
  EXPECT_EQ(shown.second, "theirs\n");
  EXPECT_EQ(hoard("resolve " + std::to_string(a) + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "mine\n");

  // keep-remote: the server's version replaces mine.
  uint64_t b = makeConflict("plan.txt");
  EXPECT_EQ(hoard("resolve " + std::to_string(b) + " --with keep-remote").first, 0) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/plan.txt"), "theirs\n");
  EXPECT_EQ(slurp(server_ + "/docs/plan.txt"), "theirs\n");

  // stash (by pattern): both kept, on both sides.
  makeConflict("notes.txt");
  EXPECT_EQ(hoard("resolve --share docs --glob 'docs/*.txt' --with stash").first, 0) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/notes.txt"), "theirs\n");
  EXPECT_EQ(slurp(server_ + "/docs/notes.txt"), "theirs\n");
  bool stashed = false;
  for (auto& e : fs::directory_iterator(server_ + "/docs"))
    if (e.path().filename().string().rfind("notes.conflict-", 0) == 0) {
      stashed = true;
      EXPECT_EQ(slurp(e.path()), "mine\n");
      EXPECT_EQ(slurp(cache_ + "/docs/" + e.path().filename().string()), "mine\n");
    }
  EXPECT_TRUE(stashed) << "the losing version sits beside the winner";

  // Clean: online, nothing pending, no conflicts (the write-back of the
  // resolutions' own traces settles by itself).
  EXPECT_TRUE(eventually([&] {
    json st = listing("status docs", "status");
    return st.size() == 1 && st[0]["state"] == "online" && st[0]["pending_changes"] == 0 &&
           st[0]["open_conflicts"] == 0;
  })) << listing("status docs", "status").dump(2);
  EXPECT_EQ(listing("conflicts", "conflicts").size(), 0u);

  // Reintegrated: the offline periods' snapshots are gone (issue 9, point 7)...
  EXPECT_TRUE(eventually([&] {
    hoard("sync docs");
    return listing("snapshot list docs", "snapshots").empty();
  })) << listing("snapshot list docs", "snapshots").dump(2);
  // ...while an offline period has its snapshot until then.
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  json snaps;
  EXPECT_TRUE(eventually([&] {
    snaps = listing("snapshot list docs", "snapshots");
    return !snaps.empty();
  })) << "the offline period took a snapshot";
  ASSERT_GE(snaps.size(), 1u);
  json entries = listing("snapshot show " + std::to_string(snaps[0]["id"].get<uint64_t>()),
                         "snapshot-entries");
  EXPECT_GE(entries.size(), 3u);
  EXPECT_EQ(hoard("online docs").first, 0) << last_err_;
}

TEST_F(CliTest, UnpinEvictDiffAndRemove) {
  startDaemon();
  put(server_ + "/old/scan.txt", "an old scan\n");
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_ + " --pin docs --pin old").first, 0)
      << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  ASSERT_EQ(slurp(cache_ + "/old/scan.txt"), "an old scan\n");

  // Evicting a pinned path is refused, naming the pin; after unpin it works.
  auto refused = hoard("evict " + cache_ + "/old");
  EXPECT_EQ(refused.first, 1);
  EXPECT_NE(last_err_.find("is pinned"), std::string::npos) << last_err_;
  ASSERT_EQ(hoard("unpin old --share docs").first, 0) << last_err_;
  EXPECT_EQ(listing("pins docs", "pins").size(), 1u);
  ASSERT_EQ(hoard("evict old --share docs").first, 0) << last_err_;
  EXPECT_FALSE(fs::exists(cache_ + "/old/scan.txt"));
  EXPECT_EQ(slurp(server_ + "/old/scan.txt"), "an old scan\n") << "the remote keeps it";

  // diff shows the two sides of a conflict.
  uint64_t id = makeConflict("report.txt");
  auto [rc, out] = hoard("diff " + std::to_string(id));
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("-mine"), std::string::npos) << out;
  EXPECT_NE(out.find("+theirs"), std::string::npos) << out;

  // Removing a share with an open conflict needs --force; the files stay.
  EXPECT_EQ(hoard("share remove docs").first, 1);
  EXPECT_NE(last_err_.find("open conflict"), std::string::npos) << last_err_;
  ASSERT_EQ(hoard("share remove docs --force").first, 0) << last_err_;
  EXPECT_TRUE(listing("share list", "shares").empty());
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");
}

TEST_F(CliTest, PreloadShowsAProgressBarOnATerminalAndPlainLinesOtherwise) {
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_ + " --pin many").first, 0)
      << last_err_;
  ASSERT_TRUE(eventually([&] {
    json st = listing("status docs", "status");
    return st[0]["state"] == "online";
  }));
  // New files on the server, fetched by the preload job itself (the next
  // poll is 30 s away): the job reports progress as it hoards them.
  for (int i = 0; i < 5; ++i) put(server_ + "/many/f" + std::to_string(i) + ".txt", "data\n");
  // On a terminal (script(1) gives the CLI a pty): a bar, drawn in place.
  auto [rc, tty] = run("script -qec '" + std::string(HOARD_CLI_PATH) +
                       " preload docs' /dev/null");
  EXPECT_EQ(rc, 0) << tty;
  EXPECT_NE(tty.find("preload ["), std::string::npos) << tty;
  EXPECT_NE(tty.find("5/5 files"), std::string::npos) << tty;
  EXPECT_NE(tty.find('\r'), std::string::npos) << "the bar is redrawn in place: " << tty;
  // Not a terminal: plain lines, no carriage returns.
  for (int i = 5; i < 8; ++i) put(server_ + "/many/f" + std::to_string(i) + ".txt", "data\n");
  auto [rc2, plain] = run(std::string(HOARD_CLI_PATH) + " preload docs 2>&1");
  EXPECT_EQ(rc2, 0) << plain;
  EXPECT_EQ(plain.find('\r'), std::string::npos) << plain;
  EXPECT_NE(plain.find("preload: 3/3 files"), std::string::npos) << plain;
}


// Issue 9, point 17: `share add` then at once `share remove --force` used to
// deadlock hoardd (the remove handler, on the bus thread, joined the share's
// thread, which waited to emit a signal on that same connection).
TEST_F(CliTest, ShareAddThenRemoveAtOnceNeverDeadlocks) {
  startDaemon();
  manyOnServer(50);
  for (int i = 0; i < 20; ++i) {
    std::string cache = dir_ + "/cache" + std::to_string(i);
    ASSERT_EQ(hoard("share add docs " + server_ + " " + cache).first, 0) << i << ": " << last_err_;
    ASSERT_EQ(hoard("share remove docs --force").first, 0) << i << ": " << last_err_;
  }
  EXPECT_TRUE(listing("share list", "shares").empty());
  EXPECT_EQ(hoard("status").first, 0) << "hoardd still answers: " << last_err_;
}

// Issue 9, point 6: a call that starts hoardd by D-Bus activation waits for
// its bus name; by then every share's engine runs (no UnknownShare).
TEST_F(CliTest, ACallThatActivatesHoarddFindsItsShares) {
  startDaemon();
  manyOnServer(2000);  // a cache to scan at start: the engines take a while
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  ASSERT_EQ(daemon_->stop(), 0);
  daemon_.reset();
  bus_.reset();
  setenv("XDG_STATE_HOME", (dir_ + "/state").c_str(), 1);
  bus_ = std::make_unique<PrivateBus>(dir_ + "/services");
  ASSERT_TRUE(bus_->ok());
  json st = listing("status docs", "status");  // activates hoardd
  unsetenv("XDG_STATE_HOME");
  ASSERT_EQ(st.size(), 1u) << last_err_;
  EXPECT_EQ(st[0]["share"], "docs");
  pid_t activated = busNameOwnerPid("org.hoard.Agent1");
  ASSERT_GT(activated, 0);
  kill(activated, SIGTERM);
  EXPECT_TRUE(eventually([&] { return kill(activated, 0) != 0; })) << "the activated hoardd stops";
}

// Issue 9, point 4: a pass that stopped before a mass deletion shows it in
// `status`, and `hoard sync --confirm-delete` shows it again and carries it out.
TEST_F(CliTest, AMassDeletionIsShownAndConfirmedThroughTheCli) {
  startDaemon();
  manyOnServer(40);
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  ASSERT_EQ(filesIn(cache_ + "/many"), 40u);
  // The server folder emptied at once (as a slip of rm -r would).
  fs::rename(server_ + "/many", dir_ + "/many-gone");
  fs::create_directory(server_ + "/many");
  auto [rc, out] = hoard("sync docs");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(last_err_.find("hoard sync docs --confirm-delete"), std::string::npos) << last_err_;
  EXPECT_EQ(filesIn(cache_ + "/many"), 40u) << "nothing deleted before the user's word";

  json st = listing("status docs", "status");
  ASSERT_TRUE(st[0].contains("mass_delete")) << st.dump(2);
  EXPECT_EQ(st[0]["mass_delete"]["count"], 40);
  EXPECT_EQ(st[0]["mass_delete"]["side"], "cache");
  EXPECT_EQ(st[0]["mass_delete"]["paths"].size(), 20u);
  EXPECT_EQ(st[0]["mass_delete"]["paths"][0]["path"], "many/f0.txt");
  auto [src, text] = hoard("status docs");
  EXPECT_NE(text.find("would delete 40 of"), std::string::npos) << text;
  EXPECT_NE(text.find("many/f0.txt"), std::string::npos) << text;
  EXPECT_NE(text.find("hoard sync docs --confirm-delete"), std::string::npos) << text;

  json done = listing("sync docs --confirm-delete", "mass-delete");
  EXPECT_EQ(done["count"], 40);
  EXPECT_EQ(done["deleted"], true) << done.dump(2);
  EXPECT_EQ(filesIn(cache_ + "/many"), 0u) << "the confirmed deletion happened";
  EXPECT_EQ(hoard("sync docs --confirm-delete").first, 1) << "nothing waits any more";
  EXPECT_TRUE(eventually([&] {
    json s2 = listing("status docs", "status");
    return !s2[0].contains("mass_delete") && s2[0]["state"] == "online";
  })) << listing("status docs", "status").dump(2);
}

// Issue 9, point 8: the CLI never waits forever for a job of a hoardd that died.
TEST_F(CliTest, TheCliExitsWhenHoarddDiesMidJob) {
  startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "300"}});
  manyOnServer(100);  // 100 fetches of 300 ms on 4 threads: several seconds
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  pid_t cli = spawn({HOARD_CLI_PATH, "preload", "docs"}, dir_ + "/cli.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  ASSERT_EQ(filesIn(cache_ + "/many") < 100, true) << "the job is still running";
  kill(daemon_->pid(), SIGKILL);
  bool exited = eventually([&] { return waitpid(cli, nullptr, WNOHANG) == cli || kill(cli, 0) != 0; },
                           std::chrono::seconds(15));
  if (!exited) {
    kill(cli, SIGKILL);
    waitExit(cli);
    FAIL() << "hoard preload still waits after hoardd died: " << slurp(dir_ + "/cli.log");
  }
  EXPECT_NE(slurp(dir_ + "/cli.log").find("hoardd left the session bus"), std::string::npos)
      << slurp(dir_ + "/cli.log");
}

// Issue 9, points 8 and 14: what a new user types by mistake gets a true answer.
TEST_F(CliTest, MistakesGetUsableAnswers) {
  startDaemon();
  auto [rc, out] = hoard("bogus");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(last_err_.find("unknown command 'bogus'"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("share, pin"), std::string::npos) << "lists the commands: " << last_err_;
  EXPECT_EQ(hoard("").first, 2);
  EXPECT_NE(last_err_.find("give a command: share, pin"), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("resolve -1 --with keep-local").first, 2) << last_err_;
  EXPECT_NE(last_err_.find("'-1' is not a conflict id"), std::string::npos) << last_err_;
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_ + " --pin docs").first, 0)
      << last_err_;
  EXPECT_EQ(hoard("evict " + cache_).first, 2);
  EXPECT_NE(last_err_.find("cannot evict the share root"), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("evict . --share docs").first, 2);
  EXPECT_NE(last_err_.find("cannot evict the share root"), std::string::npos) << last_err_;
  EXPECT_EQ(hoard("resolve --share docs --under .. --with keep-local").first, 2) << last_err_;
  // --under docs/ matches like --under docs.
  uint64_t id = makeConflict("report.txt");
  ASSERT_NE(id, 0u);
  auto [rrc, rout] = hoard("resolve --share docs --under docs/ --with keep-local");
  EXPECT_NE(rrc, 1) << last_err_;
  EXPECT_NE(rout.find("resolved 1 conflict"), std::string::npos) << rout << last_err_;
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "mine\n");
}

// Issue 9, point 14: a dir-delete conflict has no file versions; diff and
// show say what each side did instead of printing nothing.
TEST_F(CliTest, DiffOfADirDeleteConflictSaysWhatEachSideDid) {
  startDaemon();
  put(server_ + "/d/keep.txt", "keep\n");
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  fs::remove_all(cache_ + "/d");
  put(server_ + "/d/added.txt", "a colleague's new file\n");
  ASSERT_TRUE(eventually([&] { return !listing("changes docs", "changes").empty(); }));
  ASSERT_EQ(hoard("online docs").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("sync docs").first == 3; })) << last_err_;
  uint64_t id = 0;
  for (auto& c : listing("conflicts docs", "conflicts", 3))
    if (c["kind"] == "dir-delete") id = c["id"].get<uint64_t>();
  ASSERT_NE(id, 0u) << listing("conflicts docs", "conflicts", 3).dump(2);
  auto [rc, out] = hoard("diff " + std::to_string(id));
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_NE(out.find("(dir-delete) at d"), std::string::npos) << out;
  EXPECT_NE(out.find("local:"), std::string::npos) << out;
  EXPECT_NE(out.find("remote:"), std::string::npos) << out;
  EXPECT_NE(out.find("on the remote, beneath it:\n    added d/added.txt"), std::string::npos) << out;
  EXPECT_EQ(out.find("data_version_hex"), std::string::npos) << out;
  auto [src, sout] = hoard("show " + std::to_string(id) + " --remote");
  EXPECT_EQ(src, 0) << last_err_;
  EXPECT_NE(sout.find("(dir-delete) at d"), std::string::npos) << sout;
}

// Issue 9, point 5: `hoard offline` stops a running pass; SIGTERM too.
// (Needs the reconciler to honour ReconcileOptions::stop.)
TEST_F(CliTest, OfflineStopsARunningPass) {
  // 200 fetches of a second each, 32 at a time (remote_in_flight): about
  // seven seconds, well beyond a CLI call even under ASan.
  startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "1000"}});
  manyOnServer(200);
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return filesIn(cache_ + "/many") > 0; }));
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  size_t at_offline = filesIn(cache_ + "/many");
  EXPECT_LT(at_offline, 200u) << "`hoard offline` returned only after the whole pass";
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(filesIn(cache_ + "/many"), at_offline) << "nothing is fetched once offline";
}

TEST_F(CliTest, SigtermStopsARunningPassAndExits) {
  startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "1000"}});  // as above: seven seconds
  manyOnServer(200);
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_TRUE(eventually([&] { return filesIn(cache_ + "/many") > 0; }));
  EXPECT_EQ(daemon_->stop(), 0);
  EXPECT_LT(filesIn(cache_ + "/many"), 200u) << "hoardd waited for the whole pass to end";
  EXPECT_NE(slurp(dir_ + "/hoardd.log").find("stopped cleanly"), std::string::npos);
}

// Issue 9, point 13: the automatic pass after `share add` did the work; the
// preload right after it says so instead of "0 sent, 0 received".
TEST_F(CliTest, APreloadRightAfterShareAddSaysWhatTheAutomaticPassDid) {
  startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "20"}});
  manyOnServer(60);
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  auto [rc, out] = hoard("preload docs");
  ASSERT_EQ(rc, 0) << last_err_;
  EXPECT_EQ(filesIn(cache_ + "/many"), 60u);
  bool own_work = out.find("63 received") != std::string::npos;
  bool told = out.find("already did the work") != std::string::npos ||
              out.find("the automatic pass had done") != std::string::npos;
  EXPECT_TRUE(own_work || told) << out;
  EXPECT_FALSE(out.find("0 sent, 0 received") != std::string::npos && !told) << out;
}

// Issue 9, point 13: `hoard sync` right after `hoard online` finds that the
// automatic reintegration did the work, and says what it did.
TEST_F(CliTest, ASyncRightAfterOnlineSaysWhatTheReintegrationDid) {
  startDaemon({{"HOARD_FAULT_SLOW_REMOTE_MS", "20"}});
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  manyOnServer(60);  // a colleague's new files, fetched on reconnection
  ASSERT_EQ(hoard("online docs").first, 0) << last_err_;
  auto [rc, out] = hoard("sync docs");
  ASSERT_EQ(rc, 0) << last_err_;
  EXPECT_EQ(filesIn(cache_ + "/many"), 60u);
  bool own_work = out.find("60 received") != std::string::npos;
  bool told = out.find("already did the work") != std::string::npos ||
              out.find("the automatic pass had done") != std::string::npos;
  EXPECT_TRUE(own_work || told) << out;
  EXPECT_FALSE(out.find("0 sent, 0 received") != std::string::npos && !told) << out;
}

// Issue 9, point 11: a path that fails is listed in `status` with its error,
// and no longer once it went through.
TEST_F(CliTest, FailingPathsAreListedInStatusUntilTheyGoThrough) {
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  startDaemon({{"HOARD_FAULT_INJECT_REMOTE", "EIO"}});
  put(cache_ + "/docs/report.txt", "an edit the failing remote refuses\n");
  EXPECT_TRUE(eventually([&] { return hoard("sync docs").first == 1; })) << last_err_;
  std::string sync_err = last_err_;
  json st = listing("status docs", "status");
  ASSERT_EQ(st[0]["failed"].size(), 1u) << st.dump(2) << sync_err << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(st[0]["failed"][0]["path"], "docs/report.txt");
  EXPECT_EQ(st[0]["failed"][0]["error"], "org.hoard.Error.IoError");
  auto [rc, text] = hoard("status docs");
  EXPECT_NE(text.find("docs/report.txt"), std::string::npos) << text;
  EXPECT_NE(slurp(dir_ + "/hoardd.log").find("docs/report.txt could not be synced"),
            std::string::npos);
  // A full remote stops the pass: status says so, and not once space is back.
  startDaemon({{"HOARD_FAULT_INJECT_REMOTE", "ENOSPC"}});
  put(cache_ + "/docs/report.txt", "an edit the failing remote refuses\n");
  EXPECT_EQ(hoard("sync docs").first, 1) << last_err_;
  st = listing("status docs", "status");
  ASSERT_TRUE(st[0].contains("stopped")) << st.dump(2);
  EXPECT_EQ(st[0]["stopped"]["error"], "org.hoard.Error.NoSpace");
  EXPECT_NE(hoard("status docs").second.find("No space left on device"), std::string::npos);
  startDaemon();  // the remote works again
  EXPECT_EQ(hoard("sync docs").first, 0) << last_err_;
  st = listing("status docs", "status");
  EXPECT_TRUE(st[0]["failed"].empty()) << st.dump(2);
  EXPECT_FALSE(st[0].contains("stopped")) << st.dump(2);
  EXPECT_EQ(st[0]["reason"], "") << st.dump(2);
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "an edit the failing remote refuses\n");
}

// Stash files beside docs/NAME in `dir` (NAME.conflict-HOST-...).
std::vector<std::string> stashesIn(const std::string& dir, const std::string& stem) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(stem + ".conflict-", 0) == 0)
      out.push_back(e.path().filename());
  return out;
}

TEST_F(CliTest, ResolutionsAreListedAndUndoPutsBothSidesBack) {
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  EXPECT_EQ(listing("conflicts docs --resolved", "resolutions").size(), 0u);

  uint64_t a = makeConflict("report.txt");
  ASSERT_NE(a, 0u);
  // delete has no meaning for a content conflict: refused, nothing changed.
  EXPECT_EQ(hoard("resolve " + std::to_string(a) + " --with delete").first, 2);
  EXPECT_NE(last_err_.find("delete is a decision only where a side deleted"), std::string::npos)
      << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");

  ASSERT_EQ(hoard("resolve " + std::to_string(a) + " --with stash").first, 0) << last_err_;
  ASSERT_EQ(stashesIn(server_ + "/docs", "report").size(), 1u);
  ASSERT_EQ(stashesIn(cache_ + "/docs", "report").size(), 1u);
  json h = listing("conflicts docs --resolved", "resolutions");
  ASSERT_EQ(h.size(), 1u) << h.dump(2);
  EXPECT_EQ(h[0]["conflict_id"], a);
  EXPECT_EQ(h[0]["path"], "docs/report.txt");
  EXPECT_EQ(h[0]["kind"], "content");
  EXPECT_EQ(h[0]["decision"], "stash");
  EXPECT_EQ(h[0]["resolver"], "stash");
  EXPECT_EQ(h[0]["rule"], "");
  EXPECT_EQ(h[0]["undone"], false);
  auto text = hoard("conflicts docs --resolved");
  EXPECT_EQ(text.first, 0);
  EXPECT_NE(text.second.find("#" + std::to_string(a) + "  docs  content  docs/report.txt  stash"),
            std::string::npos)
      << text.second;

  // Undo: both sides as before the stash, the stash copy gone from both,
  // the conflict open again (and it stays so through passes).
  ASSERT_EQ(hoard("undo " + std::to_string(a)).first, 0) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");
  EXPECT_TRUE(stashesIn(server_ + "/docs", "report").empty());
  EXPECT_TRUE(stashesIn(cache_ + "/docs", "report").empty());
  EXPECT_EQ(hoard("sync docs").first, 3) << last_err_;
  json open = listing("conflicts docs", "conflicts", 3);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0]["id"], a);
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");
  h = listing("conflicts docs --resolved", "resolutions");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["undone"], true);
  // Undoing an open conflict: nothing to undo.
  EXPECT_EQ(hoard("undo " + std::to_string(a)).first, 1);
  EXPECT_NE(last_err_.find("is open"), std::string::npos) << last_err_;

  // Decided again; a colleague then saves on the server: undo refuses and
  // changes nothing.
  ASSERT_EQ(hoard("resolve " + std::to_string(a) + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "mine\n");
  put(server_ + "/docs/report.txt", "the colleague's later edit\n");
  EXPECT_EQ(hoard("undo " + std::to_string(a)).first, 3);
  EXPECT_NE(last_err_.find("docs/report.txt changed on the remote since resolution"),
            std::string::npos)
      << last_err_;
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "the colleague's later edit\n");
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "mine\n");
  h = listing("conflicts docs --resolved", "resolutions");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["decision"], "keep-local");
  EXPECT_EQ(h[0]["undone"], false);
  EXPECT_EQ(hoard("undo 999").first, 1);
  EXPECT_NE(last_err_.find("no conflict #999"), std::string::npos) << last_err_;
}

}  // namespace
}  // namespace hoard

namespace hoard {
namespace {

// What a pass costs in remote calls is in `hoard status --json`: a preload
// fetches each file once; a pass with nothing to do fetches nothing and
// writes nothing, only lists and stats.
TEST_F(CliTest, StatusCountsTheRemoteCallsOfEachPass) {
  manyOnServer(20);
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  json st = listing("status docs", "status");
  ASSERT_TRUE(st[0].contains("remote_calls")) << st.dump(2);
  json preload = st[0]["remote_calls"];
  EXPECT_EQ(preload.value("fetchFile", 0), 23) << preload.dump();  // docs/ 3, many/ 20
  EXPECT_EQ(preload.value("replaceFile", 0), 0) << preload.dump();
  ASSERT_EQ(hoard("sync docs").first, 0) << last_err_;
  json after = listing("status docs", "status")[0]["remote_calls"];
  EXPECT_EQ(after.value("fetchFile", 0), preload.value("fetchFile", 0)) << after.dump();
  EXPECT_EQ(after.value("replaceFile", 0), 0) << after.dump();
  // The pass listed the tree again: each directory (root, docs, many) once more.
  EXPECT_GE(after.value("listDir", 0), preload.value("listDir", 0) + 3) << after.dump();
  EXPECT_GE(after.value("lstat", 0), preload.value("lstat", 0) + 25) << after.dump();
}

// Issue 9, point 11: one unreadable remote subdirectory is a failed path in
// `status`, not a paused share nor "authentication required"; the rest of
// the share syncs. (Root ignores mode 000, so the daemon's test hook makes
// the remote refuse to open it, EACCES.)
TEST_F(CliTest, AnUnreadableRemoteDirectoryIsAFailedPathAndTheRestSyncs) {
  put(server_ + "/secret/hidden.txt", "hidden\n");
  put(server_ + "/secret-x.txt", "beside it\n");
  startDaemon({{"HOARD_FAULT_UNREADABLE_REMOTE", "secret"}});
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  EXPECT_EQ(hoard("preload docs").first, 1) << "a path failed";
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "report v1\n");
  EXPECT_EQ(slurp(cache_ + "/secret-x.txt"), "beside it\n");
  EXPECT_FALSE(fs::exists(cache_ + "/secret/hidden.txt"));
  put(server_ + "/docs/plan.txt", "plan v2 from a colleague\n");
  EXPECT_EQ(hoard("sync docs").first, 1) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/docs/plan.txt"), "plan v2 from a colleague\n");
  json st = listing("status docs", "status");
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0]["state"], "online") << st.dump(2);
  ASSERT_EQ(st[0]["failed"].size(), 1u) << st.dump(2);
  EXPECT_EQ(st[0]["failed"][0]["path"], "secret");
  EXPECT_EQ(st[0]["failed"][0]["error"], "org.hoard.Error.PermissionDenied");
  EXPECT_FALSE(st[0].contains("stopped")) << st.dump(2);
  auto [rc, text] = hoard("status docs");
  EXPECT_NE(text.find("secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("uthentication"), std::string::npos) << text;
  // Readable again: it arrives and the failure is gone.
  startDaemon();
  EXPECT_EQ(hoard("sync docs").first, 0) << last_err_;
  EXPECT_EQ(slurp(cache_ + "/secret/hidden.txt"), "hidden\n");
  EXPECT_TRUE(listing("status docs", "status")[0]["failed"].empty());
}

// Issue 9, point 12: the cache replaced docs/ by a symlink while a colleague
// edited docs/report.txt: one `type` conflict on docs, resolved through the
// CLI, and the link's target is never written through.
TEST_F(CliTest, AConflictUnderADirectoryThatBecameASymlinkIsResolvable) {
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;
  const std::string elsewhere = dir_ + "/elsewhere";
  put(elsewhere + "/report.txt", "not the share's, no final newline");
  ASSERT_EQ(hoard("offline docs").first, 0) << last_err_;
  fs::remove_all(cache_ + "/docs");
  fs::create_directory_symlink(elsewhere, cache_ + "/docs");
  put(server_ + "/docs/report.txt", "theirs\n");
  ASSERT_TRUE(eventually([&] { return !listing("changes docs", "changes").empty(); }));
  ASSERT_EQ(hoard("online docs").first, 0) << last_err_;
  EXPECT_TRUE(eventually([&] { return hoard("sync docs").first == 3; })) << last_err_;
  json conflicts = listing("conflicts docs", "conflicts", 3);
  ASSERT_EQ(conflicts.size(), 1u) << conflicts.dump(2) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(conflicts[0]["path"], "docs");
  EXPECT_EQ(conflicts[0]["kind"], "type");
  EXPECT_TRUE(listing("status docs", "status", 3)[0]["failed"].empty()) << "no retry storm";
  const std::string id = std::to_string(conflicts[0]["id"].get<uint64_t>());
  EXPECT_EQ(hoard("resolve " + id + " --with keep-remote").first, 0) << last_err_;
  EXPECT_FALSE(fs::is_symlink(cache_ + "/docs"));
  EXPECT_EQ(slurp(cache_ + "/docs/report.txt"), "theirs\n");
  EXPECT_EQ(slurp(cache_ + "/docs/plan.txt"), "plan v1\n");
  EXPECT_EQ(slurp(elsewhere + "/report.txt"), "not the share's, no final newline");
  EXPECT_EQ(std::distance(fs::directory_iterator(elsewhere), fs::directory_iterator()), 1);
  EXPECT_EQ(hoard("sync docs").first, 0) << last_err_;
  EXPECT_EQ(listing("conflicts docs", "conflicts").size(), 0u);
  EXPECT_EQ(slurp(server_ + "/docs/report.txt"), "theirs\n");
}

}  // namespace
}  // namespace hoard

namespace hoard {
namespace {

// Issue 12: `hoard show ID --merged` prints git-merge's proposal, run in the
// CLI on the versions hoardd opens: the clean merge (exit 0), markers where
// hunks overlap (exit 3), the reason it will not merge (exit 1).
TEST_F(CliTest, ShowMergedPrintsGitMergesProposal) {
  const std::string base = "title\r\none\ntwo\nthree\nfour\nfive\nsix\nend";
  put(server_ + "/docs/clean.txt", base);
  put(server_ + "/docs/overlap.txt", base);
  std::string bin = "PNG";
  bin.push_back('\0');
  put(server_ + "/docs/image.dat", bin + "v1\n");
  startDaemon();
  ASSERT_EQ(hoard("share add docs " + server_ + " " + cache_).first, 0) << last_err_;
  ASSERT_EQ(hoard("preload docs").first, 0) << last_err_;

  uint64_t clean = makeConflict("clean.txt", "TITLE\r\none\ntwo\nthree\nfour\nfive\nsix\nend",
                                "title\r\none\ntwo\nthree\nfour\nfive\nsix\nEND");
  auto [rc, out] = hoard("show " + std::to_string(clean) + " --merged");
  EXPECT_EQ(rc, 0) << last_err_;
  EXPECT_EQ(out, "TITLE\r\none\ntwo\nthree\nfour\nfive\nsix\nEND");
  // Nothing was written: both sides still hold their own version.
  EXPECT_EQ(slurp(server_ + "/docs/clean.txt"), "title\r\none\ntwo\nthree\nfour\nfive\nsix\nEND");

  uint64_t overlap = makeConflict("overlap.txt", "title\r\none\nmine\nthree\nfour\nfive\nsix\nend",
                                  "title\r\none\ntheirs\nthree\nfour\nfive\nsix\nend");
  auto [orc, oout] = hoard("show " + std::to_string(overlap) + " --merged");
  EXPECT_EQ(orc, 3) << last_err_;
  EXPECT_EQ(oout,
            "title\r\none\n<<<<<<< cache\nmine\n=======\ntheirs\n>>>>>>> remote\n"
            "three\nfour\nfive\nsix\nend");
  EXPECT_NE(last_err_.find("1 hunk conflicts"), std::string::npos) << last_err_;
  auto [drc, dout] = hoard("show " + std::to_string(overlap) + " --merged --style diff3");
  EXPECT_EQ(drc, 3);
  EXPECT_NE(dout.find("||||||| base\ntwo\n"), std::string::npos) << dout;
  EXPECT_EQ(hoard("show " + std::to_string(overlap) + " --merged --style zdiff4").first, 2);

  uint64_t image = makeConflict("image.dat", bin + "mine\n", bin + "theirs\n");
  auto [brc, bout] = hoard("show " + std::to_string(image) + " --merged");
  EXPECT_EQ(brc, 1);
  EXPECT_EQ(bout, "");
  EXPECT_NE(last_err_.find("docs/image.dat cannot be merged: "), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("binary content"), std::string::npos) << last_err_;
}

}  // namespace
}  // namespace hoard
