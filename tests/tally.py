#!/usr/bin/env python3
"""tally.py - count individual test cases for tests/run.sh.

tests/run.sh runs Bazel's unit tests (GoogleTest, once optimised and once
under ASan+UBSan) and the integration tests, then asks this script for the
one line CI reads: `tests: N passed, N failed`. Bazel and GoogleTest only
count targets; this counts test cases:

  * For each test target in a Bazel build event file (--build_event_json_file),
    the cases in its test.xml (GoogleTest's report); when the binary died
    before writing one (Bazel then writes a stub with one <error>), the
    `[ RUN ]`/`[ OK ]`/`[ FAILED ]` lines of its test.log, with a test that
    started but never finished counted as failed.
  * A target Bazel reports failed although every case passed (a sanitizer
    report at exit, a timeout) adds one failed case named after the target.
  * A test target that did not build adds one failed case.
  * Other runners (the integration tests, the walker's checks): the last
    `NAME: N passed, N failed` line of their output; a missing line or a
    non-zero exit with no failures counted adds one.
  * A second Bazel run of the same cases (--rerun) counts only its failures,
    so the same passing case is not counted twice.

It only reads files; exit status 0 if nothing failed, 1 otherwise.
"""
import argparse
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET

GTEST_LINE = re.compile(r"^\[\s*(RUN|OK|FAILED)\s*\] (\S+)")


def uri_path(uri):
    """file:///a/b -> /a/b"""
    return urllib.parse.unquote(urllib.parse.urlparse(uri).path)


def read_bep(path):
    """Returns (test labels, {label: (status, xml path, log path)}), or None
    when the file is missing (Bazel did not get as far as writing it)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return None
    tests, results = [], {}
    for line in lines:
        event = json.loads(line)
        kind, ident = next(iter(event["id"].items()))
        if kind == "targetConfigured":
            target_kind = event.get("configured", {}).get("targetKind", "")
            if target_kind.endswith("_test rule"):
                tests.append(ident["label"])
        elif kind == "testResult" and "testResult" in event:
            outputs = {o["name"]: uri_path(o["uri"])
                       for o in event["testResult"].get("testActionOutput", [])}
            # Later attempts (flaky retries) replace earlier ones.
            results[ident["label"]] = (event["testResult"].get("status", "NO_STATUS"),
                                       outputs.get("test.xml"), outputs.get("test.log"))
    return tests, results


def cases_from_xml(path):
    """[(name, passed)] from a GoogleTest XML report; None if the file is
    Bazel's stub (the binary died before GoogleTest wrote its report)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    cases = []
    for case in root.iter("testcase"):
        if case.get("classname") is None:
            return None  # Bazel's stub: one case named after the target
        if case.get("status") == "notrun" or case.get("result") == "skipped":
            continue
        failed = case.find("failure") is not None or case.find("error") is not None
        cases.append(("%s.%s" % (case.get("classname"), case.get("name")), not failed))
    return cases


def cases_from_log(path):
    """[(name, passed)] from GoogleTest's console output in test.log."""
    started, finished = [], {}
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    for line in text.splitlines():
        m = GTEST_LINE.match(line)
        if not m:
            continue
        tag, name = m.groups()
        if tag == "RUN":
            started.append(name)
        elif name in started and name not in finished:
            finished[name] = tag == "OK"
    return [(name, finished.get(name, False)) for name in started]


def tally_bazel(bep_path, title, rerun, report):
    """Adds one suite's counts to report; prints a line per target."""
    bep = read_bep(bep_path)
    if bep is None:
        print("%s: bazel test did not run (no build events)" % title)
        report.add(title, 0, 1)
        return
    tests, results = bep
    passed = failed = 0
    for label in sorted(set(tests)):
        if label not in results:
            print("  %-40s did not build" % label)
            failed += 1
            continue
        status, xml, log = results[label]
        cases = cases_from_xml(xml) if xml else None
        if cases is None:
            cases = cases_from_log(log) if log else []
        ok = sum(1 for _, p in cases if p)
        bad = [name for name, p in cases if not p]
        if status != "PASSED" and not bad:
            bad = ["%s (%s after its cases, see %s)" % (label, status, log)]
        passed += ok
        failed += len(bad)
        print("  %-40s %3d passed, %d failed%s" % (
            label, ok, len(bad), "" if status == "PASSED" else "  [%s]" % status))
        for name in bad:
            print("      FAILED: %s" % name)
    if rerun:
        print("%s: %d passed, %d failed (a rerun: only its failures are counted)"
              % (title, passed, failed))
        report.add(title, 0, failed)
    else:
        print("%s: %d passed, %d failed" % (title, passed, failed))
        report.add(title, passed, failed)


def tally_counted(name, log_path, rc, report):
    """Adds a runner's own closing line `NAME: N passed, N failed` (the last
    one in its log; anything after it on the line, a time say, is ignored)
    to report; NAME is name up to its first space (the rest tells runs of
    one runner apart: "walk_check (/usr/bin/python3)"). A missing line, or
    a non-zero exit status with no failure counted, is one failure."""
    line = re.compile(r"^%s: (\d+) passed, (\d+) failed\b" %
                      re.escape(name.split(" ", 1)[0]))
    counts = None
    try:
        for text in open(log_path, encoding="utf-8", errors="replace"):
            m = line.match(text.strip())
            if m:
                counts = (int(m.group(1)), int(m.group(2)))
    except OSError:
        pass
    if counts is None:
        print("%s: no counts line (exit status %d)" % (name, rc))
        report.add(name, 0, 1)
        return
    passed, failed = counts
    if rc != 0 and failed == 0:
        print("%s: exit status %d with no failed test counted" % (name, rc))
        failed = 1
    print("%s: %d passed, %d failed" % (name, passed, failed))
    report.add(name, passed, failed)


class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def add(self, _title, passed, failed):
        self.passed += passed
        self.failed += failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bazel", nargs=2, action="append", default=[],
                    metavar=("TITLE", "BEP_JSON"), help="a bazel test run to count")
    ap.add_argument("--bazel-rerun", nargs=2, action="append", default=[],
                    metavar=("TITLE", "BEP_JSON"), help="a rerun: count failures only")
    ap.add_argument("--counted", nargs=3, action="append", default=[],
                    metavar=("NAME", "LOG", "EXIT_STATUS"),
                    help="a runner that ends with `NAME: N passed, N failed`")
    ap.add_argument("--failed", action="append", default=[], metavar="WHAT",
                    help="one more failure (a step that did not run or build)")
    args = ap.parse_args()

    report = Report()
    for title, path in args.bazel:
        tally_bazel(path, title, False, report)
    for title, path in args.bazel_rerun:
        tally_bazel(path, title, True, report)
    for name, log, rc in args.counted:
        tally_counted(name, log, int(rc), report)
    for what in args.failed:
        print("FAILED: %s" % what)
        report.add(what, 0, 1)
    print("tests: %d passed, %d failed" % (report.passed, report.failed))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
