#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An external resolver for hoard: the newer side wins.

It exports org.hoard.Resolver1 on its own connection to the session bus and
registers with hoardd under a name that rules can use:

    {"match": "notes/**", "resolver": "newest"}

For each conflict hoardd hands it, it keeps the version whose modification
time is later and leaves the conflict open when both are equally old. A
`hoard resolve --dry-run` asks it for a preview (the conflict carries
"preview": true): it answers what it would decide, changing nothing and
printing nothing, and writes no merge. With
--merge-lines, a text conflict (content or create-create) is merged instead:
the lines of both versions, local first, each line once, written to the
output descriptor hoardd gave. hoardd never gives it a path, only read-only
descriptors of the three versions and one for the result.

    hoard-resolver-newest.py [--name NAME] [--default] [--merge-lines]
                             [--always ANSWER] [--think SECONDS] [--timeout SECONDS]

--always answers the same for every conflict (a bulk "keep-remote
everything" resolver, or any word, to see how hoardd takes an answer it
does not know); --think waits before answering, as a person at a prompt
would; --timeout is how long hoardd waits for one answer.

Needs python3-dbus and python3-gi (Debian packages).
"""
import argparse
import os
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

RESOLVER = "org.hoard.Resolver1"
PATH = "/org/hoard/examples/Newest"


def read_all(fd):
    chunks, offset = [], 0
    while True:
        data = os.pread(fd, 1 << 16, offset)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        offset += len(data)


class Newest(dbus.service.Object):
    def __init__(self, bus, loop, args):
        super().__init__(bus, PATH)
        self.loop = loop
        self.merge_lines = args.merge_lines
        self.always = args.always
        self.think = args.think

    @dbus.service.method(RESOLVER, in_signature="a{sv}hhhh", out_signature="s")
    def Resolve(self, conflict, base, local, remote, output):
        fds = [base.take(), local.take(), remote.take(), output.take()]
        preview = bool(conflict.get("preview", False))
        if self.think:
            time.sleep(self.think)
        if self.always:
            if not preview:
                print(f"{bytes(conflict['path']).decode('utf-8', 'replace')}: {self.always}",
                      flush=True)
            for fd in fds:
                os.close(fd)
            return self.always
        try:
            return self.decide(conflict, fds[1], fds[2], None if preview else fds[3])
        finally:
            for fd in fds:
                os.close(fd)

    def decide(self, conflict, local_fd, remote_fd, output_fd):
        """output_fd is None for a preview: say what, do nothing."""
        kind = str(conflict["kind"])
        path = bytes(conflict["path"]).decode("utf-8", "replace")
        say = (lambda text: None) if output_fd is None else (lambda text: print(text, flush=True))
        if self.merge_lines and kind in ("content", "create-create"):
            mine, theirs = read_all(local_fd), read_all(remote_fd)
            if b"\0" not in mine + theirs:
                if output_fd is None:
                    return "merged"
                seen, merged = set(), []
                for line in mine.splitlines(True) + theirs.splitlines(True):
                    if line not in seen:
                        seen.add(line)
                        merged.append(line)
                os.write(output_fd, b"".join(merged))
                say(f"{path}: merged the lines of both sides")
                return "merged"
        local_t = int(conflict["local"].get("mtime_ns", 0))
        remote_t = int(conflict["remote"].get("mtime_ns", 0))
        if str(conflict["local"]["type"]) == "none":
            local_t = -1
        if str(conflict["remote"]["type"]) == "none":
            remote_t = -1
        if local_t == remote_t:
            say(f"{path}: both sides equally old; leaving it open")
            return "defer"
        side = "keep-local" if local_t > remote_t else "keep-remote"
        say(f"{path}: {side}")
        return side

    @dbus.service.method(RESOLVER, in_signature="", out_signature="")
    def Release(self):
        self.loop.quit()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="newest", help="the name rules use (default: newest)")
    parser.add_argument("--default", action="store_true",
                        help="also decide every conflict no rule takes")
    parser.add_argument("--merge-lines", action="store_true",
                        help="merge text conflicts line by line instead of picking a side")
    parser.add_argument("--always", metavar="ANSWER", help="answer this for every conflict")
    parser.add_argument("--think", type=float, default=0, metavar="SECONDS",
                        help="wait this long before answering")
    parser.add_argument("--timeout", type=int, default=60, metavar="SECONDS",
                        help="how long hoardd waits for one answer (1 to 86400)")
    args = parser.parse_args()

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    loop = GLib.MainLoop()
    Newest(bus, loop, args)
    agent = dbus.Interface(bus.get_object("org.hoard.Agent1", "/org/hoard/Agent1"),
                           "org.hoard.Agent1")
    try:
        agent.RegisterResolver(dbus.ObjectPath(PATH), args.name,
                               {"default": dbus.Boolean(args.default),
                                "timeout_s": dbus.UInt32(args.timeout)})
    except dbus.DBusException as e:
        print(f"hoard-resolver-newest: cannot register: {e.get_dbus_name()}: {e.get_dbus_message()}",
              file=sys.stderr)
        return 1
    print(f"registered as {args.name}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
