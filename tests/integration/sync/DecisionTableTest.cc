// SPDX-License-Identifier: MIT
// The kind-by-decision table (README.md, "What each decision means for each
// kind of conflict"): every conflict kind decided every way, on real
// folders. Each cell asserts the tree on both sides (names, bytes, modes,
// stash copies), the base at the conflict's path, the history row, and that
// a further pass has nothing left to do. A decision a kind does not allow is
// refused with nothing changed.

#include <sys/mman.h>
#include <sys/stat.h>

#include <regex>

#include <gtest/gtest.h>

#include "integration/sync/ReconcilerFixture.h"

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;

using Tree = std::map<std::string, std::string>;

struct Cell {
  std::string kind;      // which conflict the setup makes
  Resolution decision;
  Tree want;             // both sides afterwards ("" when refused)
  std::string base;      // at the conflict's path: bytes, "<dir>" or "<absent>"
  bool refused = false;  // kInvalidArgument, nothing changed
};

void PrintTo(const Cell& c, std::ostream* os) {
  *os << c.kind << " decided " << resolutionName(c.decision);
}

class DecisionTableTest : public ReconcilerTest, public testing::WithParamInterface<Cell> {
 protected:
  void SetUp() override {
    ::umask(022);
    ReconcilerTest::SetUp();
  }

  // Makes the conflict named `kind`; returns its path.
  std::string make(const std::string& kind) {
    Tree seeds = {{"filler1", "f"}, {"filler2", "f"}, {"filler3", "f"}, {"filler4", "f"}};
    if (kind == "content" || kind == "modify-delete" || kind == "delete-modify" ||
        kind == "type" || kind == "metadata")
      seeds["doc.txt"] = "base";
    if (kind.rfind("dir-delete", 0) == 0) seeds["dd/keep.txt"] = "b";
    if (kind == "rename-rename") seeds["draft.txt"] = "the draft";
    seed(seeds);
    if (kind == "content" || kind == "create-create") {
      local("doc.txt", "L");
      remote("doc.txt", "R");
    } else if (kind == "modify-delete") {
      local("doc.txt", "L");
      fs::remove(remote_root_ + "/doc.txt");
    } else if (kind == "delete-modify") {
      fs::remove(cache_ + "/doc.txt");
      remote("doc.txt", "R");
    } else if (kind == "type") {
      fs::remove(cache_ + "/doc.txt");
      local("doc.txt/inside", "x");
      remote("doc.txt", "R");
    } else if (kind == "metadata") {
      fs::permissions(cache_ + "/doc.txt", fs::perms(0600));
      fs::permissions(remote_root_ + "/doc.txt", fs::perms(0640));
    } else if (kind == "dir-delete-local") {  // the cache removed dd, the remote added to it
      fs::remove_all(cache_ + "/dd");
      remote("dd/added.txt", "R");
    } else if (kind == "dir-delete-remote") {  // the remote removed dd, the cache added to it
      fs::remove_all(remote_root_ + "/dd");
      local("dd/new.txt", "L");
    } else if (kind == "rename-rename") {
      fs::rename(cache_ + "/draft.txt", cache_ + "/mine.txt");
      logged({{ChangeOp::kRename, "draft.txt", "mine.txt", 0, ""}});
      fs::rename(remote_root_ + "/draft.txt", remote_root_ + "/theirs.txt");
    }
    sync();
    if (kind == "rename-rename") return "mine.txt";
    return kind.rfind("dir-delete", 0) == 0 ? "dd" : "doc.txt";
  }

  // One side's tree: files as "bytes mode", directories "<dir>"; fillers
  // left out; stash names with their host and time replaced by "*".
  static Tree tree(const std::string& root) {
    static const std::regex stamp(R"(\.conflict-laptop-[0-9]{8}-[0-9]{6})");
    Tree out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      std::string rel = fs::relative(e.path(), root);
      if (rel.rfind(".hoard-", 0) == 0 || rel.rfind("filler", 0) == 0) continue;
      rel = std::regex_replace(rel, stamp, ".conflict-*");
      if (e.is_directory()) {
        out[rel] = "<dir>";
        continue;
      }
      struct stat st {};
      ::lstat(e.path().c_str(), &st);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
      out[rel] = get(e.path()) + " " + mode;
    }
    return out;
  }

  std::string baseAt(const std::string& p) {
    auto b = journal_->getBase(share_, p);
    EXPECT_TRUE(b);
    if (!b || !*b) return "<absent>";
    if ((*b)->local.type == FileType::kDir) return "<dir>";
    return (*b)->hash ? (*b)->hash->hex() : "<no hash>";
  }
};

TEST_P(DecisionTableTest, BothSidesAndTheBaseAreWhatTheTableSays) {
  const Cell& cell = GetParam();
  const std::string p = make(cell.kind);
  auto open = openConflicts();
  ASSERT_EQ(open.size(), 1u);
  ASSERT_EQ(std::string(journal::conflictKindName(open[0].kind)),
            cell.kind.rfind("dir-delete", 0) == 0 ? "dir-delete" : cell.kind);
  ASSERT_EQ(open[0].path, p);
  const Tree local_before = tree(cache_), remote_before = tree(remote_root_);

  UniqueFd merged(::memfd_create("merged", MFD_CLOEXEC));
  ASSERT_EQ(::write(merged.get(), "M", 1), 1);
  ConflictDecision d{cell.decision, merged.get(), "table", "builtin", "rule 0"};
  Status done = reconciler_->apply(open[0].id, d);
  if (cell.refused) {
    ASSERT_FALSE(done);
    EXPECT_EQ(done.error().code(), ErrorCode::kInvalidArgument) << done.error().toString();
    EXPECT_EQ(tree(cache_), local_before);
    EXPECT_EQ(tree(remote_root_), remote_before);
    EXPECT_EQ(openConflicts().size(), 1u);
    return;
  }
  ASSERT_TRUE(done) << done.error().toString();
  EXPECT_EQ(tree(cache_), cell.want) << "the cache";
  EXPECT_EQ(tree(remote_root_), cell.want) << "the remote";
  const std::string want_base =
      cell.base == "<dir>" || cell.base == "<absent>" ? cell.base : hashBytes(cell.base).hex();
  EXPECT_EQ(baseAt(p), want_base);
  // The history names the decision, who decided and the versions before.
  auto h = journal_->resolutions(share_);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].decision, resolutionName(cell.decision));
  EXPECT_EQ((*h)[0].resolver, "builtin");
  EXPECT_EQ((*h)[0].rule, "rule 0");
  EXPECT_EQ((*h)[0].local_before, open[0].local_object);
  EXPECT_EQ((*h)[0].remote_before, open[0].remote_object);
  EXPECT_TRUE(openConflicts().empty());
  // Nothing is left for the next pass: the base is what both sides hold.
  auto again = sync();
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(again.pushed + again.pulled + again.deleted_local + again.deleted_remote, 0u);
  EXPECT_EQ(tree(cache_), cell.want) << "the cache after a further pass";
}

using R = Resolution;
const Tree kNone = {};

std::vector<Cell> cells() {
  const Tree dd_local = {{"dd", "<dir>"}, {"dd/keep.txt", "b 644"}, {"dd/new.txt", "L 644"}};
  const Tree dd_remote = {{"dd", "<dir>"}, {"dd/keep.txt", "b 644"}, {"dd/added.txt", "R 644"}};
  const Tree dd_local_stashed = {{"dd.conflict-*", "<dir>"},
                                 {"dd.conflict-*/keep.txt", "b 644"},
                                 {"dd.conflict-*/new.txt", "L 644"}};
  const Tree dd_remote_stashed = {{"dd.conflict-*", "<dir>"},
                                  {"dd.conflict-*/keep.txt", "b 644"},
                                  {"dd.conflict-*/added.txt", "R 644"}};
  std::vector<Cell> out;
  for (std::string k : {"content", "create-create"}) {
    out.push_back({k, R::kKeepLocal, {{"doc.txt", "L 644"}}, "L"});
    out.push_back({k, R::kKeepRemote, {{"doc.txt", "R 644"}}, "R"});
    out.push_back({k, R::kStash, {{"doc.txt", "R 644"}, {"doc.conflict-*.txt", "L 644"}}, "R"});
    out.push_back({k, R::kMerged, {{"doc.txt", "M 644"}}, "M"});
    out.push_back({k, R::kDelete, {}, "", true});
  }
  out.push_back({"modify-delete", R::kKeepLocal, {{"doc.txt", "L 644"}}, "L"});
  out.push_back({"modify-delete", R::kKeepRemote, kNone, "<absent>"});
  out.push_back({"modify-delete", R::kStash, {{"doc.txt", "L 644"}}, "L"});
  out.push_back({"modify-delete", R::kDelete, kNone, "<absent>"});
  out.push_back({"modify-delete", R::kMerged, {}, "", true});
  out.push_back({"delete-modify", R::kKeepLocal, kNone, "<absent>"});
  out.push_back({"delete-modify", R::kKeepRemote, {{"doc.txt", "R 644"}}, "R"});
  out.push_back({"delete-modify", R::kStash, {{"doc.txt", "R 644"}}, "R"});
  out.push_back({"delete-modify", R::kDelete, kNone, "<absent>"});
  out.push_back({"delete-modify", R::kMerged, {}, "", true});
  out.push_back({"type", R::kKeepLocal, {{"doc.txt", "<dir>"}, {"doc.txt/inside", "x 644"}},
                 "<dir>"});
  out.push_back({"type", R::kKeepRemote, {{"doc.txt", "R 644"}}, "R"});
  out.push_back({"type",
                 R::kStash,
                 {{"doc.txt", "R 644"},
                  {"doc.conflict-*.txt", "<dir>"},
                  {"doc.conflict-*.txt/inside", "x 644"}},
                 "R"});
  out.push_back({"type", R::kMerged, {}, "", true});
  out.push_back({"type", R::kDelete, {}, "", true});
  out.push_back({"metadata", R::kKeepLocal, {{"doc.txt", "base 600"}}, "base"});
  out.push_back({"metadata", R::kKeepRemote, {{"doc.txt", "base 640"}}, "base"});
  out.push_back({"metadata", R::kStash,
                 {{"doc.txt", "base 640"}, {"doc.conflict-*.txt", "base 600"}}, "base"});
  out.push_back({"metadata", R::kDelete, {}, "", true});
  out.push_back({"dir-delete-local", R::kKeepLocal, dd_remote_stashed, "<absent>"});
  out.push_back({"dir-delete-local", R::kKeepRemote, dd_remote, "<dir>"});
  out.push_back({"dir-delete-local", R::kStash, dd_remote, "<dir>"});
  out.push_back({"dir-delete-local", R::kDelete, dd_remote_stashed, "<absent>"});
  out.push_back({"dir-delete-local", R::kMerged, {}, "", true});
  out.push_back({"dir-delete-remote", R::kKeepLocal, dd_local, "<dir>"});
  out.push_back({"dir-delete-remote", R::kKeepRemote, dd_local_stashed, "<absent>"});
  out.push_back({"dir-delete-remote", R::kStash, dd_local, "<dir>"});
  out.push_back({"dir-delete-remote", R::kDelete, dd_local_stashed, "<absent>"});
  out.push_back({"rename-rename", R::kKeepLocal, {{"mine.txt", "the draft 644"}}, "the draft"});
  out.push_back({"rename-rename", R::kKeepRemote, {{"theirs.txt", "the draft 644"}}, "<absent>"});
  out.push_back({"rename-rename", R::kStash,
                 {{"mine.txt", "the draft 644"}, {"theirs.txt", "the draft 644"}}, "the draft"});
  out.push_back({"rename-rename", R::kMerged, {}, "", true});
  out.push_back({"rename-rename", R::kDelete, {}, "", true});
  return out;
}

std::string cellName(const testing::TestParamInfo<Cell>& info) {
  std::string n = info.param.kind + "_" + std::string(resolutionName(info.param.decision));
  for (char& ch : n)
    if (ch == '-') ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(EveryKindEveryDecision, DecisionTableTest, testing::ValuesIn(cells()),
                         cellName);

}  // namespace
}  // namespace hoard::sync
