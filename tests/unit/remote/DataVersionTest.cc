// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <cstring>

#include "remote/DataVersion.h"

namespace hoard::remote {
namespace {

struct stat baseStat() {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_mode = S_IFREG | 0644;
  st.st_size = 100;
  st.st_ino = 7;
  st.st_mtim.tv_sec = 1000;
  st.st_mtim.tv_nsec = 5;
  st.st_ctim.tv_sec = 1001;
  st.st_ctim.tv_nsec = 6;
  return st;
}

TEST(DataVersionTest, PosixVersionIsStableForEqualStat) {
  PosixDataVersionProbe probe;
  auto a = probe.version(-1, "f", baseStat());
  auto b = probe.version(-1, "f", baseStat());
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, PosixDataVersionProbe::fromStat(baseStat()));
}

TEST(DataVersionTest, PosixVersionChangesWithEachField) {
  const std::string base = PosixDataVersionProbe::fromStat(baseStat());
  auto changed = [](void (*mutate)(struct stat&)) {
    struct stat st = baseStat();
    mutate(st);
    return PosixDataVersionProbe::fromStat(st);
  };
  EXPECT_NE(base, changed([](struct stat& s) { s.st_size = 101; }));
  EXPECT_NE(base, changed([](struct stat& s) { s.st_ino = 8; }));
  EXPECT_NE(base, changed([](struct stat& s) { s.st_mtim.tv_nsec = 6; }));
  EXPECT_NE(base, changed([](struct stat& s) { s.st_ctim.tv_nsec = 7; }));
  EXPECT_NE(base, changed([](struct stat& s) { s.st_mode = S_IFLNK | 0777; }));
  // Permission bits are metadata, not data: they do not move the data version.
  EXPECT_EQ(base, changed([](struct stat& s) { s.st_mode = S_IFREG | 0600; }));
}

}  // namespace
}  // namespace hoard::remote
