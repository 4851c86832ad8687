// SPDX-License-Identifier: MIT
// hoard-prompt: the desktop prompt for hoard's conflicts. It registers with
// hoardd as the external resolver "prompt", the default for conflicts no
// rule decides, and asks the person through desktop notifications
// (org.freedesktop.Notifications); it also asks for credentials that
// expired (Renew), and with --ready answers "Is my work offline-ready?".
// See hoard-prompt(1).

#include <signal.h>

#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "HoardVersion.h"
#include "daemon/Config.h"
#include "prompt/AuthPrompt.h"
#include "prompt/Bus.h"
#include "prompt/Prompt.h"
#include "prompt/PromptConfig.h"
#include "prompt/ReadPrompt.h"
#include "prompt/ReadyCheck.h"
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
        auth(*worker, agent, notifier, config.reminder_interval),
        reads(agent, notifier),
        prompt(*worker, agent, notifier, std::move(config)) {
    Prompt* p = &prompt;
    AuthPrompt* a = &auth;
    ReadPrompt* r = &reads;
    Worker* w = worker.get();
    agent.on_read_wanted = [r, w](ReadWanted q) { w->post([r, q] { r->wanted(q); }); };
    agent.on_read_over = [r, w](uint64_t q) { w->post([r, q] { r->over(q); }); };
    resolver.on_conflict = [p, w](ConflictInfo c) { w->post([p, c] { p->offer(c); }); };
    agent.on_resolved = [p, w](uint64_t id) { w->post([p, id] { p->resolved(id); }); };
    agent.on_state_changed = [a, w](const std::string& share) {
      w->post([a, share] { a->stateChanged(share); });
    };
    agent.on_auth_required = [a, w](const std::string& share) {
      w->post([a, share] { a->required(share); });
    };
    agent.on_auth_expiring = [a, w](const std::string& share, int64_t left) {
      w->post([a, share, left] { a->expiring(share, left); });
    };
    agent.on_job_finished = [a, w](uint64_t job, const std::string& error, const std::string& msg) {
      w->post([a, job, error, msg] { a->jobFinished(job, error, msg); });
    };
    // Each ignores the notifications that are not its own.
    notifier.on_action = [p, a, r, w](uint32_t id, std::string key) {
      w->post([p, a, r, id, key] {
        p->action(id, key);
        a->action(id, key);
        r->action(id, key);
      });
    };
    notifier.on_closed = [p, a, r, w](uint32_t id, uint32_t) {
      w->post([p, a, r, id] {
        p->closed(id);
        a->closed(id);
        r->closed(id);
      });
    };
    names = watchNames(*connection, [p, a, r, w](const std::string& name, const std::string& owner) {
      if (owner.empty()) return;
      if (name == kAgentName) {
        w->post([p, a] {
          p->agentAppeared();
          a->agentAppeared();
        });
      } else {
        w->post([p, a, r] {
          p->serverChanged();
          a->serverChanged();
          r->serverChanged();
        });
      }
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
  AuthPrompt auth;
  ReadPrompt reads;
  Prompt prompt;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hoard-prompt: asks about hoard's conflicts through desktop notifications"};
  app.set_version_flag("--version", HOARD_VERSION_LINE("hoard-prompt"));
  std::string config_path = hoard::daemon::defaultConfigPath();
  app.add_option("--config", config_path, "hoard's configuration file (JSON)")
      ->capture_default_str();
  bool ready = false;
  app.add_flag("--ready", ready,
               "ask hoardd whether the work is offline-ready, answer with one notification and "
               "exit (0 ready, 4 not)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (ready) return checkReady();
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
  s->worker->post([p = &s->prompt, a = &s->auth, r = &s->reads] {
    p->serverChanged();
    a->serverChanged();
    r->serverChanged();
  });
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
    // Shares that were refused before we came wait for a notification too.
    s->worker->post([a = &s->auth] { a->agentAppeared(); });
  }
  int sig = 0;
  sigwait(&stop, &sig);
  // No UnregisterResolver: hoardd drops the registration when our name
  // leaves the bus, and a call could start a hoardd that has stopped.
  s.reset();
  return 0;
}
