#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An external resolver for hoard: the newer side wins.

It exports org.hoard.Resolver1 on its own connection to the session bus and
registers with hoardd under a name that rules can use:

    {"match": "notes/**", "resolver": "newest"}

For each conflict hoardd hands it, it keeps the version whose modification
time is later and leaves the conflict open when both are equally old. With
--merge-lines, a text conflict (content or create-create) is merged instead:
the lines of both versions, local first, each line once, written to the
output descriptor hoardd gave. hoardd never gives it a path, only read-only
descriptors of the three versions and one for the result.

    hoard-resolver-newest.py [--name NAME] [--default] [--merge-lines]

Needs python3-dbus and python3-gi (Debian packages).
"""
import argparse
import os
import sys

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
    def __init__(self, bus, loop, merge_lines):
        super().__init__(bus, PATH)
        self.loop = loop
        self.merge_lines = merge_lines

    @dbus.service.method(RESOLVER, in_signature="a{sv}hhhh", out_signature="s")
    def Resolve(self, conflict, base, local, remote, output):
        fds = [base.take(), local.take(), remote.take(), output.take()]
        try:
            return self.decide(conflict, fds[1], fds[2], fds[3])
        finally:
            for fd in fds:
                os.close(fd)

    def decide(self, conflict, local_fd, remote_fd, output_fd):
        kind = str(conflict["kind"])
        path = bytes(conflict["path"]).decode("utf-8", "replace")
        if self.merge_lines and kind in ("content", "create-create"):
            mine, theirs = read_all(local_fd), read_all(remote_fd)
            if b"\0" not in mine + theirs:
                seen, merged = set(), []
                for line in mine.splitlines(True) + theirs.splitlines(True):
                    if line not in seen:
                        seen.add(line)
                        merged.append(line)
                os.write(output_fd, b"".join(merged))
                print(f"{path}: merged the lines of both sides", flush=True)
                return "merged"
        local_t = int(conflict["local"].get("mtime_ns", 0))
        remote_t = int(conflict["remote"].get("mtime_ns", 0))
        if str(conflict["local"]["type"]) == "none":
            local_t = -1
        if str(conflict["remote"]["type"]) == "none":
            remote_t = -1
        if local_t == remote_t:
            print(f"{path}: both sides equally old; leaving it open", flush=True)
            return "defer"
        side = "keep-local" if local_t > remote_t else "keep-remote"
        print(f"{path}: {side}", flush=True)
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
    args = parser.parse_args()

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    loop = GLib.MainLoop()
    Newest(bus, loop, args.merge_lines)
    agent = dbus.Interface(bus.get_object("org.hoard.Agent1", "/org/hoard/Agent1"),
                           "org.hoard.Agent1")
    try:
        agent.RegisterResolver(dbus.ObjectPath(PATH), args.name,
                               {"default": dbus.Boolean(args.default)})
    except dbus.DBusException as e:
        print(f"hoard-resolver-newest: cannot register: {e.get_dbus_name()}: {e.get_dbus_message()}",
              file=sys.stderr)
        return 1
    print(f"registered as {args.name}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
