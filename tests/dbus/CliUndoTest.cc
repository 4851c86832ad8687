// SPDX-License-Identifier: MIT
// Issue 11: `hoard undo` of decisions that are not about two files, through
// the real CLI and hoardd on a private bus. A decision on a symlink (two
// links with different targets; a link against a file), on a folder or
// between two renames is undone: both sides get back what they held and the
// conflict opens again; a side changed beneath the folder since refuses it
// (org.hoard.Error.Conflict, exit 3) and nothing changes on either side.

#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "BusHarness.h"

namespace hoard {
namespace {

namespace fs = std::filesystem;
using namespace hoard::bustest;
using nlohmann::json;

class CliUndoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-cli-undo-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    R_ = dir_ + "/server";
    C_ = dir_ + "/cache";
    fs::create_directories(R_ + "/d");
    put(R_ + "/keep.txt", "unrelated\n");
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    daemon_ = std::make_unique<Daemon>(dir_ + "/state", dir_ + "/hoardd.log");
    ASSERT_TRUE(daemon_->start()) << slurp(dir_ + "/hoardd.log");
  }
  void TearDown() override {
    daemon_.reset();
    bus_.reset();
    fs::remove_all(dir_);
  }
  std::pair<int, std::string> hoard(const std::string& args) {
    auto r = runHoard(args, dir_ + "/err");
    last_err_ = slurp(dir_ + "/err");
    return r;
  }
  json jsonOf(const std::string& args) {
    return json::parse(hoard(args + " --json").second, nullptr, false);
  }
  void addShare() {
    ASSERT_EQ(hoard("share add s " + R_ + " " + C_).first, 0) << last_err_;
    ASSERT_EQ(hoard("preload s").first, 0) << last_err_;
  }
  // Offline, `mine` runs on the cache and `theirs` on the server; back
  // online, the one open conflict at `path` (its id; 0 if none).
  uint64_t conflictAt(const std::string& path, const std::function<void()>& mine,
                      const std::function<void()>& theirs) {
    EXPECT_EQ(hoard("offline s").first, 0) << last_err_;
    mine();
    EXPECT_TRUE(eventually([&] {
      json c = jsonOf("changes s");
      return c.is_array() && !c.empty();
    })) << "the offline change is in the change log";
    theirs();
    EXPECT_EQ(hoard("online s").first, 0) << last_err_;
    EXPECT_TRUE(eventually([&] { return hoard("sync s").first == 3; })) << last_err_;
    for (const json& c : jsonOf("conflicts s"))
      if (c["path"] == path) return c["id"].get<uint64_t>();
    ADD_FAILURE() << "no conflict at " << path << ": " << jsonOf("conflicts s").dump();
    return 0;
  }
  static std::string linkOf(const std::string& p) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) return "<not a link>";
    return fs::read_symlink(p, ec).string();
  }
  static void relink(const std::string& p, const std::string& target) {
    fs::remove(p);
    fs::create_symlink(target, p);
  }
  // Names in `dir` that start with `stem` + ".conflict-".
  static size_t stashes(const std::string& dir, const std::string& stem) {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind(stem + ".conflict-", 0) == 0) ++n;
    return n;
  }
  // The history row of conflict `id` (the newest), or null.
  json historyOf(uint64_t id) {
    for (const json& h : jsonOf("conflicts s --resolved"))
      if (h["conflict_id"] == id) return h;
    return json();
  }
  bool isOpen(uint64_t id) {
    for (const json& c : jsonOf("conflicts s"))
      if (c["id"] == id) return true;
    return false;
  }

  std::string dir_, R_, C_, last_err_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<Daemon> daemon_;
};

// Two links with different targets: keep-local, then undo; then keep both
// (the cache's link moves beside the server's), then undo again: the stash
// link goes from both sides.
TEST_F(CliUndoTest, ADecisionOnTwoSymlinksIsUndone) {
  fs::create_symlink("target-base", R_ + "/ln");
  addShare();
  ASSERT_EQ(linkOf(C_ + "/ln"), "target-base");
  uint64_t id = conflictAt(
      "ln", [&] { relink(C_ + "/ln", "target mine\xff"); },
      [&] { relink(R_ + "/ln", "target-theirs"); });
  ASSERT_NE(id, 0u);
  const std::string sid = std::to_string(id);

  ASSERT_EQ(hoard("resolve " + sid + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(linkOf(R_ + "/ln"), "target mine\xff");
  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(linkOf(C_ + "/ln"), "target mine\xff");
  EXPECT_EQ(linkOf(R_ + "/ln"), "target-theirs");
  EXPECT_TRUE(isOpen(id));
  EXPECT_EQ(historyOf(id)["undone"], true);
  // Open again, it holds its path through a pass.
  EXPECT_EQ(hoard("sync s").first, 3) << last_err_;
  EXPECT_EQ(linkOf(R_ + "/ln"), "target-theirs");

  ASSERT_EQ(hoard("resolve " + sid + " --with stash").first, 0) << last_err_;
  EXPECT_EQ(linkOf(C_ + "/ln"), "target-theirs");
  EXPECT_EQ(stashes(C_, "ln"), 1u);
  EXPECT_EQ(stashes(R_, "ln"), 1u);
  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(linkOf(C_ + "/ln"), "target mine\xff");
  EXPECT_EQ(linkOf(R_ + "/ln"), "target-theirs");
  EXPECT_EQ(stashes(C_, "ln"), 0u);
  EXPECT_EQ(stashes(R_, "ln"), 0u);
  EXPECT_TRUE(isOpen(id));
  EXPECT_EQ(slurp(R_ + "/keep.txt"), "unrelated\n");
}

// A file the cache replaced by a link while a colleague edited it (a `type`
// conflict): keep-remote puts the colleague's file in the cache; undo puts
// the link back. Refused, changing nothing, once the server moved on.
TEST_F(CliUndoTest, ALinkAgainstAFileIsUndoneAndRefusedOnceASideChanged) {
  put(R_ + "/x.txt", "base\n");
  addShare();
  uint64_t id = conflictAt(
      "x.txt", [&] { relink(C_ + "/x.txt", "elsewhere"); },
      [&] { put(R_ + "/x.txt", "theirs\r\nno final newline"); });
  ASSERT_NE(id, 0u);
  const std::string sid = std::to_string(id);
  ASSERT_EQ(hoard("resolve " + sid + " --with keep-remote").first, 0) << last_err_;
  EXPECT_EQ(slurp(C_ + "/x.txt"), "theirs\r\nno final newline");
  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(linkOf(C_ + "/x.txt"), "elsewhere");
  EXPECT_EQ(slurp(R_ + "/x.txt"), "theirs\r\nno final newline");
  EXPECT_TRUE(isOpen(id));

  ASSERT_EQ(hoard("resolve " + sid + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(linkOf(R_ + "/x.txt"), "elsewhere");
  // The undo above rewrote the cache, and the write-back pass it asked for
  // must be over before the server moves on, or (slow under ASan) it pulls
  // the server's change into the cache first and the refusal names the
  // cache instead.
  ASSERT_EQ(hoard("sync s").first, 0) << last_err_;
  relink(R_ + "/x.txt", "moved on");
  EXPECT_EQ(hoard("undo " + sid).first, 3);
  EXPECT_NE(last_err_.find("x.txt changed on the remote since resolution"), std::string::npos)
      << last_err_;
  EXPECT_EQ(linkOf(R_ + "/x.txt"), "moved on");
  EXPECT_EQ(linkOf(C_ + "/x.txt"), "elsewhere");
  EXPECT_EQ(historyOf(id)["undone"], false);
}

// A folder deleted in the cache while a colleague added to it: decided for
// the colleague's folder, then undone: the cache has no d again, the server
// keeps its d, the siblings d-x and d.bak are untouched and the conflict is
// open. Decided the other way (the cache's deletion; the colleague's folder
// moves aside under a conflict name) and undone again: d is back on the
// server and the stash is gone from both sides.
TEST_F(CliUndoTest, ADecisionOnADirectoryIsUndoneBothWays) {
  put(R_ + "/d/old.txt", "old\n");
  put(R_ + "/d-x/a.txt", "sibling\n");
  put(R_ + "/d.bak", "sibling file\n");
  addShare();
  uint64_t id = conflictAt(
      "d", [&] { fs::remove_all(C_ + "/d"); }, [&] { put(R_ + "/d/new.txt", "new\n"); });
  ASSERT_NE(id, 0u);
  const std::string sid = std::to_string(id);
  ASSERT_EQ(hoard("resolve " + sid + " --with keep-remote").first, 0) << last_err_;
  EXPECT_EQ(slurp(C_ + "/d/new.txt"), "new\n");

  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_FALSE(fs::exists(C_ + "/d"));
  EXPECT_EQ(slurp(R_ + "/d/new.txt"), "new\n");
  EXPECT_EQ(slurp(R_ + "/d/old.txt"), "old\n");
  EXPECT_EQ(slurp(C_ + "/d-x/a.txt"), "sibling\n");
  EXPECT_EQ(slurp(C_ + "/d.bak"), "sibling file\n");
  EXPECT_EQ(slurp(R_ + "/d-x/a.txt"), "sibling\n");
  EXPECT_EQ(slurp(R_ + "/d.bak"), "sibling file\n");
  EXPECT_TRUE(isOpen(id));
  EXPECT_EQ(historyOf(id)["undone"], true);
  EXPECT_EQ(hoard("sync s").first, 3) << "the conflict is open again";
  EXPECT_FALSE(fs::exists(C_ + "/d"));

  ASSERT_EQ(hoard("resolve " + sid + " --with keep-local").first, 0) << last_err_;
  EXPECT_FALSE(fs::exists(R_ + "/d"));
  EXPECT_EQ(stashes(R_, "d"), 1u);
  EXPECT_EQ(stashes(C_, "d"), 1u);
  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/d/new.txt"), "new\n");
  EXPECT_EQ(slurp(R_ + "/d/old.txt"), "old\n");
  EXPECT_FALSE(fs::exists(C_ + "/d"));
  EXPECT_EQ(stashes(R_, "d"), 0u);
  EXPECT_EQ(stashes(C_, "d"), 0u);
  EXPECT_EQ(slurp(C_ + "/d.bak"), "sibling file\n");
  EXPECT_EQ(slurp(R_ + "/d-x/a.txt"), "sibling\n");
  EXPECT_TRUE(isOpen(id));
}

// A file the cache made a folder while the colleague edited it: decided for
// the cache's folder. Once the colleague adds to that folder on the server,
// the undo is refused (exit 3) naming what changed, and nothing moves.
TEST_F(CliUndoTest, AFolderUndoIsRefusedOnceASideChangedBeneathIt) {
  put(R_ + "/t", "base\n");
  addShare();
  uint64_t id = conflictAt(
      "t",
      [&] {
        fs::remove(C_ + "/t");
        put(C_ + "/t/inside.txt", "mine\n");
      },
      [&] { put(R_ + "/t", "theirs\n"); });
  ASSERT_NE(id, 0u);
  const std::string sid = std::to_string(id);
  ASSERT_EQ(hoard("resolve " + sid + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/t/inside.txt"), "mine\n");
  put(R_ + "/t/later.txt", "added after the resolution\n");

  EXPECT_EQ(hoard("undo " + sid).first, 3);
  EXPECT_NE(last_err_.find("t/later.txt changed on the remote since resolution"),
            std::string::npos)
      << last_err_;
  EXPECT_EQ(slurp(R_ + "/t/inside.txt"), "mine\n");
  EXPECT_EQ(slurp(R_ + "/t/later.txt"), "added after the resolution\n");
  EXPECT_EQ(slurp(C_ + "/t/inside.txt"), "mine\n");
  EXPECT_FALSE(isOpen(id));
  EXPECT_EQ(historyOf(id)["undone"], false);
  // Without the later file the undo goes through: the server's file is back.
  fs::remove(R_ + "/t/later.txt");
  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/t"), "theirs\n");
  EXPECT_EQ(slurp(C_ + "/t/inside.txt"), "mine\n");
  EXPECT_TRUE(isOpen(id));
}

// Both sides renamed one file differently: decided for the cache's name,
// then undone: the server has its own name back, the cache keeps its name,
// and the conflict is open; decided again for the server's name, it applies.
TEST_F(CliUndoTest, ADecisionBetweenTwoRenamesIsUndone) {
  put(R_ + "/r.txt", "renamed twice\n");
  put(R_ + "/r.txt.bak", "sibling\n");
  addShare();
  uint64_t id = conflictAt(
      "r-mine.txt", [&] { fs::rename(C_ + "/r.txt", C_ + "/r-mine.txt"); },
      [&] { fs::rename(R_ + "/r.txt", R_ + "/r-theirs.txt"); });
  ASSERT_NE(id, 0u);
  const std::string sid = std::to_string(id);
  ASSERT_EQ(hoard("resolve " + sid + " --with keep-local").first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/r-mine.txt"), "renamed twice\n");
  EXPECT_FALSE(fs::exists(R_ + "/r-theirs.txt"));

  ASSERT_EQ(hoard("undo " + sid).first, 0) << last_err_;
  EXPECT_EQ(slurp(R_ + "/r-theirs.txt"), "renamed twice\n");
  EXPECT_FALSE(fs::exists(R_ + "/r-mine.txt"));
  EXPECT_EQ(slurp(C_ + "/r-mine.txt"), "renamed twice\n");
  EXPECT_FALSE(fs::exists(C_ + "/r-theirs.txt"));
  EXPECT_FALSE(fs::exists(C_ + "/r.txt"));
  EXPECT_EQ(slurp(C_ + "/r.txt.bak"), "sibling\n");
  EXPECT_TRUE(isOpen(id));
  EXPECT_EQ(historyOf(id)["undone"], true);

  ASSERT_EQ(hoard("resolve " + sid + " --with keep-remote").first, 0) << last_err_;
  EXPECT_EQ(slurp(C_ + "/r-theirs.txt"), "renamed twice\n");
  EXPECT_FALSE(fs::exists(C_ + "/r-mine.txt"));
  EXPECT_EQ(hoard("sync s").first, 0) << last_err_;
}

}  // namespace
}  // namespace hoard
