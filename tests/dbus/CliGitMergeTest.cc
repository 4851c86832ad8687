// SPDX-License-Identifier: MIT
// Issue 12 as a user meets it, through the real `hoard` CLI and hoardd on a
// private bus: a rule sends text conflicts to git-merge; edits of different
// paragraphs (made offline in the cache and meanwhile on the server) merge on
// both sides; overlapping ones stay open saying how many hunks conflict; with
// on_conflict "markers" the cache gets the merge with markers, the remote
// stays, and keep-local refuses the file until the markers are gone (or
// --force).

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

// Three paragraphs, CRLF in the first, no final newline.
const std::string kBase = "Intro\r\nfirst para\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end";

class CliGitMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-gitmerge-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    fs::create_directories(R_ + "/dir");
    fs::create_directories(dir_ + "/config/hoard");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  void start(const std::string& config) {
    put(dir_ + "/config/hoard/config.json", config);
    daemon_ = std::make_unique<Daemon>(
        dir_ + "/state", dir_ + "/hoardd.log",
        std::vector<std::pair<std::string, std::string>>{{"XDG_CONFIG_HOME", dir_ + "/config"}});
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
    ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
    ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  json jsonOf(const std::string& args) {
    auto [rc, out] = hoard(args + " --json");
    return json::parse(out, nullptr, false);
  }
  // `mine` written in the cache while offline, `theirs` on the server, then
  // back online and a sync.
  void editBothSides(const std::map<std::string, std::pair<std::string, std::string>>& edits) {
    ASSERT_EQ(hoard("offline s").first, 0) << last_err_;
    for (const auto& [n, e] : edits) put(C_ + "/" + n, e.first);
    ASSERT_TRUE(eventually([&] { return jsonOf("changes s").size() >= edits.size(); }));
    for (const auto& [n, e] : edits) put(R_ + "/" + n, e.second);
    ASSERT_EQ(hoard("online s").first, 0) << last_err_;
    ASSERT_TRUE(eventually([&] {
      int rc = hoard("sync s").first;
      return rc == 0 || rc == 3;
    })) << last_err_;
  }
  std::map<std::string, uint64_t> openConflicts() {
    std::map<std::string, uint64_t> out;
    json cs = jsonOf("conflicts s");
    if (cs.is_array())
      for (auto& c : cs) out[c["path"].get<std::string>()] = c["id"].get<uint64_t>();
    return out;
  }
  bool settles(const std::set<std::string>& want) {
    return eventually([&] {
      std::set<std::string> got;
      for (const auto& [p, id] : openConflicts()) got.insert(p);
      return got == want;
    });
  }

  std::string dir_, R_, C_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(CliGitMergeTest, EditsOfDifferentParagraphsMergeOnBothSides) {
  put(R_ + "/dir/notes.txt", kBase);
  put(R_ + "/dir-x.txt", kBase);  // no conflict there: untouched
  start(R"({"rules": [{"class": "text", "resolver": "git-merge"}]})");
  editBothSides({{"dir/notes.txt",
                  {"Intro\r\nfirst para, edited offline\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end",
                   "Intro\r\nfirst para\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end, "
                   "edited on the server"}}});
  ASSERT_TRUE(settles({})) << slurp(dir_ + "/hoardd.log");
  const std::string merged =
      "Intro\r\nfirst para, edited offline\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end, "
      "edited on the server";
  EXPECT_EQ(slurp(C_ + "/dir/notes.txt"), merged);
  EXPECT_EQ(slurp(R_ + "/dir/notes.txt"), merged);
  EXPECT_EQ(slurp(R_ + "/dir-x.txt"), kBase);
  json resolved = jsonOf("conflicts s --resolved");
  ASSERT_TRUE(resolved.is_array() && resolved.size() == 1) << resolved.dump();
  EXPECT_NE(resolved[0].dump().find("git-merge"), std::string::npos) << resolved.dump();
}

TEST_F(CliGitMergeTest, OverlappingEditsStayOpenSayingHowManyHunksConflict) {
  put(R_ + "/dir/notes.txt", kBase);
  // Would merge cleanly, but the share's .gitattributes (read from the
  // cache) says not to merge it; its neighbour locked.txt.bak merges.
  put(R_ + "/dir/.gitattributes", "locked.txt -merge\n");
  put(R_ + "/dir/locked.txt", kBase);
  put(R_ + "/dir/locked.txt.bak", kBase);
  start(R"({"rules": [{"class": "text", "resolver": "git-merge"}]})");
  const std::string top = "Intro\r\nfirst para, top\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end";
  const std::string bottom = "Intro\r\nfirst para\r\n\nmiddle one\nmiddle two\n\nlast para\nbottom";
  editBothSides({{"dir/notes.txt",
                  {"Intro\r\nmine\r\n\nmiddle one\nmiddle two\n\nlast para\nmy end",
                   "Intro\r\ntheirs\r\n\nmiddle one\nmiddle two\n\nlast para\ntheir end"}},
                 {"dir/locked.txt", {top, bottom}},
                 {"dir/locked.txt.bak", {top, bottom}}});
  ASSERT_TRUE(settles({"dir/notes.txt", "dir/locked.txt"})) << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(R_ + "/dir/locked.txt"), bottom);
  EXPECT_EQ(slurp(R_ + "/dir/locked.txt.bak"),
            "Intro\r\nfirst para, top\r\n\nmiddle one\nmiddle two\n\nlast para\nbottom");
  EXPECT_EQ(slurp(C_ + "/dir/notes.txt"),
            "Intro\r\nmine\r\n\nmiddle one\nmiddle two\n\nlast para\nmy end");
  EXPECT_EQ(slurp(R_ + "/dir/notes.txt"),
            "Intro\r\ntheirs\r\n\nmiddle one\nmiddle two\n\nlast para\ntheir end");
  auto [rc, out] = hoard("resolve --dry-run --all --json");
  EXPECT_EQ(rc, 3) << last_err_;
  json rows = json::parse(out, nullptr, false);
  ASSERT_TRUE(rows.is_array() && rows.size() == 2) << out;
  std::map<std::string, json> by_path;
  for (auto& r : rows) by_path[r["path"].get<std::string>()] = r;
  json notes = by_path["dir/notes.txt"];
  EXPECT_EQ(notes["resolver"], "git-merge") << out;
  EXPECT_EQ(notes["decision"], "defer") << out;
  EXPECT_EQ(notes["reason"], "2 hunks conflict") << out;
  EXPECT_EQ(notes["conflicting_hunks"], 2) << out;
  EXPECT_EQ(by_path["dir/locked.txt"]["decision"], "defer") << out;
  EXPECT_EQ(by_path["dir/locked.txt"]["reason"], ".gitattributes marks it -merge") << out;
}

TEST_F(CliGitMergeTest, MarkersGoToTheCacheAndKeepLocalWaitsForTheUsersEdit) {
  put(R_ + "/dir/notes.txt", kBase);
  put(R_ + "/dir/forced.txt", kBase);
  start(R"({"rules": [{"class": "text", "resolver": "git-merge",
                       "options": {"on_conflict": "markers"}}]})");
  const std::string theirs = "Intro\r\ntheirs\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end";
  editBothSides({{"dir/notes.txt", {"Intro\r\nmine\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end", theirs}},
                 {"dir/forced.txt", {"Intro\r\nmine\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end", theirs}}});
  auto hasMarkers = [](const std::string& s) {
    return s.rfind("Intro\r\n<<<<<<< cache", 0) == 0 && s.find("\nmine\r") != std::string::npos &&
           s.find("\ntheirs\r") != std::string::npos && s.find(">>>>>>> remote") != std::string::npos &&
           s.find("\nmiddle one\nmiddle two\n\nlast para\nthe end") != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return hasMarkers(slurp(C_ + "/dir/notes.txt")); }))
      << slurp(C_ + "/dir/notes.txt") << slurp(dir_ + "/hoardd.log");
  ASSERT_TRUE(settles({"dir/notes.txt", "dir/forced.txt"}));
  EXPECT_EQ(slurp(R_ + "/dir/notes.txt"), theirs) << "the remote is untouched";
  auto ids = openConflicts();
  const std::string id = std::to_string(ids["dir/notes.txt"]);
  // `hoard conflicts` says it waits for the user's edit, and the rules do
  // not merge it again.
  json listed = jsonOf("conflicts s");
  ASSERT_TRUE(listed.is_array()) << listed;
  for (auto& c : listed) {
    EXPECT_EQ(c["would"], "defer") << c;
    EXPECT_NE(c["reason"].get<std::string>().find("the cache holds a merge with conflict markers"),
              std::string::npos)
        << c;
  }

  // Still holding markers: refused, naming the file and the line.
  auto [rc, out] = hoard("resolve " + id + " --with keep-local");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(last_err_.find("dir/notes.txt still holds conflict markers (line 2)"),
            std::string::npos)
      << last_err_;
  EXPECT_EQ(slurp(R_ + "/dir/notes.txt"), theirs);
  EXPECT_EQ(hoard("resolve " + id + " --with keep-remote --force").first, 2) << last_err_;

  // The user settles the hunk; keep-local sends it.
  const std::string settled = "Intro\r\nmine and theirs\r\n\nmiddle one\nmiddle two\n\nlast para\nthe end";
  put(C_ + "/dir/notes.txt", settled);
  ASSERT_TRUE(eventually([&] {
    auto [krc, kout] = hoard("resolve " + id + " --with keep-local");
    return krc == 0 || krc == 3;
  })) << last_err_ << slurp(dir_ + "/hoardd.log");
  EXPECT_EQ(slurp(C_ + "/dir/notes.txt"), settled);
  EXPECT_EQ(slurp(R_ + "/dir/notes.txt"), settled);

  // --force keeps a file that still holds markers.
  const std::string fid = std::to_string(ids["dir/forced.txt"]);
  const std::string with_markers = slurp(C_ + "/dir/forced.txt");
  ASSERT_TRUE(hasMarkers(with_markers)) << with_markers;
  EXPECT_EQ(hoard("resolve " + fid + " --with keep-local --force").first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/dir/forced.txt"), with_markers);
  EXPECT_TRUE(settles({}));
}

}  // namespace
}  // namespace hoard
