# SPDX-License-Identifier: MIT
"""Seeded trees for hoard's benchmarks: a generator of a "remote" tree and a
mutator that replays "offline edits" and "third-party edits on the server".

Standard library only (Debian's /usr/bin/python3). Same seed, same tree: the
names, the sizes and the bytes. Every file starts with a line naming the seed
and its path, so no two files hold the same bytes and a content-addressed
store cannot skip copies; bodies are slices of a seeded pool, so generating
is bounded by the disk, not by Python.

    treegen.py generate DIR --files N --seed S
    treegen.py plan DIR --seed S [--local-out L.json] [--remote-out R.json]
    treegen.py apply DIR PLAN.json
"""

import argparse
import hashlib
import json
import os
import random
import sys

MAX_DEPTH = 5
TEXT_POOL = 6 << 20          # bytes of seeded text the text bodies are cut from
BINARY_POOL = 8 << 20        # and of seeded random bytes for the large files
KIB = 1024
MIB = 1024 * KIB

# The counts at 20,000 files; smaller trees get them scaled down.
FULL_SCALE_FILES = 20000
LOCAL_COUNTS = {"modify": 1000, "create": 200, "delete": 100, "rename": 100}
REMOTE_COUNTS = {"modify": 500, "overlap": 100}

_WORDS = ("alpha", "beta", "gamma", "delta", "report", "thesis", "data", "draft", "notes",
          "figure", "table", "chapter", "results", "scan", "model", "config", "build", "src",
          "lib", "docs", "paper", "review", "budget", "plan", "meeting", "photo", "archive")
_TEXT_EXT = (".txt", ".md", ".c", ".h", ".py", ".csv", ".tex")
_BIN_EXT = (".bin", ".dat", ".png", ".pdf", ".tiff")


class _Pools:
    """The seeded byte pools bodies are sliced from (built once per seed)."""

    def __init__(self, seed):
        rng = random.Random(f"pool-{seed}")
        vocab = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 11)))
                 for _ in range(4000)]
        lines = []
        size = 0
        while size < TEXT_POOL:
            line = " ".join(rng.choices(vocab, k=rng.randint(4, 16))) + "\n"
            lines.append(line)
            size += len(line)
        self.text = "".join(lines).encode()
        self.binary = rng.randbytes(BINARY_POOL)

    def body(self, rng, size, binary):
        pool = self.binary if binary else self.text
        if size <= 0:
            return b""
        out = []
        while size > 0:  # a 4 MiB file may need two slices of the 8 MiB pool
            n = min(size, len(pool) // 2)
            start = rng.randrange(0, len(pool) - n)
            out.append(pool[start:start + n])
            size -= n
        return b"".join(out)


_pool_cache = {}


def _pools(seed):
    if seed not in _pool_cache:
        _pool_cache.clear()
        _pool_cache[seed] = _Pools(seed)
    return _pool_cache[seed]


def _size_class(rng):
    """70% 1-8 KiB text, 25% 8-256 KiB text, 5% 256 KiB-4 MiB binary."""
    r = rng.random()
    if r < 0.70:
        return rng.randint(1 * KIB, 8 * KIB), False
    if r < 0.95:
        return rng.randint(8 * KIB, 256 * KIB), False
    return rng.randint(256 * KIB, 4 * MIB), True


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def dir_count(files):
    """~1,000 directories; fewer for tiny trees."""
    return min(1000, max(10, files // 20))


def generate(root, files, seed):
    """Write a tree of `files` files under `root` (created; must be absent or
    empty) and return its listing: a sorted list of (relative path, size)."""
    rng = random.Random(f"tree-{seed}")
    pools = _pools(seed)
    os.makedirs(root, exist_ok=True)
    if os.listdir(root):
        raise SystemExit(f"treegen: {root} is not empty")
    dirs = [("", 0)]  # (relative path, depth); "" is the root
    for i in range(dir_count(files)):
        while True:
            parent, depth = rng.choice(dirs)
            if depth < MAX_DEPTH:
                break
        name = f"{rng.choice(_WORDS)}-{i:04d}"
        rel = f"{parent}/{name}" if parent else name
        dirs.append((rel, depth + 1))
        os.mkdir(os.path.join(root, rel))
    listing = []
    for i in range(files):
        parent, _ = rng.choice(dirs)
        size, binary = _size_class(rng)
        ext = rng.choice(_BIN_EXT if binary else _TEXT_EXT)
        name = f"{rng.choice(_WORDS)}-{i:06d}{ext}"
        rel = f"{parent}/{name}" if parent else name
        head = f"hoard-bench seed={seed} file={i} path={rel}\n".encode()
        _write(os.path.join(root, rel), head + pools.body(rng, max(0, size - len(head)), binary))
        listing.append((rel, max(size, len(head))))
    listing.sort()
    return listing


def listing(root):
    """The files under `root`: a sorted list of (relative path, size)."""
    out = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            out.append((os.path.relpath(p, root), os.lstat(p).st_size))
    out.sort()
    return out


def scaled(counts, files):
    """The issue's counts, exact at >= 20,000 files, proportionally fewer below
    (at least 1 each where the issue asks for any)."""
    if files >= FULL_SCALE_FILES:
        return dict(counts)
    f = files / FULL_SCALE_FILES
    return {k: max(1, round(v * f)) if v else 0 for k, v in counts.items()}


def plan_mutations(tree_listing, seed, modify=0, create=0, delete=0, rename=0, tag="local",
                   overlap_with=None, overlap=0, avoid=()):
    """Choose, reproducibly, what to change in a tree.

    tree_listing: (path, size) pairs or plain paths of the unmutated tree.
    Returns a plan (json-able dict): lists of paths to "modify", "create",
    "delete" and "rename" ([old, new] pairs), disjoint from each other.
    overlap_with: another plan; exactly `overlap` of the `modify` paths are
    drawn from its "modify" list, and no other path it touches (modified,
    deleted, renamed from or to, created) is touched by this plan.
    avoid: further paths never to touch."""
    rng = random.Random(f"plan-{tag}-{seed}")
    paths = sorted(p if isinstance(p, str) else p[0] for p in tree_listing)
    dirs = sorted({os.path.dirname(p) for p in paths})
    taken = set(avoid)
    chosen_overlap = []
    if overlap_with is not None:
        other = overlap_with
        if overlap > len(other["modify"]):
            raise ValueError(f"overlap {overlap} > the other plan's {len(other['modify'])} modifications")
        chosen_overlap = sorted(rng.sample(sorted(other["modify"]), overlap))
        taken |= set(other["modify"]) | set(other["delete"]) | set(other["create"])
        taken |= {o for o, _ in other["rename"]} | {n for _, n in other["rename"]}
    free = [p for p in paths if p not in taken]
    need = (modify - len(chosen_overlap)) + delete + rename
    if need > len(free):
        raise ValueError(f"the tree has {len(free)} free files, the plan needs {need}")
    picked = rng.sample(free, need)
    n_mod = modify - len(chosen_overlap)
    mods = sorted(chosen_overlap + picked[:n_mod])
    dels = sorted(picked[n_mod:n_mod + delete])
    ren_src = picked[n_mod + delete:]
    existing = set(paths)
    if overlap_with is not None:
        existing |= set(overlap_with["create"]) | {n for _, n in overlap_with["rename"]}
    renames = []
    for i, old in enumerate(ren_src):
        stem, ext = os.path.splitext(os.path.basename(old))
        d = rng.choice(dirs) if rng.random() < 0.5 else os.path.dirname(old)  # a move or a rename
        new = os.path.join(d, f"{stem}.renamed-{tag}-{i:05d}{ext}")
        assert new not in existing
        existing.add(new)
        renames.append([old, new])
    creates = []
    for i in range(create):
        d = rng.choice(dirs)
        new = os.path.join(d, f"new-{tag}-{seed}-{i:05d}.txt")
        assert new not in existing
        existing.add(new)
        creates.append(new)
    return {"seed": seed, "tag": tag, "modify": mods, "create": sorted(creates), "delete": dels,
            "rename": sorted(renames), "overlap": chosen_overlap}


def plan_pair(tree_listing, seed, files=None):
    """The benchmark's two plans: offline edits on the local side and
    third-party edits on the server, with the issue's counts (scaled for
    small trees). Returns (local_plan, remote_plan)."""
    n = files if files is not None else len(tree_listing)
    lc = scaled(LOCAL_COUNTS, n)
    rc = scaled(REMOTE_COUNTS, n)
    rc["overlap"] = min(rc["overlap"], rc["modify"], lc["modify"])
    local = plan_mutations(tree_listing, seed, tag="local", **lc)
    remote = plan_mutations(tree_listing, seed, modify=rc["modify"], tag="remote",
                            overlap_with=local, overlap=rc["overlap"])
    return local, remote


def _hash_file(path):
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _modify(path, rel, rng, pools, tag, seed):
    """Change the bytes of an existing file, keeping sizes varied: append,
    rewrite a part in place, or cut it short and append."""
    size = os.path.getsize(path)
    mark = f"\n[{tag} edit seed={seed} path={rel}]\n".encode()
    how = rng.random()
    if how < 0.5 or size < 2 * KIB:
        with open(path, "ab") as f:
            f.write(mark + pools.body(rng, rng.randint(16, 16 * KIB), False))
        return "append"
    if how < 0.8:
        n = rng.randint(len(mark), min(size // 2, 64 * KIB))
        off = rng.randrange(0, size - n)
        with open(path, "r+b") as f:
            f.seek(off)
            f.write((mark + pools.body(rng, n - len(mark), False))[:n])
        return "rewrite"
    with open(path, "r+b") as f:
        f.truncate(rng.randint(size // 4, size - 1))
        f.seek(0, os.SEEK_END)
        f.write(mark + pools.body(rng, rng.randint(16, 4 * KIB), False))
    return "truncate+append"


def apply(root, plan):
    """Carry out `plan` on the tree at `root` (modify, create, rename, delete)
    and return a manifest: the plan plus, for every modified or created path,
    the BLAKE2b of its new bytes, so the outcome can be checked later."""
    seed, tag = plan["seed"], plan["tag"]
    rng = random.Random(f"apply-{tag}-{seed}")
    pools = _pools(seed)
    hashes = {}
    how = {}
    for rel in plan["modify"]:
        p = os.path.join(root, rel)
        how[rel] = _modify(p, rel, rng, pools, tag, seed)
        hashes[rel] = _hash_file(p)
    for rel in plan["create"]:
        p = os.path.join(root, rel)
        head = f"hoard-bench new file by {tag} seed={seed} path={rel}\n".encode()
        _write(p, head + pools.body(rng, rng.randint(1 * KIB, 64 * KIB), False))
        hashes[rel] = _hash_file(p)
    for old, new in plan["rename"]:
        os.rename(os.path.join(root, old), os.path.join(root, new))
    for rel in plan["delete"]:
        os.unlink(os.path.join(root, rel))
    return dict(plan, hashes=hashes, how=how)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write a seeded tree into DIR")
    g.add_argument("dir")
    g.add_argument("--files", type=int, default=FULL_SCALE_FILES)
    g.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("plan", help="print the local and remote plans for the tree in DIR")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--local-out")
    p.add_argument("--remote-out")
    a = sub.add_parser("apply", help="apply a plan (json) to DIR; prints the manifest")
    a.add_argument("dir")
    a.add_argument("plan")
    args = ap.parse_args(argv)
    if args.cmd == "generate":
        lst = generate(args.dir, args.files, args.seed)
        total = sum(s for _, s in lst)
        print(f"{len(lst)} files, {total / MIB:.0f} MiB in {dir_count(args.files)} directories "
              f"under {args.dir}")
    elif args.cmd == "plan":
        local, remote = plan_pair(listing(args.dir), args.seed)
        for plan, out in ((local, args.local_out), (remote, args.remote_out)):
            text = json.dumps(plan, indent=1)
            if out:
                with open(out, "w") as f:
                    f.write(text)
            else:
                print(text)
    else:
        with open(args.plan) as f:
            plan = json.load(f)
        json.dump(apply(args.dir, plan), sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
