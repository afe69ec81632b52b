"""test_room.py - a snapshot never OOM-kills its process (issue 14).

Runs an app in a memory cgroup of its own (v2 memory.max, or v1's memory
controller, created under /sys/fs/cgroup; skipped where this user cannot
make one) whose limit leaves the room to stream a snapshot but not to hold
the whole graph, then one that leaves not even that: the first dump is
streamed (format 1.1+) and complete, the second is skipped with one
`muppy:` line, and the app ends as it would without the shim.
"""
import os
import subprocess
import tempfile
import unittest

import common

APP = r'''
import os, sys
heap = [[i + 1000] for i in range(int(sys.argv[1]))]
print("rss", int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
'''

N = 400000   # 800k objects: about 60 MB of heap


def cgroup_root():
    """(directory to make cgroups in, limit file, v1) or None."""
    v2 = "/sys/fs/cgroup/cgroup.controllers"
    if os.path.exists(v2):
        try:
            ctl = open("/sys/fs/cgroup/cgroup.subtree_control").read()
        except OSError:
            return None
        return ("/sys/fs/cgroup", "memory.max", False) if "memory" in ctl \
            else None
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return "/sys/fs/cgroup/memory", "memory.limit_in_bytes", True
    return None


class Cgroup:
    def __init__(self, limit):
        root, self.limit_file, v1 = cgroup_root()
        self.path = os.path.join(root, "muppy-room-%d" % os.getpid())
        os.mkdir(self.path)
        with open(os.path.join(self.path, self.limit_file), "w") as f:
            f.write(str(limit))
        if v1:
            # Without swap the limit is the OOM killer's.
            try:
                with open(os.path.join(self.path, "memory.swappiness"),
                          "w") as f:
                    f.write("0")
            except OSError:
                pass

    def enter(self):   # preexec_fn: the child joins before it execs
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def remove(self):
        os.rmdir(self.path)


def can_make_cgroup():
    if not cgroup_root():
        return False
    try:
        Cgroup(1 << 40).remove()
        return True
    except OSError:
        return False


@unittest.skipUnless(can_make_cgroup(), "cannot make a memory cgroup here")
class RoomTest(unittest.TestCase):

    def run_in(self, limit, interp, d, script, **env):
        cg = Cgroup(limit)
        try:
            return subprocess.run(
                [interp.path, script, str(N)], capture_output=True, text=True,
                env=common.shim_env(d, MUPPY_AT_EXIT="1", **env), cwd=d,
                preexec_fn=cg.enter, timeout=120)
        finally:
            cg.remove()

    def test_streams_when_short_and_skips_when_out(self):
        def check(interp):
            d = tempfile.mkdtemp(prefix="muppy-room-")
            self.addCleanup(lambda: subprocess.run(["rm", "-rf", d]))
            script = os.path.join(d, "heap.py")
            with open(script, "w") as f:
                f.write(APP)
            plain = subprocess.run([interp.path, script, str(N)],
                                   capture_output=True, text=True,
                                   env=common.clean_env(), timeout=120)
            rss = int(plain.stdout.split()[1])
            objects = 2 * N
            # Room for a stream (40 B/object, times 2) but not the whole
            # graph (200 B/object, times 2); then room for neither.
            for mode in ("inline", "fork"):
                r = self.run_in(rss + 3 * 40 * objects, interp, d, script,
                                MUPPY_SNAPSHOT=mode)
                self.assertEqual((r.returncode, r.stderr), (0, ""),
                                 "%s, room to stream" % mode)
                dumps = common.list_dumps(d)
                self.assertEqual(len(dumps), 1, mode)
                info = common.info_json(dumps[0])
                self.assertTrue(info["minor"] >= 1 and info["flags"] & 4,
                                "%s: not streamed: %r" % (mode, info))
                self.assertGreater(info["counts"]["objects"], objects, mode)
                os.unlink(dumps[0])
            r = self.run_in(rss + 20 * objects, interp, d, script,
                            MUPPY_SNAPSHOT="inline")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, plain.stdout.replace(
                plain.stdout.split()[1], r.stdout.split()[1]))
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertRegex(lines[0], r"^muppy: pid [0-9]+: snapshot "
                             r"skipped: a heap of about [0-9]+ objects")
            self.assertEqual(common.list_dumps(d), [])
        common.for_each_interpreter(self, check, parallel=False)


if __name__ == "__main__":
    unittest.main()
