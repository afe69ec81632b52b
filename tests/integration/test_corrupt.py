"""test_corrupt.py - the tool against damaged dumps: a real graph dump
(written by libmuppy.so in a real interpreter) truncated at many offsets,
bit-flipped at many offsets, re-sealed with a damaged body, and files that
were never dumps.

The contract (issue 2, docs/design.md): any file that is not a complete,
valid dump of a known version makes `muppy info|summary|cat` print exactly
one line on stderr starting `muppy: error:`, nothing on stdout, and exit 2;
never a crash, a sanitizer report, or a hang (every run has a timeout).
A valid dump of a newer minor version, and one with an extra section of an
unknown id, are read (exit 0): readers skip what they do not know.

Offsets are chosen by a seeded random generator (the seed is printed and
can be fixed with MUPPY_CORRUPT_SEED); MUPPY_TEST_DUMP names a dump to use
instead of making one (for debugging the reader).
"""
import concurrent.futures
import os
import random
import struct
import subprocess
import tempfile
import unittest
import zlib

import common

COMMANDS = (("info",), ("summary",), ("cat",))
RUN_TIMEOUT = 20.0
HEADER, TRAILER = 20, 16
BAD_WORDS = ("Traceback", "Sanitizer", "runtime error:", "Segmentation",
             "core dumped", "Assertion", "malloc", "double free")


def seed():
    return int(os.environ.get("MUPPY_CORRUPT_SEED", "20261122"))


def check_rejected(path, what, expect=(2,)):
    """Runs every command on path; returns a list of problems (strings).
    expect: the exit statuses allowed; 0 is allowed only with empty stderr,
    2 only with one `muppy: error:` line and empty stdout."""
    problems = []
    for cmd in COMMANDS:
        argv = [common.muppy_bin()] + list(cmd) + [path]
        try:
            p = subprocess.run(argv, capture_output=True, timeout=RUN_TIMEOUT,
                               env=common.clean_env())
        except subprocess.TimeoutExpired:
            problems.append("%s: muppy %s hung (> %.0f s)" % (what, cmd[0], RUN_TIMEOUT))
            continue
        err = p.stderr.decode("utf-8", "replace")
        lines = err.splitlines()
        where = "%s: muppy %s exit %d" % (what, cmd[0], p.returncode)
        if p.returncode not in expect:
            problems.append("%s (expected %s); stderr: %r" % (where, expect, err[:300]))
            continue
        bad = [w for w in BAD_WORDS if w in err]
        if bad:
            problems.append("%s: %s in stderr: %r" % (where, bad, err[:300]))
        elif p.returncode == 0:
            if err:
                problems.append("%s: stderr not empty: %r" % (where, err[:300]))
        elif len(lines) != 1 or not lines[0].startswith("muppy: error:"):
            problems.append("%s: stderr is not one 'muppy: error:' line: %r"
                            % (where, err[:300]))
        elif p.stdout:
            problems.append("%s: printed %d bytes on stdout from an invalid dump"
                            % (where, len(p.stdout)))
    return problems


def run_cases(tmpdir, cases, expect=(2,)):
    """cases: [(label, bytes)] or [(label, bytes, expect)]; writes each to
    a file and checks it, in parallel.  Returns all problems."""
    def one(i_case):
        i, case = i_case
        label, data = case[0], case[1]
        path = os.path.join(tmpdir, "case-%05d.dump" % i)
        with open(path, "wb") as f:
            f.write(data)
        try:
            return check_rejected(path, label, case[2] if len(case) > 2 else expect)
        finally:
            os.unlink(path)
    problems = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=common.jobs() * 2) as pool:
        for found in pool.map(one, enumerate(cases)):
            problems.extend(found)
    return problems


def same_body(data, body):
    """True if data's zlib body still inflates to exactly body (and ends
    there): deflate has a few bits that change nothing (unused Huffman
    code lengths, padding after the last block), and a flip there leaves
    a dump that is valid and identical in content."""
    try:
        z = zlib.decompressobj()
        out = z.decompress(data[HEADER:-TRAILER])
        return out == body and z.eof and not z.unused_data
    except zlib.error:
        return False


def make_dump(tmpdir, mode="graph"):
    """A real dump from the first interpreter under test (or MUPPY_TEST_DUMP)."""
    given = os.environ.get("MUPPY_TEST_DUMP")
    if given and mode == "graph":
        return open(given, "rb").read()
    interps = common.interpreters()
    if not interps:
        raise AssertionError("no interpreter to make a dump with")
    interp = interps[0]
    d = tempfile.mkdtemp(prefix="src-%s-" % mode, dir=tmpdir)
    common.run_app(interp, common.app_path("dump_once.py"), muppy_dir=d,
                   env=common.shim_env(d, MUPPY_MODE=mode))
    dumps = common.list_dumps(d)
    if len(dumps) != 1:
        raise AssertionError("%s: dump_once.py left %s" % (interp.label, os.listdir(d)))
    common.say("    source: %s dump of %s, %d bytes"
               % (mode, interp.label, os.path.getsize(dumps[0])))
    return open(dumps[0], "rb").read()


def sections(body):
    """[(offset, id, length)] of the sections of an uncompressed body."""
    out, pos = [], 0
    while pos + 12 <= len(body):
        sid, length = struct.unpack_from("<IQ", body, pos)
        out.append((pos, sid, length))
        pos += 12 + length
        if sid == 0:
            break
    return out


def seal(header, body, level=1):
    """A dump around body: header as given, zlib body, trailer recomputed."""
    return (header + zlib.compress(body, level)
            + struct.pack("<QI", len(body), zlib.crc32(body) & 0xFFFFFFFF) + b"MEND")


def with_header(data, major=None, minor=None):
    """data with its version changed and the header CRC made right again."""
    h = bytearray(data[:HEADER])
    if major is not None:
        struct.pack_into("<H", h, 8, major)
    if minor is not None:
        struct.pack_into("<H", h, 10, minor)
    struct.pack_into("<I", h, 16, zlib.crc32(bytes(h[:16])) & 0xFFFFFFFF)
    return bytes(h) + data[HEADER:]


class CorruptDumpTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="muppy-it-corrupt-")
        cls.dump = make_dump(cls.tmp.name)
        common.say("    seed %d (MUPPY_CORRUPT_SEED)" % seed())

    def setUp(self):
        # Per test, so -k picks the same offsets as a full run.
        self.rng = random.Random("%d-%s" % (seed(), self._testMethodName))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def expect_no_problems(self, problems, n):
        common.say("    %d cases x %d commands, %d problems" % (n, len(COMMANDS),
                                                                len(problems)))
        self.assertEqual(problems, [], "%d problems, e.g.:\n%s"
                         % (len(problems), "\n".join(problems[:25])))

    def test_source_dump_is_valid(self):
        """The control: the undamaged dump reads with exit 0 everywhere."""
        self.assertEqual(self.dump[:8], b"MUPPYDMP")
        self.assertEqual(self.dump[-4:], b"MEND")
        self.expect_no_problems(run_cases(self.tmp.name, [("valid", self.dump)],
                                          expect=(0,)), 1)

    def test_truncated_at_many_offsets(self):
        size = len(self.dump)
        offsets = set(range(min(64, size)))
        offsets |= set(range(max(0, size - 20), size))
        offsets |= set(self.rng.sample(range(64, size), min(200, max(0, size - 64))))
        cases = [("truncated to %d of %d bytes" % (n, size), self.dump[:n])
                 for n in sorted(offsets)]
        self.expect_no_problems(run_cases(self.tmp.name, cases), len(cases))

    def test_bit_flipped_at_many_offsets(self):
        size = len(self.dump)
        offsets = set(range(HEADER)) | set(range(size - TRAILER, size))
        offsets |= set(self.rng.sample(range(HEADER, size - TRAILER),
                                       min(264, size - HEADER - TRAILER)))
        body = zlib.decompress(self.dump[HEADER:-TRAILER])
        cases, harmless = [], 0
        for off in sorted(offsets):
            bit = self.rng.randrange(8)
            data = bytearray(self.dump)
            data[off] ^= 1 << bit
            data = bytes(data)
            if HEADER <= off < size - TRAILER and same_body(data, body):
                harmless += 1
                cases.append(("bit %d of byte %d flipped (body unchanged)" % (bit, off),
                              data, (0,)))
            else:
                cases.append(("bit %d of byte %d flipped" % (bit, off), data))
        common.say("    %d flips leave the inflated body unchanged: must read (exit 0)"
                   % harmless)
        self.assertLess(harmless, len(cases) // 5, "too few flips are real damage")
        self.expect_no_problems(run_cases(self.tmp.name, cases), len(cases))

    def test_not_dumps(self):
        rnd = self.rng
        cases = [("empty file", b"")]
        for n in (1, 7, 8, 19, 20, 21, 35, 36, 37, 1000, 65536):
            cases.append(("%d random bytes" % n, bytes(rnd.randrange(256) for _ in range(n))))
        cases.append(("magic then garbage", b"MUPPYDMP" + bytes(rnd.randrange(256)
                                                                for _ in range(4096))))
        cases.append(("valid header then garbage",
                      self.dump[:HEADER] + bytes(rnd.randrange(256) for _ in range(4096))))
        cases.append(("header and trailer, no body",
                      self.dump[:HEADER] + self.dump[-TRAILER:]))
        cases.append(("text file", b"types | # objects | total size\n" * 50))
        cases.append(("gzip of a dump", zlib.compress(self.dump)))
        for n in (1, 16, 100):
            cases.append(("valid dump + %d bytes of trailing garbage" % n,
                          self.dump + bytes(rnd.randrange(256) for _ in range(n))))
        cases.append(("valid dump + trailing zero bytes", self.dump + bytes(64)))
        cases.append(("a dump twice in one file", self.dump + self.dump))
        cases.append(("newer major version", with_header(self.dump, major=2)))
        cases.append(("major version 0", with_header(self.dump, major=0)))
        cases.append(("major version 65535", with_header(self.dump, major=65535)))
        problems = run_cases(self.tmp.name, cases)
        # Not files at all.
        problems += check_rejected(self.tmp.name, "a directory")
        problems += check_rejected(os.path.join(self.tmp.name, "no-such.dump"),
                                   "a path that does not exist")
        self.expect_no_problems(problems, len(cases) + 2)

    def test_newer_major_names_both_versions(self):
        path = os.path.join(self.tmp.name, "major2.dump")
        with open(path, "wb") as f:
            f.write(with_header(self.dump, major=2))
        p = common.muppy("summary", path, check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("2.", p.stderr)
        self.assertIn("1.", p.stderr, "the message names the reader's version too")

    def test_newer_minor_and_unknown_section_are_read(self):
        """Forward compatibility: a newer minor, and a section id this
        reader does not know (before END), are accepted."""
        body = zlib.decompress(self.dump[HEADER:-TRAILER])
        secs = sections(body)
        self.assertEqual(secs[-1][1], 0, "the body does not end with END")
        end = secs[-1][0]
        unknown = struct.pack("<IQ", 4000, 5) + b"hello"
        cases = [("minor version 1.9", with_header(self.dump, minor=9)),
                 ("re-sealed unchanged body", seal(self.dump[:HEADER], body)),
                 ("unknown section 4000 before END",
                  seal(self.dump[:HEADER], body[:end] + unknown + body[end:])),
                 ("empty unknown section 99 first",
                  seal(self.dump[:HEADER], struct.pack("<IQ", 99, 0) + body))]
        self.expect_no_problems(run_cases(self.tmp.name, cases, expect=(0,)), len(cases))
        # Same content: the summary of the extended dump equals the original's.
        a = os.path.join(self.tmp.name, "orig.dump")
        b = os.path.join(self.tmp.name, "ext.dump")
        open(a, "wb").write(self.dump)
        open(b, "wb").write(cases[2][1])
        self.assertEqual(common.summary_rows(a), common.summary_rows(b))

    def test_resealed_body_damage(self):
        """Damage inside the body with a correct trailer, so the CRCs pass
        and the section decoder itself must notice (or, for a harmless
        byte, read the dump): exit 0 or 2, never a crash or a hang; and
        structural damage (section lengths, END missing, body cut at a
        section boundary) must be rejected with exit 2."""
        header = self.dump[:HEADER]
        body = zlib.decompress(self.dump[HEADER:-TRAILER])
        secs = sections(body)
        rnd = self.rng
        structural = []
        for off, sid, length in secs:
            for new in (length + 1, length + 12, 2 ** 63, 2 ** 64 - 1):
                b = bytearray(body)
                struct.pack_into("<Q", b, off + 4, new)
                structural.append(("section %d at %d: length %d -> %d"
                                   % (sid, off, length, new), seal(header, bytes(b))))
            if sid != 0:
                structural.append(("body cut before section %d" % sid,
                                   seal(header, body[:off])))
                if length > 1:
                    b = bytearray(body)
                    struct.pack_into("<Q", b, off + 4, length - 1)
                    structural.append(("section %d: length %d -> %d"
                                       % (sid, length, length - 1),
                                       seal(header, bytes(b))))
        structural.append(("END section missing", seal(header, body[:secs[-1][0]])))
        structural.append(("bytes after END", seal(header, body + b"\0" * 12)))
        structural.append(("empty body", seal(header, b"")))
        problems = run_cases(self.tmp.name, structural)
        fuzz = []
        for _ in range(200):
            b = bytearray(body)
            for _ in range(rnd.randrange(1, 4)):
                off = rnd.randrange(len(b))
                b[off] = rnd.choice((0, 0xFF, 0x7F, 0x80, rnd.randrange(256)))
            fuzz.append(("re-sealed body with bytes replaced", seal(header, bytes(b))))
        problems += run_cases(self.tmp.name, fuzz, expect=(0, 2))
        self.expect_no_problems(problems, len(structural) + len(fuzz))

    def test_truncated_summary_mode_dump(self):
        dump = make_dump(self.tmp.name, mode="summary")
        size = len(dump)
        offsets = sorted(set(range(min(40, size))) | set(range(max(0, size - 20), size))
                         | set(self.rng.sample(range(size), min(60, size))))
        cases = [("summary dump truncated to %d of %d" % (n, size), dump[:n])
                 for n in offsets if n < size]
        body = zlib.decompress(dump[HEADER:-TRAILER])
        for off in self.rng.sample(range(size), min(60, size)):
            data = bytearray(dump)
            data[off] ^= 1 << self.rng.randrange(8)
            data = bytes(data)
            harmless = HEADER <= off < size - TRAILER and same_body(data, body)
            cases.append(("summary dump, byte %d flipped" % off, data)
                         + (((0,),) if harmless else ()))
        self.expect_no_problems(run_cases(self.tmp.name, cases), len(cases))


if __name__ == "__main__":
    unittest.main()
