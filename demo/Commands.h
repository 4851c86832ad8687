// SPDX-License-Identifier: MIT
#pragma once

// hoard-local's commands. Each prints what it did and returns the exit
// status: 0 ok, 1 failed, 3 conflicts remain (as the hoard CLI will).

#include <memory>
#include <mutex>
#include <string>

#include "journal/Journal.h"

namespace hoard::demo {

struct Context {
  std::mutex mu;  // the journal's, as the engine's pieces expect
  std::string journal_path;
  std::string store_dir;
  std::unique_ptr<journal::Journal> journal;

  Status open() {
    auto j = journal::Journal::open(journal_path);
    if (!j) return tl::unexpected(j.error());
    journal = std::move(*j);
    return {};
  }
  Result<journal::ShareRecord> share(const std::string& name) {
    return journal->shareByName(name);
  }
};


int failWith(const Error& e);

int cmdShareAdd(Context& ctx, const std::string& name, const std::string& remote,
                const std::string& cache);
int cmdPin(Context& ctx, const std::string& name, const std::string& path, int priority);
int cmdSync(Context& ctx, const std::string& name, uint64_t budget, bool confirm_delete);
int cmdConflicts(Context& ctx, const std::string& name);
int cmdResolve(Context& ctx, const std::string& name, int64_t id, const std::string& with);
int cmdEvict(Context& ctx, const std::string& name, const std::string& path);

}  // namespace hoard::demo
