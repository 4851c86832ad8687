// SPDX-License-Identifier: MIT
#pragma once

// What hoardd's config file sets (daemon/Config.h reads it).

#include <map>
#include <string>

#include "sync/ShareEngine.h"

namespace hoard::daemon {

struct AgentOptions {
  sync::ShareEngineOptions engine;
  std::string host;
  // config resolved_retention_days: how long resolved conflicts and their
  // versions are kept (for undo) before they are dropped.
  int resolved_retention_days = 30;
  // The config file, for the rules (read at start, on SIGHUP and on
  // ReloadRules). Empty: no rules.
  std::string config_path;
  // config shares.NAME.lister: the share's hoard-lister (ListerChangeSource.h),
  // by share name. Read at start.
  std::map<std::string, std::string> listers;
};

}  // namespace hoard::daemon
