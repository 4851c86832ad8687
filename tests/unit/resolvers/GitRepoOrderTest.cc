// SPDX-License-Identifier: MIT
// The parts of a repository directory and their order (GitRepoOrder.h),
// with names that only look like the parts: refs-x, objects.bak, logs2.

#include <gtest/gtest.h>

#include "GitRepoOrder.h"

namespace hoard::resolvers {
namespace {

TEST(GitRepoOrderTest, ObjectsComeBeforeIndexesBeforeRefsBeforeLogsBeforeTheRest) {
  EXPECT_EQ(gitRank("objects/ab/cdef0123456789abcdef0123456789abcdef01"), kGitObjects);
  EXPECT_EQ(gitRank("objects/pack/pack-1a2b.pack"), kGitObjects);
  EXPECT_EQ(gitRank("objects/pack/pack-1a2b.keep"), kGitObjects);
  EXPECT_EQ(gitRank("objects/pack/pack-1a2b.idx"), kGitPackIndex);
  EXPECT_EQ(gitRank("objects/pack/pack-1a2b.rev"), kGitPackIndex);
  EXPECT_EQ(gitRank("objects/pack/pack-1a2b.bitmap"), kGitPackIndex);
  EXPECT_EQ(gitRank("objects/ab"), kGitObjects);  // its fan-out directory
  EXPECT_EQ(gitRank("refs/heads/main"), kGitRefs);
  EXPECT_EQ(gitRank("refs/tags/v1"), kGitRefs);
  EXPECT_EQ(gitRank("packed-refs"), kGitRefs);
  EXPECT_EQ(gitRank("logs/refs/heads/main"), kGitLogs);
  EXPECT_EQ(gitRank("logs/HEAD"), kGitLogs);
  for (const char* last : {"HEAD", "index", "ORIG_HEAD", "FETCH_HEAD", "config",
                           "objects/info/packs", "objects/info/commit-graph",
                           "objects/pack/multi-pack-index", "refs-x/heads/main",
                           "packed-refs.bak", "logs2/HEAD", "objects.bak/ab/cd"})
    EXPECT_EQ(gitRank(last), kGitHead) << last;
}

TEST(GitRepoOrderTest, OnlyContentNamedFilesAreImmutable) {
  EXPECT_TRUE(isImmutableGitFile("objects/ab/cdef0123456789abcdef0123456789abcdef01"));
  EXPECT_TRUE(isImmutableGitFile("objects/pack/pack-1a2b.pack"));
  EXPECT_TRUE(isImmutableGitFile("objects/pack/pack-1a2b.idx"));
  for (const char* mutable_file :
       {"objects/info/packs", "objects/pack/multi-pack-index", "objects/ab",
        "objects/zz/cdef", "objects/ab/not-hex", "objects/pack/tmp_pack_x",
        "objects.bak/ab/cdef", "refs/heads/main", "index", "HEAD"})
    EXPECT_FALSE(isImmutableGitFile(mutable_file)) << mutable_file;
}

}  // namespace
}  // namespace hoard::resolvers
