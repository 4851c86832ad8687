// SPDX-License-Identifier: MIT
#pragma once

// Conflict views over in-memory versions (memfds), for the git-merge tests:
// the resolver reads real descriptors and writes a real output file.

#include <sys/mman.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "Conflict.h"
#include "common/UniqueFd.h"

namespace hoard::resolvers::testing {

class MergeFixture : public ::testing::Test {
 protected:
  // A file version holding `bytes`; nullopt: absent.
  Version version(const std::optional<std::string>& bytes) {
    Version v;
    if (!bytes) return v;
    v.type = FileType::kFile;
    v.size = bytes->size();
    v.mode = 0644;
    UniqueFd fd(::memfd_create("version", MFD_CLOEXEC));
    EXPECT_GE(fd.get(), 0);
    EXPECT_EQ(::write(fd.get(), bytes->data(), bytes->size()),
              static_cast<ssize_t>(bytes->size()));
    v.fd = fd.get();
    fds_.push_back(std::move(fd));
    return v;
  }

  ConflictView view(const std::optional<std::string>& base, const std::string& local,
                    const std::string& remote, std::string path = "notes.txt") {
    ConflictView c;
    c.id = 7;
    c.share = "work";
    c.path = std::move(path);
    c.kind = base ? ConflictKind::kContent : ConflictKind::kCreateCreate;
    c.base = version(base);
    c.local = version(local);
    c.remote = version(remote);
    out_ = UniqueFd(::memfd_create("merged", MFD_CLOEXEC));
    c.output_fd = out_.get();
    return c;
  }

  // What the resolver wrote to the output file.
  std::string output() const {
    std::string s;
    char buf[4096];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(out_.get(), buf, sizeof buf, at);
      if (n <= 0) return s;
      s.append(buf, static_cast<size_t>(n));
      at += n;
    }
  }

 private:
  std::vector<UniqueFd> fds_;
  UniqueFd out_;
};

}  // namespace hoard::resolvers::testing
