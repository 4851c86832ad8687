// SPDX-License-Identifier: MIT
// One share kept going by the whole engine: real inotify, real SQLite, real
// folders, the state machine on the system clock. Every wait is for a
// condition a user would check (bytes on a side, the share's state), with a
// generous limit; nothing is timed.

#include "sync/ShareEngine.h"

#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace hoard::sync {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit = 30s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

class ShareEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hoard-engine-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    remote_root_ = dir_ + "/server";
    cache_ = dir_ + "/cache";
    fs::create_directories(remote_root_);
    put(remote_root_ + "/hello.txt", "hello from the server\n");
    auto j = journal::Journal::open(dir_ + "/journal.db");
    ASSERT_TRUE(j) << j.error().toString();
    journal_ = std::move(*j);
    auto s = store::BaseStore::open(dir_ + "/store");
    ASSERT_TRUE(s);
    store_ = std::make_unique<store::BaseStore>(std::move(*s));
    auto id = createShare(*journal_, mu_, "docs", remote_root_, cache_, *pool_);
    ASSERT_TRUE(id) << id.error().toString();
    share_ = *id;
  }
  void TearDown() override {
    engine_.reset();
    fs::remove_all(dir_);
  }
  void startEngine() {
    ShareEngineOptions o;
    o.state.probe_interval_offline = 100ms;
    o.state.probe_interval_online = 200ms;
    o.state.write_back_quiet = 50ms;
    o.state.write_back_max_delay = 300ms;
    o.state.poll_interval = 200ms;
    o.state.retry_initial = 100ms;
    o.state.paused_retry = 200ms;
    o.deadlines.metadata = 3s;
    o.deadlines.transfer_idle = 5s;
    ShareEngineHooks h;
    h.onConflictDetected = [this](int64_t id) { conflicts_.push_back(id); };
    auto e = ShareEngine::start(*journal_, mu_, share_, *store_, pool_, "laptop", h, o);
    ASSERT_TRUE(e) << e.error().toString();
    engine_ = std::move(*e);
  }
  static void put(const std::string& abs, const std::string& bytes) {
    fs::create_directories(fs::path(abs).parent_path());
    std::ofstream(abs, std::ios::binary | std::ios::trunc) << bytes;
  }
  static std::string get(const std::string& abs) {
    std::ifstream in(abs, std::ios::binary);
    if (!in) return "<absent>";
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  journal::ShareState state() { return engine_->status().state; }
  size_t snapshots() {
    MutexLock lock(mu_);
    auto s = journal_->snapshots(share_);
    return s ? s->size() : 0;
  }
  int64_t logged() {
    MutexLock lock(mu_);
    auto n = journal_->changeCount(share_);
    return n ? *n : -1;
  }

  std::string dir_, remote_root_, cache_;
  std::unique_ptr<journal::Journal> journal_;
  std::unique_ptr<store::BaseStore> store_;
  Mutex mu_;
  int64_t share_ = 0;
  std::shared_ptr<remote::WorkerPool> pool_ =
      std::make_shared<remote::WorkerPool>(remote::WorkerPool::Options{4, 64, "test-remote"});
  std::unique_ptr<ShareEngine> engine_;
  std::vector<int64_t> conflicts_;  // written on the engine's thread, read after waits
};

TEST_F(ShareEngineTest, OnlineWriteBackPollingOfflineAndReintegration) {
  startEngine();
  // Reconnect pass at start: preloaded, ONLINE.
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }))
      << engine_->status().reason;
  EXPECT_EQ(get(cache_ + "/hello.txt"), "hello from the server\n");

  // ONLINE: a saved file reaches the remote by itself.
  put(cache_ + "/saved.txt", "saved while online\n");
  EXPECT_TRUE(eventually([&] { return get(remote_root_ + "/saved.txt") == "saved while online\n"; }));
  // ONLINE: a colleague's edit is pulled by polling.
  put(remote_root_ + "/hello.txt", "hello, edited on the server\n");
  EXPECT_TRUE(
      eventually([&] { return get(cache_ + "/hello.txt") == "hello, edited on the server\n"; }));

  // The user goes offline: snapshot taken, nothing reaches the remote.
  ASSERT_TRUE(engine_->setUserOffline(true));
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOffline; }));
  EXPECT_EQ(snapshots(), 1u);
  put(cache_ + "/saved.txt", "edited offline\n");
  ASSERT_TRUE(eventually([&] { return logged() >= 1; })) << "the edit is in the change log";
  EXPECT_EQ(get(remote_root_ + "/saved.txt"), "saved while online\n");
  // Back online: reintegrated.
  ASSERT_TRUE(engine_->setUserOffline(false));
  EXPECT_TRUE(eventually([&] { return get(remote_root_ + "/saved.txt") == "edited offline\n"; }));
  EXPECT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
}

TEST_F(ShareEngineTest, AVanishedRemoteIsOfflineAndWorkResumesWhenItReturns) {
  startEngine();
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  // The share's filesystem goes away, leaving an empty mountpoint behind.
  fs::rename(remote_root_, dir_ + "/server-away");
  fs::create_directories(remote_root_);
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOffline; }));
  EXPECT_NE(engine_->status().reason.find(".hoard-share-id"), std::string::npos)
      << engine_->status().reason;
  EXPECT_EQ(snapshots(), 1u);
  put(cache_ + "/while-away.txt", "written while the share was gone\n");
  EXPECT_EQ(get(cache_ + "/hello.txt"), "hello from the server\n") << "nothing was deleted";
  // It comes back.
  fs::remove(remote_root_);
  fs::rename(dir_ + "/server-away", remote_root_);
  EXPECT_TRUE(eventually([&] {
    return get(remote_root_ + "/while-away.txt") == "written while the share was gone\n";
  }));
  EXPECT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  EXPECT_EQ(get(remote_root_ + "/hello.txt"), "hello from the server\n");
}

TEST_F(ShareEngineTest, ConflictsAreAnnouncedWaitAndResolve) {
  startEngine();
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  ASSERT_TRUE(engine_->setUserOffline(true));
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOffline; }));
  put(cache_ + "/hello.txt", "mine\n");
  put(remote_root_ + "/hello.txt", "theirs\n");
  put(cache_ + "/other.txt", "unrelated work\n");
  ASSERT_TRUE(eventually([&] { return logged() >= 2; }));
  ASSERT_TRUE(engine_->setUserOffline(false));
  // Work goes on around the conflict.
  EXPECT_TRUE(eventually([&] { return get(remote_root_ + "/other.txt") == "unrelated work\n"; }));
  ASSERT_TRUE(eventually([&] {
    auto s = engine_->status();
    return s.pending && s.pending->open_conflicts == 1;
  }));
  EXPECT_EQ(get(cache_ + "/hello.txt"), "mine\n");
  EXPECT_EQ(get(remote_root_ + "/hello.txt"), "theirs\n");
  std::vector<journal::ConflictRecord> open;
  {
    MutexLock lock(mu_);
    open = journal_->conflicts(share_, true).value();
  }
  ASSERT_EQ(open.size(), 1u);
  ASSERT_TRUE(engine_->resolve(open[0].id, Resolution::kKeepLocal));
  EXPECT_EQ(get(remote_root_ + "/hello.txt"), "mine\n");
}

// What the automatic passes did is kept for the next job to tell (issue 9,
// point 13), and the last pass's outcome for status (points 4 and 11).
TEST_F(ShareEngineTest, AutomaticPassTotalsAndTheLastPassAreKept) {
  for (int i = 0; i < 5; ++i) put(remote_root_ + "/f" + std::to_string(i) + ".txt", "x\n");
  startEngine();
  ASSERT_TRUE(eventually([&] { return get(cache_ + "/f4.txt") == "x\n"; }));
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  PassTotals t = engine_->takeAutomaticTotals();
  EXPECT_GE(t.passes, 1u);
  EXPECT_GE(t.hoarded, 6u) << "hello.txt and f0..f4, fetched by the automatic pass";
  EXPECT_GE(t.received, t.hoarded);
  EXPECT_FALSE(engine_->takeAutomaticTotals().any()) << "taking them resets them";
  auto r = engine_->syncOnce();
  ASSERT_TRUE(r) << r.error().toString();
  EXPECT_EQ(r->hoarded, 0u);
  auto last = engine_->lastPass();
  ASSERT_TRUE(last);
  EXPECT_FALSE(last->automatic);
  EXPECT_TRUE(last->failed.empty());
  EXPECT_FALSE(last->mass_delete);
}

// After shutdown nothing runs: a job's pass is refused, not started.
TEST_F(ShareEngineTest, AfterShutdownPassesAreRefused) {
  startEngine();
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  engine_->shutdown();
  engine_->shutdown();  // idempotent
  auto r = engine_->syncOnce();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kAborted);
  EXPECT_EQ(engine_->resolve(1, Resolution::kKeepLocal).error().code(), ErrorCode::kAborted);
}

// ---- issue 9, point 15: real editors' save patterns while passes run ------

// Names only an editor's save leaves for a moment: vim's 4913 probe, backup
// and swap file, gedit's output stream, LibreOffice's lock and temporary,
// emacs' autosave and lock link, an atomic save's temporary.
bool isEditorTemporary(const std::string& name) {
  auto has = [&](std::string_view part) { return name.find(part) != std::string::npos; };
  return name == "4913" || name.back() == '~' || has(".swp") || has(".goutputstream-") ||
         has(".~lock.") || has(".tmp") || name.front() == '#' || name.rfind(".#", 0) == 0 ||
         has(".partial");
}

// Watches the remote folder (and its subfolders as they come) with inotify
// and notes when each temporary name appeared there.
class RemoteAppearances {
 public:
  explicit RemoteAppearances(std::string root) : root_(std::move(root)) {
    fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    watch(root_);
    thread_ = std::thread([this] { loop(); });
  }
  ~RemoteAppearances() {
    done_ = true;
    thread_.join();
    ::close(fd_);
  }
  // Temporary names (relative paths) with the times they appeared.
  std::multimap<std::string, std::chrono::steady_clock::time_point> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  void watch(const std::string& dir) {
    int wd = ::inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd >= 0) dirs_[wd] = dir == root_ ? "" : fs::relative(dir, root_).string() + "/";
  }
  void loop() {
    alignas(struct inotify_event) char buf[64 * 1024];
    while (!done_) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      for (char* at = buf; at < buf + n;) {
        auto* e = reinterpret_cast<struct inotify_event*>(at);
        at += sizeof(struct inotify_event) + e->len;
        if (e->len == 0) continue;
        std::string name = e->name;
        std::string rel = dirs_[e->wd] + name;
        if (e->mask & IN_ISDIR) watch(root_ + "/" + rel);
        if (name.rfind(".hoard-", 0) == 0 || !isEditorTemporary(name)) continue;
        std::lock_guard lock(mu_);
        seen_.emplace(rel, now);
      }
    }
  }

  const std::string root_;
  int fd_ = -1;
  std::map<int, std::string> dirs_;  // the loop's thread (and the constructor's)
  std::atomic<bool> done_{false};
  std::mutex mu_;
  std::multimap<std::string, std::chrono::steady_clock::time_point> seen_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// One user's editors saving files in the cache the way each really does.
class Editors {
 public:
  explicit Editors(std::string cache) : cache_(std::move(cache)) {}

  // Save number `n` of `rel` with `bytes`, by the editor `which` (0..4).
  void save(int which, const std::string& rel, const std::string& bytes, int n) {
    const std::string f = cache_ + "/" + rel;
    const std::string dir = fs::path(f).parent_path();
    const std::string name = fs::path(f).filename();
    switch (which) {
      case 0: {  // vim: probe 4913, swap file, rename to backup, write, drop backup
        write(dir + "/." + name + ".swp", "vim swap " + std::to_string(n));
        write(dir + "/4913", "");
        gone(dir + "/4913");
        if (fs::exists(f)) fs::rename(f, f + "~");
        write(f, bytes);
        gone(f + "~");
        gone(dir + "/." + name + ".swp");
        break;
      }
      case 1: {  // gedit: a .goutputstream-XXXXXX renamed over the file
        const std::string tmp = dir + "/.goutputstream-" + unique();
        write(tmp, bytes);
        renamedAway(tmp, f);
        break;
      }
      case 2: {  // LibreOffice: lock file, a temporary renamed over, lock gone
        const std::string lock = dir + "/.~lock." + name + "#";
        write(lock, ",user,laptop,01.12.2026 13:00,file:///home/user/.config/libreoffice/4;");
        const std::string tmp = dir + "/lu" + unique() + ".tmp";
        write(tmp, bytes);
        renamedAway(tmp, f);
        gone(lock);
        break;
      }
      case 3: {  // emacs: .#file lock link, #file# autosave, backup file~, write
        const std::string link = dir + "/.#" + name;
        fs::create_symlink("user@laptop.4242:1764590000", link);
        write(dir + "/#" + name + "#", bytes.substr(0, bytes.size() / 2));
        if (fs::exists(f)) fs::copy_file(f, f + "~", fs::copy_options::overwrite_existing);
        write(f, bytes);
        gone(dir + "/#" + name + "#");
        gone(link);
        gone(f + "~");
        break;
      }
      default: {  // an atomic save: NAME.tmp.XXXX renamed over
        const std::string tmp = f + ".tmp." + unique();
        write(tmp, bytes);
        renamedAway(tmp, f);
        break;
      }
    }
  }
  // Temporary names with unique names (relative) and when they left the cache.
  std::map<std::string, std::chrono::steady_clock::time_point> removed() const { return removed_; }

 private:
  static void write(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string unique() { return std::to_string(::getpid()) + "x" + std::to_string(next_++); }
  void note(const std::string& abs) {
    removed_[fs::relative(abs, cache_).string()] = std::chrono::steady_clock::now();
  }
  void gone(const std::string& abs) {
    std::error_code ec;
    fs::remove(abs, ec);
  }
  void renamedAway(const std::string& tmp, const std::string& to) {
    fs::rename(tmp, to);
    note(tmp);
  }

  const std::string cache_;
  int next_ = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> removed_;
};

TEST_F(ShareEngineTest, EditorSavesDuringPassesLeaveExactlyTheFinalFilesOnBothSides) {
  startEngine();
  ASSERT_TRUE(eventually([&] { return state() == journal::ShareState::kOnline; }));
  RemoteAppearances remote_seen(remote_root_);
  const std::vector<std::string> files = {"thesis.tex", "notes/todo.md", "notes/todo.md-x",
                                          "data/report.odt", "src/main.c", "README"};
  for (const std::string& f : files) fs::create_directories(fs::path(cache_ + "/" + f).parent_path());
  Editors editors(cache_);
  // Passes run all along: the engine's own write-back, and syncs asked for.
  std::atomic<bool> saving{true};
  std::thread syncs([&] {
    while (saving) {
      (void)engine_->syncOnce();
      std::this_thread::sleep_for(15ms);
    }
  });
  std::map<std::string, std::string> final_bytes;
  constexpr int kSaves = 400;
  for (int n = 0; n < kSaves; ++n) {
    const std::string& f = files[n % files.size()];
    // Adversarial content: CRLF, no final newline, non-UTF-8 bytes, sizes that vary.
    std::string bytes = f + " save " + std::to_string(n) + (n % 3 == 0 ? "\r\n" : "\n");
    bytes += std::string(static_cast<size_t>(n % 7) * 512, static_cast<char>('a' + n % 26));
    if (n % 5 == 0) bytes += "\xff\xfe no final newline";
    editors.save(n % 5, f, bytes, n);
    final_bytes[f] = bytes;
    // A colleague saves too, on the server, by a temporary renamed over.
    if (n % 40 == 0) {
      const std::string tmp = remote_root_ + "/colleague.txt.wepmwv.partial";
      std::ofstream(tmp, std::ios::binary | std::ios::trunc) << "colleague " << n << "\n";
      fs::rename(tmp, remote_root_ + "/colleague.txt");
      final_bytes["colleague.txt"] = "colleague " + std::to_string(n) + "\n";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(n % 4));
  }
  saving = false;
  syncs.join();
  final_bytes["hello.txt"] = "hello from the server\n";

  // After the last saves settle: exactly the final files on both sides.
  auto tree = [](const std::string& root) {
    std::map<std::string, std::string> out;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      std::string rel = fs::relative(e.path(), root);
      if (rel.rfind(".hoard-", 0) == 0 || e.is_directory()) continue;
      out[rel] = e.is_symlink() ? "-> " + fs::read_symlink(e.path()).string() : get(e.path());
    }
    return out;
  };
  EXPECT_TRUE(eventually([&] {
    (void)engine_->syncOnce();
    return tree(cache_) == final_bytes && tree(remote_root_) == final_bytes;
  }, 15s));
  // What differs, briefly: the path, and the first line and size on each side.
  auto differences = [&](const std::map<std::string, std::string>& side) {
    std::string out;
    auto brief = [](const std::string& b) {
      return b.substr(0, b.find('\n')) + " (" + std::to_string(b.size()) + " bytes)";
    };
    for (const auto& [p, b] : final_bytes) {
      auto it = side.find(p);
      if (it == side.end()) out += "  missing " + p + "\n";
      else if (it->second != b) out += "  " + p + ": " + brief(it->second) + ", want " + brief(b) + "\n";
    }
    for (const auto& [p, b] : side)
      if (!final_bytes.count(p)) out += "  extra " + p + ": " + brief(b) + "\n";
    return out;
  };
  std::string open_conflicts;
  {
    MutexLock lock(mu_);
    auto open = journal_->conflicts(share_, true);
    for (const auto& c : open ? *open : std::vector<journal::ConflictRecord>{})
      open_conflicts += " " + c.path + " (" + std::string(conflictKindName(c.kind)) + ")";
  }
  EXPECT_EQ(differences(tree(cache_)), "") << "conflicts:" << open_conflicts;
  EXPECT_EQ(differences(tree(remote_root_)), "") << "conflicts:" << open_conflicts;

  // No temporary appeared on the remote after it had left the cache.
  const auto removed = editors.removed();
  size_t late = 0;
  std::string example;
  for (const auto& [rel, when] : remote_seen.seen()) {
    auto it = removed.find(rel);
    if (it != removed.end() && when > it->second) {
      ++late;
      example = rel;
    }
  }
  EXPECT_EQ(late, 0u) << example << " reached the remote after it was renamed away in the cache";
  // Neither the change log nor the base keeps a temporary to bring back.
  MutexLock lock(mu_);
  auto log = journal_->changes(share_, 0);
  ASSERT_TRUE(log);
  for (const auto& c : *log)
    EXPECT_FALSE(isEditorTemporary(std::string(baseName(c.change.path))) &&
                 !fs::exists(fs::symlink_status(cache_ + "/" + c.change.path)))
        << "the change log still names " << c.change.path;
  auto base = journal_->listBase(share_);
  ASSERT_TRUE(base);
  for (const auto& e : *base)
    EXPECT_FALSE(isEditorTemporary(std::string(baseName(e.path)))) << "the base keeps " << e.path;
}

}  // namespace
}  // namespace hoard::sync
