// SPDX-License-Identifier: MIT
#include "Complete.h"

#include <dirent.h>
#include <sdbus-c++/sdbus-c++.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "Client.h"
#include "Output.h"
#include "common/RelPath.h"

namespace hoard::cli {
namespace {

// Is hoardd running? Asked of the bus itself, so that completing never
// activates the daemon.
bool daemonRunning() {
  auto connection = sdbus::createSessionBusConnection();
  auto bus = sdbus::createProxy(*connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bool has = false;
  bus->callMethod("NameHasOwner")
      .onInterface("org.freedesktop.DBus")
      .withArguments(std::string("org.hoard.Agent1"))
      .storeResultsTo(has);
  return has;
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

void completePaths(Agent& agent, const std::string& prefix) {
  std::vector<std::string> roots;
  for (const auto& s : agent.ListShares()) roots.push_back(str(s.get<2>()));
  // The prefix as typed, and as an absolute path to compare with the roots.
  std::string abs = prefix.empty() ? std::filesystem::current_path().string() + "/"
                    : prefix.front() == '/'
                        ? prefix
                        : std::filesystem::current_path().string() + "/" + prefix;
  size_t slash = prefix.rfind('/');
  std::string typed_dir = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  std::string leaf = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
  std::string abs_dir = abs.substr(0, abs.rfind('/') + 1);
  bool inside = false;
  for (const std::string& r : roots) {
    if (abs_dir == r + "/" || startsWith(abs_dir, r + "/")) inside = true;
  }
  if (!inside) {
    for (const std::string& r : roots)
      if (startsWith(r, abs))
        std::cout << (prefix.front() == '/' ? r : prefix + r.substr(abs.size())) << "/\n";
    return;
  }
  DIR* d = ::opendir(abs_dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || !startsWith(n, leaf)) continue;
    struct stat st;
    bool dir = ::lstat((abs_dir + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::cout << typed_dir << n << (dir ? "/" : "") << "\n";
  }
  ::closedir(d);
}

}  // namespace

int complete(int argc, char** argv) {
  if (argc < 1) return kUsage;
  const std::string what = argv[0];
  if (what != "shares" && what != "conflicts" && what != "paths") return kUsage;
  try {
    if (!daemonRunning()) return kFailed;
    auto agent = Agent::connect();
    if (what == "shares") {
      for (const auto& s : agent->ListShares()) std::cout << s.get<0>() << "\n";
    } else if (what == "conflicts") {
      // "" lists the open conflicts of every share.
      for (const auto& c : agent->ListConflicts(argc >= 2 ? argv[1] : ""))
        std::cout << c.get<0>() << "\n";
    } else {
      completePaths(*agent, argc >= 2 ? argv[1] : "");
    }
    return kOk;
  } catch (const std::exception&) {
    return kFailed;  // a Tab press prints no error
  }
}

}  // namespace hoard::cli
