# SPDX-License-Identifier: MIT
"""hoard across a real network link (issue 17): sshfs to our own sshd in a
network namespace, a round trip added by the e2e harness's delay line, and
the tools people use instead, in the same run, on the same seeded tree:

  preload        hoard share add + preload over the mount  vs rsync -a over ssh, unison's
                                                              initial ssh run
  no-change      hoard sync with nothing to do             vs a 64-way parallel lstat walk of
                                                              the mount, unison ssh no-change
  reintegration  hoard online until clean but for the      vs rsync -a --files-from over ssh,
                 conflicts (offline edits + server edits)     unison ssh
  round trips    the remote calls hoard made (hoard status --json: remote_calls), per file
                 and per directory, for each of the three

Each round trip (--rtts, default 2 and 20 ms) gets its own harness (its own
sshd, namespace and mount, with dir_cache=no,attr_timeout=0,entry_timeout=0
as the README advises) and every contestant its own copy of the tree on the
server. A benchmark, not a test: it asserts nothing about time; it checks the
preload and the reintegration like bench.py does and reports what it finds.
hoard runs with its default config. The optional ssh lister (hoard-lister)
is not built, so "with the lister" rows say so.

Expects hoardd, hoard and hoard_net_harness (--harness) and a session bus:
tests/bench/run-netbench.sh arranges all three. Needs root (namespaces,
FUSE). Writes results.md and results.json to --out.
"""

import argparse
import concurrent.futures as cf
import datetime
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import treegen  # noqa: E402
from bench import BenchError, hoard, hoard_json, log  # noqa: E402

SHARE = bench.SHARE
AIMS = {"preload": 1.5, "nochange": 1.2, "nochange_lister": 2.0, "reint": 1.5}


# ---------------------------------------------------------------- the link


class Link:
    """One harness: sshd in a netns behind a delay line, the export mounted."""

    def __init__(self, harness, rtt_ms):
        self.proc = subprocess.Popen([harness, str(rtt_ms)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().decode(errors="replace")
            raise BenchError(f"the harness did not start: {err[-2000:]}")
        self.info = json.loads(line)
        self.mount, self.export = self.info["mount"], self.info["export"]
        self.rsh = " ".join(shlex.quote(a) for a in self.info["ssh"])
        self.dest = self.info["destination"]

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def parallel_stat_walk(root, width=64):
    """Every entry beneath root lstat'ed after its directory's listing, up to
    `width` calls in flight, each relative to its open directory (as hoard's
    walk is: no path resolved again per entry): what a mount-only no-change
    pass must at least do. Returns the number of entries."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW

    def list_dir(fd):
        return os.listdir(fd)

    def stat_at(fd, name):
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        sub = os.open(name, flags, dir_fd=fd) if (st.st_mode & 0o170000) == 0o040000 else None
        return sub

    count, fds = 0, []
    with cf.ThreadPoolExecutor(width) as ex:
        top = os.open(root, flags)
        fds.append(top)
        pending = {ex.submit(list_dir, top): ("dir", top)}
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in done:
                kind, fd = pending.pop(f)
                if kind == "dir":
                    for n in f.result():
                        pending[ex.submit(stat_at, fd, n)] = ("stat", fd)
                else:
                    count += 1
                    sub = f.result()
                    if sub is not None:
                        fds.append(sub)
                        pending[ex.submit(list_dir, sub)] = ("dir", sub)
    for fd in fds:
        os.close(fd)
    return count


def timed(cmd, ok=(0,), env=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.monotonic() - t0
    if p.returncode not in ok:
        raise BenchError(f"{' '.join(cmd)} exited {p.returncode}: "
                         f"{(p.stderr + p.stdout).decode(errors='replace')[-2000:]}")
    return wall, p.returncode


def server_copy(link, src, name):
    """A fresh copy of the pristine tree on the server (beside the export's
    other copies, on the server's own disk): the remote root of one contestant."""
    dst = os.path.join(link.export, name)
    bench.copy_tree(src, dst)
    return dst


def remote_calls():
    return bench.status().get("remote_calls", {})


def calls_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def per_unit(calls, files, dirs):
    meta = sum(v for k, v in calls.items() if k not in ("fetchFile", "replaceFile", "readSmallFile"))
    listings = calls.get("listDir", 0) + calls.get("openDir", 0)
    return {"total": sum(calls.values()), "metadata": meta,
            "per_file": round(sum(calls.values()) / max(1, files), 2),
            "metadata_per_entry": round(meta / max(1, files + dirs), 2),
            "listings_per_dir": round(listings / max(1, dirs + 1), 2), "by_op": calls}


# ---------------------------------------------------------------- contestants


def hoard_side(args, link, src, src_files, dirs, plans, res):
    remote = server_copy(link, src, "hoard")
    mounted = os.path.join(link.mount, "hoard")
    base = os.path.join(args.work, "hoard")
    cache = os.path.join(base, "cache")
    h = bench.Hoardd(os.path.join(base, "state"))
    res["errors"] = []
    try:
        h.start()
        t0 = time.monotonic()
        hoard("share", "add", SHARE, mounted, cache)
        c0 = remote_calls()
        hoard("preload", SHARE)
        res["preload_s"] = time.monotonic() - t0
        res["preload_calls"] = per_unit(calls_delta(c0, remote_calls()), len(src_files), dirs)
        log(f"  hoard preload {res['preload_s']:.2f} s; calls {res['preload_calls']['by_op']}")
        cmp = bench.compare_trees(remote, cache)
        if cmp["only_a"] or cmp["only_b"] or cmp["differ"]:
            res["errors"].append(f"preload: the cache is not the remote: "
                                 f"{ {k: bench.short(v) if k != 'same' else v for k, v in cmp.items()} }")
        bench.settle_status()
        c0 = remote_calls()
        t0 = time.monotonic()
        hoard("sync", SHARE)
        res["nochange_s"] = time.monotonic() - t0
        res["nochange_calls"] = per_unit(calls_delta(c0, remote_calls()), len(src_files), dirs)
        log(f"  hoard no-change sync {res['nochange_s']:.2f} s; calls {res['nochange_calls']['by_op']}")
        local_plan, remote_plan = plans
        hoard("offline", SHARE)
        bench.wait_until("the share to be offline", lambda: bench.status()["state"] == "offline", 60)
        ino_before = {old: os.stat(os.path.join(remote, old)).st_ino for old, _ in local_plan["rename"]}
        local_m = treegen.apply(cache, local_plan)
        bench.wait_changes_stable()
        remote_m = treegen.apply(remote, remote_plan)
        c0 = remote_calls()
        t0 = time.monotonic()
        hoard("online", SHARE)
        res["sync_exit"] = hoard("sync", SHARE, ok=(0, 3)).returncode
        bench.settle_status(timeout=3600)
        res["reint_s"] = time.monotonic() - t0
        res["reint_calls"] = per_unit(calls_delta(c0, remote_calls()), len(src_files), dirs)
        log(f"  hoard reintegration {res['reint_s']:.2f} s (exit {res['sync_exit']}); "
            f"calls {res['reint_calls']['by_op']}")
        check = bench.check_reintegration(cache, remote, [p for p, _ in src_files], local_m,
                                          remote_m, ino_before, False)
        res["reint_check"] = check
        res["errors"] += [f"reintegration: {p}" for p in check["problems"]]
        res["offline_flaps"] = "offline" if bench.status()["state"] != "online" else ""
    except BenchError as e:
        res["errors"].append(str(e))
        log(f"  hoard ERROR: {e}")
    finally:
        complaint = h.stop()
        if complaint:
            res["errors"].append(complaint)
        res["hoardd_log_tail"] = h.log_tail(2000)


def lister_side(args, link, src, src_files, dirs, res):
    """The same share with hoard-lister over ssh (config shares.NAME.lister):
    a no-change pass, after the one that pairs the lister's view with the
    mount's."""
    remote = server_copy(link, src, "hoard-lister")
    mounted = os.path.join(link.mount, "hoard-lister")
    base = os.path.join(args.work, "hoard-lister")
    h = bench.Hoardd(os.path.join(base, "state"))
    os.makedirs(os.path.join(h.env["XDG_CONFIG_HOME"], "hoard"), exist_ok=True)
    with open(os.path.join(h.env["XDG_CONFIG_HOME"], "hoard", "config.json"), "w") as f:
        json.dump({"lister_command": args.lister, "lister_rsh": link.rsh,
                   "shares": {SHARE: {"lister": f"ssh://{link.dest}{remote}"}}}, f)
    try:
        h.start()
        hoard("share", "add", SHARE, mounted, os.path.join(base, "cache"))
        hoard("preload", SHARE)
        bench.settle_status()
        hoard("sync", SHARE)  # pairs the lister's records with the mount's
        bench.settle_status()
        c0 = remote_calls()
        t0 = time.monotonic()
        hoard("sync", SHARE)
        res["nochange_lister_s"] = time.monotonic() - t0
        res["nochange_lister_calls"] = per_unit(calls_delta(c0, remote_calls()), len(src_files), dirs)
        log(f"  hoard no-change sync with the lister {res['nochange_lister_s']:.2f} s; "
            f"calls {res['nochange_lister_calls']['by_op']}")
        with open(h.log_path, errors="replace") as f:
            why = [l.strip() for l in f if "not listing with hoard-lister" in l]
        if why:
            res["lister_log"] = why[-3:]
            log("  hoardd about the lister: " + " | ".join(why[-3:]))
    except BenchError as e:
        res.setdefault("errors", []).append(f"lister: {e}")
        log(f"  hoard (lister) ERROR: {e}")
    finally:
        complaint = h.stop()
        if complaint:
            res.setdefault("errors", []).append(complaint)
        shutil.rmtree(remote, ignore_errors=True)


def rsync_side(args, link, src, plans, res):
    remote = server_copy(link, src, "rsync")
    a = os.path.join(args.work, "rsync")
    res["rsync_s"], _ = timed(["rsync", "-a", "-e", link.rsh, f"{link.dest}:{remote}/", a + "/"])
    log(f"  rsync -a over ssh {res['rsync_s']:.2f} s")
    local_plan, remote_plan = plans
    treegen.apply(a, local_plan)
    treegen.apply(remote, remote_plan)
    lst = os.path.join(args.work, "files-from")
    with open(lst, "w") as out:
        for p in local_plan["modify"] + local_plan["create"] + [n for _, n in local_plan["rename"]]:
            out.write(p + "\n")
    res["rsync_floor_s"], _ = timed(["rsync", "-a", "-e", link.rsh, f"--files-from={lst}",
                                     a + "/", f"{link.dest}:{remote}/"])
    log(f"  rsync --files-from over ssh {res['rsync_floor_s']:.2f} s")


def unison_side(args, link, src, plans, res):
    remote = server_copy(link, src, "unison")
    u = os.path.join(args.work, "unison")
    a = os.path.join(u, "a")
    os.makedirs(a)
    env = dict(os.environ, UNISON=os.path.join(u, "archive"), HOME=u)
    sshargs = " ".join(shlex.quote(x) for x in link.info["ssh"][1:])
    cmd = ["unison", a, f"ssh://{link.dest}/{remote}", "-batch", "-times", "-perms", "0",
           "-sshargs", sshargs, "-servercmd", shutil.which("unison") or "unison"]
    res["unison_initial_s"], _ = timed(cmd, env=env)
    res["unison_nochange_s"], _ = timed(cmd, env=env)
    log(f"  unison ssh initial {res['unison_initial_s']:.2f} s, no-change {res['unison_nochange_s']:.2f} s")
    local_plan, remote_plan = plans
    treegen.apply(a, local_plan)
    treegen.apply(remote, remote_plan)
    res["unison_reint_s"], res["unison_reint_exit"] = timed(cmd, ok=(0, 1), env=env)
    log(f"  unison ssh reintegration {res['unison_reint_s']:.2f} s")


def one_link(args, rtt, src, src_files, dirs, plans):
    res = {"added_rtt_ms": rtt}
    link = Link(args.harness, rtt)
    try:
        res["rtt_ms"] = link.info["rtt_ms"]
        res["method"] = link.info["method"]
        res["mount_options"] = link.info["mount_options"]
        log(f"== {rtt} ms added: round trip measured {res['rtt_ms']:.2f} ms ({res['method']})")
        walk_root = server_copy(link, src, "walk")
        t0 = time.monotonic()
        res["pstat_entries"] = parallel_stat_walk(os.path.join(link.mount, "walk"), 64)
        res["pstat_s"] = time.monotonic() - t0
        log(f"  64-way parallel lstat walk {res['pstat_s']:.2f} s ({res['pstat_entries']} entries)")
        shutil.rmtree(walk_root)
        hoard_side(args, link, src, src_files, dirs, plans, res)
        lister_side(args, link, src, src_files, dirs, res)
        rsync_side(args, link, src, plans, res)
        if not args.skip_unison:
            unison_side(args, link, src, plans, res)
    finally:
        link.close()
    return res


# ---------------------------------------------------------------- report


def ratio(a, b):
    return a / b if a is not None and b else None


def aims_rows(r):
    rows = []
    def row(item, hv, ref, rv, aim, ok):
        rows.append((item, hv, ref, rv, aim, ok))
    pre = ratio(r.get("preload_s"), r.get("rsync_s"))
    row("preload", r.get("preload_s"), f"rsync -a over ssh {fmt(r.get('rsync_s'))}", pre,
        "≤ 1.5× rsync -a", pre is not None and pre <= AIMS["preload"])
    nc = ratio(r.get("nochange_s"), r.get("pstat_s"))
    row("no-change pass, mount only", r.get("nochange_s"),
        f"64-way lstat walk {fmt(r.get('pstat_s'))}", nc, "≤ 1.2× the walk",
        nc is not None and nc <= AIMS["nochange"])
    nl = ratio(r.get("nochange_lister_s"), r.get("unison_nochange_s"))
    row("no-change pass, with the lister", r.get("nochange_lister_s"),
        f"unison ssh no-change {fmt(r.get('unison_nochange_s'))}", nl, "≤ 2× unison",
        nl is not None and nl <= AIMS["nochange_lister"])
    ri = ratio(r.get("reint_s"), r.get("rsync_floor_s"))
    un = ratio(r.get("reint_s"), r.get("unison_reint_s"))
    row("reintegration", r.get("reint_s"),
        f"rsync --files-from over ssh {fmt(r.get('rsync_floor_s'))}; unison ssh "
        f"{fmt(r.get('unison_reint_s'))}", ri, "≤ 1.5× rsync --files-from; faster than unison",
        ri is not None and ri <= AIMS["reint"] and (un is None or un < 1.0))
    return rows


def fmt(v):
    if v is None:
        return "—"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def render(args, results, tree):
    lines = [f"# hoard across a link: {tree['files']} files, {tree['dirs']} directories, "
             f"{tree['bytes'] / 2**20:.0f} MiB", "",
             f"Command: `{args.command}`. Machine: {os.cpu_count()} cores, "
             f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC. Mount: sshfs "
             f"{results[0].get('mount_options', '') if results else ''}; hoard's default config.", ""]
    for r in results:
        lines += [f"## {r['added_rtt_ms']} ms added (round trip measured over the mount: "
                  f"{r.get('rtt_ms', 0):.2f} ms, {r.get('method', '?')})", "",
                  "| item | hoard | reference | ratio | aim | |", "| --- | --- | --- | --- | --- | --- |"]
        for item, hv, ref, rv, aim, ok in aims_rows(r):
            verdict = "not built" if ok is None else ("met" if ok else "**missed**")
            lines.append(f"| {item} | {fmt(hv)} | {ref} | "
                         f"{'—' if rv is None else f'{rv:.2f}×'} | {aim} | {verdict} |")
        lines += ["", f"unison ssh initial (preload): {fmt(r.get('unison_initial_s'))}.", "",
                  "Remote calls hoard made (they reached the mount; each is one or more round trips):", "",
                  "| step | calls | per file | metadata per entry | listings per directory | by operation |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for step in ("preload", "nochange", "reint"):
            c = r.get(f"{step}_calls")
            if c:
                ops = ", ".join(f"{k} {v}" for k, v in sorted(c["by_op"].items()))
                lines.append(f"| {step} | {c['total']} | {c['per_file']} | {c['metadata_per_entry']} | "
                             f"{c['listings_per_dir']} | {ops} |")
        if r.get("errors"):
            lines += ["", "Problems found:", ""] + [f"- {e}" for e in r["errors"]]
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--rtts", default="2,20", help="added round trips in ms, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/var/tmp/hoard-netbench")
    ap.add_argument("--harness", required=True, help="the hoard_net_harness program")
    ap.add_argument("--lister", default="hoard-lister",
                    help="the hoard-lister program as the server's shell finds it")
    ap.add_argument("--out")
    ap.add_argument("--skip-unison", action="store_true")
    args = ap.parse_args()
    args.command = os.environ.get("HOARD_BENCH_COMMAND", " ".join(sys.argv))
    if os.path.exists(args.work):
        shutil.rmtree(args.work)
    os.makedirs(args.work)
    src = os.path.join(args.work, "src")
    listing = treegen.generate(src, args.files, args.seed)
    plans = treegen.plan_pair(listing, args.seed, args.files)
    dirs = sum(len(d) for _, d, _ in os.walk(src))
    tree = {"files": len(listing), "dirs": dirs, "bytes": sum(s for _, s in listing)}
    results = []
    for rtt in [int(x) for x in args.rtts.split(",") if x]:
        work = os.path.join(args.work, f"rtt{rtt}")
        os.makedirs(work)
        sub = argparse.Namespace(**vars(args))
        sub.work = work
        results.append(one_link(sub, rtt, src, listing, dirs, plans))
        shutil.rmtree(work, ignore_errors=True)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"{datetime.datetime.utcnow():%Y-%m-%d}-net-{args.files}files")
    os.makedirs(out, exist_ok=True)
    md = render(args, results, tree)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items()}, "tree": tree, "results": results},
                  f, indent=1, default=str)
    print(md)
    log(f"wrote {out}/results.md")
    return 1 if any(r.get("errors") for r in results) else 0


if __name__ == "__main__":
    bench._t_start = time.monotonic()
    sys.exit(main())
