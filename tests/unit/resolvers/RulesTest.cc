// SPDX-License-Identifier: MIT
// The rules: parsing (every mistake named by place, index and key), matching
// on each criterion, and the seed's two examples for derived files.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "Rules.h"
#include "common/UniqueFd.h"

namespace hoard::resolvers {
namespace {

using nlohmann::json;

class RulesTest : public ::testing::Test {
 protected:
  RulesTest() { registerBuiltins(registry_); }

  Result<RuleSet> parse(const std::string& text) {
    return RuleSet::parse(json::parse(text), "config F: /rules", registry_);
  }
  std::string error(const std::string& text) {
    auto r = parse(text);
    EXPECT_FALSE(r) << text;
    return r ? std::string() : r.error().message();
  }
  // A memfd holding `bytes`, kept open by the fixture.
  int fdWith(const std::string& bytes) {
    fds_.emplace_back(::memfd_create("v", MFD_CLOEXEC));
    EXPECT_EQ(::write(fds_.back().get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
    return fds_.back().get();
  }
  ConflictView fileConflict(const std::string& path, ConflictKind kind = ConflictKind::kContent) {
    ConflictView c;
    c.path = path;
    c.kind = kind;
    for (Version* v : {&c.base, &c.local, &c.remote}) {
      v->type = FileType::kFile;
      v->size = 5;
    }
    c.base.hash = hashBytes("base\n");
    c.local.hash = hashBytes("locl\n");
    c.remote.hash = hashBytes("remt\n");
    c.base.fd = fdWith("base\n");
    c.local.fd = fdWith("locl\n");
    c.remote.fd = fdWith("remt\n");
    return c;
  }
  std::string takes(const RuleSet& set, const ConflictView& c) {
    const Rule* r = set.match(c);
    return r ? r->label() : "none";
  }

  Registry registry_;
  std::vector<UniqueFd> fds_;
};

TEST_F(RulesTest, MistakesAreNamedByPlaceIndexAndKey) {
  EXPECT_EQ(error(R"([{"match": "*.o"}])"),
            "config F: /rules/0: a rule names exactly one of \"resolver\" or \"follow\"");
  EXPECT_EQ(error(R"([{"resolver": "keep-local"}, {"kinds": ["contnet"], "resolver": "stash"}])"),
            "config F: /rules/1/kinds/0: \"contnet\" is not a conflict kind");
  EXPECT_EQ(error(R"([{"resolver": "keep-local", "colour": 1}])").substr(0, 35),
            "config F: /rules/0/colour: unknown ");
  EXPECT_EQ(error(R"([{"match": "/abs/*.o", "resolver": "keep-local"}])"),
            "config F: /rules/0/match: \"/abs/*.o\": a glob is share-relative: no leading or "
            "trailing '/'");
  EXPECT_EQ(error(R"([{"match": ["*.o", "x[ab"], "resolver": "keep-local"}])"),
            "config F: /rules/0/match/1: \"x[ab\": unbalanced '[' ... ']'");
  EXPECT_EQ(error(R"([{"size": {"min": 10, "max": 2}, "resolver": "keep-local"}])"),
            "config F: /rules/0/size: min is above max: no file can match");
  EXPECT_EQ(error(R"([{"resolver": "keep-local", "options": {"x": 1}}])"),
            "config F: /rules/0/options: resolver \"keep-local\" takes no options");
  EXPECT_EQ(error(R"([{"match": "*.o", "follow": {"source": "$stm.c"}}])"),
            "config F: /rules/0/follow/source: unknown variable $stm (use $dir, $name, $stem or $ext)");
  EXPECT_EQ(error(R"([{"match": "*.o", "follow": {"source": "$stem.c", "take": "older"}}])"),
            "config F: /rules/0/follow/take: expected \"newer\" or \"resolution\"");
  EXPECT_EQ(error(R"([{"changed": {"both": "content"}, "resolver": "stash"}])"),
            "config F: /rules/0/changed/both: unknown side (use \"local\" or \"remote\")");
  EXPECT_EQ(error(R"({"resolver": "stash"})"), "config F: /rules: expected an array of rules");
}

TEST_F(RulesTest, AnUnknownResolverIsKeptAndListed) {
  auto set = parse(R"([{"match": "*.doc", "resolver": "my-prompt"}])");
  ASSERT_TRUE(set) << set.error().toString();
  auto w = set->unknownResolvers(registry_);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("\"my-prompt\", which is not registered"), std::string::npos) << w[0];
}

TEST_F(RulesTest, GlobsWithoutSlashMatchTheNameAnywhere) {
  auto set = parse(R"([{"match": "*.o", "resolver": "keep-remote"},
                       {"match": "docs/**/draft-*.md", "resolver": "stash"}])");
  ASSERT_TRUE(set);
  EXPECT_EQ(takes(*set, fileConflict("a.o")), "rule 1");
  EXPECT_EQ(takes(*set, fileConflict("src/deep/x.o")), "rule 1");
  EXPECT_EQ(takes(*set, fileConflict("src/x.o.txt")), "none");
  EXPECT_EQ(takes(*set, fileConflict("docs/draft-1.md")), "rule 2");
  EXPECT_EQ(takes(*set, fileConflict("docs/a/b/draft-1.md")), "rule 2");
  EXPECT_EQ(takes(*set, fileConflict("docs-old/draft-1.md")), "none");
}

TEST_F(RulesTest, UnderTakesTheSubtreeNotItsLookalikeSiblings) {
  auto set = parse(R"([{"under": "dir", "resolver": "keep-local"}])");
  ASSERT_TRUE(set);
  EXPECT_EQ(takes(*set, fileConflict("dir/a.txt")), "rule 1");
  EXPECT_EQ(takes(*set, fileConflict("dir/sub/a.txt")), "rule 1");
  for (const char* p : {"dir", "dir-x/a.txt", "dir.bak/a.txt", "dir 2/a", "dir-old.txt"})
    EXPECT_EQ(takes(*set, fileConflict(p)), "none") << p;
}

TEST_F(RulesTest, KindChangeClassAndSizeCriteria) {
  auto set = parse(R"([
      {"name": "meta", "changed": {"local": "metadata"}, "resolver": "keep-remote"},
      {"name": "gone", "kinds": ["modify-delete", "delete-modify"], "resolver": "keep-local"},
      {"name": "bin", "class": "binary", "resolver": "stash"},
      {"name": "big", "size": {"min": 1000}, "resolver": "stash"},
      {"name": "db", "class": "sqlite", "resolver": "keep-local"},
      {"name": "rest", "resolver": "defer"}])");
  ASSERT_TRUE(set) << set.error().toString();
  ConflictView meta = fileConflict("a.txt");
  meta.local.hash = meta.base.hash;
  meta.local.mode = 0755;
  EXPECT_EQ(takes(*set, meta), "rule 1 \"meta\"");

  ConflictView gone = fileConflict("b.txt", ConflictKind::kModifyDelete);
  gone.remote = Version{};
  EXPECT_EQ(takes(*set, gone), "rule 2 \"gone\"");

  ConflictView bin = fileConflict("c.bin");
  bin.local.fd = fdWith(std::string("PK\0\3", 4));
  EXPECT_EQ(classify(bin), ContentClass::kBinary);
  EXPECT_EQ(takes(*set, bin), "rule 3 \"bin\"");

  ConflictView big = fileConflict("d.txt");
  big.remote.size = 5000;
  EXPECT_EQ(takes(*set, big), "rule 4 \"big\"");

  ConflictView db = fileConflict("e.db");
  db.local.fd = fdWith(std::string("SQLite format 3\0rest", 20));
  EXPECT_EQ(classify(db), ContentClass::kSqlite);
  EXPECT_EQ(takes(*set, db), "rule 5 \"db\"");

  ConflictView git = fileConflict("repo/.git/refs/heads/main");
  EXPECT_EQ(classify(git), ContentClass::kGit);
  EXPECT_EQ(takes(*set, fileConflict("plain.txt")), "rule 6 \"rest\"");
}

TEST_F(RulesTest, ExplainSaysWhyEachRuleDidOrDidNotTakeIt) {
  auto set = parse(R"([{"match": "*.o", "resolver": "keep-remote"},
                       {"under": "src", "kinds": ["content"], "resolver": "stash"}])");
  ASSERT_TRUE(set);
  auto v = set->explain(fileConflict("src/a.c"));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_FALSE(v[0].matched);
  EXPECT_EQ(v[0].why, "the path matches none of its globs");
  EXPECT_TRUE(v[1].matched);
  EXPECT_EQ(v[1].why, "beneath src, kind content");
}

// The seed's first example: discard every local .o, keep the remote's.
TEST_F(RulesTest, DiscardEveryLocalObjectFile) {
  auto set = parse(R"([{"match": "**/*.o", "resolver": "keep-remote"}])");
  ASSERT_TRUE(set);
  for (const char* p : {"main.o", "lib/util.o", "a b/c.o"}) {
    ConflictView c = fileConflict(p);
    const Rule* r = set->match(c);
    ASSERT_NE(r, nullptr) << p;
    auto d = registry_.find(r->resolver)->resolve(c, r->options);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, DecisionKind::kKeepRemote) << p;
  }
  EXPECT_EQ(set->match(fileConflict("main.c")), nullptr);
}

// The seed's second example: keep the .o whose .c is newest.
TEST_F(RulesTest, KeepTheObjectWhoseSourceIsNewest) {
  auto set = parse(R"([{"match": "*.o", "follow": {"source": "$stem.c"}}])");
  ASSERT_TRUE(set) << set.error().toString();
  const Rule* r = set->match(fileConflict("src/util.o"));
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->resolver, "follow");
  auto follow = registry_.find("follow");

  std::map<RelPath, Related> world;
  auto view = [&](const std::string& path) {
    ConflictView c = fileConflict(path);
    c.related = [&world](const RelPath& p) -> std::optional<Related> {
      auto it = world.find(p);
      return it == world.end() ? Related{} : it->second;
    };
    return c;
  };
  FileMeta older, newer;
  older.type = newer.type = FileType::kFile;
  older.mtime_ns = 1'000'000'000;
  newer.mtime_ns = 2'000'000'000;

  world["src/util.c"] = Related{newer, older, {}};
  auto d = follow->resolve(view("src/util.o"), r->options);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DecisionKind::kKeepLocal) << d->reason;
  EXPECT_EQ(d->reason, "src/util.c is newer in the cache");

  world["src/util.c"] = Related{older, newer, {}};
  d = follow->resolve(view("src/util.o"), r->options);
  EXPECT_EQ(d->kind, DecisionKind::kKeepRemote);

  world["src/util.c"] = Related{older, older, {}};
  d = follow->resolve(view("src/util.o"), r->options);
  EXPECT_EQ(d->kind, DecisionKind::kDefer);
  EXPECT_EQ(d->reason, "src/util.c has the same modification time on both sides");

  world.erase("src/util.c");
  d = follow->resolve(view("src/util.o"), r->options);
  EXPECT_EQ(d->kind, DecisionKind::kDefer);

  // take: resolution follows what the source's own conflict kept.
  nlohmann::json by_resolution = {{"source", "$stem.c"}, {"take", "resolution"}};
  world["src/util.c"] = Related{newer, older, "keep-remote by keep-remote via rule 2"};
  d = follow->resolve(view("src/util.o"), by_resolution);
  EXPECT_EQ(d->kind, DecisionKind::kKeepRemote);
}

TEST_F(RulesTest, FixedResolversRefuseKindsTheyHaveNoMeaningFor) {
  auto del = registry_.find("delete");
  auto d = del->resolve(fileConflict("a.txt", ConflictKind::kContent), json::object());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DecisionKind::kDefer);
  EXPECT_EQ(d->reason, "delete has no meaning for a content conflict");
  d = del->resolve(fileConflict("a.txt", ConflictKind::kModifyDelete), json::object());
  EXPECT_EQ(d->kind, DecisionKind::kDelete);
}

TEST(SideChangeTest, EachWayASideCanDiffer) {
  Version base;
  base.type = FileType::kFile;
  base.hash = hashBytes("a");
  Version same = base, meta = base, content = base, gone, dir;
  meta.mode = 0700;
  content.hash = hashBytes("b");
  dir.type = FileType::kDir;
  EXPECT_EQ(sideChange(base, same), SideChange::kNone);
  EXPECT_EQ(sideChange(base, meta), SideChange::kMetadata);
  EXPECT_EQ(sideChange(base, content), SideChange::kContent);
  EXPECT_EQ(sideChange(base, gone), SideChange::kDeleted);
  EXPECT_EQ(sideChange(gone, base), SideChange::kCreated);
  EXPECT_EQ(sideChange(base, dir), SideChange::kType);
  Version unhashed = base;
  unhashed.hash.reset();
  EXPECT_EQ(sideChange(base, unhashed), SideChange::kContent);  // never "only metadata" by guess
}

}  // namespace
}  // namespace hoard::resolvers
