// SPDX-License-Identifier: MIT
// A delay line between two TUN devices, for kernels without sch_netem: every
// IP packet read from one device is written to the other `delay_ms` later,
// in order, in both directions (so a round trip gains twice the delay). The
// e2e harness joins the client's network namespace to sshd's with it.
//
//   hoard-delayline DELAY_MS DEV_A DEV_B NETNS_PATH
//
// DEV_A is attached in the caller's network namespace, DEV_B in the one at
// NETNS_PATH (/run/netns/NAME); both must exist (ip tuntap add ... mode tun).
// Prints "ready" on stdout once both are attached. Exits when either device
// goes away, on SIGTERM, or when its parent dies.

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int attach(const char* name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    std::perror("open /dev/net/tun");
    return -1;
  }
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    std::fprintf(stderr, "TUNSETIFF %s: %s\n", name, std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Packet {
  Clock::time_point due;
  std::vector<char> bytes;
};

volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s DELAY_MS DEV_A DEV_B NETNS_PATH\n", argv[0]);
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() == 1) return 1;  // the parent is already gone
  ::signal(SIGTERM, onSignal);
  ::signal(SIGINT, onSignal);
  const auto delay = std::chrono::microseconds(
      static_cast<int64_t>(std::strtod(argv[1], nullptr) * 1000.0));
  int fds[2];
  fds[0] = attach(argv[2]);
  if (fds[0] < 0) return 1;
  int ns = ::open(argv[4], O_RDONLY | O_CLOEXEC);
  if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "setns %s: %s\n", argv[4], std::strerror(errno));
    return 1;
  }
  ::close(ns);
  fds[1] = attach(argv[3]);
  if (fds[1] < 0) return 1;
  std::printf("ready\n");
  std::fflush(stdout);

  std::deque<Packet> queue[2];  // queue[i]: read from fds[i], to be written to fds[1 - i]
  std::vector<char> buf(65536);
  while (!g_stop) {
    auto now = Clock::now();
    for (int i = 0; i < 2; ++i) {
      while (!queue[i].empty() && queue[i].front().due <= now) {
        const auto& p = queue[i].front().bytes;
        // A full device queue drops the packet, as a congested link would.
        (void)!::write(fds[1 - i], p.data(), p.size());
        queue[i].pop_front();
      }
    }
    int timeout_ms = -1;
    for (int i = 0; i < 2; ++i) {
      if (queue[i].empty()) continue;
      auto wait = std::chrono::duration_cast<std::chrono::microseconds>(queue[i].front().due - now);
      // Round up: waking early only spins.
      int ms = static_cast<int>((wait.count() + 999) / 1000);
      if (timeout_ms < 0 || ms < timeout_ms) timeout_ms = ms;
    }
    struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int n = ::poll(pfd, 2, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("poll");
      return 1;
    }
    for (int i = 0; i < 2; ++i) {
      if ((pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return 0;  // device gone
      if ((pfd[i].revents & POLLIN) == 0) continue;
      for (;;) {
        ssize_t got = ::read(fds[i], buf.data(), buf.size());
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          return 0;  // device gone
        }
        queue[i].push_back(Packet{Clock::now() + delay,
                                  std::vector<char>(buf.begin(), buf.begin() + got)});
      }
    }
  }
  return 0;
}
