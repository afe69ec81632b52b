#!/usr/bin/env python3
"""run.py - runs muppy's integration tests: real interpreters under
libmuppy.so, dumps read back with the `muppy` tool.

    python3 tests/integration/run.py --muppy PATH --shim PATH
                                     [-k PATTERN] [--python PATH ...]

It exports MUPPY_BIN and MUPPY_SHIM (absolute) for the tests, finds the
interpreters under test (common.py: /usr/bin/python3 and pyenv's 3.8-3.13,
or --python / MUPPY_TEST_PYTHONS) and exports that list as
MUPPY_TEST_PYTHONS and MUPPY_PYTHONS (so every test file uses the same
set), discovers the unittest tests in tests/integration/test_*.py, and runs
them, printing one line per test:

    ok    test_summary.KnownObjectsTest.test_info_header (3.2 s)
    FAIL  test_corrupt.CorruptDumpTest.test_truncated (40.1 s)
    ERROR ...        skip  ... (reason)

then the failure details, and last the line tests/tally.py reads:

    integration: N passed, N failed

(errors, unexpected successes and an import error of a test file count as
failed; skipped tests are counted on the line before it, `skipped: N`).
Exit status 0 iff nothing failed.  Only the standard library is needed.
"""
import argparse
import fnmatch
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv):
    p = argparse.ArgumentParser(description="muppy integration tests")
    p.add_argument("--muppy", required=True, help="the muppy tool under test")
    p.add_argument("--shim", required=True, help="libmuppy.so under test")
    p.add_argument("-k", dest="patterns", action="append", default=[],
                   metavar="PATTERN",
                   help="only tests whose id matches (substring, or a "
                        "fnmatch pattern with * ? []); repeatable")
    p.add_argument("--python", dest="pythons", action="append", nargs="+",
                   default=[], metavar="PATH",
                   help="interpreters to test instead of the default set")
    return p.parse_args(argv)


class LineResult(unittest.TestResult):
    """Prints `STATUS name (seconds)` as each test ends; counts."""

    def __init__(self, out):
        super().__init__()
        self.out = out
        self.passed = []
        self.failed = []      # (test, kind, text)
        self.skips = []
        self.t0 = {}
        self.sub_failures = []

    def _line(self, status, test, extra=""):
        took = time.monotonic() - self.t0.get(test, time.monotonic())
        self.out.write("%-5s %s (%.1f s)%s\n" % (status, name_of(test), took, extra))
        self.out.flush()

    def startTest(self, test):
        super().startTest(test)
        self.t0[test] = time.monotonic()
        self.sub_failures = []

    def stopTest(self, test):
        # A test whose subtests failed counts once, as one failure.
        if self.sub_failures:
            kind = "ERROR" if any(k == "ERROR" for k, _ in self.sub_failures) else "FAIL"
            self.failed.append((test, kind, "".join(t for _, t in self.sub_failures)))
            self._line(kind, test, " (%d subtests failed)" % len(self.sub_failures))
            self.sub_failures = []
        super().stopTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        self._line("ok", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.failed.append((test, "FAIL", self.failures[-1][1]))
        self._line("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self.failed.append((test, "ERROR", self.errors[-1][1]))
        if isinstance(test, unittest.TestCase):
            self._line("ERROR", test)
        else:  # a setUpClass/module failure: unittest passes a placeholder
            self.out.write("ERROR %s\n" % name_of(test))
            self.out.flush()

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.skips.append((test, reason))
        self._line("skip", test, " %s" % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.passed.append(test)
        self._line("ok", test, " (expected failure)")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.failed.append((test, "FAIL", "unexpected success\n"))
        self._line("FAIL", test, " unexpected success")

    def addSubTest(self, test, subtest, err):
        # Subtests are reported inside their test: the test fails once.
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self.sub_failures.append(
                (kind, "%s\n%s" % (subtest.id(), self._exc_info_to_string(err, test))))
            self.out.write("  %-4s %s\n" % (kind, subtest.id().split(".", 1)[-1]))
            self.out.flush()


def name_of(test):
    """'test_summary.KnownObjectsTest.test_info_header'."""
    return test.id() if hasattr(test, "id") else str(test)


def matches(test, patterns):
    if not patterns:
        return True
    tid = test.id()
    for pat in patterns:
        if not any(c in pat for c in "*?["):
            pat = "*%s*" % pat
        if fnmatch.fnmatchcase(tid, pat):
            return True
    return False


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def discover(patterns):
    """(suite of matching tests, [(file, traceback)] of files that failed
    to import)."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    broken = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        modname = name[:-3]
        try:
            module = __import__(modname)
            tests = loader.loadTestsFromModule(module)
        except Exception:  # noqa: BLE001 - reported as a failed test
            broken.append((name, traceback.format_exc()))
            continue
        for t in flatten(tests):
            # Loader placeholders for import errors carry their own failure.
            if matches(t, patterns) or t.__class__.__name__ == "_FailedTest":
                suite.addTest(t)
    return suite, broken


def main(argv):
    args = parse_args(argv)
    sys.dont_write_bytecode = True  # keep the source tree clean
    sys.path.insert(0, HERE)
    out = sys.stdout
    for var, path in (("MUPPY_BIN", args.muppy), ("MUPPY_SHIM", args.shim)):
        if not os.path.isfile(path):
            out.write("run.py: error: %s does not exist: %s\n" % (var, path))
            out.write("integration: 0 passed, 1 failed\n")
            return 1
        os.environ[var] = os.path.abspath(path)
    pythons = [p for group in args.pythons for p in group]
    if pythons:
        os.environ["MUPPY_TEST_PYTHONS"] = ":".join(pythons)

    import common  # after the environment is set
    t_start = time.monotonic()
    interps = common.interpreters()
    out.write("tool: %s\nshim: %s\n" % (os.environ["MUPPY_BIN"],
                                        os.environ["MUPPY_SHIM"]))
    out.write("interpreters: %s\n" % (", ".join(i.describe() for i in interps)
                                      or "none found"))
    for path, why in common.skipped_interpreters():
        out.write("  not used: %s (%s)\n" % (path, why))
    out.flush()
    # Every test file uses the same set (some read MUPPY_PYTHONS).
    listed = ":".join(i.path for i in interps)
    os.environ["MUPPY_TEST_PYTHONS"] = listed
    os.environ["MUPPY_PYTHONS"] = listed

    suite, broken = discover(args.patterns)
    result = LineResult(out)
    for name, tb in broken:
        out.write("ERROR %s (cannot import)\n" % name)
        result.failed.append((name, "ERROR", tb))
    if not interps:
        result.failed.append(("interpreters", "ERROR",
                              "no supported interpreter (3.8-3.13) found\n"))
    suite.run(result)

    for test, kind, text in result.failed:
        out.write("\n%s\n%s: %s\n%s\n%s" % ("=" * 70, kind, name_of(test)
                                           if not isinstance(test, str) else test,
                                           "-" * 70, text))
    out.write("\n%s\n" % ("=" * 70))
    out.write("ran %d tests in %.1f s on %d interpreters\n"
              % (result.testsRun, time.monotonic() - t_start, len(interps)))
    if result.skips:
        out.write("skipped: %d (%s)\n" % (len(result.skips), "; ".join(
            "%s: %s" % (name_of(t), r) for t, r in result.skips)))
    out.write("integration: %d passed, %d failed\n"
              % (len(result.passed), len(result.failed)))
    out.flush()
    return 0 if not result.failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
