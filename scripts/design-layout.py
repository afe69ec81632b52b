#!/usr/bin/env python3
"""design-layout.py - writes the layout table of docs/design.md from the
tree: one row per C module of format/, common/, shim/'s layers and tools/
(a .c with its .h, or either alone), its text the first sentence of the
module's file head (the .h's, which states the contract, else the .c's).

    scripts/design-layout.py           rewrite the table in docs/design.md
    scripts/design-layout.py --check   exit 1 (and say which rows) if the
                                       table is not what the tree says

Only the block between the two markers is generated; the rows for tests,
scripts and docs below it are written by hand.  tests/run.sh runs --check,
so a new module, a renamed one or a changed file head shows up there.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "design.md")
DIRS = ("format", "common", "shim/cpython", "shim/walk", "shim/pymod",
        "shim/runtime", "tools")
BEGIN = "<!-- layout: written by scripts/design-layout.py -->"
END = "<!-- end of layout -->"


def head_sentence(path):
    """The first sentence after 'name - ' in the file's opening comment."""
    with open(path, encoding="utf-8") as f:
        text = f.read(20000)
    m = re.match(r"/\*\n((?: \*.*\n)+?) \*/", text)
    if not m:
        return None
    lines = [l[3:] if l.startswith(" * ") else l[2:]
             for l in m.group(1).splitlines()]
    para = []
    for l in lines:
        if not l.strip():
            break
        para.append(l.strip())
    body = " ".join(para)
    name = os.path.basename(path)
    if not body.startswith(name + " - "):
        return None
    body = body[len(name) + 3:]
    end = re.search(r"(?<!\.)\.(\s|$)", body)   # not an ellipsis
    return body[:end.start() + 1] if end else body


def rows():
    out, missing = [], []
    for d in DIRS:
        names = sorted(os.listdir(os.path.join(ROOT, d)))
        stems = sorted({os.path.splitext(n)[0] for n in names
                        if n.endswith((".c", ".h"))})
        for stem in stems:
            has_c, has_h = stem + ".c" in names, stem + ".h" in names
            shown = "%s/%s.%s" % (d, stem, "[ch]" if has_c and has_h else
                                  "c" if has_c else "h")
            text = None
            for ext in ((".h", ".c") if has_h else (".c",)):
                if stem + ext in names:
                    text = head_sentence(os.path.join(ROOT, d, stem + ext))
                    if text:
                        break
            if not text:
                missing.append(shown)
                continue
            out.append("| `%s` | %s |" % (shown, text.replace("|", "\\|")))
    return out, missing


def main(argv):
    check = "--check" in argv
    table, missing = rows()
    block = "\n".join([BEGIN, "| path | what it owns |", "| --- | --- |"]
                      + table + [END])
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print("design-layout: docs/design.md has no layout markers")
        return 1
    new = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    for m in missing:
        print("design-layout: %s has no 'name - ...' file head" % m)
    if check:
        ok = new == doc and not missing
        if new != doc:
            old_rows = set(doc[doc.index(BEGIN):doc.index(END)].splitlines())
            for r in table:
                if r not in old_rows:
                    print("design-layout: not in docs/design.md: %s" % r[:100])
        print("layout: %d passed, %d failed" % (ok, not ok))
        return 0 if ok else 1
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(new)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
