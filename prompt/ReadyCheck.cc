// SPDX-License-Identifier: MIT
#include "prompt/ReadyCheck.h"

#include <iostream>

#include <sdbus-c++/sdbus-c++.h>

#include "prompt/Bus.h"
#include "prompt/ReadyTexts.h"

namespace hoard::prompt {

namespace {

constexpr int kReady = 0;
constexpr int kFailed = 1;
constexpr int kNotReady = 4;  // hoard ready's

bool allReady(const std::vector<ShareReadiness>& shares) {
  for (const auto& s : shares)
    if (!s.problems.empty()) return false;
  return true;
}

}  // namespace

int checkReady() {
  std::unique_ptr<sdbus::IConnection> connection;
  try {
    connection = sdbus::createSessionBusConnection();  // never the system bus
  } catch (const sdbus::Error& e) {
    std::cerr << "hoard-prompt: cannot use the session bus: " << e.getMessage() << std::endl;
    return kFailed;
  }
  // No event loop: the calls below are synchronous and no signal matters.
  AgentLink agent(*connection);
  Notifier notifier(*connection);
  ServerCaps caps = notifier.capabilities();
  auto shares = agent.readiness();
  NoteText shown = shares ? readyText(*shares, caps) : readyFailedText(shares.error().message(), caps);
  NoteText plain = shares ? readyText(*shares, {}) : readyFailedText(shares.error().message(), {});
  std::cout << plain.summary << "\n" << plain.body << std::endl;
  if (auto note = notifier.show(shown, 0); !note)
    std::cerr << "hoard-prompt: cannot show the answer: " << note.error().message() << std::endl;
  if (!shares) return kFailed;
  return allReady(*shares) ? kReady : kNotReady;
}

}  // namespace hoard::prompt
