// SPDX-License-Identifier: MIT
#include "SqliteTables.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "Client.h"
#include "SqliteDiff.h"
#include "SqliteMerge.h"

namespace hoard::cli {

namespace {

// The sqlite resolver's dry run on the three versions, with its default
// option (defer conflicting rows).
resolvers::Decision dryRun(int base_fd, int local_fd, int remote_fd) {
  resolvers::ConflictView v;
  auto version = [](resolvers::Version& into, int fd) {
    into.type = fd >= 0 ? FileType::kFile : FileType::kNone;
    into.fd = fd;
  };
  version(v.base, base_fd);
  version(v.local, local_fd);
  version(v.remote, remote_fd);
  v.output_fd = -1;
  resolvers::SqliteMerge merge;
  auto d = merge.resolve(v, nlohmann::json::object());
  if (!d) return resolvers::Decision::defer(d.error().message());
  return *d;
}

}  // namespace

bool bothAreDatabases(int local_fd, int remote_fd) {
  return resolvers::isSqliteVersion(local_fd) && resolvers::isSqliteVersion(remote_fd);
}

int printSqliteTables(int base_fd, int local_fd, int remote_fd, bool as_json) {
  auto changes = resolvers::diffSqliteVersions(base_fd, local_fd, remote_fd);
  if (!changes && changes.error().code() != ErrorCode::kNotFound) {
    std::cerr << "hoard: " << changes.error().message() << "\n";
    return kFailed;
  }
  resolvers::Decision d = dryRun(base_fd, local_fd, remote_fd);
  std::string would = std::string(resolvers::decisionKindName(d.kind));
  if (as_json) {
    nlohmann::json out = changes ? resolvers::toJson(*changes) : nlohmann::json::object();
    out["base"] = bool(changes);
    out["merge"] = {{"decision", would}, {"reason", d.reason}};
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (changes)
    std::cout << resolvers::describe(*changes);
  else
    std::cout << "no base version was kept: the rows of each side cannot be compared\n";
  std::cout << "the sqlite resolver would " << (would == "merged" ? "merge" : would) << ": "
            << d.reason << "\n";
  return kOk;
}

}  // namespace hoard::cli
