// SPDX-License-Identifier: MIT
#pragma once

// The attributes git would give a path from the `.gitattributes` files of a
// share (gitattributes(5)), worked out from the files' text alone: no
// repository, no git config. The daemon reads the files from the cache
// (sync::readGitAttributes) and hands the git-merge resolver one lookup per
// conflict (ConflictView::git_attr).
//
// What is understood: comments and blank lines; `pattern attr -attr !attr
// attr=value` lines; patterns as in .gitignore, relative to the directory of
// the file that holds them (no '/' but a trailing one: the name at any depth;
// '**' components; a trailing '/' matches directories only, so never a file);
// macros (`[attr]name ...`, only in the root file, as git) and the built-in
// `binary` macro (-diff -merge -text). Later lines override earlier ones,
// deeper files override shallower ones. Not understood: quoted ("...")
// patterns (skipped), $GIT_DIR/info/attributes and core.attributesFile.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/RelPath.h"

namespace hoard::resolvers {

class GitAttributes {
 public:
  // One `.gitattributes` file: `dir` is the directory holding it, relative
  // to the share root ("" for the root itself), `text` its bytes.
  struct File {
    std::string dir;
    std::string text;
  };

  GitAttributes() = default;
  // `files` in any order; each is parsed once here. Lines that cannot be
  // parsed (negative patterns, quoted patterns) are skipped, as git skips them.
  explicit GitAttributes(std::vector<File> files);

  // The state of `attr` for the file `path` (share-relative): "set",
  // "unset", the value of `attr=value`, or nullopt when unspecified. The
  // same words `git check-attr` prints.
  std::optional<std::string> lookup(std::string_view path, std::string_view attr) const;

  // The `.gitattributes` paths that can give `path` attributes, root first:
  // ".gitattributes", "a/.gitattributes", "a/b/.gitattributes" for "a/b/c".
  static std::vector<RelPath> filesFor(const RelPath& path);

 private:
  struct Assign {
    std::string name;
    std::optional<std::string> value;  // nullopt: back to unspecified (!attr)
  };
  struct Line {
    std::string dir;      // of the file holding it
    std::string pattern;  // without a leading '/'
    bool anchored = false;
    std::vector<Assign> assigns;
  };

  void parse(const File& f, bool root);
  bool matches(const Line& l, std::string_view path) const;
  void apply(std::map<std::string, std::optional<std::string>, std::less<>>& state,
             const Assign& a, int depth) const;

  std::vector<Line> lines_;  // root file first, then by depth, each in file order
  std::map<std::string, std::vector<Assign>, std::less<>> macros_;
};

}  // namespace hoard::resolvers
