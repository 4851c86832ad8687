// SPDX-License-Identifier: MIT
#pragma once

// What hoardd's config file sets (daemon/Config.h reads it).

#include <chrono>
#include <map>
#include <string>

#include "daemon/ShareView.h"
#include "sync/ShareEngine.h"

namespace hoard::daemon {

// A share's credentials (config "shares": {"NAME": {"auth_command": ...}}).
struct ShareAuthOptions {
  // Renews the credentials (kinit, ssh-add...); `hoard auth NAME` runs it in
  // the user's terminal, Renew detached. Run with /bin/sh -c. Empty: none.
  std::string auth_command;
  // Says how long the credentials last (AuthCheck.h); empty: not checked.
  std::string auth_check_command;
  std::chrono::milliseconds check_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds warn_before{std::chrono::minutes(15)};
};

struct AgentOptions {
  sync::ShareEngineOptions engine;
  std::string host;
  // config resolved_retention_days: how long resolved conflicts and their
  // versions are kept (for undo) before they are dropped.
  int resolved_retention_days = 30;
  // The config file, for the rules (read at start, on SIGHUP and on
  // ReloadRules). Empty: no rules.
  std::string config_path;
  std::map<std::string, ShareAuthOptions> auth;  // by share name
  // config shares.NAME.lister: the share's hoard-lister (ListerChangeSource.h),
  // by share name. Read at start.
  std::map<std::string, std::string> listers;
  // hoardd's state directory: on-demand shares keep their backing directory
  // and their view's blocks beneath it (ShareView.h). Empty: no share can be
  // added on demand.
  std::string state_dir;
  // config shares.NAME.offline_reads / offline_wait_s /
  // offline_reads_by_program, by share name; default_view for the others.
  std::map<std::string, ShareViewPolicy> views;
  ShareViewPolicy default_view{view::MissPolicy::kError, std::chrono::milliseconds(30'000),
                               view::defaultProgramPolicies()};
};

}  // namespace hoard::daemon
