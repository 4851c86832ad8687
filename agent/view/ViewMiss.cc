// SPDX-License-Identifier: MIT
// The miss policy: what a read (or a change) of data that is not local does
// while the share is offline. kError fails at once; kWait holds the read
// until the share is online, the deadline passes or the reader gives up;
// kAsk waits the same way while a person is asked (ViewOptions::on_ask),
// whose "fail" ends the wait at once and whose "always fail" also makes
// every later read of that program fail at once.

#define FUSE_USE_VERSION 314
#include <fuse3/fuse.h>

#include <atomic>
#include <chrono>
#include <fstream>

#include "common/Clock.h"
#include "view/ProgramPolicy.h"
#include "view/ViewCore.h"

namespace hoard::view {

namespace {

// Question ids, unique in the process: hoardd answers them across views.
std::atomic<uint64_t> next_question{1};

// The name "always fail" remembers: the executable's, else the comm.
std::string programKey(const ReadingProcess& p) { return p.exe.empty() ? p.comm : p.exe; }

}  // namespace

int64_t nowNs() { return epochNs(SystemClock::instance().wallNow()); }

std::string programOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

int ViewCore::miss(const RelPath& rel) {
  ReadingProcess proc;
  fuse_context* ctx = fuse_get_context();
  if (ctx && ctx->pid > 0) proc = readingProcess(ctx->pid);
  // An answer the person gave wins over the config and the shipped list.
  std::optional<MissPolicy> policy;
  {
    MutexLock lock(mu_);
    if (!answered_.empty()) policy = policyFor(answered_, proc);
  }
  if (!policy && !opts.program_policies.empty()) policy = policyFor(opts.program_policies, proc);
  if (!policy) policy = opts.policy;
  if (*policy == MissPolicy::kError) {
    report(rel, "failed");
    return -kMissErrno;
  }
  const uint64_t question =
      *policy == MissPolicy::kAsk && opts.on_ask ? joinQuestion(rel, programKey(proc)) : 0;
  auto deadline = std::chrono::steady_clock::now() + opts.wait_deadline;
  std::string outcome = "fetched";
  int r = 0;
  {
    MutexLock lock(mu_);
    while (!online_) {
      if (question != 0) {
        auto q = questions_.find(question);
        if (q != questions_.end() && q->second.answer && *q->second.answer != ReadAnswer::kWait) {
          outcome = "declined";
          r = -kMissErrno;
          break;
        }
      }
      if (stopping_ || fuse_interrupted()) {
        outcome = "interrupted";
        r = -EINTR;
        break;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        outcome = "timed-out";
        r = -kWaitTimeoutErrno;
        break;
      }
      // Polled: an interrupt from the kernel sets a flag, not our condition.
      online_cv_.waitUntil(mu_, std::min(deadline, now + std::chrono::milliseconds(50)));
    }
  }
  if (question != 0) leaveQuestion(question, outcome);
  report(rel, outcome);
  return r;
}

uint64_t ViewCore::joinQuestion(const RelPath& rel, const std::string& program) {
  ReadQuestion asked;
  {
    MutexLock lock(mu_);
    for (auto& [id, q] : questions_) {
      if (q.asked.path == rel && q.asked.program == program) {
        ++q.waiting;
        return id;
      }
    }
    asked = ReadQuestion{next_question++, rel, program, opts.wait_deadline};
    questions_[asked.id] = Question{asked, std::nullopt, 1};
  }
  opts.on_ask(asked);
  return asked.id;
}

void ViewCore::leaveQuestion(uint64_t id, const std::string& outcome) {
  {
    MutexLock lock(mu_);
    auto q = questions_.find(id);
    if (q == questions_.end() || --q->second.waiting > 0) return;
    questions_.erase(q);
  }
  if (opts.on_asked) opts.on_asked(id, outcome);
}

Status ViewCore::answer(uint64_t id, ReadAnswer a) {
  std::string program;
  {
    MutexLock lock(mu_);
    auto q = questions_.find(id);
    if (q == questions_.end())
      return fail(ErrorCode::kNotFound, "no read of share '" + opts.name +
                                            "' waits for an answer to question " +
                                            std::to_string(id) + " (it is over)");
    q->second.answer = a;
    if (a == ReadAnswer::kAlwaysFail) {
      program = q->second.asked.program;
      if (!program.empty()) answered_[program] = MissPolicy::kError;
    }
    online_cv_.notifyAll();
  }
  if (!program.empty() && opts.on_always_fail) opts.on_always_fail(program);
  return {};
}

void ViewCore::setAnsweredPolicies(std::map<std::string, MissPolicy> policies) {
  MutexLock lock(mu_);
  answered_ = std::move(policies);
}

void ViewCore::report(const RelPath& rel, const std::string& outcome) {
  if (!opts.on_miss) return;
  fuse_context* ctx = fuse_get_context();
  opts.on_miss(Miss{rel, ctx ? programOf(ctx->pid) : "", nowNs(), outcome});
}

}  // namespace hoard::view
