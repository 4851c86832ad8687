// SPDX-License-Identifier: MIT
#include "StashName.h"

#include <cstdlib>
#include <set>

#include <gtest/gtest.h>

namespace hoard::resolvers {
namespace {

class StashNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  // 2026-11-24 03:15:00 UTC
  static constexpr std::time_t kWhen = 1795490100;
};

TEST_F(StashNameTest, PutsTheSuffixBeforeTheExtension) {
  EXPECT_EQ(stashName("report.txt", "laptop", kWhen), "report.conflict-laptop-20261124-031500.txt");
  EXPECT_EQ(stashName("archive.tar.gz", "laptop", kWhen),
            "archive.tar.conflict-laptop-20261124-031500.gz");
}

TEST_F(StashNameTest, NamesWithoutExtensionGetTheSuffixAtTheEnd) {
  EXPECT_EQ(stashName("Makefile", "laptop", kWhen), "Makefile.conflict-laptop-20261124-031500");
  EXPECT_EQ(stashName(".bashrc", "laptop", kWhen), ".bashrc.conflict-laptop-20261124-031500");
  EXPECT_EQ(stashName("odd.", "laptop", kWhen), "odd..conflict-laptop-20261124-031500");
}

TEST_F(StashNameTest, HostNamesCannotBreakTheName) {
  EXPECT_EQ(stashName("a.txt", "evil/host.example.org", kWhen),
            "a.conflict-evil_host_example_org-20261124-031500.txt");
  EXPECT_EQ(stashName("a.txt", "", kWhen), "a.conflict-unknown-20261124-031500.txt");
}

TEST_F(StashNameTest, NamesAreBytes) {
  std::string name = "caf\xe9\nmenu.txt";
  EXPECT_EQ(stashName(name, "h", kWhen), "caf\xe9\nmenu.conflict-h-20261124-031500.txt");
}

TEST_F(StashNameTest, LongNamesAreShortenedToNameMax) {
  std::string stem(250, 'x');
  std::string out = stashName(stem + ".txt", "laptop", kWhen);
  EXPECT_EQ(out.size(), kNameMax);
  EXPECT_EQ(out.substr(out.size() - 4), ".txt");
  EXPECT_NE(out.find(".conflict-laptop-20261124-031500.txt"), std::string::npos);
}

TEST_F(StashNameTest, ShorteningNeverCutsAUtf8Sequence) {
  // 'é' is two bytes; a stem of them cut at an odd length must drop the lead byte.
  std::string stem;
  for (int i = 0; i < 125; ++i) stem += "\xc3\xa9";
  std::string out = stashName(stem, "h", kWhen);
  ASSERT_LE(out.size(), kNameMax);
  size_t suffix = out.find(".conflict-h-");
  ASSERT_NE(suffix, std::string::npos);
  EXPECT_EQ(suffix % 2, 0u) << "the stem must be whole two-byte characters";
  EXPECT_EQ(static_cast<unsigned char>(out[suffix - 1]), 0xa9);
}

TEST_F(StashNameTest, UniqueNameCountsUpWhileTaken) {
  std::set<std::string> taken = {"r.conflict-h-20261124-031500.txt",
                                 "r.conflict-h-20261124-031500-2.txt"};
  auto exists = [&](const std::string& n) { return taken.count(n) > 0; };
  EXPECT_EQ(uniqueStashName("r.txt", "h", kWhen, exists), "r.conflict-h-20261124-031500-3.txt");
  EXPECT_EQ(uniqueStashName("free.txt", "h", kWhen, exists),
            "free.conflict-h-20261124-031500.txt");
}

}  // namespace
}  // namespace hoard::resolvers
