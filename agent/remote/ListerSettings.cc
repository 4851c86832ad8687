// SPDX-License-Identifier: MIT
#include "remote/ListerSettings.h"

#include <sstream>

namespace hoard::remote {

namespace {

// POSIX shell single quotes: ssh hands the remote command to a shell.
std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> splitWords(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

Result<std::vector<std::string>> listerCommand(const ListerSettings& s) {
  if (!s.spec.empty() && s.spec[0] == '/') return std::vector<std::string>{s.command, s.spec};
  const std::string scheme = "ssh://";
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument,
                "lister \"" + s.spec + "\": " + why +
                    " (expected ssh://[USER@]HOST[:PORT]/PATH or an absolute PATH)");
  };
  if (s.spec.rfind(scheme, 0) != 0) return bad("not an ssh:// address");
  std::string rest = s.spec.substr(scheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) return bad("no host, or no path after it");
  std::string host = rest.substr(0, slash), path = rest.substr(slash);
  std::vector<std::string> argv = splitWords(s.rsh);
  if (argv.empty()) return bad("lister_rsh is empty");
  if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    std::string port = host.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
      return bad("the port \"" + port + "\" is not a number");
    argv.insert(argv.end(), {"-p", port});
    host = host.substr(0, colon);
  }
  // A daemon has nobody to type a password: fail instead of asking.
  argv.insert(argv.end(), {"-o", "BatchMode=yes"});
  if (!s.control_path.empty())
    argv.insert(argv.end(), {"-o", "ControlMaster=auto", "-o", "ControlPath=" + s.control_path,
                             "-o", "ControlPersist=300"});
  argv.insert(argv.end(), {"--", host,
                           shellQuote(s.command) + " " + shellQuote(path)});
  return argv;
}

std::string sshControlPath(const std::string& runtime_dir, const std::string& state_dir,
                           std::string* why) {
  // sockaddr_un's 108 bytes less the NUL; "%C" becomes 40 hex digits and ssh
  // binds "PATH.XXXXXXXXXXXXXXXX" before renaming it into place.
  constexpr size_t kMax = 107, kExpansion = 40 - 2 + 17;
  for (const std::string& dir : {runtime_dir, state_dir}) {
    if (dir.empty()) continue;
    std::string path = dir + "/ssh-%C";
    if (path.size() + kExpansion <= kMax) return path;
  }
  *why = "ssh connection sharing is off: a control socket in '" +
         (runtime_dir.empty() ? state_dir : runtime_dir) + "' would be longer than the " +
         std::to_string(kMax) + " bytes a Unix socket's path may have";
  return {};
}

}  // namespace hoard::remote
