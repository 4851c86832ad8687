// SPDX-License-Identifier: MIT
#include "view/ProgramPolicy.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace hoard::view {

namespace {

constexpr size_t kCommLen = 15;  // TASK_COMM_LEN - 1

std::string firstLine(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string slurp(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool endsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

std::vector<std::string> unitsOfPath(std::string_view path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < path.size()) {
    size_t slash = path.find('/', at);
    std::string_view part = path.substr(at, slash == std::string_view::npos ? path.npos : slash - at);
    if (endsWith(part, ".service") || endsWith(part, ".scope")) out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> unitsOfCgroup(std::string_view text) {
  std::optional<std::string_view> unified, named;
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    std::string_view line = text.substr(at, nl == std::string_view::npos ? text.npos : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    // "hierarchy-ID:controllers:path"
    size_t c1 = line.find(':');
    size_t c2 = c1 == line.npos ? line.npos : line.find(':', c1 + 1);
    if (c2 == line.npos) continue;
    std::string_view id = line.substr(0, c1), controllers = line.substr(c1 + 1, c2 - c1 - 1);
    if (id == "0" && controllers.empty()) unified = line.substr(c2 + 1);
    if (controllers == "name=systemd") named = line.substr(c2 + 1);
  }
  // On a hybrid machine the unified line is "/" and systemd's is the v1 one.
  std::vector<std::string> units = unified ? unitsOfPath(*unified) : std::vector<std::string>{};
  if (units.empty() && named) units = unitsOfPath(*named);
  return units;
}

ReadingProcess readingProcess(pid_t pid) {
  ReadingProcess p;
  std::string proc = "/proc/" + std::to_string(pid);
  p.comm = firstLine(proc + "/comm");
  char buf[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    std::string exe(buf, static_cast<size_t>(n));
    if (endsWith(exe, " (deleted)")) exe.resize(exe.size() - 10);
    p.exe = exe.substr(exe.rfind('/') + 1);
  }
  p.units = unitsOfCgroup(slurp(proc + "/cgroup"));
  return p;
}

std::optional<MissPolicy> policyFor(const std::map<std::string, MissPolicy>& list,
                                    const ReadingProcess& p) {
  if (list.empty()) return std::nullopt;
  for (auto u = p.units.rbegin(); u != p.units.rend(); ++u)
    if (auto it = list.find(*u); it != list.end()) return it->second;
  if (!p.exe.empty())
    if (auto it = list.find(p.exe); it != list.end()) return it->second;
  if (p.comm.empty()) return std::nullopt;
  if (auto it = list.find(p.comm); it != list.end()) return it->second;
  if (p.comm.size() == kCommLen) {
    // A longer name the kernel cut: the keys that begin with the comm.
    auto it = list.lower_bound(p.comm);
    if (it != list.end() && it->first.rfind(p.comm, 0) == 0) return it->second;
  }
  return std::nullopt;
}

const std::map<std::string, MissPolicy>& defaultProgramPolicies() {
  static const std::map<std::string, MissPolicy> list = [] {
    std::map<std::string, MissPolicy> m;
    for (const char* name : {
             // GNOME: thumbnailers, the tracker/localsearch indexers, previews.
             "gdk-pixbuf-thumbnailer", "gnome-thumbnail-factory", "totem-video-thumbnailer",
             "evince-thumbnailer", "gnome-epub-thumbnailer", "gnome-mobi-thumbnailer",
             "ffmpegthumbnailer", "gsf-office-thumbnailer", "tracker-miner-fs-3",
             "tracker-extract-3", "localsearch-3", "localsearch-extractor-3", "sushi",
             // KDE: baloo and the KIO thumbnail worker.
             "baloo_file", "baloo_file_extractor", "kioworker", "thumbnail.so",
             // Xfce and others.
             "tumblerd", "updatedb", "plocate-build", "mlocate",
         })
      m.emplace(name, MissPolicy::kError);
    return m;
  }();
  return list;
}

}  // namespace hoard::view
