// SPDX-License-Identifier: MIT
// What hoard-prompt says, per conflict kind, for one conflict and for many,
// with and without a server that has buttons or parses markup.

#include "prompt/Texts.h"

#include <gtest/gtest.h>

namespace hoard::prompt {
namespace {

ConflictInfo conflict(const std::string& path, const std::string& kind = "content",
                      const std::string& local = "file", const std::string& remote = "file") {
  return ConflictInfo{7, "work", path, kind, local, remote};
}

TEST(TextsTest, EachKindIsSaidInWords) {
  EXPECT_EQ(whatHappened(conflict("docs/report.txt")),
            "You edited report.txt offline; someone changed it on the server.");
  EXPECT_EQ(whatHappened(conflict("r.txt", "modify-delete", "file", "none")),
            "You edited r.txt offline; someone deleted it on the server.");
  EXPECT_EQ(whatHappened(conflict("r.txt", "delete-modify", "none", "file")),
            "You deleted r.txt offline; someone changed it on the server.");
  EXPECT_EQ(whatHappened(conflict("r.txt", "create-create")),
            "You created r.txt offline; someone created a different r.txt on the server.");
  EXPECT_EQ(whatHappened(conflict("dir", "type", "dir", "file")),
            "dir is a folder in your copy but someone made it a file on the server.");
  EXPECT_EQ(whatHappened(conflict("run.sh", "metadata")),
            "You changed the permissions of run.sh offline; someone changed them differently on "
            "the server.");
  EXPECT_EQ(whatHappened(conflict("dir.bak", "dir-delete", "none", "dir")),
            "You deleted the folder dir.bak offline; someone added to it on the server.");
  EXPECT_EQ(whatHappened(conflict("dir-x", "dir-delete", "dir", "none")),
            "You changed the folder dir-x offline; someone deleted it on the server.");
  EXPECT_EQ(whatHappened(conflict("a", "rename-rename")),
            "You renamed a offline; someone renamed it differently on the server.");
}

TEST(TextsTest, OneConflictHasItsFourChoices) {
  NoteText t = singleText(conflict("docs/report.txt"), {true, false});
  EXPECT_EQ(t.summary, "Conflict in work: report.txt");
  EXPECT_EQ(t.body,
            "You edited report.txt offline; someone changed it on the server.\n"
            "docs/report.txt in share work (conflict 7)");
  EXPECT_EQ(t.actions, (std::vector<std::string>{"keep-local", "Keep mine", "keep-remote",
                                                 "Keep theirs", "stash", "Keep both", "compare",
                                                 "Compare"}));
  // Nothing to compare between two folders.
  t = singleText(conflict("dir", "dir-delete", "dir", "none"), {true, false});
  EXPECT_EQ(t.actions.size(), 6u);
}

TEST(TextsTest, WithoutButtonsTheBodyNamesTheCommands) {
  NoteText t = singleText(conflict("report.txt"), {false, false});
  EXPECT_TRUE(t.actions.empty());
  EXPECT_NE(t.body.find("\nTo keep yours: hoard resolve 7 --with keep-local\n"), std::string::npos)
      << t.body;
  EXPECT_NE(t.body.find("To keep theirs: hoard resolve 7 --with keep-remote\n"), std::string::npos);
  EXPECT_NE(t.body.find("To keep both: hoard resolve 7 --with stash"), std::string::npos);

  std::vector<ConflictInfo> many = {conflict("a"), conflict("b"), conflict("c"), conflict("d")};
  for (size_t i = 0; i < many.size(); ++i) many[i].id = 10 + i;
  t = batchText("work", many, {false, false});
  EXPECT_NE(t.body.find("hoard resolve 10 11 12 13 --with keep-local"), std::string::npos) << t.body;
  EXPECT_NE(t.body.find("To see them: hoard conflicts work"), std::string::npos);
}

TEST(TextsTest, ManyConflictsAreOneText) {
  std::vector<ConflictInfo> many;
  for (int i = 0; i < 40; ++i) many.push_back(conflict("d/f" + std::to_string(i) + ".txt"));
  NoteText t = batchText("work", many, {true, false});
  EXPECT_EQ(t.summary, "40 conflicts in work");
  EXPECT_EQ(t.body,
            "Files you changed offline were also changed on the server: f0.txt, f1.txt, f2.txt "
            "and 37 more.");
  EXPECT_EQ(t.actions, (std::vector<std::string>{"keep-all-local", "Keep all mine",
                                                 "keep-all-remote", "Keep all theirs", "show",
                                                 "Show them"}));
}

TEST(TextsTest, NamesThatAreNotUtf8OrLookLikeMarkupAreShownSafely) {
  NoteText t = singleText(conflict("caf\xe9\n<b>&.txt"), {true, true});
  EXPECT_EQ(t.summary, "Conflict in work: caf\\xe9\\n<b>&.txt") << "the summary is plain text";
  EXPECT_EQ(t.body.find("<b>"), std::string::npos) << t.body;
  EXPECT_NE(t.body.find("You edited caf\\xe9\\n&lt;b&gt;&amp;.txt offline"), std::string::npos)
      << t.body;
  // Without markup the body is left as it is.
  t = singleText(conflict("a<b>.txt"), {true, false});
  EXPECT_NE(t.body.find("You edited a<b>.txt offline"), std::string::npos);
}

TEST(TextsTest, AFailureSaysWhatCouldNotBeDone) {
  NoteText t = failureText(conflict("r.txt"), "keep-remote", "changed on the remote since", {});
  EXPECT_EQ(t.summary, "Could not keep the server's version of r.txt");
  EXPECT_EQ(t.body, "changed on the remote since\nThe conflict stays open: hoard conflicts work");
}

}  // namespace
}  // namespace hoard::prompt
