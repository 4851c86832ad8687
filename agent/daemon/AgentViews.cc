// SPDX-License-Identifier: MIT
// org.hoard.Agent1: on-demand shares. Their FUSE views (ShareView.h) are
// mounted once their engine runs, unmounted before it stops, and their
// misses listed.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/Clock.h"
#include "common/RelPath.h"
#include "daemon/Agent.h"
#include "daemon/BusArgs.h"
#include "daemon/Log.h"
#include "dbus/DbusErrors.h"

namespace hoard::daemon {

Status Agent::startView(const std::shared_ptr<Engine>& e, const journal::ShareRecord& share) {
  ShareViewPolicy policy = options_.default_view;
  if (auto p = options_.views.find(share.name); p != options_.views.end()) policy = p->second;
  // A placeholder a program changes is hoarded first. The view calls on a
  // thread of its own that may outlive it: no reference that keeps the
  // engine (and so the view) alive past its stop.
  std::weak_ptr<Engine> weak = e;
  ShareViewHooks hooks;
  hooks.hydrate = [weak, name = share.name](const RelPath& path) -> Status {
    auto engine = weak.lock();
    if (!engine || !engine->engine)
      return fail(ErrorCode::kAborted, "share \"" + name + "\" is stopping");
    return engine->engine->hydrate(path);
  };
  // Progress of the data programs wait for, on the bus (a file manager's bar).
  hooks.on_fetch = [this, name = share.name](const view::FetchProgress& p) {
    signal([&] { emitFetchProgress(name, bytes(p.path), p.program, p.bytes_done, p.bytes_total); });
  };
  // offline_reads "ask": the question for a prompt, and its end.
  hooks.on_ask = [this, name = share.name](const view::ReadQuestion& q) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(q.deadline).count();
    signal([&] {
      emitReadWanted(q.id, name, bytes(q.path), q.program, static_cast<uint32_t>(secs));
    });
  };
  hooks.on_asked = [this, name = share.name](uint64_t id, const std::string& outcome) {
    signal([&] { emitReadQuestionOver(id, name, outcome); });
  };
  hooks.on_always_fail = [this](const std::string& program) { rememberAlwaysFail(program); };
  // What programs change through the view goes to the change log as the
  // view made it (no inotify on the backing directory).
  hooks.changes = e->engine->changeFeed();
  auto v = ShareView::mount(journal_, journal_mu_, share, e->engine->remoteFs(),
                            partsDir(options_.state_dir, share.name), policy, std::move(hooks));
  if (!v) {
    Error err = v.error().withContext("share \"" + share.name + "\": on-demand view");
    {
      MutexLock lock(e->view_mu);
      e->view_error = err.message();
    }
    logMessage(3, err.message() + "; the share syncs what is pinned, but " +
                      displayPath(share.view_root) + " shows nothing until hoardd restarts",
               LogFields{share.name, {}, 0, dbus::errorName(err.code())});
    return tl::unexpected(err);
  }
  std::shared_ptr<ShareView> view = std::move(*v);
  {
    MutexLock lock(e->view_mu);
    e->view = view;
    e->view_error.clear();
  }
  // A state change or a listing the hooks saw before the view was set.
  view->stateChanged(e->engine->status().state);
  if (Status s = view->reloadListing(); !s)
    log(4, "share " + share.name + ": view listing: " + s.error().message());
  return {};
}

void Agent::returnBackingFiles(const journal::ShareRecord& rec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  size_t moved = 0, left = 0;
  for (const auto& entry : fs::directory_iterator(rec.cache_root, ec)) {
    fs::path to = fs::path(rec.view_root) / entry.path().filename();
    std::error_code mv;
    if (fs::exists(fs::symlink_status(to, mv))) {
      ++left;  // never over something the user put there since
      continue;
    }
    fs::rename(entry.path(), to, mv);
    if (mv) {
      ++left;
      continue;
    }
    ++moved;
  }
  if (ec) left = 1;
  if (left == 0) {
    fs::remove(rec.cache_root, ec);
    log(5, "share " + rec.name + ": its " + std::to_string(moved) +
               " locally kept entries are back in " + displayPath(rec.view_root));
  } else {
    logMessage(4,
               "share " + rec.name + ": " + std::to_string(left) +
                   " locally kept entries could not be moved to " + displayPath(rec.view_root) +
                   " (another filesystem, or a name taken there); they are in " +
                   displayPath(rec.cache_root),
               LogFields{rec.name, {}, 0, {}});
  }
  fs::remove_all(partsDir(options_.state_dir, rec.name), ec);
}

std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, int64_t, std::string>>
Agent::ListMisses(const std::string& share) {
  return call("ListMisses", [&] {
    journal::ShareRecord rec = shareRecord(share);
    std::vector<journal::MissRecord> misses;
    {
      MutexLock lock(journal_mu_);
      misses = orRaise(journal_.misses(rec.id));
    }
    std::vector<sdbus::Struct<std::vector<uint8_t>, std::string, int64_t, std::string>> out;
    out.reserve(misses.size());
    for (const auto& m : misses) out.emplace_back(bytes(m.path), m.program, m.at_ns, m.outcome);
    return out;
  });
}

std::vector<std::shared_ptr<ShareView>> Agent::mountedViews() {
  std::vector<std::shared_ptr<Engine>> engines;
  {
    MutexLock lock(mu_);
    for (const auto& [name, e] : engines_) engines.push_back(e);
  }
  std::vector<std::shared_ptr<ShareView>> out;
  for (const auto& e : engines)
    if (auto v = e->currentView()) out.push_back(std::move(v));
  return out;
}

void Agent::refreshReadAnswers() {
  std::vector<journal::ReadAnswerRecord> answers;
  {
    MutexLock lock(journal_mu_);
    auto got = journal_.readAnswers();
    if (!got) {
      log(3, "read answers: " + got.error().message());
      return;
    }
    answers = std::move(*got);
  }
  for (const auto& v : mountedViews()) v->setAnsweredPolicies(answeredPolicies(answers));
}

void Agent::rememberAlwaysFail(const std::string& program) {
  {
    MutexLock lock(journal_mu_);
    if (Status s = journal_.putReadAnswer(
            {program, "error", epochNs(SystemClock::instance().wallNow())}); !s) {
      logMessage(3, "cannot keep the answer \"always fail\" for " + program + ": " +
                        s.error().message() + "; it holds until hoardd stops",
                 LogFields{{}, {}, 0, dbus::errorName(s.error().code())});
      return;
    }
  }
  log(5, "reads of missing data by " + program + " now fail at once offline (answered)");
  refreshReadAnswers();  // every share's view, not only the one that asked
}

void Agent::AnswerRead(const uint64_t& question, const std::string& answer) {
  call("AnswerRead", [&] {
    view::ReadAnswer a;
    if (answer == "wait")
      a = view::ReadAnswer::kWait;
    else if (answer == "fail")
      a = view::ReadAnswer::kFail;
    else if (answer == "always-fail")
      a = view::ReadAnswer::kAlwaysFail;
    else
      raise(Error(ErrorCode::kInvalidArgument, "answer \"" + answer +
                                                   "\": expected \"wait\", \"fail\" or "
                                                   "\"always-fail\""));
    for (const auto& v : mountedViews()) {
      Status s = v->answer(question, a);
      if (s) return;
      if (s.error().code() != ErrorCode::kNotFound) raise(s.error());
    }
    raise(Error(ErrorCode::kNotFound, "no read waits for an answer to question " + std::to_string(question) +
                               " (it is over: the share came back, the read ended or the "
                               "deadline passed)"));
  });
}

std::vector<sdbus::Struct<std::string, std::string, int64_t>> Agent::ListReadAnswers() {
  return call("ListReadAnswers", [&] {
    std::vector<journal::ReadAnswerRecord> answers;
    {
      MutexLock lock(journal_mu_);
      answers = orRaise(journal_.readAnswers());
    }
    std::vector<sdbus::Struct<std::string, std::string, int64_t>> out;
    for (const auto& a : answers) out.emplace_back(a.program, a.policy, a.at_ns);
    return out;
  });
}

void Agent::ForgetReadAnswer(const std::string& program) {
  call("ForgetReadAnswer", [&] {
    {
      MutexLock lock(journal_mu_);
      orRaise(journal_.forgetReadAnswer(program));
    }
    refreshReadAnswers();
  });
}

}  // namespace hoard::daemon
