// SPDX-License-Identifier: MIT
// What hoard-prompt says about credentials and offline readiness, with and
// without a server that has buttons or parses markup.

#include <gtest/gtest.h>

#include "prompt/AuthTexts.h"
#include "prompt/ReadyTexts.h"

namespace hoard::prompt {
namespace {

const std::vector<std::string> kRenew = {"renew", "Renew"};

TEST(AuthTextsTest, ExpiredSaysWhatItMeansAndOffersRenew) {
  NoteText t = authRequiredText("work", {true, false});
  EXPECT_EQ(t.summary, "Your credentials for work have expired");
  EXPECT_EQ(t.body,
            "The server of work no longer accepts them. Your work goes on in the cache and "
            "nothing is lost; renew them to send your changes to the server.");
  EXPECT_EQ(t.actions, kRenew);
  EXPECT_EQ(t.expire_timeout, 0);
  t = authRequiredText("work", {false, false});
  EXPECT_TRUE(t.actions.empty());
  EXPECT_NE(t.body.find("\nTo renew them, run: hoard auth work"), std::string::npos) << t.body;
}

TEST(AuthTextsTest, ExpiringCountsWholeMinutesUp) {
  EXPECT_EQ(authExpiringText("work", 600, {true, false}).summary,
            "Your credentials for work expire in 10 minutes");
  EXPECT_EQ(authExpiringText("work", 61, {true, false}).summary,
            "Your credentials for work expire in 2 minutes");
  EXPECT_EQ(authExpiringText("work", 45, {true, false}).summary,
            "Your credentials for work expire in 1 minute");
  EXPECT_EQ(authExpiringText("work", 0, {true, false}).summary,
            "Your credentials for work have expired");
  EXPECT_EQ(authExpiringText("work", 600, {true, false}).actions, kRenew);
}

TEST(AuthTextsTest, AFailedRenewalSaysHoarddsWordsEscapedForMarkup) {
  NoteText t = renewFailedText("work", "the auth_command `kinit <me>` exited with status 3",
                               {true, true});
  EXPECT_EQ(t.summary, "Could not renew your credentials for work");
  EXPECT_EQ(t.body,
            "the auth_command `kinit &lt;me&gt;` exited with status 3\n"
            "Your work goes on in the cache and nothing is lost.");
  EXPECT_EQ(t.actions, kRenew);
}

TEST(ReadyTextsTest, ReadyIsOneSentence) {
  NoteText t = readyText({{"work", "online", {}}, {"docs", "offline", {}}}, {true, false});
  EXPECT_EQ(t.summary, "Your work is ready to go offline");
  EXPECT_EQ(t.body,
            "Everything pinned is in the cache and every change is on the server (work, docs).");
  EXPECT_TRUE(t.actions.empty());
  EXPECT_EQ(t.expire_timeout, -1);
}

TEST(ReadyTextsTest, NotReadyListsEachShareProblemsAndCountsTheRest) {
  ShareReadiness work{"work", "online", {}};
  for (int i = 0; i < 7; ++i)
    work.problems.push_back({"unsent", "write of f" + std::to_string(i) + " is not on the server yet"});
  ShareReadiness docs{"docs", "auth-required", {{"conflict", "a&b has an open content conflict (#3)"}}};
  ShareReadiness fine{"music", "online", {}};
  NoteText t = readyText({work, docs, fine}, {true, false});
  EXPECT_EQ(t.summary, "Your work is not ready to go offline");
  EXPECT_EQ(t.body,
            "work: not offline-ready (online), 7 problems:\n"
            "  unsent: write of f0 is not on the server yet\n"
            "  unsent: write of f1 is not on the server yet\n"
            "  unsent: write of f2 is not on the server yet\n"
            "  unsent: write of f3 is not on the server yet\n"
            "  unsent: write of f4 is not on the server yet\n"
            "  and 2 more: hoard ready work\n"
            "docs: not offline-ready (auth-required), 1 problem:\n"
            "  conflict: a&b has an open content conflict (#3)\n"
            "Offline-ready: music.");
  t = readyText({docs}, {true, true});
  EXPECT_NE(t.body.find("a&amp;b"), std::string::npos) << t.body;
}

}  // namespace
}  // namespace hoard::prompt
