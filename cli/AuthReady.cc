// SPDX-License-Identifier: MIT
#include "AuthReady.h"

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "Output.h"

namespace hoard::cli {

using nlohmann::json;

namespace {

// Runs `command` with /bin/sh -c in this terminal (kinit, ssh-add may ask
// for a password); its exit status, 128 + signal, or -1 if it cannot start.
int runInTerminal(const std::string& command) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

// Waits for the renewal's job and says how it went.
int finishRenewal(Agent& a, uint64_t job, const std::string& share) {
  JobResult r = a.waitForJob(job, [](uint64_t, uint64_t, uint32_t, uint32_t) {});
  if (r.error == "org.hoard.Error.AuthenticationRequired") {
    std::cerr << "hoard: the remote of " << share << " still refuses hoard's credentials: "
              << r.message << "\n";
    return kFailed;
  }
  if (!r.error.empty()) {
    std::cerr << "hoard: " << share << ": after the renewal, the sync failed: " << r.message
              << "\n";
    return kFailed;
  }
  std::cout << share << ": the credentials work; " << r.message << "\n";
  if (a.GetStatus(share).at("open_conflicts").get<uint32_t>() > 0) {
    std::cout << "conflicts wait for a decision: `hoard conflicts " << share << "`\n";
    return kConflictsRemain;
  }
  return kOk;
}

int authShare(Agent& a, const std::string& share, bool detached) {
  auto st = a.GetStatus(share);
  std::string command;
  if (auto it = st.find("auth_command"); it != st.end()) command = it->second.get<std::string>();
  std::map<std::string, sdbus::Variant> options;
  if (detached) {
    return finishRenewal(a, a.Renew(share, options), share);
  }
  if (command.empty()) {
    std::cout << share << " has no auth_command in the config (hoard-config(5)); renew the "
                          "credentials yourself (kinit, ssh-add...). Probing the remote now.\n";
  } else {
    std::cout << share << ": running " << command << "\n";
    std::cout.flush();
    int rc = runInTerminal(command);
    if (rc != 0) {
      std::cerr << "hoard: the auth_command `" << command << "` of " << share
                << (rc < 0 ? " could not be run" : " exited with status " + std::to_string(rc))
                << "; the credentials were not renewed\n";
      return kFailed;
    }
  }
  options["run_command"] = sdbus::Variant(false);
  return finishRenewal(a, a.Renew(share, options), share);
}

json readyJson(Agent& a, const std::string& share) {
  auto st = a.GetStatus(share);
  json problems = json::array();
  for (const auto& p : a.CheckReady(share)) {
    json one = {{"reason", std::get<0>(p)}, {"message", std::get<3>(p)}};
    putPath(one, "path", str(std::get<1>(p)));
    if (!std::get<2>(p).empty()) one["error"] = std::get<2>(p);
    problems.push_back(one);
  }
  return {{"share", share},
          {"state", st.at("state").get<std::string>()},
          {"ready", problems.empty()},
          {"problems", problems}};
}

void printReady(const json& j) {
  const std::string share = j["share"].get<std::string>();
  if (j["ready"].get<bool>()) {
    std::cout << share << ": offline-ready (" << j["state"].get<std::string>()
              << "): everything pinned is in the cache, every change is on the server\n";
    return;
  }
  std::cout << share << ": NOT offline-ready (" << j["state"].get<std::string>() << "), "
            << j["problems"].size() << " problem(s):\n";
  for (const auto& p : j["problems"])
    std::cout << "  " << p["reason"].get<std::string>() << ": " << p["message"].get<std::string>()
              << "\n";
}

}  // namespace

void addAuthStatus(json& j, const std::map<std::string, sdbus::Variant>& st) {
  if (auto it = st.find("auth_required"); it != st.end()) j["auth_required"] = it->second.get<bool>();
  if (auto it = st.find("auth_expiry"); it != st.end())
    j["auth_expiry"] = it->second.get<std::string>();
  if (auto it = st.find("auth_expires_in_s"); it != st.end())
    j["auth_expires_in_s"] = it->second.get<int64_t>();
}

std::string authStatusText(const std::string& share, const json& j) {
  std::string out;
  if (j.value("auth_required", false))
    out += "  the remote refuses hoard's credentials; work goes on in the cache. Renew them: "
           "`hoard auth " + share + "`\n";
  if (j.contains("auth_expiry"))
    out += "  the credentials " + j["auth_expiry"].get<std::string>() + "\n";
  return out;
}

void addAuthReadyCommands(CLI::App& app, Commands c) {
  static std::string share;
  static bool detached = false;
  auto* auth = app.add_subcommand(
      "auth", "renew a share's credentials (its auth_command, here), then reintegrate");
  auth->add_option("share", share)->required();
  auth->add_flag("--detached", detached,
                 "let hoardd run the auth_command (no terminal; its output goes to hoardd's log)");
  auth->callback([c] { c.action = [](Agent& a) { return authShare(a, share, detached); }; });

  auto* ready = app.add_subcommand(
      "ready", "is my work offline-ready? (exit 0 yes, 4 no, listing what is not and why)");
  ready->add_option("share", share);
  ready->add_flag("--json", c.as_json, "print JSON (schemas/cli/ready.schema.json)");
  ready->callback([c] {
    c.action = [as_json = &c.as_json](Agent& a) {
      std::vector<std::string> names = share.empty() ? a.Shares() : std::vector{share};
      json out = json::array();
      bool all = true;
      for (const auto& n : names) {
        json j = readyJson(a, n);
        all = all && j["ready"].get<bool>();
        if (!*as_json) printReady(j);
        out.push_back(j);
      }
      if (*as_json) std::cout << out.dump(2) << "\n";
      return all ? kOk : kNotReady;
    };
  });
}

}  // namespace hoard::cli
