// SPDX-License-Identifier: MIT
// The e2e harness as a program, for the network benchmark
// (tests/bench/netbench.py): sshd in a network namespace, a round trip
// added by netem or the TUN delay line, the export mounted with sshfs.
//
//   hoard-net-harness ADDED_RTT_MS [SSHFS_OPTION...]
//
// Prints one JSON line once everything is up: {"mount", "export", "ssh"
// (argv up to the destination), "destination", "rtt_ms" (measured),
// "method", "mount_options"}, then keeps it all up until stdin closes (or
// SIGTERM), and tears everything down. Exit 1 with the reason if setup fails.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "e2e/SshfsFixture.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  using hoard::e2e::SshfsHarness;
  if (argc < 2) {
    std::cerr << "usage: hoard-net-harness ADDED_RTT_MS [SSHFS_OPTION...]\n";
    return 2;
  }
  SshfsHarness::Options o;
  o.added_round_trip = std::chrono::milliseconds(std::atoi(argv[1]));
  for (int i = 2; i < argc; ++i) o.extra_mount_options.emplace_back(argv[i]);
  if (argc == 2) o.extra_mount_options = {"dir_cache=no", "attr_timeout=0", "entry_timeout=0"};
  auto h = SshfsHarness::start(o);
  if (!h) {
    std::cerr << "hoard-net-harness: " << h.error().toString() << "\n";
    return 1;
  }
  if ((*h)->cutMode() != SshfsHarness::CutMode::kBlackholeRoute && o.added_round_trip.count() > 0) {
    std::cerr << "hoard-net-harness: latency needs the network namespace: "
              << (*h)->fallbackReason() << "\n";
    return 1;
  }
  std::string options;
  for (const auto& m : o.extra_mount_options) options += (options.empty() ? "" : ",") + m;
  nlohmann::json j = {{"mount", (*h)->mountPath()},
                      {"export", (*h)->exportPath()},
                      {"ssh", (*h)->sshArgv()},
                      {"destination", (*h)->sshDestination()},
                      {"rtt_ms", (*h)->measureRoundTripMs()},
                      {"method", (*h)->latencyMethod()},
                      {"mount_options", options}};
  std::cout << j.dump() << std::endl;
  struct sigaction sa = {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  char buf[256];
  while (!g_stop && ::read(0, buf, sizeof buf) > 0) {
  }
  h->reset();  // tears everything down
  return 0;
}
