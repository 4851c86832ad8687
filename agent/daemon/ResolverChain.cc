// SPDX-License-Identifier: MIT
#include "daemon/ResolverChain.h"

#include <sys/mman.h>
#include <unistd.h>

#include "common/UniqueFd.h"
#include "sync/ConflictDetail.h"
#include "sync/GitAttributesFiles.h"
#include "sync/RepoDecision.h"

namespace hoard::daemon {

namespace {

resolvers::Version versionOf(const sync::SideSeen& s) {
  resolvers::Version v;
  v.type = s.type;
  v.size = s.size;
  v.mode = s.mode;
  v.mtime_ns = s.mtime_ns;
  v.hash = s.hash;
  v.symlink_target = s.symlink_target;
  return v;
}

Result<resolvers::Decision> ask(resolvers::Resolver& r, const resolvers::ConflictView& v,
                                const nlohmann::json& options) {
  try {
    return r.resolve(v, options);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, std::string("resolver threw: ") + e.what());
  }
}

// "rule 2 \"objects\"", or "rule 1 of share docs" for a share's own rule.
std::string ruleName(const resolvers::Rule& r) {
  std::string l = r.label();
  if (r.origin.find(": /shares/") != std::string::npos) {
    size_t at = r.origin.find(": /shares/") + 10;
    l += " of share " + r.origin.substr(at, r.origin.find("/rules", at) - at);
  }
  return l;
}

bool namesKind(const resolvers::Rule& r, ConflictKind k) {
  return r.kinds.count(k) != 0;
}

}  // namespace

struct ResolverChain::Opened {
  UniqueFd base, local, remote, output;
  std::unique_ptr<sync::RepoCopies> repo;  // a repo conflict: each side's copy
  resolvers::ConflictView view;
};

std::string ChainOutcome::label() const {
  std::string l(resolvers::decisionKindName(decision.kind));
  if (!resolver.empty()) l += " by " + resolver;
  if (!rule.empty()) l += " via " + rule;
  return l;
}

std::string ChainOutcome::summary() const {
  std::string s;
  if (!rule.empty()) s = rule + " -> ";
  s += resolver.empty() ? std::string("no resolver") : resolver;
  s += ": ";
  s += std::string(resolvers::decisionKindName(decision.kind));
  if (!decision.reason.empty()) s += " (" + decision.reason + ")";
  if (error) s += "; failed: " + error->message();
  return s;
}

ResolverChain::ResolverChain(journal::Journal& journal, Mutex& journal_mu, store::BaseStore& store,
                             std::string config_path)
    : journal_(journal),
      journal_mu_(journal_mu),
      store_(store),
      config_path_(std::move(config_path)) {
  resolvers::registerBuiltins(registry_);
}

Status ResolverChain::reload() {
  auto loaded = loadRules(config_path_, registry_);
  MutexLock lock(mu_);
  if (!loaded) {
    rules_ = LoadedRules{};
    rules_error_ = loaded.error();
    return tl::unexpected(loaded.error());
  }
  rules_ = std::move(*loaded);
  rules_error_.reset();
  return {};
}

std::optional<Error> ResolverChain::rulesError() const {
  MutexLock lock(mu_);
  return rules_error_;
}

size_t ResolverChain::ruleCount() const {
  MutexLock lock(mu_);
  return rules_.count();
}

std::vector<std::string> ResolverChain::rulesWarnings() const {
  MutexLock lock(mu_);
  std::vector<std::string> out = rules_.global.unknownResolvers(registry_);
  for (const auto& [name, set] : rules_.shares)
    for (auto& w : set.unknownResolvers(registry_)) out.push_back(std::move(w));
  return out;
}

void ResolverChain::setDefaultResolver(std::string name) {
  MutexLock lock(mu_);
  default_resolver_ = std::move(name);
}

std::string ResolverChain::defaultResolver() const {
  MutexLock lock(mu_);
  return default_resolver_;
}

void ResolverChain::leaveForAPerson(int64_t id) {
  MutexLock lock(mu_);
  for_a_person_.insert(id);
}

std::optional<ChainOutcome> ResolverChain::last(int64_t id) const {
  MutexLock lock(mu_);
  auto it = last_.find(id);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

Result<std::unique_ptr<ResolverChain::Opened>> ResolverChain::open(
    sync::ShareEngine& engine, const journal::ConflictRecord& c, const std::string& share,
    bool dry_run) const {
  auto o = std::make_unique<Opened>();
  sync::ConflictDetail d = sync::decodeDetail(c.detail);
  resolvers::ConflictView& v = o->view;
  v.id = c.id;
  v.share = share;
  v.path = c.path;
  v.kind = c.kind;
  v.base = versionOf(d.base);
  v.local = versionOf(d.local);
  v.remote = versionOf(d.remote);
  auto fdOf = [&](const std::optional<ContentHash>& h, UniqueFd& into) {
    if (!h) return -1;
    auto fd = store_.open(*h);
    if (!fd) return -1;  // not kept: the resolver sees no bytes
    into = std::move(*fd);
    return into.get();
  };
  v.base.fd = fdOf(c.base_object, o->base);
  v.local.fd = fdOf(c.local_object, o->local);
  v.remote.fd = fdOf(c.remote_object, o->remote);
  if (c.kind == ConflictKind::kRepo) {
    auto copies = engine.copyRepo(c.path);
    if (!copies) return tl::unexpected(copies.error());
    o->repo = std::move(*copies);
    v.local.tree = o->repo->local();
    v.remote.tree = o->repo->remote();
    v.base.tree = o->repo->base();
  }
  if (!dry_run) {
    int fd = ::memfd_create("hoard-merged", MFD_CLOEXEC);
    if (fd < 0) return failErrno(errno, "memfd_create for a merged result");
    o->output = UniqueFd(fd);
    v.output_fd = fd;
  }
  v.related = [&engine](const RelPath& p) -> std::optional<resolvers::Related> {
    auto sides = engine.lookSides(p);
    if (!sides) return std::nullopt;
    return resolvers::Related{sides->local, sides->remote, sides->resolution};
  };
  // Read when a resolver first asks (git-merge does), so a .gitattributes
  // that cannot be read fails that resolver, naming the file, and no other.
  v.git_attr = [&engine, path = c.path,
                attrs = std::shared_ptr<resolvers::GitAttributes>()](
                   const std::string& attr) mutable -> std::optional<std::string> {
    if (!attrs) {
      auto read = sync::readGitAttributes(engine.cacheFs(), path);
      if (!read) throw std::runtime_error(read.error().message());
      attrs = std::make_shared<resolvers::GitAttributes>(std::move(*read));
    }
    return attrs->lookup(path, attr);
  };
  return o;
}

Status ResolverChain::applyDecision(sync::ShareEngine& engine, const ChainOutcome& o,
                                    int merged_fd, const sync::RepoCopies* repo) {
  using resolvers::DecisionKind;
  sync::ConflictDecision d;
  d.label = o.label();
  d.resolver = o.resolver;
  d.rule = o.rule;
  // kMarkers is no name a person can ask for (resolutionFromName): it
  // carries a resolver's merge, and its label becomes the conflict's note.
  auto kind = o.decision.kind == DecisionKind::kMarkers
                  ? std::optional(sync::Resolution::kMarkers)
                  : sync::resolutionFromName(resolvers::decisionKindName(o.decision.kind));
  if (o.decision.kind == DecisionKind::kMarkers)
    d.label = o.decision.reason + "; the cache holds the merge with conflict markers (" +
              o.label() + ")";
  if (!kind)
    return fail(ErrorCode::kUnsupported,
                "the engine cannot apply a \"" +
                    std::string(resolvers::decisionKindName(o.decision.kind)) + "\" decision");
  d.kind = *kind;
  if (o.decision.kind == DecisionKind::kMerged || o.decision.kind == DecisionKind::kMarkers)
    d.merged_fd = merged_fd;
  if (o.decision.kind == DecisionKind::kMerged && repo != nullptr) {
    sync::carryRepoWrites(o.decision, *repo, d);
    // The history says what the merge did: every diverged ref by name.
    d.label = o.label() + ": " + o.decision.reason;
  }
  return engine.apply(o.id, d);
}

ChainOutcome ResolverChain::decide(sync::ShareEngine& engine, const journal::ConflictRecord& c,
                                   const std::string& share, bool dry_run,
                                   const std::string& forced) {
  ChainOutcome out;
  out.id = c.id;
  out.share = share;
  out.path = c.path;
  auto opened = open(engine, c, share, dry_run);
  if (!opened) {
    out.error = opened.error();
    out.decision = resolvers::Decision::defer("its versions cannot be opened");
    return out;
  }
  const resolvers::ConflictView& view = (*opened)->view;
  // A conflict git-merge left with markers in the cache waits for the user's
  // edit: the rules do not merge it again.
  const bool merging = sync::decodeDetail(c.detail).merging;
  if (merging && forced.empty()) {
    out.decision = resolvers::Decision::defer(
        "the cache holds a merge with conflict markers: edit it, then hoard resolve " +
        std::to_string(c.id) + " --with keep-local");
    return out;
  }
  std::string name = forced;
  nlohmann::json options = nlohmann::json::object();
  if (name.empty()) {
    resolvers::RuleSet set;
    std::string fallback;
    {
      MutexLock lock(mu_);
      if (for_a_person_.count(c.id)) {
        out.decision = resolvers::Decision::defer("reopened by hoard undo: left for you to decide");
        return out;
      }
      if (!rules_error_) set = rules_.forShare(share);
      fallback = default_resolver_;
    }
    const resolvers::Rule* r = set.match(view);
    // A repository is merged as one by git-repo unless a rule names the
    // repo kind itself: a catch-all rule written for files (keep-local of
    // `**`) must not throw away one side's commits.
    if (c.kind == ConflictKind::kRepo && (r == nullptr || !namesKind(*r, ConflictKind::kRepo))) {
      name = "git-repo";
    } else if (r != nullptr) {
      out.rule = ruleName(*r);
      name = r->resolver;
      options = r->options;
    } else if (!fallback.empty()) {
      name = fallback;
    } else {
      out.decision = resolvers::Decision::defer("no rule takes it");
      return out;
    }
  }
  auto resolver = registry_.find(name);
  out.resolver = name;
  if (!resolver) {
    out.decision = resolvers::Decision::defer("resolver \"" + name + "\" is not registered");
    return out;
  }
  if (!forced.empty()) {  // a rule's options were checked when the rules were read
    if (auto st = resolver->checkOptions(options); !st) {
      out.error = st.error().withContext("resolver " + name + " needs options a rule gives it");
      out.decision = resolvers::Decision::defer("the resolver cannot run without options");
      return out;
    }
  }
  if (dry_run && !resolver->previewable()) {
    out.decision = resolvers::Decision::defer("would ask " + name + " (not asked in a dry run)");
    return out;
  }
  Result<resolvers::Decision> d = ask(*resolver, view, options);
  // A rule's resolver that leaves the conflict open passes it on to the
  // default resolver, if one is registered (the desktop prompt asks a person).
  if (d && d->kind == resolvers::DecisionKind::kDefer && !out.rule.empty() && !dry_run) {
    std::string fallback = defaultResolver();
    auto other = fallback.empty() || fallback == name ? nullptr : registry_.find(fallback);
    if (other && (view.output_fd < 0 || ::ftruncate(view.output_fd, 0) == 0)) {
      auto again = ask(*other, view, nlohmann::json::object());
      if (again && again->kind != resolvers::DecisionKind::kDefer) {
        name = out.resolver = fallback;
        out.rule.clear();
        d = std::move(again);
      }
    }
  }
  if (!d) {
    out.error = d.error().withContext("resolver " + name);
    out.decision = resolvers::Decision::defer("the resolver failed");
    return out;
  }
  if (!resolvers::decisionAllowed(d->kind, c.kind)) {
    out.error = Error(ErrorCode::kInvalidArgument,
                      "resolver " + name + " answered \"" +
                          std::string(resolvers::decisionKindName(d->kind)) +
                          "\", which has no meaning for a " +
                          std::string(conflictKindName(c.kind)) + " conflict");
    out.decision = resolvers::Decision::defer("the resolver's answer was refused");
    return out;
  }
  if (merging && (d->kind == resolvers::DecisionKind::kMerged ||
                  d->kind == resolvers::DecisionKind::kMarkers)) {
    out.decision = resolvers::Decision::defer(
        "the cache holds a merge with conflict markers: merging it again would merge the "
        "markers; edit it, then keep it with keep-local");
    return out;
  }
  out.decision = *d;
  if (dry_run || d->kind == resolvers::DecisionKind::kDefer) return out;
  Status st = applyDecision(engine, out, (*opened)->output.get(), (*opened)->repo.get());
  out.applied = static_cast<bool>(st);
  if (st && c.kind == ConflictKind::kRepo) engine.dropRepoCopy(c.path);  // resolved: not needed again
  if (!st) out.error = st.error();
  return out;
}

ChainOutcome ResolverChain::run(sync::ShareEngine& engine, const journal::ConflictRecord& c,
                                const std::string& share, bool dry_run,
                                const std::string& forced) {
  ChainOutcome out;
  try {
    out = decide(engine, c, share, dry_run, forced);
  } catch (const std::exception& e) {
    out.id = c.id;
    out.share = share;
    out.path = c.path;
    out.error = Error(ErrorCode::kInternal, std::string("resolver chain: ") + e.what());
  }
  if (!dry_run) {
    MutexLock lock(mu_);
    if (out.resolved())
      last_.erase(c.id);
    else
      last_[c.id] = out;
  }
  return out;
}

Result<std::vector<std::string>> ResolverChain::explain(sync::ShareEngine& engine,
                                                       const journal::ConflictRecord& c,
                                                       const std::string& share) {
  auto opened = open(engine, c, share, true);
  if (!opened) return tl::unexpected(opened.error());
  resolvers::RuleSet set;
  {
    MutexLock lock(mu_);
    if (rules_error_) return tl::unexpected(*rules_error_);
    set = rules_.forShare(share);
  }
  std::vector<std::string> out;
  for (const auto& v : set.explain((*opened)->view))
    out.push_back(ruleName(*v.rule) + " -> " + v.rule->resolver + ": " +
                  (v.matched ? "yes: " : "no: ") + v.why);
  if (out.empty()) out.push_back("no rules apply to share " + share);
  return out;
}

std::vector<std::string> ResolverChain::explainPath(const std::string& share,
                                                    const RelPath& path) const {
  resolvers::RuleSet set;
  {
    MutexLock lock(mu_);
    if (rules_error_) return {"the rules are disabled: " + rules_error_->message()};
    set = rules_.forShare(share);
  }
  resolvers::ConflictView v;
  v.path = path;
  std::vector<std::string> out;
  for (const resolvers::Rule& r : set.rules()) {
    resolvers::Rule paths_only = r;
    paths_only.kinds.clear();
    paths_only.local_changed.clear();
    paths_only.remote_changed.clear();
    paths_only.classes.clear();
    paths_only.size_min.reset();
    paths_only.size_max.reset();
    auto verdict = resolvers::judge(paths_only, v, resolvers::ContentClass::kNone);
    bool conditional = paths_only.kinds != r.kinds || paths_only.classes != r.classes ||
                       r.size_min || r.size_max || !r.local_changed.empty() ||
                       !r.remote_changed.empty();
    std::string line = ruleName(r) + " -> " + r.resolver + ": ";
    if (!verdict.matched) {
      out.push_back(line + "no: " + verdict.why);
      continue;
    }
    out.push_back(line + (conditional ? "yes if the conflict also meets its kind/change/class/size "
                                        "criteria (" + verdict.why + ")"
                                      : "yes: " + verdict.why));
    if (!conditional) break;
  }
  if (out.empty()) out.push_back("no rules apply to share " + share);
  return out;
}

}  // namespace hoard::daemon
