"""gui_root.py - the seed's last line on a known root: ten Leaky objects in
a module-global dict's list, the fourth also a global; then
refbrowser_gui.InteractiveBrowser(root).main().  Prints the root's address
first, and what main() returned at the end, on stdout or, given OUT, in
that file (so that stdout stays the terminal).

    python3 gui_root.py [OUT]
"""
import sys

from muppy import refbrowser, refbrowser_gui

out = open(sys.argv[1], "w") if len(sys.argv) > 1 else sys.stdout


class Leaky:
    pass


holder = {"items": [Leaky() for _ in range(10)]}
root = holder["items"][3]
print("ROOT 0x%x" % id(root), file=out, flush=True)
assert refbrowser.InteractiveBrowser is refbrowser_gui.InteractiveBrowser
b = refbrowser_gui.InteractiveBrowser(root, maxdepth=2)
assert b.root is root and b.maxdepth == 2
try:
    got = b.main()
except RuntimeError as e:
    print("RuntimeError", e, file=out, flush=True)
else:
    print("returned", got, file=out, flush=True)
