// SPDX-License-Identifier: MIT
// hoardd: the hoard daemon on the D-Bus session bus.
//
// Threads: the main thread waits for SIGTERM/SIGINT (blocked everywhere
// else); the bus connection runs its loop on its own thread; each share runs
// its tracker and state machine threads; the Agent's strand does blocking
// work for asynchronous methods. SIGTERM stops the shares (what the trackers
// saw is made durable first) and exits 0 with the journal consistent.

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "daemon/Agent.h"
#include "daemon/Config.h"
#include "daemon/Log.h"
#include "daemon/SessionSignals.h"
#include "remote/ListerSettings.h"
#include "HoardVersion.h"

namespace {

constexpr const char* kBusName = "org.hoard.Agent1";

using hoard::daemon::log;

// $XDG_STATE_HOME/hoard, or ~/.local/state/hoard.
std::string defaultStateDir() {
  if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && x[0] == '/')
    return std::string(x) + "/hoard";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/") + "/.local/state/hoard";
}

// $XDG_RUNTIME_DIR/hoard, made private if it is new; empty without a
// runtime directory (or where it cannot be made).
std::string runtimeDir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg == nullptr || xdg[0] != '/') return {};
  std::string dir = std::string(xdg) + "/hoard";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {};
  ::chmod(dir.c_str(), 0700);
  return dir;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hoardd: keeps pinned network files available offline (the hoard daemon)"};
  app.set_version_flag("--version", HOARD_VERSION_LINE("hoardd"));
  std::string state_dir = defaultStateDir();
  std::string config_path = hoard::daemon::defaultConfigPath();
  bool print_schema = false;
  app.add_option("--state-dir", state_dir, "where the journal and base store live")
      ->capture_default_str();
  app.add_option("--config", config_path, "the configuration file (JSON)")->capture_default_str();
  app.add_flag("--print-config-schema", print_schema, "print the configuration's JSON Schema");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (print_schema) {
    std::cout << hoard::daemon::configSchema();
    return 0;
  }
  auto config = hoard::daemon::loadConfig(config_path);
  if (!config) {
    log(3, config.error().message() + " (see hoardd --print-config-schema); not starting");
    return 1;
  }

  // A daemon that lives for weeks with a few busy threads: glibc's default of
  // up to 8 malloc arenas per core keeps each thread's freed memory as RSS.
  // Two arenas are plenty for hoardd (passes run one share at a time).
  ::mallopt(M_ARENA_MAX, 2);

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);  // reload the rules
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    log(3, "cannot create the state directory " + state_dir + ": " + ec.message());
    return 1;
  }
  ::chmod(state_dir.c_str(), 0700);
  auto journal = hoard::journal::Journal::open(state_dir + "/journal.db");
  if (!journal) {
    log(3, journal.error().toString());
    return 1;
  }
  auto store = hoard::store::BaseStore::open(state_dir + "/objects");
  if (!store) {
    log(3, store.error().toString());
    return 1;
  }

  try {
    auto connection = sdbus::createSessionBusConnection();
    hoard::daemon::AgentOptions options = *config;
    options.host = hostName();
    options.config_path = config_path;
    options.state_dir = state_dir;
    // ssh connections to listers are kept open between passes (ssh's own
    // multiplexing), their sockets in the runtime directory.
    std::string no_sharing;
    options.engine.lister.control_path =
        hoard::remote::sshControlPath(runtimeDir(), state_dir, &no_sharing);
    if (!no_sharing.empty()) log(4, no_sharing);
    auto agent = std::make_unique<hoard::daemon::Agent>(*connection, **journal, *store, options);
    // Every share's engine exists before the name is taken: a call that
    // activated hoardd (it waits for the name) must find the share it names.
    agent->startShares();
    try {
      connection->requestName(kBusName);
    } catch (const sdbus::Error& e) {
      log(3, std::string("another hoardd already runs on this session bus (") + kBusName +
                 " is taken: " + e.getMessage() + "); this one exits");
      return 1;
    }
    // The bus loop on a thread of ours: if the bus goes away (the session
    // ends), log it and stop like on SIGTERM instead of dying in sdbus-c++.
    std::thread loop([&connection] {
      try {
        connection->enterEventLoop();
      } catch (const sdbus::Error& e) {
        log(4, "lost the session bus (" + e.getMessage() + "); stopping");
        ::kill(::getpid(), SIGTERM);
      } catch (const std::exception& e) {
        log(2, std::string("the bus loop failed: ") + e.what() + "; stopping");
        ::kill(::getpid(), SIGTERM);
      }
    });
    // NetworkManager and logind, if there is a system bus: hints, never required.
    hoard::daemon::Agent* raw = agent.get();
    auto session = hoard::daemon::SessionSignals::start(hoard::daemon::SessionHooks{
        [raw](const std::string& why) { raw->networkChanged(true, why); },
        [raw](const std::string& why) { raw->networkChanged(false, why); },
        [raw](std::chrono::milliseconds budget) { raw->prepareForSleep(budget); },
        [raw] { raw->resumedFromSleep(); }});
    sd_notify(0, "READY=1\nSTATUS=serving org.hoard.Agent1");
    log(6, "ready: journal " + state_dir + "/journal.db");

    int sig = 0;
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP) {
      log(6, "SIGHUP: reloading the rules of " + config_path);
      agent->reloadRules();
    }
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    log(6, std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    // Stop taking calls first (the name, then every call that still comes
    // gets Aborted), then stop the passes and the shares.
    try {
      connection->releaseName(kBusName);
    } catch (const sdbus::Error&) {
      // the bus is already gone: nothing to release
    }
    session.reset();  // no hint may reach the shares while they stop
    agent->close();
    agent.reset();
    connection->leaveEventLoop();
    loop.join();
  } catch (const sdbus::Error& e) {
    log(3, "D-Bus: " + e.getName() + ": " + e.getMessage());
    return 1;
  }
  log(6, "stopped cleanly");
  return 0;
}
