// SPDX-License-Identifier: MIT
// A program holding a SQLite database open, as a desktop application does:
// a child process (python3's sqlite3 module) with one connection, driven
// line by line through pipes. A child, not a connection in the test process:
// SQLite's POSIX locks are per process, and the point is a *different*
// program's connection surviving what hoard does to its database.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <sqlite3.h>

#include <gtest/gtest.h>

extern char** environ;

namespace hoard::sync {

// What `sqlite3 FILE "..."` does, in the test process: open, run the
// statements, close (a WAL database is checkpointed on close). Fails the
// test with SQLite's message.
inline void runSql(const std::string& path, const std::string& statements) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

class SqliteChild {
 public:
  // Opens `db_path` in a new python3 child (autocommit, 10 s busy timeout).
  explicit SqliteChild(const std::string& db_path) {
    static const char* kScript = R"PY(
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
for line in sys.stdin:
    cmd, _, arg = line.rstrip('\n').partition(' ')
    try:
        if cmd == 'exec':
            db.execute(arg)
            out = 'ok'
        elif cmd == 'query':
            rows = db.execute(arg).fetchall()
            out = 'ok ' + ';'.join('|'.join(str(v) for v in r) for r in rows)
        else:
            break
    except Exception as e:
        out = 'err ' + str(e).replace('\n', ' ')
    print(out, flush=True)
)PY";
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    const char* argv[] = {"/usr/bin/python3", "-c", kScript, db_path.c_str(), nullptr};
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    if (rc != 0) {
      pid_ = -1;
      ::close(in[1]);
      ::close(out[0]);
      return;
    }
    to_ = ::fdopen(in[1], "w");
    from_ = ::fdopen(out[0], "r");
  }
  SqliteChild(const SqliteChild&) = delete;
  SqliteChild& operator=(const SqliteChild&) = delete;
  ~SqliteChild() {
    if (to_ != nullptr) ::fclose(to_);
    if (from_ != nullptr) ::fclose(from_);
    if (pid_ > 0) {
      int status;
      if (!exited_) ::waitpid(pid_, &status, 0);
    }
  }

  bool running() const { return pid_ > 0 && to_ != nullptr && from_ != nullptr; }

  // Runs one statement; "ok" or "err <message>".
  std::string exec(const std::string& sql) { return ask("exec " + sql); }
  // Runs a query; "ok " and the rows ("a|b;c|d"), or "err <message>".
  std::string query(const std::string& sql) { return ask("query " + sql); }
  // The single value of a one-row, one-column query, or "err ...".
  std::string value(const std::string& sql) {
    std::string r = query(sql);
    return r.rfind("ok ", 0) == 0 ? r.substr(3) : r;
  }

  // kill -9, as a crash of the program.
  void crash() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
  }

 private:
  std::string ask(const std::string& line) {
    if (!running()) return "err no child";
    std::fputs((line + "\n").c_str(), to_);
    std::fflush(to_);
    char buf[1 << 16];
    if (std::fgets(buf, sizeof(buf), from_) == nullptr) return "err child gone";
    std::string r(buf);
    if (!r.empty() && r.back() == '\n') r.pop_back();
    return r;
  }

  pid_t pid_ = -1;
  bool exited_ = false;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

}  // namespace hoard::sync
