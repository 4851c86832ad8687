// SPDX-License-Identifier: MIT
#include "Glob.h"

#include <gtest/gtest.h>

namespace hoard::resolvers {
namespace {

TEST(Glob, ComponentsAndDoubleStar) {
  EXPECT_TRUE(globMatch("*.o", "main.o"));
  EXPECT_FALSE(globMatch("*.o", "src/main.o")) << "* never crosses a /";
  EXPECT_TRUE(globMatch("**/*.o", "src/main.o"));
  EXPECT_TRUE(globMatch("**/*.o", "main.o")) << "** matches zero components";
  EXPECT_TRUE(globMatch("src/**", "src/a/b/c.txt"));
  EXPECT_TRUE(globMatch("docs/**/draft-*.md", "docs/2026/nov/draft-1.md"));
  EXPECT_FALSE(globMatch("docs/**/draft-*.md", "docs/2026/final.md"));
  EXPECT_TRUE(globMatch("report.???", "report.tex"));
  EXPECT_TRUE(globMatch("[ab]*", "beta"));
  EXPECT_FALSE(globMatch("[ab]*", "gamma"));
}

TEST(Glob, NamesAreBytes) {
  EXPECT_TRUE(globMatch("**/caf*", std::string("menu/caf\xe9\nnew")));
}

}  // namespace
}  // namespace hoard::resolvers
