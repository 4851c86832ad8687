# SPDX-License-Identifier: MIT
"""hoard's benchmarks against the tools people use instead (issue 5).

Measures hoard through its real daemon (hoardd) and CLI (hoard) against
cp -a, rsync, find and unison on the same seeded trees, in the same run:

  preload        hoard share add + hoard preload   vs cp -a, rsync -a
  reintegration  hoard online until clean but for  vs rsync -a --files-from (the floor),
                 the conflicts                        unison -batch with a prepared archive
  reconnect      hoard sync with nothing to do     vs find -printf '%s %T@ %i\\n', unison
  memory         hoardd VmHWM and settled VmRSS    vs unison's peak RSS
  writeback      a save in the cache until the remote holds the same bytes (median, p95)

Wall times are time.monotonic() around the commands, median over --runs.
Every contestant gets a fresh destination and state per run, and the trees it
reads are read once (page cache warm) and dirty pages flushed (sync) before
its clock starts. A benchmark, not a test: it asserts nothing about time; it
checks and reports correctness.

Expects hoardd and hoard on PATH and a session bus (tests/bench/run-bench.sh
arranges both). Writes results.md, results.json and chart.png to --out.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import treegen  # noqa: E402

ITEMS = ("preload", "reintegration", "reconnect", "memory", "writeback")
SHARE = "bench"
LATENCY_DIR = "zz-bench-latency"
LATENCY_FILES = 10
# hoard's identity marker at the remote root (agent/remote/RemoteFs.h, kMarkerName): by
# design the one file hoard keeps on a remote; left out of tree comparisons.
MARKER = ".hoard-share-id"
SAVES = 100
MIB = 1024 * 1024
_t_start = time.monotonic()


class BenchError(Exception):
    """Something a contestant did wrong (or a wait that timed out)."""


def log(msg):
    print(f"[{time.monotonic() - _t_start:7.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------- processes


def run_measured(cmd, ok=(0,), env=None, stdout_path=None):
    """Runs cmd; returns (wall seconds, peak RSS in KiB of the child, exit code)."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = tempfile.TemporaryFile()
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout_path:
            out.close()
    if p.returncode not in ok:
        err.seek(0)
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}: "
                         f"{err.read().decode(errors='replace')[-2000:]}")
    return wall, ru.ru_maxrss, p.returncode


def hoard(*args, ok=(0,), timeout=3600):
    """Runs the hoard CLI; returns the CompletedProcess (BenchError if the exit
    code is not in ok)."""
    try:
        p = subprocess.run(["hoard", *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"hoard {' '.join(args)} did not return within {timeout} s") from e
    if p.returncode not in ok:
        raise BenchError(f"hoard {' '.join(args)} exited {p.returncode}: "
                         f"{(p.stderr + p.stdout).decode(errors='replace')[-2000:]}")
    return p


def hoard_json(*args):
    return json.loads(hoard(*args, "--json", ok=(0, 3)).stdout)


def status():
    return hoard_json("status", SHARE)[0]


def wait_until(what, pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise BenchError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


class Hoardd:
    """One hoardd with its own XDG_STATE_HOME and XDG_CONFIG_HOME, and a
    runtime directory of its own as a login session has (short, private)."""

    def __init__(self, base):
        self.base = base
        self.runtime = tempfile.mkdtemp(prefix="hoard-run-")
        self.env = dict(os.environ, XDG_STATE_HOME=os.path.join(base, "state"),
                        XDG_CONFIG_HOME=os.path.join(base, "config"),
                        XDG_RUNTIME_DIR=self.runtime)
        os.makedirs(self.env["XDG_STATE_HOME"], exist_ok=True)
        os.makedirs(self.env["XDG_CONFIG_HOME"], exist_ok=True)
        self.log_path = os.path.join(base, "hoardd.log")
        self.proc = None

    def start(self):
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["hoardd"], stdout=logf, stderr=logf, env=self.env)
        logf.close()

        def up():
            if self.proc.poll() is not None:
                raise BenchError(f"hoardd exited {self.proc.returncode} at start: {self.log_tail()}")
            return subprocess.run(["hoard", "share", "list"], capture_output=True).returncode == 0
        wait_until("hoardd to answer on the bus", up, 60, 0.1)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def mem(self):
        """(VmHWM, VmRSS) in KiB."""
        vals = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    vals[k] = int(v.split()[0])
        return vals["VmHWM"], vals["VmRSS"]

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM and wait; returns a complaint if it needed SIGKILL or had died."""
        if self.proc is None:
            return None
        shutil.rmtree(self.runtime, ignore_errors=True)
        if self.proc.poll() is not None:
            return f"hoardd had already exited with {self.proc.returncode}"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
            return None if rc == 0 else f"hoardd exited {rc} on SIGTERM"
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hoardd did not stop within 60 s of SIGTERM (killed)"


# ---------------------------------------------------------------- trees


def warm(*trees):
    """Reads every file once so each contestant starts from a warm page cache,
    then flushes dirty pages so nobody pays for another's writes."""
    buf = bytearray(1 << 20)
    for tree in trees:
        for dirpath, _, names in os.walk(tree):
            for n in names:
                p = os.path.join(dirpath, n)
                try:
                    with open(p, "rb", buffering=0) as f:
                        while f.readinto(buf):
                            pass
                except OSError:
                    pass
    os.sync()


def copy_tree(src, dst, link=False):
    """A copy of src at dst; with link, hard links (for runs that never write
    into the copy's files: it saves a tree's worth of disk at 100,000 files)."""
    subprocess.run(["cp", "-al" if link else "-a", src, dst], check=True)


def rmtree(p):
    if os.path.lexists(p):
        subprocess.run(["rm", "-rf", p], check=True)


def same_bytes(a, b):
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x = fa.read(1 << 20)
                if x != fb.read(1 << 20):
                    return False
                if not x:
                    return True
    except OSError:
        return False


def files_of(root):
    return {p for p, _ in treegen.listing(root)}


def compare_trees(a, b, skip=()):
    """{'only_a': [...], 'only_b': [...], 'differ': [...], 'same': n} over regular files."""
    fa, fb = files_of(a), files_of(b)
    skip = set(skip) | {MARKER}
    differ = []
    same = 0
    for p in sorted((fa & fb) - skip):
        if same_bytes(os.path.join(a, p), os.path.join(b, p)):
            same += 1
        else:
            differ.append(p)
    return {"only_a": sorted(fa - fb - skip), "only_b": sorted(fb - fa - skip),
            "differ": differ, "same": same}


def hash_of(path):
    try:
        return treegen._hash_file(path)
    except OSError:
        return None


def short(paths, n=5):
    paths = list(paths)
    return paths[:n] + ([f"... {len(paths) - n} more"] if len(paths) > n else [])


# ---------------------------------------------------------------- hoard


def settle_status(timeout=600):
    """Waits until the share is online with nothing to send; returns its status."""
    def clean():
        s = status()
        return s if s["state"] == "online" and s["pending_changes"] == 0 else None
    return wait_until("the share to be online with nothing pending", clean, timeout, 0.05)


def steady_rss(h, timeout=30):
    """VmRSS once two readings a second apart differ by under 1% (or at timeout)."""
    _, prev = h.mem()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1)
        _, cur = h.mem()
        if abs(cur - prev) <= prev * 0.01:
            return cur
        prev = cur
    return prev


def writeback_latency(cache, remote, seed):
    """SAVES saves into the cache (alternately write-temp+rename, as editors do,
    and in place); the time from each save until the remote holds its bytes."""
    d = os.path.join(cache, LATENCY_DIR)
    os.mkdir(d)
    for i in range(LATENCY_FILES):
        with open(os.path.join(d, f"save-{i}.txt"), "wb") as f:
            f.write(f"initial {i}\n".encode())
    wait_until("the latency files on the remote", lambda: all(
        same_bytes(os.path.join(d, f"save-{i}.txt"), os.path.join(remote, LATENCY_DIR, f"save-{i}.txt"))
        for i in range(LATENCY_FILES)), 300, 0.1)
    settle_status()
    samples, failures = [], []
    for i in range(SAVES):
        name = f"save-{i % LATENCY_FILES}.txt"
        data = (f"save {i} seed={seed}\n" + f"line {i} of the document\n" * (50 + i)).encode()
        target = os.path.join(d, name)
        how = "rename" if i % 2 == 0 else "in-place"
        if how == "rename":
            tmp = os.path.join(d, f".{name}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, target)
        else:
            with open(target, "wb") as f:
                f.write(data)
        t0 = time.monotonic()
        rpath = os.path.join(remote, LATENCY_DIR, name)
        while True:
            try:
                with open(rpath, "rb") as f:
                    if f.read() == data:
                        samples.append(time.monotonic() - t0)
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > 60:
                failures.append(f"save {i} ({how}) of {LATENCY_DIR}/{name} not on the remote after 60 s")
                break
            time.sleep(0.005)
    settle_status()
    return samples, failures


def wait_changes_stable(min_quiet=3.0, timeout=600):
    """The recorder is inotify-driven and asynchronous: waits until
    `hoard changes --json` has not grown for min_quiet seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        n = len(hoard_json("changes", SHARE))
        now = time.monotonic()
        if n != last:
            last, since = n, now
        elif now - since >= min_quiet:
            return n
        if now > deadline:
            raise BenchError(f"the change log kept changing for {timeout} s")
        time.sleep(0.25)


def hoard_run(args, run, src, src_files, plans, items, res):
    """One hoard run: preload, memory, reconnect, write-back, reintegration on
    one hoardd. Fills res (a dict) as it goes."""
    run_dir = os.path.join(args.work, f"run{run}")
    remote, cache = os.path.join(run_dir, "remote"), os.path.join(run_dir, "cache")
    os.makedirs(run_dir)
    copy_tree(src, remote, link=args.link_copies)
    h = Hoardd(os.path.join(run_dir, "hoard"))
    res["errors"] = []
    try:
        h.start()
        # a. preload: share add through preload returning.
        warm(remote)
        t0 = time.monotonic()
        hoard("share", "add", SHARE, remote, cache)
        res["share_add_s"] = time.monotonic() - t0
        hoard("preload", SHARE)
        res["preload_s"] = time.monotonic() - t0
        log(f"  hoard preload {res['preload_s']:.2f} s")
        cmpres = compare_trees(remote, cache)
        res["preload_check"] = {k: (v if k == "same" else short(v)) for k, v in cmpres.items()}
        res["preload_ok"] = (not cmpres["only_a"] and not cmpres["only_b"]
                             and not cmpres["differ"] and cmpres["same"] == len(src_files))
        if not res["preload_ok"]:
            res["errors"].append(f"preload: the cache is not the remote: {res['preload_check']}")
        untouched = compare_trees(src, remote)
        if untouched["only_a"] or untouched["only_b"] or untouched["differ"]:
            res["errors"].append(f"preload changed the remote: {untouched}")
        # d. memory with the share tracked.
        settle_status()
        res["hoardd_steady_kib"] = steady_rss(h)
        res["hoardd_hwm_after_preload_kib"] = h.mem()[0]
        log(f"  hoardd peak {res['hoardd_hwm_after_preload_kib'] / 1024:.1f} MiB, "
            f"steady {res['hoardd_steady_kib'] / 1024:.1f} MiB")
        # c. no-change reconnect.
        if "reconnect" in items:
            warm(cache, remote)
            t0 = time.monotonic()
            hoard("sync", SHARE)
            res["reconnect_s"] = time.monotonic() - t0
            warm(remote)
            res["find_s"] = run_measured(["find", remote, "-printf", r"%s %T@ %i\n"])[0]
            log(f"  hoard no-change sync {res['reconnect_s']:.3f} s, find {res['find_s']:.3f} s")
        # e. write-back latency.
        if "writeback" in items:
            samples, failures = writeback_latency(cache, remote, args.seed)
            res["writeback_s"] = samples
            res["errors"] += failures
            if samples:
                log(f"  write-back median {statistics.median(samples) * 1000:.0f} ms "
                    f"(n={len(samples)})")
        # b. reintegration.
        if "reintegration" in items:
            local_plan, remote_plan = plans
            hoard("offline", SHARE)
            wait_until("the share to be offline", lambda: status()["state"] == "offline", 60)
            ino_before = {old: os.stat(os.path.join(remote, old)).st_ino
                          for old, _ in local_plan["rename"]}
            local_m = treegen.apply(cache, local_plan)
            res["changes_logged"] = wait_changes_stable()
            remote_m = treegen.apply(remote, remote_plan)
            warm(cache, remote)
            t0 = time.monotonic()
            hoard("online", SHARE)
            rc = hoard("sync", SHARE, ok=(0, 3)).returncode
            settle_status(timeout=3600)
            res["reintegration_s"] = time.monotonic() - t0
            res["sync_exit"] = rc
            log(f"  hoard reintegration {res['reintegration_s']:.2f} s (sync exit {rc})")
            res["reintegration_check"] = check_reintegration(
                cache, remote, src_files, local_m, remote_m, ino_before, "writeback" in items)
            for line in res["reintegration_check"]["problems"]:
                res["errors"].append(f"reintegration: {line}")
        res["hoardd_hwm_end_kib"] = h.mem()[0]
    except BenchError as e:
        res["errors"].append(str(e))
        log(f"  hoard ERROR: {e}")
    finally:
        alive = h.alive()
        complaint = h.stop()
        if complaint:
            res["errors"].append(complaint + ("" if alive else f"; log: {h.log_tail()}"))
        res["hoardd_log_tail"] = h.log_tail(2000)
        if not args.keep:
            rmtree(run_dir)


def check_reintegration(cache, remote, src_files, local_m, remote_m, ino_before, saved_latency):
    """What a user would check after coming back online."""
    problems = []
    conflicts = hoard_json("conflicts", SHARE)
    cpaths = {c["path"] for c in conflicts}
    overlap = set(remote_m["overlap"])
    kinds = sorted({c["kind"] for c in conflicts})
    if cpaths != overlap:
        problems.append(f"open conflicts are not the {len(overlap)} overlaps: missing "
                        f"{short(sorted(overlap - cpaths))}, unexpected {short(sorted(cpaths - overlap))}")
    expected = (set(src_files) - set(local_m["delete"]) - {o for o, _ in local_m["rename"]}
                | {n for _, n in local_m["rename"]} | set(local_m["create"])
                | ({f"{LATENCY_DIR}/save-{i}.txt" for i in range(LATENCY_FILES)}
                   if saved_latency else set()))
    cmpres = compare_trees(cache, remote, skip=cpaths)
    fc, fr = files_of(cache), files_of(remote)
    # Files present in a tree that should not be (not conflicts' own versions).
    extra_cache = sorted(fc - expected - cpaths)
    extra_remote = sorted(fr - expected - cpaths - {MARKER})
    missing_cache = sorted(expected - fc)
    missing_remote = sorted(expected - fr)
    for what, lst in (("differ between cache and remote (not in conflict)", cmpres["differ"]),
                      ("only in the cache", cmpres["only_a"]), ("only on the remote", cmpres["only_b"]),
                      ("unexpected in the cache", extra_cache), ("unexpected on the remote", extra_remote),
                      ("missing from the cache", missing_cache), ("missing from the remote", missing_remote)):
        if lst:
            problems.append(f"{len(lst)} path(s) {what}: {short(lst)}")
    lost_local = [p for p in local_m["modify"] + local_m["create"]
                  if p not in overlap and hash_of(os.path.join(remote, p)) != local_m["hashes"][p]]
    lost_remote = [p for p in remote_m["modify"]
                   if p not in overlap and hash_of(os.path.join(cache, p)) != remote_m["hashes"][p]]
    if lost_local:
        problems.append(f"{len(lost_local)} local edit(s) not on the remote: {short(lost_local)}")
    if lost_remote:
        problems.append(f"{len(lost_remote)} remote edit(s) not in the cache: {short(lost_remote)}")
    gone = [p for p in local_m["delete"] + [o for o, _ in local_m["rename"]]
            if os.path.lexists(os.path.join(cache, p)) or os.path.lexists(os.path.join(remote, p))]
    if gone:
        problems.append(f"{len(gone)} deleted or renamed-away path(s) still exist: {short(gone)}")
    not_renames = []
    for old, new in local_m["rename"]:
        try:
            if os.stat(os.path.join(remote, new)).st_ino != ino_before[old]:
                not_renames.append(new)
        except OSError:
            not_renames.append(new)
    if not_renames:
        problems.append(f"{len(not_renames)} of {len(local_m['rename'])} renames did not stay renames "
                        f"on the remote (new inode): {short(not_renames)}")
    # The overlaps: no lost work, each side keeps its own version until resolved.
    kept_local = sum(hash_of(os.path.join(cache, p)) == local_m["hashes"][p] for p in overlap)
    kept_remote = sum(hash_of(os.path.join(remote, p)) == remote_m["hashes"][p] for p in overlap)
    return {"conflicts": len(conflicts), "conflict_kinds": kinds, "overlaps": len(overlap),
            "conflicts_are_overlaps": cpaths == overlap,
            "non_conflict_paths_equal": cmpres["same"], "renames": len(local_m["rename"]),
            "renames_kept_inode": len(local_m["rename"]) - len(not_renames),
            "local_edits_arrived": len(local_m["modify"]) + len(local_m["create"]) - len(overlap)
            - len(lost_local),
            "remote_edits_arrived": len(remote_m["modify"]) - len(overlap) - len(lost_remote),
            "overlaps_cache_holds_local": kept_local, "overlaps_remote_holds_remote": kept_remote,
            "problems": problems}


# ---------------------------------------------------------------- references


def unison_cmd(a, b):
    return ["unison", a, b, "-batch", "-times", "-perms", "0"]


def reference_run(args, run, src, plans, items, res):
    run_dir = os.path.join(args.work, f"ref{run}")
    os.makedirs(run_dir)
    try:
        if "preload" in items:
            dst = os.path.join(run_dir, "cp")
            warm(src)
            res["cp_s"], res["cp_rss_kib"], _ = run_measured(["cp", "-a", src, dst])
            t0 = time.monotonic()
            os.sync()
            res["cp_sync_s"] = time.monotonic() - t0
            rmtree(dst)
            warm(src)
            res["rsync_s"], res["rsync_rss_kib"], _ = run_measured(["rsync", "-a", src + "/", dst + "/"])
            rmtree(dst)
            log(f"  cp -a {res['cp_s']:.2f} s (+ sync {res['cp_sync_s']:.2f} s), "
                f"rsync -a {res['rsync_s']:.2f} s")
        local_plan, remote_plan = plans
        if {"reintegration", "reconnect", "memory"} & set(items):
            u = os.path.join(run_dir, "unison")
            a, b = os.path.join(u, "a"), os.path.join(u, "b")
            os.makedirs(u)
            copy_tree(src, a, link=args.link_copies)
            copy_tree(src, b, link=args.link_copies)
            env = dict(os.environ, UNISON=os.path.join(u, "archive"), HOME=u)
            warm(a, b)
            w, rss, _ = run_measured(unison_cmd(a, b), env=env,
                                     stdout_path=os.path.join(u, "initial.log"))
            res["unison_initial_s"], res["unison_initial_rss_kib"] = w, rss
            warm(a, b)
            w, rss, _ = run_measured(unison_cmd(a, b), env=env,
                                     stdout_path=os.path.join(u, "nochange.log"))
            res["unison_nochange_s"], res["unison_nochange_rss_kib"] = w, rss
            log(f"  unison initial {res['unison_initial_s']:.1f} s, no-change {w:.2f} s")
            if "reintegration" in items:
                treegen.apply(a, local_plan)
                treegen.apply(b, remote_plan)
                warm(a, b)
                w, rss, rc = run_measured(unison_cmd(a, b), ok=(0, 1), env=env,
                                          stdout_path=os.path.join(u, "reint.log"))
                res["unison_reint_s"], res["unison_reint_rss_kib"], res["unison_reint_exit"] = w, rss, rc
                skipped = compare_trees(a, b)
                res["unison_reint_left_different"] = len(skipped["differ"])
                log(f"  unison reintegration {w:.2f} s (exit {rc}, {len(skipped['differ'])} "
                    f"paths left different)")
            rmtree(u)
        if "reintegration" in items:
            f = os.path.join(run_dir, "floor")
            a, b = os.path.join(f, "a"), os.path.join(f, "b")
            os.makedirs(f)
            copy_tree(src, a)
            copy_tree(src, b)
            treegen.apply(a, local_plan)
            treegen.apply(b, remote_plan)
            lst = os.path.join(f, "files-from")
            with open(lst, "w") as out:
                for p in local_plan["modify"] + local_plan["create"] + [n for _, n in local_plan["rename"]]:
                    out.write(p + "\n")
            warm(a, b)
            res["rsync_floor_s"], res["rsync_floor_rss_kib"], _ = run_measured(
                ["rsync", "-a", f"--files-from={lst}", a + "/", b + "/"])
            log(f"  rsync --files-from {res['rsync_floor_s']:.3f} s")
            rmtree(f)
    finally:
        if not args.keep:
            rmtree(run_dir)


# ---------------------------------------------------------------- report


def med(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def pct(vals, q):
    s = sorted(vals)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def machine(work):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    fs = subprocess.run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", work],
                        capture_output=True, text=True).stdout.strip()

    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            return "?"
    commit = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "filesystem": fs, "hoard_commit": commit,
            "rsync": first_line(["rsync", "--version"]), "unison": first_line(["unison", "-version"]),
            "python": platform.python_version()}


def snapshot_binaries(work):
    """Copies hoardd and hoard into WORK/bin and puts that first on PATH, so
    every run uses the same build even if build-bench is rebuilt meanwhile;
    returns where each came from."""
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    info = {}
    for tool in ("hoardd", "hoard"):
        src = shutil.which(tool)
        dst = os.path.join(bindir, tool)
        shutil.copy2(src, dst)
        with open(dst, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        built = datetime.datetime.fromtimestamp(os.stat(src).st_mtime, datetime.timezone.utc)
        info[tool] = f"{tool}: {src}, built {built:%Y-%m-%d %H:%M:%S} UTC, sha256 {digest}"
    os.environ["PATH"] = bindir + os.pathsep + os.environ["PATH"]
    return info


def fmt_s(v):
    if v is None:
        return "—"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_r(v):
    return "—" if v is None else f"{v:.2f}×"


def verdict(ok):
    return "—" if ok is None else ("met" if ok else "**missed**")


def summarize(args, hruns, rruns, tree_info):
    s = {}
    s["preload"] = {"hoard": med(hruns, "preload_s"), "cp -a": med(rruns, "cp_s"),
                    "rsync -a": med(rruns, "rsync_s"), "cp -a + sync": None}
    if med(rruns, "cp_s") is not None:
        s["preload"]["cp -a + sync"] = statistics.median(
            [r["cp_s"] + r["cp_sync_s"] for r in rruns if "cp_s" in r])
    s["reintegration"] = {"hoard": med(hruns, "reintegration_s"),
                          "rsync --files-from": med(rruns, "rsync_floor_s"),
                          "unison": med(rruns, "unison_reint_s")}
    s["reconnect"] = {"hoard": med(hruns, "reconnect_s"), "find": med(hruns, "find_s"),
                      "unison": med(rruns, "unison_nochange_s")}
    unison_peaks = [max(r.get(k, 0) for k in ("unison_initial_rss_kib", "unison_nochange_rss_kib",
                                              "unison_reint_rss_kib")) for r in rruns]
    unison_peaks = [p for p in unison_peaks if p]
    hwm = [max(r.get("hoardd_hwm_end_kib", 0), r.get("hoardd_hwm_after_preload_kib", 0)) for r in hruns]
    hwm = [v for v in hwm if v]
    s["memory"] = {"hoardd peak": max(hwm) / 1024 if hwm else None,
                   "hoardd steady": med(hruns, "hoardd_steady_kib"),
                   "unison peak": max(unison_peaks) / 1024 if unison_peaks else None}
    if s["memory"]["hoardd steady"] is not None:
        s["memory"]["hoardd steady"] /= 1024
    lat = [x for r in hruns for x in r.get("writeback_s", [])]
    s["writeback"] = {"median": statistics.median(lat) if lat else None,
                      "p95": pct(lat, 0.95) if lat else None, "samples": len(lat)}
    return s


def render(args, s, hruns, rruns, tree_info, mach, command):
    n = args.files
    lines = [f"# hoard benchmarks: {n:,} files", "",
             f"Tree: {n:,} files, {tree_info['bytes'] / MIB:,.0f} MiB in "
             f"{treegen.dir_count(n):,} directories (seed {args.seed}); "
             f"{args.runs} runs, medians.", "",
             "| item | hoard | references | ratio | aim | |", "| --- | --- | --- | --- | --- | --- |"]
    p = s["preload"]
    r1 = ratio(p["hoard"], p["cp -a"])
    lines.append(f"| preload (whole tree) | {fmt_s(p['hoard'])} | cp -a {fmt_s(p['cp -a'])} "
                 f"(+ sync: {fmt_s(p['cp -a + sync'])}); rsync -a {fmt_s(p['rsync -a'])} | "
                 f"{fmt_r(r1)} cp -a; {fmt_r(ratio(p['hoard'], p['rsync -a']))} rsync | "
                 f"≤ 1.1× cp -a | {verdict(None if r1 is None else r1 <= 1.1)} |")
    r = s["reintegration"]
    rf, ru = ratio(r["hoard"], r["rsync --files-from"]), ratio(r["unison"], r["hoard"])
    ok = None if rf is None or ru is None else (rf <= 1.3, ru >= 5)
    lines.append(f"| reintegration | {fmt_s(r['hoard'])} | rsync --files-from {fmt_s(r['rsync --files-from'])}; "
                 f"unison {fmt_s(r['unison'])} | {fmt_r(rf)} rsync; unison takes {fmt_r(ru)} | "
                 f"≤ 1.3× rsync --files-from; ≥ 5× faster than unison | "
                 f"{'—' if ok is None else verdict(ok[0]) + ' / ' + verdict(ok[1])} |")
    c = s["reconnect"]
    rc = ratio(c["hoard"], c["find"])
    lines.append(f"| no-change reconnect | {fmt_s(c['hoard'])} | find {fmt_s(c['find'])}; "
                 f"unison {fmt_s(c['unison'])} | {fmt_r(rc)} find; {fmt_r(ratio(c['hoard'], c['unison']))} "
                 f"unison | ≤ 1.5× find (at 100,000 files) | {verdict(None if rc is None else rc <= 1.5)} |")
    m = s["memory"]

    def mib(v):
        return "—" if v is None else f"{v:.1f} MiB"
    lines.append(f"| memory (tracking {n:,} files) | peak {mib(m['hoardd peak'])}, steady "
                 f"{mib(m['hoardd steady'])} | unison peak {mib(m['unison peak'])} | "
                 f"{fmt_r(ratio(m['hoardd peak'], m['unison peak']))} unison | < 64 MiB at 100,000 files | "
                 f"{verdict(None if m['hoardd peak'] is None else m['hoardd peak'] < 64)}"
                 f"{'' if n >= 100000 else ' (at this size)'} |")
    w = s["writeback"]
    lines.append(f"| write-back latency ({w['samples']} saves) | median {fmt_s(w['median'])}, "
                 f"p95 {fmt_s(w['p95'])} | — | — | median < 0.5 s | "
                 f"{verdict(None if w['median'] is None else w['median'] < 0.5)} |")
    selected = ITEMS if not getattr(args, "only", None) else args.only.split(",")
    prefixes = {"preload": "| preload", "reintegration": "| reintegration",
                "reconnect": "| no-change", "memory": "| memory", "writeback": "| write-back"}
    lines = [ln for ln in lines if not any(ln.startswith(prefixes[i]) for i in ITEMS
                                           if i not in selected)]
    lines += ["", "## Correctness", ""]
    for i, h in enumerate(hruns):
        pc = "cache equals the remote, byte for byte" if h.get("preload_ok") else \
            f"NOT EQUAL: {h.get('preload_check')}"
        lines.append(f"- run {i + 1}: preload: {pc}.")
        rc_ = h.get("reintegration_check")
        if rc_:
            lines.append(
                f"- run {i + 1}: reintegration: {rc_['conflicts']} open conflicts "
                f"({', '.join(rc_['conflict_kinds']) or 'none'}) for {rc_['overlaps']} overlaps "
                f"({'exactly the overlaps' if rc_['conflicts_are_overlaps'] else 'NOT the overlaps'}); "
                f"{rc_['local_edits_arrived']} local edits/creations on the remote, "
                f"{rc_['remote_edits_arrived']} remote edits in the cache; "
                f"{rc_['non_conflict_paths_equal']} non-conflicting paths equal both sides; "
                f"{rc_['renames_kept_inode']} of {rc_['renames']} renames kept the remote inode; "
                f"overlaps: cache keeps the local version for {rc_['overlaps_cache_holds_local']}, "
                f"remote keeps its own for {rc_['overlaps_remote_holds_remote']}.")
        for e in h.get("errors", []):
            lines.append(f"- run {i + 1}: **problem**: {e}")
    for i, r_ in enumerate(rruns):
        if "unison_reint_exit" in r_:
            lines.append(f"- run {i + 1}: unison exit {r_['unison_reint_exit']} (1 = conflicts skipped), "
                         f"{r_['unison_reint_left_different']} paths left different.")
    lines += ["", "## Every run", "", "| value | " + " | ".join(f"run {i + 1}" for i in range(len(hruns)))
              + " |", "| --- |" + " --- |" * len(hruns)]
    for label, runs, key in (("hoard preload", hruns, "preload_s"), ("cp -a", rruns, "cp_s"),
                             ("rsync -a", rruns, "rsync_s"),
                             ("hoard reintegration", hruns, "reintegration_s"),
                             ("rsync --files-from", rruns, "rsync_floor_s"),
                             ("unison reintegration", rruns, "unison_reint_s"),
                             ("hoard no-change sync", hruns, "reconnect_s"), ("find", hruns, "find_s"),
                             ("unison no-change", rruns, "unison_nochange_s"),
                             ("unison initial (untimed setup)", rruns, "unison_initial_s")):
        if any(key in r for r in runs):
            lines.append(f"| {label} | " + " | ".join(fmt_s(r.get(key)) for r in runs) + " |")
    for label, key in (("hoardd VmRSS settled", "hoardd_steady_kib"),
                       ("hoardd VmHWM after preload", "hoardd_hwm_after_preload_kib"),
                       ("hoardd VmHWM at the end", "hoardd_hwm_end_kib")):
        if any(key in r for r in hruns):
            lines.append(f"| {label} | " + " | ".join(
                "—" if key not in r else f"{r[key] / 1024:.1f} MiB" for r in hruns) + " |")
    if any("writeback_s" in r for r in hruns):
        lines.append("| write-back median / p95 | " + " | ".join(
            f"{fmt_s(statistics.median(r['writeback_s']))} / {fmt_s(pct(r['writeback_s'], 0.95))}"
            if r.get("writeback_s") else "—" for r in hruns) + " |")
    if args.link_copies:
        lines += ["", "The remote and unison's replicas were hard-linked copies of the generated "
                  "tree (`cp -al`; no selected item writes into them)."]
    lines += ["", "## Machine", "",
              f"- CPU: {mach['cpu']}, {mach['cores']} cores; RAM {mach['ram_gib']} GiB; "
              f"kernel {mach['kernel']}; filesystem {mach['filesystem']}",
              f"- hoard {mach['hoard_commit']} (the working tree when the run started); Release "
              f"binaries {mach.get('hoardd', '')}; {mach.get('hoard', '')}",
              f"- {mach['rsync']}; {mach['unison']}",
              f"- command: `{command}`", "",
              "Notes: hoard's preload and reintegration make their writes durable (fsync) and "
              "journal them; cp -a and rsync do not fsync (the `+ sync` figure is cp -a followed "
              "by sync(1)). The rsync --files-from floor copies exactly the locally changed files "
              "and detects no conflicts. unison ran with a prepared archive (one untimed run on "
              "the unmodified pair). Peak RSS of unison is the largest over its initial, "
              "no-change and reintegration runs."]
    return "\n".join(lines) + "\n"


def chart(path, s, n):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("preload", "seconds", {k: v for k, v in s["preload"].items()}),
              ("reintegration", "seconds", s["reintegration"]),
              ("no-change reconnect", "seconds", s["reconnect"]),
              ("memory", "MiB", s["memory"]),
              ("write-back latency", "seconds", {"median": s["writeback"]["median"],
                                                 "p95": s["writeback"]["p95"]})]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.2))
    for ax, (title, unit, vals) in zip(axes, panels):
        names = [k for k, v in vals.items() if v is not None]
        ys = [vals[k] for k in names]
        colors = ["tab:blue" if k.startswith("hoard") or k in ("median", "p95") else "tab:gray"
                  for k in names]
        ax.bar(range(len(names)), ys, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(unit)
        for i, y in enumerate(ys):
            ax.text(i, y, f"{y:.3g}", ha="center", va="bottom", fontsize=7)
    fig.suptitle(f"hoard vs the tools people use instead ({n:,} files; blue: hoard)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------- main


def rerender(out):
    with open(os.path.join(out, "results.json")) as f:
        j = json.load(f)
    args = argparse.Namespace(**j["args"])
    args.link_copies = getattr(args, "link_copies", False)
    hruns, rruns = j["hoard_runs"], j["reference_runs"]
    s = summarize(args, hruns, rruns, j["tree"])
    command = j.get("command") or f"bash tests/bench/run-bench.sh --files {args.files}"
    md = render(args, s, hruns, rruns, j["tree"], j["machine"], command)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    chart(os.path.join(out, "chart.png"), s, args.files)
    print(md)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--full", action="store_true", help="100,000 files")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/var/tmp/hoard-bench")
    ap.add_argument("--out")
    ap.add_argument("--only", help=f"comma-separated items of {','.join(ITEMS)}")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--render", metavar="DIR",
                    help="only rewrite DIR/results.md and chart.png from DIR/results.json")
    args = ap.parse_args()
    if args.render:
        return rerender(args.render)
    if args.full:
        args.files = 100000
    if args.runs < 1 or args.files < 100:
        ap.error("--runs must be >= 1 and --files >= 100")
    items = ITEMS if not args.only else tuple(i.strip() for i in args.only.split(","))
    for i in items:
        if i not in ITEMS:
            ap.error(f"unknown item {i!r}; items: {', '.join(ITEMS)}")
    for tool in ("hoardd", "hoard", "cp", "rsync", "find", "unison"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is not on PATH (run tests/bench/run-bench.sh)")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        sys.exit("bench: no session bus (run it under dbus-run-session, as run-bench.sh does)")
    if subprocess.run(["hoard", "share", "list"], capture_output=True).returncode == 0:
        sys.exit("bench: a hoardd already answers on this bus; run under a private one")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    out = args.out or os.path.join(HERE, "results", f"{date}-{args.files}files")
    os.makedirs(out, exist_ok=True)
    command = os.environ.get("HOARD_BENCH_COMMAND") or " ".join([sys.executable] + sys.argv)
    # Copies of the tree need not be real copies when nothing writes into them.
    args.link_copies = not ({"reintegration", "writeback"} & set(items))

    rmtree(args.work)
    os.makedirs(args.work)
    mach = machine(args.work)
    mach.update(snapshot_binaries(args.work))
    src = os.path.join(args.work, "src")
    log(f"generating {args.files:,} files (seed {args.seed}) in {src}")
    lst = treegen.generate(src, args.files, args.seed)
    src_files = [p for p, _ in lst]
    tree_info = {"files": len(lst), "bytes": sum(sz for _, sz in lst)}
    plans = treegen.plan_pair(lst, args.seed)
    log(f"{tree_info['bytes'] / MIB:,.0f} MiB; local plan: "
        + ", ".join(f"{len(plans[0][k])} {k}" for k in ("modify", "create", "delete", "rename"))
        + f"; remote plan: {len(plans[1]['modify'])} modify, {len(plans[1]['overlap'])} overlapping")
    hruns, rruns = [], []
    for run in range(args.runs):
        log(f"run {run + 1}/{args.runs}: hoard")
        h = {}
        hoard_run(args, run, src, src_files, plans, items, h)
        hruns.append(h)
        log(f"run {run + 1}/{args.runs}: references")
        r = {}
        try:
            reference_run(args, run, src, plans, items, r)
        except BenchError as e:
            r["error"] = str(e)
            log(f"  reference ERROR: {e}")
        rruns.append(r)
    if not args.keep:
        rmtree(args.work)
    s = summarize(args, hruns, rruns, tree_info)
    md = render(args, s, hruns, rruns, tree_info, mach, command)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "items": items, "tree": tree_info, "machine": mach,
                   "command": command,
                   "summary": s, "hoard_runs": hruns, "reference_runs": rruns,
                   "plans": {"local": plans[0], "remote": plans[1]}}, f, indent=1)
    try:
        chart(os.path.join(out, "chart.png"), s, args.files)
    except ImportError as e:
        print(f"bench: no chart ({e}); install python3-matplotlib", file=sys.stderr)
    print()
    print(md)
    print(f"results in {out}")
    return 1 if any(h.get("errors") for h in hruns) else 0


if __name__ == "__main__":
    sys.exit(main())
