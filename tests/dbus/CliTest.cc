// SPDX-License-Identifier: MIT
// The user's story through the real `hoard` CLI only, against the real
// hoardd on a private bus: add a share, pin, preload, go offline, edit,
// reconnect, see the conflict, resolve it with each of keep-local,
// keep-remote and stash, and `status --json` says clean. Every --json output
// is validated against its schema under schemas/cli/; exit statuses are the
// documented ones (0 ok, 1 failed, 2 usage, 3 conflicts remain).

#include <stdlib.h>

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "BusHarness.h"

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
  void startDaemon() {
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  // Runs `hoard ARGS`; stdout returned, stderr kept in last_err_.
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = run(std::string(HOARD_CLI_PATH) + " " + args + " 2>" + dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  // Runs a --json listing, checks it against schemas/cli/NAME.schema.json.
  json listing(const std::string& args, const std::string& schema, int want_rc = 0) {
    auto [rc, out] = hoard(args + " --json");
    EXPECT_EQ(rc, want_rc) << args << "\n" << last_err_;
    json doc = json::parse(out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << args << " printed no JSON: " << out;
    json schema_doc = json::parse(slurp(std::string(HOARD_SCHEMA_DIR) + "/" + schema + ".schema.json"));
    valijson::Schema s;
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter schema_adapter(schema_doc);
    parser.populateSchema(schema_adapter, s);
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(doc);
    if (!validator.validate(s, target, &results)) {
      std::string why;
      valijson::ValidationResults::Error e;
      while (results.popError(e)) {
        for (const auto& c : e.context) why += c;
        why += ": " + e.description + "\n";
      }
      ADD_FAILURE() << args << " --json does not match " << schema << ".schema.json:\n"
                    << why << doc.dump(2);
    }
    return doc;
  }
  // Makes one conflict on docs/NAME (offline edit vs third-party edit);
  // returns its id.
  uint64_t makeConflict(const std::string& name) {
    EXPECT_EQ(hoard("offline docs").first, 0) << last_err_;
    put(cache_ + "/docs/" + name, "mine\n");
    put(server_ + "/docs/" + name, "theirs\n");
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
  EXPECT_NE(last_err_.find("keep-local, keep-remote or stash"), std::string::npos) << last_err_;
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

}  // namespace
}  // namespace hoard
