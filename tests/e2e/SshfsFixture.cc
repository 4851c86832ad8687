// SPDX-License-Identifier: MIT
#include "e2e/SshfsFixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>
#include <algorithm>

#include "common/UniqueFd.h"
#include "remote/Mountinfo.h"

extern char** environ;

namespace hoard::e2e {

namespace {

constexpr long kFuseSuperMagic = 0x65735546;
constexpr int kNetnsPort = 2222;

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// posix_spawnp with stdin from /dev/null and stdout+stderr to `out_fd`.
Result<pid_t> spawn(const std::vector<std::string>& argv, int out_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  // A fresh process group: signals meant for the test runner's group (a
  // ctest timeout) are not ours to pass on, and ours never reach the runner.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return failErrno(rc, "spawn '" + join(argv) + "'");
  return pid;
}

// Waits for `pid` at most `timeout`; SIGKILLs it after that. Returns the
// wait status, or -1 if it had to be killed.
int reap(pid_t pid, std::chrono::milliseconds timeout) {
  int status = 0;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

bool exited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

std::string tail(const std::string& path, size_t max_bytes = 3000) {
  std::string s = readFileBytes(path);
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return s;
}

bool processAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Parent pid and command line of every process, from /proc.
struct ProcInfo {
  pid_t pid;
  pid_t ppid;
  std::string cmdline;
};

std::vector<ProcInfo> allProcesses() {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0') continue;
    std::string base = std::string("/proc/") + e->d_name;
    std::string stat = readFileBytes(base + "/stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    std::string cmd = readFileBytes(base + "/cmdline");
    for (char& c : cmd) {
      if (c == '\0') c = ' ';
    }
    out.push_back({static_cast<pid_t>(pid), static_cast<pid_t>(ppid), cmd});
  }
  ::closedir(d);
  return out;
}

std::vector<ProcInfo> descendantsOf(pid_t root) {
  auto procs = allProcesses();
  std::set<pid_t> in{root};
  std::vector<ProcInfo> out;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& p : procs) {
      if (in.count(p.ppid) != 0 && in.count(p.pid) == 0) {
        in.insert(p.pid);
        out.push_back(p);
        grew = true;
      }
    }
  }
  return out;
}

// The pid a "hoard-e2e-<pid>..." style name was made by, or -1.
pid_t ownerPid(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return -1;
  const char* p = name.c_str() + prefix.size();
  char* end = nullptr;
  long v = std::strtol(p, &end, 10);
  if (end == p || v <= 0) return -1;
  return static_cast<pid_t>(v);
}

bool ownerGone(pid_t pid) { return pid > 0 && pid != ::getpid() && !processAlive(pid); }

// Removes what a crashed earlier run left: mounts, namespaces (with their
// processes), veths and temp dirs whose owning pid is gone.
void removeLeftovers() {
  if (auto mounts = remote::readMountinfo("/proc/self/mountinfo")) {
    for (const auto& m : *mounts) {
      std::string name = std::filesystem::path(m.mount_point).parent_path().filename();
      if (m.mount_point.rfind("/tmp/hoard-e2e-", 0) == 0 &&
          ownerGone(ownerPid(name, "hoard-e2e-"))) {
        runCommand({"umount", "-l", m.mount_point}, 10s);
      }
    }
  }
  auto ns = runCommand({"ip", "netns", "list"}, 10s);
  if (ns.exit_code == 0) {
    std::istringstream lines(ns.output);
    std::string line;
    while (std::getline(lines, line)) {
      std::string name = line.substr(0, line.find(' '));
      if (!ownerGone(ownerPid(name, "hoard-e2e-"))) continue;
      auto pids = runCommand({"ip", "netns", "pids", name}, 10s);
      std::istringstream ps(pids.output);
      long p;
      while (ps >> p) ::kill(static_cast<pid_t>(p), SIGKILL);
      runCommand({"ip", "netns", "delete", name}, 10s);
    }
  }
  auto links = runCommand({"ip", "-o", "link", "show"}, 10s);
  if (links.exit_code == 0) {
    std::istringstream lines(links.output);
    std::string line;
    while (std::getline(lines, line)) {
      // "7: he1234h@if6: <...>"
      size_t a = line.find(": ");
      if (a == std::string::npos) continue;
      std::string name = line.substr(a + 2);
      name = name.substr(0, name.find_first_of("@:"));
      if (name.size() > 3 && name.back() == 'h' && ownerGone(ownerPid(name, "he"))) {
        runCommand({"ip", "link", "delete", name}, 10s);
      }
    }
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/tmp", ec)) {
    std::string name = e.path().filename();
    if (!ownerGone(ownerPid(name, "hoard-e2e-"))) continue;
    // Only once nothing is mounted beneath it (remove_all never follows
    // symlinks, but it would descend into a live mount).
    bool mounted = false;
    if (auto mounts = remote::readMountinfo("/proc/self/mountinfo")) {
      for (const auto& m : *mounts) mounted |= m.mount_point.rfind(e.path().string() + "/", 0) == 0;
    }
    if (!mounted) std::filesystem::remove_all(e.path(), ec);
  }
}

Status writeText(const std::string& path, const std::string& text, mode_t mode) {
  if (!writeFileBytes(path, text, mode)) return failErrno(errno, "write '" + path + "'");
  return {};
}

Status check(const CommandResult& r, const std::vector<std::string>& argv) {
  if (r.exit_code == 0) return {};
  return fail(ErrorCode::kIo, "'" + join(argv) + "' failed (exit " + std::to_string(r.exit_code) +
                                  (r.timed_out ? ", timed out" : "") + "): " + r.output);
}

Status must(const std::vector<std::string>& argv) { return check(runCommand(argv), argv); }

// A TCP connect to addr:port succeeds (sshd is listening).
bool canConnect(const std::string& addr, int port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return false;
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{s.get(), POLLOUT, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err == 0;
}

// A port on 127.0.0.1 nobody listens on right now.
int freeLoopbackPort() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 0;
  socklen_t len = sizeof sa;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) return 0;
  return ntohs(sa.sin_port);
}

std::string ipv4(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandResult r;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.output = "pipe: " + std::string(std::strerror(errno));
    return r;
  }
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  auto pid = spawn(argv, wr.get());
  wr.reset();
  if (!pid) {
    r.output = pid.error().message();
    return r;
  }
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms) {
      r.timed_out = true;
      break;
    }
    pollfd p{rd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the command (and anything it forked) closed it
    r.output.append(buf, static_cast<size_t>(got));
  }
  int status = reap(*pid, r.timed_out ? 0ms
                                      : std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::max(deadline - Clock::now(), Clock::duration(0))));
  if (status >= 0 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  return r;
}

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

bool writeFileBytes(const std::string& path, const std::string& data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return false;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string readFileBytes(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return "<missing>";
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool pathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> listNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

size_t countTemps(const std::string& dir) {
  size_t n = 0;
  for (const auto& name : listNames(dir)) n += name.rfind(".hoard-tmp-", 0) == 0 ? 1 : 0;
  return n;
}

int memfdWith(const std::string& data) {
  int fd = ::memfd_create("hoard-e2e", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return fd;
}

std::string readFd(int fd) {
  std::string out;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<SshfsHarness>> SshfsHarness::start(Options options) {
  std::unique_ptr<SshfsHarness> h(new SshfsHarness());
  h->options_ = std::move(options);
  if (auto st = h->setUp(); !st) {
    std::string logs = h->logs();
    return fail(st.error().code(), st.error().message() + "\n" + logs);
  }
  return h;
}

SshfsHarness::~SshfsHarness() { tearDown(); }

std::string SshfsHarness::serverPath(const std::string& rel) const {
  return rel.empty() ? export_dir_ : export_dir_ + "/" + rel;
}

Status SshfsHarness::setUp() {
  removeLeftovers();
  std::string tmpl = "/tmp/hoard-e2e-" + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return failErrno(errno, "mkdtemp " + tmpl);
  dir_ = buf.data();
  export_dir_ = dir_ + "/export";
  mount_point_ = dir_ + "/mnt";
  client_key_ = dir_ + "/client_key";
  sshd_config_ = dir_ + "/sshd_config";
  sshd_log_ = dir_ + "/sshd.log";
  for (const auto& d : {export_dir_, mount_point_}) {
    if (::mkdir(d.c_str(), 0755) != 0) return failErrno(errno, "mkdir " + d);
  }
  // sshd's privilege separation directory; a fresh container has none.
  std::error_code ec;
  std::filesystem::create_directories("/run/sshd", ec);

  for (const auto& key : {client_key_, dir_ + "/host_key"}) {
    if (auto st =
            must({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hoard-e2e", "-f", key});
        !st) {
      return st;
    }
  }
  std::string pub = readFileBytes(client_key_ + ".pub");
  if (auto st = writeText(dir_ + "/authorized_keys", pub, 0600); !st) return st;

  Status netns_ok = std::getenv("HOARD_E2E_NO_NETNS") != nullptr
                        ? Status(fail(ErrorCode::kUnsupported, "HOARD_E2E_NO_NETNS is set"))
                        : setUpNetns();
  if (auto st = netns_ok; !st) {
    fallback_reason_ = st.error().message();
    std::cerr << "hoard e2e: no network namespace (" << fallback_reason_
              << "); falling back to sshd on 127.0.0.1, where a cut kills sshd\n";
    if (!netns_.empty()) runCommand({"ip", "netns", "delete", netns_}, 10s);
    if (!veth_host_.empty()) runCommand({"ip", "link", "delete", veth_host_}, 10s);
    netns_.clear();
    veth_host_.clear();
    cut_mode_ = CutMode::kKillServer;
    server_addr_ = "127.0.0.1";
    client_addr_ = "127.0.0.1";
    port_ = freeLoopbackPort();
    if (port_ == 0) return fail(ErrorCode::kIo, "no free port on 127.0.0.1");
  } else {
    cut_mode_ = CutMode::kBlackholeRoute;
    port_ = kNetnsPort;
  }

  std::string config = "ListenAddress " + server_addr_ + ":" + std::to_string(port_) + "\n" +
                       "HostKey " + dir_ + "/host_key\n" + "AuthorizedKeysFile " + dir_ +
                       "/authorized_keys\n" + "PidFile " + dir_ + "/sshd.pid\n" +
                       "UsePAM no\n"
                       "PermitRootLogin prohibit-password\n"
                       "StrictModes no\n"
                       "PasswordAuthentication no\n"
                       "KbdInteractiveAuthentication no\n"
                       "UseDNS no\n"
                       "LogLevel VERBOSE\n"
                       "MaxStartups 100\n"
                       // Sessions whose client vanished behind a cut go away.
                       "ClientAliveInterval 2\n"
                       "ClientAliveCountMax 3\n"
                       "Subsystem sftp internal-sftp\n";
  if (auto st = writeText(sshd_config_, config, 0600); !st) return st;
  if (auto st = startServer(); !st) return st;
  if (auto st = mount(); !st) return st;
  return {};
}

Status SshfsHarness::setUpNetns() {
  const pid_t me = ::getpid();
  // Names are bounded by IFNAMSIZ (15): "he" + pid (<= 7 digits) + 'h'/'n'.
  netns_ = "hoard-e2e-" + std::to_string(me);
  if (auto st = must({"ip", "netns", "add", netns_}); !st) {
    netns_.clear();
    return st;
  }
  // The host-side device is named like a veth either way, so leftovers of
  // a crashed run are found and removed the same way.
  veth_host_ = "he" + std::to_string(me) + "h";
  std::string dev_ns = "he" + std::to_string(me) + "n";
  // A /30 in 169.254.0.0/16 (link-local: never routed off this host), chosen
  // by pid and skipped while another run's address is on it.
  auto used = runCommand({"ip", "-o", "-4", "addr", "show"}).output;
  uint32_t block = static_cast<uint32_t>(me) % 16000 + 64;
  for (int i = 0; i < 16000; ++i, block = (block - 64 + 1) % 16000 + 64) {
    std::string host = ipv4((169u << 24) | (254u << 16) | (block * 4 + 1));
    if (used.find(" " + host + "/") == std::string::npos) break;
  }
  client_addr_ = ipv4((169u << 24) | (254u << 16) | (block * 4 + 1));
  server_addr_ = ipv4((169u << 24) | (254u << 16) | (block * 4 + 2));
  if (options_.added_round_trip.count() <= 0) return setUpVeth(dev_ns);
  // netem where the kernel has it: half the round trip on each side.
  if (auto st = setUpVeth(dev_ns); !st) return st;
  const std::string half =
      std::to_string(static_cast<double>(options_.added_round_trip.count()) / 2000.0) + "ms";
  auto host_q =
      runCommand({"tc", "qdisc", "add", "dev", veth_host_, "root", "netem", "delay", half}, 10s);
  if (host_q.exit_code == 0 &&
      runCommand({"tc", "-n", netns_, "qdisc", "add", "dev", dev_ns, "root", "netem", "delay",
                  half},
                 10s)
              .exit_code == 0) {
    latency_method_ = "netem";
    return {};
  }
  // No sch_netem (or no tc): a TUN pair and our own delay line instead.
  runCommand({"ip", "link", "delete", veth_host_}, 10s);  // takes its peer with it
  return setUpTunDelayLine(dev_ns);
}

Status SshfsHarness::setUpVeth(const std::string& veth_ns) {
  if (auto st = must({"ip", "link", "add", veth_host_, "type", "veth", "peer", "name", veth_ns});
      !st) {
    veth_host_.clear();
    return st;
  }
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "link", "set", veth_ns, "netns", netns_},
           {"ip", "addr", "add", client_addr_ + "/30", "dev", veth_host_},
           {"ip", "link", "set", veth_host_, "up"},
           {"ip", "-n", netns_, "addr", "add", server_addr_ + "/30", "dev", veth_ns},
           {"ip", "-n", netns_, "link", "set", veth_ns, "up"},
           {"ip", "-n", netns_, "link", "set", "lo", "up"},
       }) {
    if (auto st = must(argv); !st) return st;
  }
  return {};
}

Status SshfsHarness::setUpTunDelayLine(const std::string& tun_ns) {
  if (::access("/dev/net/tun", R_OK | W_OK) != 0)
    return failErrno(errno, "no /dev/net/tun for the delay line");
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"ip", "tuntap", "add", "dev", veth_host_, "mode", "tun"},
           {"ip", "tuntap", "add", "dev", tun_ns, "mode", "tun"},
           {"ip", "link", "set", tun_ns, "netns", netns_},
           {"ip", "addr", "add", client_addr_ + "/30", "dev", veth_host_},
           {"ip", "link", "set", veth_host_, "up"},
           {"ip", "-n", netns_, "addr", "add", server_addr_ + "/30", "dev", tun_ns},
           {"ip", "-n", netns_, "link", "set", tun_ns, "up"},
           {"ip", "-n", netns_, "link", "set", "lo", "up"},
       }) {
    if (auto st = must(argv); !st) return st;
  }
  const std::string log = dir_ + "/delayline.log";
  UniqueFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out) return failErrno(errno, "open " + log);
  const std::string one_way =
      std::to_string(static_cast<double>(options_.added_round_trip.count()) / 2000.0);
  auto pid = spawn({HOARD_DELAYLINE_PATH, one_way, veth_host_, tun_ns, "/run/netns/" + netns_},
                   out.get());
  if (!pid) return tl::unexpected(pid.error());
  delay_line_pid_ = *pid;
  if (!waitFor([&] { return readFileBytes(log).find("ready") != std::string::npos ||
                            exited(delay_line_pid_); },
               10s)) {
    return fail(ErrorCode::kIo, "the delay line did not start: " + readFileBytes(log));
  }
  if (readFileBytes(log).find("ready") == std::string::npos) {
    delay_line_pid_ = -1;
    return fail(ErrorCode::kIo, "the delay line failed: " + readFileBytes(log));
  }
  latency_method_ = "tun delay line";
  return {};
}

double SshfsHarness::measureRoundTripMs(int samples) {
  if (!probe_pool_) {
    remote::WorkerPool::Options o;
    o.workers = 2;
    o.thread_name = "e2e-probe";
    probe_pool_ = std::make_shared<remote::WorkerPool>(o);
  }
  std::string mp = mount_point_;
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    auto r = probe_pool_->run<double>("e2e round trip", 5s,
                                      [mp](const remote::ProgressFn&) -> Result<double> {
                                        struct statfs sf;
                                        auto t0 = Clock::now();
                                        if (::statfs(mp.c_str(), &sf) != 0)
                                          return failErrno(errno, "statfs " + mp);
                                        std::chrono::duration<double, std::milli> d =
                                            Clock::now() - t0;
                                        return d.count();
                                      });
    if (!r) return -1;
    ms.push_back(*r);
  }
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? -1 : ms[ms.size() / 2];
}

Status SshfsHarness::spawnSshd() {
  std::vector<std::string> argv;
  if (!netns_.empty()) {
    // nsenter switches the network namespace only: `ip netns exec` would also
    // give sshd a mount namespace of its own, which would then pin a copy of
    // our sshfs mount and keep it alive after we unmount it.
    argv = {"nsenter", "--net=/run/netns/" + netns_};
  }
  for (const auto& a : {std::string("/usr/sbin/sshd"), std::string("-D"), std::string("-f"),
                        sshd_config_, std::string("-E"), sshd_log_}) {
    argv.push_back(a);
  }
  UniqueFd log(
      ::open((dir_ + "/sshd.stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return failErrno(errno, "open sshd.stderr");
  auto pid = spawn(argv, log.get());
  if (!pid) return tl::unexpected(pid.error());
  sshd_pid_ = *pid;
  return {};
}

Status SshfsHarness::startServer() {
  if (sshd_pid_ > 0) return {};
  if (link_cut_ && cut_mode_ == CutMode::kKillServer) return {};  // restoreLink() starts it
  // sshd writes its pid file once it listens; with the link cut (blackhole)
  // that is all we can see from here.
  const std::string pid_file = dir_ + "/sshd.pid";
  ::unlink(pid_file.c_str());
  if (auto st = spawnSshd(); !st) return st;
  bool gone = false;
  bool up = waitFor(
      [&] {
        if (exited(sshd_pid_)) return gone = true;
        if (link_cut_) return pathExists(pid_file);
        return canConnect(server_addr_, port_);
      },
      30s, 50ms);
  if (!up || gone) {
    if (!gone) {
      ::kill(sshd_pid_, SIGKILL);
      reap(sshd_pid_, 10s);
    }
    sshd_pid_ = -1;
    return fail(ErrorCode::kIo, "sshd did not come up on " + server_addr_ + ":" +
                                    std::to_string(port_) + " (see its log)");
  }
  return {};
}

std::vector<pid_t> SshfsHarness::sshdProcesses() const {
  std::vector<pid_t> out;
  if (sshd_pid_ > 0) {
    out.push_back(sshd_pid_);
    for (const auto& p : descendantsOf(sshd_pid_)) out.push_back(p.pid);
  }
  if (!netns_.empty()) {
    // Sessions orphaned by an earlier kill of the listener are still in the
    // namespace.
    auto pids = runCommand({"ip", "netns", "pids", netns_}, 10s);
    std::istringstream ps(pids.output);
    long p;
    while (ps >> p) out.push_back(static_cast<pid_t>(p));
  }
  return out;
}

Status SshfsHarness::killServer() {
  if (hung_) resumeServer();
  for (pid_t p : sshdProcesses()) ::kill(p, SIGKILL);
  if (sshd_pid_ > 0) reap(sshd_pid_, 10s);
  sshd_pid_ = -1;
  return {};
}

Status SshfsHarness::signalSftpServers(int sig) {
  if (sshd_pid_ <= 0) return fail(ErrorCode::kInvalidArgument, "sshd is not running");
  int n = 0;
  for (const auto& p : descendantsOf(sshd_pid_)) {
    if (p.cmdline.find("internal-sftp") != std::string::npos) {
      ::kill(p.pid, sig);
      ++n;
    }
  }
  if (n == 0) return fail(ErrorCode::kNotFound, "no sftp server process under sshd");
  return {};
}

Status SshfsHarness::hangServer() {
  auto st = signalSftpServers(SIGSTOP);
  if (st) hung_ = true;
  return st;
}

Status SshfsHarness::resumeServer() {
  hung_ = false;
  if (sshd_pid_ <= 0) return {};
  for (const auto& p : descendantsOf(sshd_pid_)) ::kill(p.pid, SIGCONT);
  return {};
}

Status SshfsHarness::cutLink() {
  if (link_cut_) return {};
  if (cut_mode_ == CutMode::kBlackholeRoute) {
    // Inside the namespace only: sshd's packets to the client vanish, the
    // client's still arrive and are never answered. Nothing tells the
    // client; it has to notice (ServerAlive) as it would on a real network.
    if (auto st = must({"ip", "-n", netns_, "route", "add", "blackhole", client_addr_ + "/32"});
        !st) {
      return st;
    }
  } else if (auto st = killServer(); !st) {
    return st;
  }
  link_cut_ = true;
  return {};
}

Status SshfsHarness::restoreLink() {
  if (!link_cut_) return {};
  link_cut_ = false;
  if (cut_mode_ == CutMode::kBlackholeRoute) {
    return must({"ip", "-n", netns_, "route", "del", "blackhole", client_addr_ + "/32"});
  }
  return startServer();
}

bool SshfsHarness::isMounted() const {
  auto mounts = remote::readMountinfo("/proc/self/mountinfo");
  if (!mounts) return false;
  for (const auto& m : *mounts) {
    if (m.mount_point == mount_point_ && m.fstype == "fuse.sshfs") return true;
  }
  return false;
}

std::vector<std::string> SshfsHarness::sshArgv() const {
  return {"ssh", "-F", "/dev/null", "-i", client_key_, "-p", std::to_string(port_),
          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
          "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"};
}

Status SshfsHarness::mount() {
  if (isMounted()) return {};
  sshfs_log_ = dir_ + "/sshfs-" + std::to_string(++mounts_) + ".log";
  std::string opts =
      "reconnect,ServerAliveInterval=1,ServerAliveCountMax=2,ConnectTimeout=3,"
      "StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes,LogLevel=ERROR,"
      "IdentityFile=" +
      client_key_ + ",port=" + std::to_string(port_);
  for (const auto& o : options_.extra_mount_options) opts += "," + o;
  std::vector<std::string> argv = {
      "sshfs",     "-f", "-F", "/dev/null", "-o", opts, "root@" + server_addr_ + ":" + export_dir_,
      mount_point_};
  UniqueFd log(::open(sshfs_log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log) return failErrno(errno, "open " + sshfs_log_);
  auto pid = spawn(argv, log.get());
  if (!pid) return tl::unexpected(pid.error());
  sshfs_pid_ = *pid;
  bool ok = waitFor([&] { return isMounted() || exited(sshfs_pid_); }, 60s, 50ms);
  if (!ok || !isMounted()) {
    if (processAlive(sshfs_pid_)) {
      ::kill(sshfs_pid_, SIGKILL);
      reap(sshfs_pid_, 10s);
    }
    sshfs_pid_ = -1;
    return fail(ErrorCode::kIo, "sshfs did not mount '" + join(argv) + "'");
  }
  return {};
}

Status SshfsHarness::unmount() {
  Status result;
  if (isMounted()) {
    auto r = runCommand({"fusermount3", "-u", mount_point_}, 30s);
    if (r.exit_code != 0) r = runCommand({"fusermount3", "-u", "-z", mount_point_}, 30s);
    if (r.exit_code != 0) r = runCommand({"umount", "-l", mount_point_}, 30s);
    if (r.exit_code != 0) {
      result = fail(ErrorCode::kIo, "could not unmount '" + mount_point_ + "': " + r.output);
    }
  }
  if (sshfs_pid_ > 0) {
    // sshfs exits once unmounted; killing it aborts any request still stuck
    // in the kernel (its callers get ENOTCONN instead of hanging on).
    if (!waitFor([&] { return exited(sshfs_pid_); }, 10s, 20ms)) {
      ::kill(sshfs_pid_, SIGKILL);
      reap(sshfs_pid_, 10s);
    }
    sshfs_pid_ = -1;
  }
  return result;
}

bool SshfsHarness::waitUntilReachable(std::chrono::milliseconds timeout) {
  if (!probe_pool_) {
    remote::WorkerPool::Options o;
    o.workers = 2;
    o.thread_name = "e2e-probe";
    probe_pool_ = std::make_shared<remote::WorkerPool>(o);
  }
  std::string mp = mount_point_;
  return waitFor(
      [&] {
        if (!isMounted()) return false;
        auto r = probe_pool_->run<bool>("e2e reachability", 5s,
                                        [mp](const remote::ProgressFn&) -> Result<bool> {
                                          struct statfs sf;
                                          if (::statfs(mp.c_str(), &sf) != 0) {
                                            return failErrno(errno, "statfs " + mp);
                                          }
                                          return sf.f_type == kFuseSuperMagic;
                                        });
        return r && *r;
      },
      timeout, 100ms);
}

long SshfsHarness::sftpRequests(const std::string& type) const {
  const auto& o = options_.extra_mount_options;
  if (std::find(o.begin(), o.end(), "sshfs_debug") == o.end()) return -1;
  // sshfs_debug logs "[00042] LSTAT" as each request goes out.
  std::ifstream in(sshfs_log_);
  long n = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 9 || line[0] != '[') continue;
    size_t close = line.find("] ");
    if (close == std::string::npos) continue;
    std::string_view op = std::string_view(line).substr(close + 2);
    if (op.empty() || op[0] < 'A' || op[0] > 'Z') continue;
    if (type.empty() || op.substr(0, op.find(' ')) == type) ++n;
  }
  return n;
}

std::string SshfsHarness::logs() const {
  std::string s;
  if (!sshd_log_.empty()) s += "--- sshd log:\n" + tail(sshd_log_) + "\n";
  if (!dir_.empty()) s += "--- sshd stderr:\n" + tail(dir_ + "/sshd.stderr") + "\n";
  if (!sshfs_log_.empty()) s += "--- sshfs log:\n" + tail(sshfs_log_) + "\n";
  return s;
}

void SshfsHarness::tearDown() {
  if (dir_.empty()) return;
  // Unstick everything first, so no request stays blocked in the kernel.
  if (hung_) resumeServer();
  if (link_cut_ && cut_mode_ == CutMode::kBlackholeRoute) restoreLink();
  if (auto st = unmount(); !st) std::cerr << "hoard e2e teardown: " << st.error().message() << "\n";
  killServer();
  if (!netns_.empty()) {
    for (pid_t p : sshdProcesses()) ::kill(p, SIGKILL);
    runCommand({"ip", "netns", "delete", netns_}, 10s);  // takes the veth pair with it
  }
  if (!veth_host_.empty()) {
    auto links = runCommand({"ip", "link", "show", veth_host_}, 10s);
    if (links.exit_code == 0) runCommand({"ip", "link", "delete", veth_host_}, 10s);
  }
  if (delay_line_pid_ > 0) {
    ::kill(delay_line_pid_, SIGTERM);
    reap(delay_line_pid_, 10s);
    delay_line_pid_ = -1;
  }
  probe_pool_.reset();
  // Never remove through a live mount.
  if (!isMounted()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } else {
    std::cerr << "hoard e2e teardown: '" << mount_point_ << "' is still mounted; left " << dir_
              << "\n";
  }
  dir_.clear();
}

// ---------------------------------------------------------------------------

std::unique_ptr<SshfsHarness> SshfsTest::harness_;
std::string SshfsTest::setup_error_;

std::vector<std::string> advisedMountOptions() {
  // Without these, sshfs answers stat from its own cache (20 s) and the
  // kernel's (1 s): a third-party edit stays invisible and a compare-and-swap
  // replace overwrites it (see README.md). hoard needs an honest stat.
  std::vector<std::string> options = {"dir_cache=no", "attr_timeout=0", "entry_timeout=0"};
  // HOARD_E2E_SSHFS_OPTIONS replaces them (comma-separated), e.g. to add
  // `debug` and count the FUSE requests a pass makes.
  if (const char* extra = std::getenv("HOARD_E2E_SSHFS_OPTIONS"); extra != nullptr) {
    options.clear();
    std::istringstream in(extra);
    std::string o;
    while (std::getline(in, o, ',')) {
      if (!o.empty()) options.push_back(o);
    }
  }
  return options;
}

namespace {

Result<std::unique_ptr<SshfsHarness>> startDefaultHarness() {
  SshfsHarness::Options options;
  options.extra_mount_options = advisedMountOptions();
  return SshfsHarness::start(options);
}

}  // namespace

bool SshfsTest::used_ = false;

void SshfsTest::SetUpTestSuite() {
  setup_error_.clear();
  used_ = false;
  auto h = startDefaultHarness();
  if (!h) {
    setup_error_ = h.error().toString();
    return;
  }
  harness_ = std::move(*h);
  if (harness_->cutMode() == SshfsHarness::CutMode::kKillServer) {
    std::cerr << "hoard e2e: link cuts kill sshd (" << harness_->fallbackReason() << ")\n";
  }
}

void SshfsTest::TearDownTestSuite() { harness_.reset(); }

SshfsTest::SshfsTest() {
  // ctest runs one test per process; run directly, the tests of a suite
  // share the process, and each still gets a fresh server, export and mount
  // (sshfs caches names, so reusing an export across tests would couple them).
  // Done here, not in SetUp, because derived fixtures' members take the
  // mount's path when they are constructed.
  if (used_ && harness_ != nullptr) {
    harness_.reset();
    auto h = startDefaultHarness();
    if (h) {
      harness_ = std::move(*h);
    } else {
      setup_error_ = h.error().toString();
    }
  }
  used_ = true;
}

const std::string& SshfsTest::mountPath() {
  static const std::string kNone = "/nonexistent-hoard-e2e-mount";
  return harness_ ? harness_->mountPath() : kNone;
}

std::string SshfsTest::serverPath(const std::string& rel) {
  return harness_ ? harness_->serverPath(rel) : "/nonexistent-hoard-e2e-export/" + rel;
}

void SshfsTest::SetUp() {
  ASSERT_TRUE(harness_ != nullptr) << "the sshfs harness did not start: " << setup_error_;
  ASSERT_TRUE(harness_->isMounted()) << harness_->logs();
}

void SshfsTest::TearDown() {
  if (!harness_) return;
  harness_->resumeServer();
  harness_->restoreLink();
  harness_->startServer();  // a test may have killed it and stopped there
  if (!harness_->isMounted()) harness_->mount();
  EXPECT_TRUE(harness_->waitUntilReachable()) << "the mount did not come back\n"
                                              << harness_->logs();
}

}  // namespace hoard::e2e
