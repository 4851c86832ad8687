// SPDX-License-Identifier: MIT
// hoard-prompt: the desktop prompt for hoard's conflicts. It registers with
// hoardd as the external resolver "prompt", the default for conflicts no
// rule decides, and asks the person through desktop notifications
// (org.freedesktop.Notifications). See hoard-prompt(1).

#include <signal.h>

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "HoardVersion.h"
#include "daemon/Config.h"
#include "prompt/Bus.h"
#include "prompt/Prompt.h"
#include "prompt/PromptConfig.h"
#include "prompt/Worker.h"

namespace {

using namespace hoard::prompt;

// Everything that lives while hoard-prompt runs. Torn down in this order:
// the worker (so no task touches a proxy), the bus loop, then the proxies
// and the connection.
struct Session {
  explicit Session(PromptConfig config)
      : connection(sdbus::createSessionBusConnection()),  // never the system bus
        agent(*connection),
        notifier(*connection),
        resolver(*connection),
        worker(std::make_unique<Worker>()),
        prompt(*worker, agent, notifier, std::move(config)) {
    Prompt* p = &prompt;
    Worker* w = worker.get();
    resolver.on_conflict = [p, w](ConflictInfo c) { w->post([p, c] { p->offer(c); }); };
    agent.on_resolved = [p, w](uint64_t id) { w->post([p, id] { p->resolved(id); }); };
    notifier.on_action = [p, w](uint32_t id, std::string key) {
      w->post([p, id, key] { p->action(id, key); });
    };
    notifier.on_closed = [p, w](uint32_t id, uint32_t) { w->post([p, id] { p->closed(id); }); };
    names = watchNames(*connection, [p, w](const std::string& name, const std::string& owner) {
      if (owner.empty()) return;
      if (name == kAgentName)
        w->post([p] { p->agentAppeared(); });
      else
        w->post([p] { p->serverChanged(); });
    });
  }
  ~Session() {
    // The task under way may wait for a reply, which the bus loop delivers:
    // stop the worker first (later posts are ignored), then the loop.
    worker->stop();
    connection->leaveEventLoop();
  }

  std::unique_ptr<sdbus::IConnection> connection;
  AgentLink agent;
  Notifier notifier;
  ResolverObject resolver;
  std::unique_ptr<sdbus::IProxy> names;
  std::unique_ptr<Worker> worker;
  Prompt prompt;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hoard-prompt: asks about hoard's conflicts through desktop notifications"};
  app.set_version_flag("--version", HOARD_VERSION_LINE("hoard-prompt"));
  std::string config_path = hoard::daemon::defaultConfigPath();
  app.add_option("--config", config_path, "hoard's configuration file (JSON)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto config = loadPromptConfig(config_path);
  if (!config) {
    std::cerr << "<3>hoard-prompt: " << config.error().message() << "; not starting" << std::endl;
    return 1;
  }

  // SIGTERM and SIGINT are taken by sigwait below, in no thread's handler.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::unique_ptr<Session> s;
  try {
    s = std::make_unique<Session>(std::move(*config));
    s->connection->enterEventLoopAsync();
  } catch (const sdbus::Error& e) {
    std::cerr << "<3>hoard-prompt: cannot use the session bus: " << e.getMessage() << std::endl;
    return 1;
  }
  s->worker->post([p = &s->prompt] { p->serverChanged(); });
  // The first call starts hoardd by D-Bus activation where it is not running.
  if (auto st = s->agent.registerPrompt(); !st) {
    if (st.error().code() == hoard::ErrorCode::kExists) {
      std::cerr << "<3>hoard-prompt: " << st.error().message()
                << " (is another hoard-prompt running?)" << std::endl;
      return 1;
    }
    std::cerr << "<4>hoard-prompt: hoardd is not there (" << st.error().message()
              << "); waiting for it" << std::endl;
  } else {
    std::cerr << "<6>hoard-prompt: registered with hoardd as resolver \"prompt\"" << std::endl;
  }
  int sig = 0;
  sigwait(&stop, &sig);
  // No UnregisterResolver: hoardd drops the registration when our name
  // leaves the bus, and a call could start a hoardd that has stopped.
  s.reset();
  return 0;
}
