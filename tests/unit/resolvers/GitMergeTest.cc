// SPDX-License-Identifier: MIT
// git-merge with the real libgit2 over real descriptors: what a user would
// check is the merged bytes (every untouched byte as it was), the decision
// and its reason.
#include "GitMerge.h"

#include <gtest/gtest.h>

#include "GitAttributes.h"
#include "MergeFixture.h"

namespace hoard::resolvers {
namespace {

class GitMergeTest : public testing::MergeFixture {
 protected:
  Decision resolve(const ConflictView& c, const nlohmann::json& options = nullptr) {
    auto d = merge_.resolve(c, options);
    EXPECT_TRUE(d) << (d ? "" : d.error().message());
    return d ? *d : Decision{};
  }
  GitMerge merge_;
};

const std::string kBase = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";

TEST_F(GitMergeTest, EditsOfDifferentLinesMergeCleanly) {
  auto c = view(kBase, "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n",
                "one\ntwo\nthree\nfour\nfive\nsix\nSEVEN\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(d.conflicting_hunks, 0);
  EXPECT_EQ(output(), "ONE\ntwo\nthree\nfour\nfive\nsix\nSEVEN\n");
}

TEST_F(GitMergeTest, OverlappingEditsDeferByDefaultAndWriteNothing) {
  auto c = view(kBase, "one\ntwo\nTHREE (mine)\nfour\nfive\nsix\nseven\n",
                "one\ntwo\nTHREE (theirs)\nfour\nfive\nsix\nseven\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "1 hunk conflicts");
  EXPECT_EQ(d.conflicting_hunks, 1);
  EXPECT_EQ(output(), "");
}

TEST_F(GitMergeTest, EachConflictingHunkIsCounted) {
  auto c = view(kBase, "one (mine)\ntwo\nthree\nfour\nfive\nsix\nseven (mine)\n",
                "one (theirs)\ntwo\nthree\nfour\nfive\nsix\nseven (theirs)\n");
  Decision d = resolve(c, {{"on_conflict", "defer"}});
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "2 hunks conflict");
  EXPECT_EQ(d.conflicting_hunks, 2);
}

TEST_F(GitMergeTest, OnConflictMarkersWritesTheMergeWithMarkers) {
  auto c = view(kBase, "ONE\ntwo\nTHREE (mine)\nfour\nfive\nsix\nseven\n",
                "one\ntwo\nTHREE (theirs)\nfour\nfive\nsix\nSEVEN\n");
  Decision d = resolve(c, {{"on_conflict", "markers"}});
  EXPECT_EQ(d.kind, DecisionKind::kMarkers);
  EXPECT_EQ(d.conflicting_hunks, 1);
  EXPECT_EQ(d.reason, "1 hunk conflicts: the cache gets the merge with markers");
  EXPECT_EQ(output(),
            "ONE\ntwo\n<<<<<<< cache\nTHREE (mine)\n=======\nTHREE (theirs)\n>>>>>>> remote\n"
            "four\nfive\nsix\nSEVEN\n");
}

TEST_F(GitMergeTest, Diff3AndZdiff3ShowTheBase) {
  for (const char* style : {"diff3", "zdiff3"}) {
    auto c = view(kBase, "one\ntwo\nmine\nfour\nfive\nsix\nseven\n",
                  "one\ntwo\ntheirs\nfour\nfive\nsix\nseven\n");
    Decision d = resolve(c, {{"on_conflict", "markers"}, {"style", style}});
    EXPECT_EQ(d.kind, DecisionKind::kMarkers) << style;
    EXPECT_EQ(output(),
              "one\ntwo\n<<<<<<< cache\nmine\n||||||| base\nthree\n=======\ntheirs\n"
              ">>>>>>> remote\nfour\nfive\nsix\nseven\n")
        << style;
  }
}

TEST_F(GitMergeTest, FavorPicksASideForOverlapsOnly) {
  const std::string mine = "ONE\ntwo\nmine\nfour\nfive\nsix\nseven\n";
  const std::string theirs = "one\ntwo\ntheirs\nfour\nfive\nsix\nSEVEN\n";
  auto c = view(kBase, mine, theirs);
  EXPECT_EQ(resolve(c, {{"favor", "ours"}}).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "ONE\ntwo\nmine\nfour\nfive\nsix\nSEVEN\n");
  c = view(kBase, mine, theirs);
  EXPECT_EQ(resolve(c, {{"favor", "theirs"}}).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "ONE\ntwo\ntheirs\nfour\nfive\nsix\nSEVEN\n");
  c = view(kBase, mine, theirs);
  EXPECT_EQ(resolve(c, {{"favor", "union"}}).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "ONE\ntwo\nmine\ntheirs\nfour\nfive\nsix\nSEVEN\n");
}

TEST_F(GitMergeTest, WhitespaceOptionsIgnoreAWhitespaceOnlyEdit) {
  const std::string mine = "one\ntwo\nthree   \nfour\nfive\nsix\nseven\n";  // trailing blanks
  const std::string theirs = "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\n";
  auto c = view(kBase, mine, theirs);
  EXPECT_EQ(resolve(c).kind, DecisionKind::kDefer);
  for (const char* ws : {"ignore-eol", "ignore-change", "ignore-all"}) {
    c = view(kBase, mine, theirs);
    Decision d = resolve(c, {{"whitespace", ws}});
    EXPECT_EQ(d.kind, DecisionKind::kMerged) << ws << ": " << d.reason;
    EXPECT_NE(output().find("THREE"), std::string::npos) << ws;
  }
}

TEST_F(GitMergeTest, ADryRunDecidesWithoutWriting) {
  auto c = view(kBase, "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\n",
                "one\ntwo\nthree\nfour\nfive\nsix\nSEVEN\n");
  const int out = c.output_fd;
  c.output_fd = -1;
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
  c.output_fd = out;
  EXPECT_EQ(output(), "");
}

TEST_F(GitMergeTest, BinaryContentDefers) {
  std::string bin = "PK\x03\x04";
  bin.push_back('\0');
  bin += "rest\n";
  auto c = view(kBase, bin, kBase + "eight\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "binary content");
  EXPECT_EQ(output(), "");
}

TEST_F(GitMergeTest, ANulPastTheFirst8000BytesIsStillText) {
  std::string tail = std::string(8100, 'x') + "\n";
  tail[8050] = '\0';
  auto c = view(kBase + tail, "ONE\n" + kBase.substr(4) + tail, kBase + tail + "end\n");
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "ONE\n" + kBase.substr(4) + tail + "end\n");
}

TEST_F(GitMergeTest, ABaseThatWasNotKeptDefers) {
  auto c = view(kBase, "ONE\n", "TWO\n");
  c.base.fd = -1;  // the keep policy did not keep it
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "no base version was kept");
}

TEST_F(GitMergeTest, CreateCreateMergesAgainstAnEmptyBase) {
  auto same = view(std::nullopt, "hello\n", "hello\n");
  EXPECT_EQ(resolve(same).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "hello\n");
  auto differ = view(std::nullopt, "mine\n", "theirs\n");
  Decision d = resolve(differ);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "1 hunk conflicts");
}

TEST_F(GitMergeTest, OtherKindsOfConflictAreNotMerged) {
  auto c = view(kBase, "a\n", "b\n");
  c.kind = ConflictKind::kModifyDelete;
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "git-merge has no meaning for a modify-delete conflict");
}

TEST_F(GitMergeTest, CrlfLinesStayCrlf) {
  const std::string base = "alpha\r\nbeta\r\ngamma\r\ndelta\r\nepsilon\r\n";
  auto c = view(base, "ALPHA\r\nbeta\r\ngamma\r\ndelta\r\nepsilon\r\n",
                "alpha\r\nbeta\r\ngamma\r\ndelta\r\nEPSILON\r\n");
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "ALPHA\r\nbeta\r\ngamma\r\ndelta\r\nEPSILON\r\n");
}

TEST_F(GitMergeTest, CrlfConflictMarkersEndInCrlf) {
  const std::string base = "alpha\r\nbeta\r\ngamma\r\n";
  auto c = view(base, "alpha\r\nmine\r\ngamma\r\n", "alpha\r\ntheirs\r\ngamma\r\n");
  Decision d = resolve(c, {{"on_conflict", "markers"}});
  EXPECT_EQ(d.kind, DecisionKind::kMarkers);
  EXPECT_EQ(d.conflicting_hunks, 1);
  const std::string out = output();
  EXPECT_EQ(out.substr(0, 7), "alpha\r\n");
  EXPECT_EQ(out.substr(out.size() - 7), "gamma\r\n");
  EXPECT_NE(out.find("mine\r\n"), std::string::npos);
  EXPECT_NE(out.find("theirs\r\n"), std::string::npos);
}

TEST_F(GitMergeTest, AFileWithoutFinalNewlineKeepsItsEnd) {
  auto c = view("a\nb\nc\nd\ne", "A\nb\nc\nd\ne", "a\nb\nc\nd\nE");
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "A\nb\nc\nd\nE");
  auto only_top = view("a\nb\nc\nd\ne", "A\nb\nc\nd\ne", "a\nb\nc\nd\ne\nf\n");
  EXPECT_EQ(resolve(only_top).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "A\nb\nc\nd\ne\nf\n");
}

TEST_F(GitMergeTest, NonUtf8BytesMergeUnchanged) {
  const std::string base = "caf\xe9\n\xff\xfe raw\nmiddle\n\x80\x81\x82\nend\n";
  auto c = view(base, "caf\xe9 latin-1\n\xff\xfe raw\nmiddle\n\x80\x81\x82\nend\n",
                "caf\xe9\n\xff\xfe raw\nmiddle\n\x80\x81\x82\nend \xc3\x28\n");
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "caf\xe9 latin-1\n\xff\xfe raw\nmiddle\n\x80\x81\x82\nend \xc3\x28\n");
}

class GitMergeAttributesTest : public GitMergeTest {
 protected:
  void attributes(ConflictView& c, std::string text) {
    attrs_ = GitAttributes({{"", std::move(text)}});
    c.git_attr = [this, path = c.path](const std::string& a) { return attrs_.lookup(path, a); };
  }
  GitAttributes attrs_;
};

TEST_F(GitMergeAttributesTest, MinusMergeDefersWithTheReason) {
  auto c = view(kBase, "ONE\n" + kBase.substr(4), kBase + "eight\n", "doc/notes.txt");
  attributes(c, "*.md text\n*.txt -merge\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, ".gitattributes marks it -merge");
  EXPECT_EQ(output(), "");
}

TEST_F(GitMergeAttributesTest, BinaryDefersEvenForText) {
  auto c = view(kBase, "ONE\n" + kBase.substr(4), kBase + "eight\n", "notes.txt");
  attributes(c, "notes.* binary\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, ".gitattributes marks it binary");
}

TEST_F(GitMergeAttributesTest, MergeUnionKeepsBothSidesLines) {
  auto c = view(kBase, "one\ntwo\nmine\nfour\nfive\nsix\nseven\n",
                "one\ntwo\ntheirs\nfour\nfive\nsix\nseven\n", "CHANGES.txt");
  attributes(c, "CHANGES.txt merge=union\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kMerged);
  EXPECT_EQ(output(), "one\ntwo\nmine\ntheirs\nfour\nfive\nsix\nseven\n");
}

TEST_F(GitMergeAttributesTest, AnAttributeForAnotherPathChangesNothing) {
  auto c = view(kBase, "ONE\n" + kBase.substr(4), kBase + "eight\n", "dir-x/notes.txt");
  attributes(c, "dir/** -merge\n/notes.txt -merge\n");
  EXPECT_EQ(resolve(c).kind, DecisionKind::kMerged);
}

TEST_F(GitMergeAttributesTest, MergeTextStillDefersBinaryContent) {
  // libgit2 merges no content with a NUL byte as text, whatever it is told.
  std::string base = kBase + std::string(1, '\0') + "\n";
  auto c = view(base, "ONE\n" + base.substr(4), base + "eight\n", "data.raw");
  attributes(c, "*.raw merge=text\n");
  Decision d = resolve(c);
  EXPECT_EQ(d.kind, DecisionKind::kDefer);
  EXPECT_EQ(d.reason, "binary content");
  EXPECT_EQ(output(), "");
}

struct BadOption {
  nlohmann::json options;
  std::string message;
};

class GitMergeOptionsTest : public ::testing::TestWithParam<BadOption> {};

TEST_P(GitMergeOptionsTest, ABadValueIsRefusedNamingTheKey) {
  GitMerge m;
  Status st = m.checkOptions(GetParam().options);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.error().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Each, GitMergeOptionsTest,
    ::testing::Values(
        BadOption{{{"favor", "mine"}},
                  "git-merge option /favor: expected one of none, ours, theirs, union; got "
                  "\"mine\""},
        BadOption{{{"style", "zdiff4"}},
                  "git-merge option /style: expected one of merge, diff3, zdiff3; got "
                  "\"zdiff4\""},
        BadOption{{{"whitespace", true}},
                  "git-merge option /whitespace: expected one of none, ignore-all, "
                  "ignore-change, ignore-eol; got true"},
        BadOption{{{"on_conflict", "ask"}},
                  "git-merge option /on_conflict: expected one of defer, markers; got \"ask\""},
        BadOption{{{"strategy", "ours"}},
                  "git-merge option /strategy: unknown (git-merge takes favor, style, "
                  "whitespace, on_conflict)"},
        BadOption{nlohmann::json::array({"markers"}),
                  "git-merge options: expected an object; got [\"markers\"]"}));

TEST(GitMergeOptions, GoodValuesAreAccepted) {
  GitMerge m;
  EXPECT_TRUE(m.checkOptions(nullptr));
  EXPECT_TRUE(m.checkOptions(nlohmann::json::object()));
  EXPECT_TRUE(m.checkOptions({{"favor", "union"},
                              {"style", "zdiff3"},
                              {"whitespace", "ignore-eol"},
                              {"on_conflict", "markers"}}));
}

TEST(GitMergeRegistry, IsABuiltin) {
  Registry r;
  registerBuiltins(r);
  auto gm = r.find("git-merge");
  ASSERT_NE(gm, nullptr);
  EXPECT_EQ(gm->name(), "git-merge");
  EXPECT_TRUE(gm->previewable());
}

}  // namespace
}  // namespace hoard::resolvers
