#!/usr/bin/env python3
"""The man pages made from docs/*.md, as `man` shows them at 80 columns:
every state and every name the Markdown spells with an underscore
(stop_copy, running_p2p, data_fd...) comes out whole: never "stopcopy" or
"runningp2p" (lowdown took _p2p_ for emphasis), never hyphenated; and
every table fits: its rows keep their column rules and 80 columns.

  t-man.py PAGE SOURCE.md [PAGE SOURCE.md ...]
"""
import re
import shutil
import subprocess
import sys

STATES = ["error", "stop", "running", "stop_copy", "resuming",
          "running_p2p", "pre_copy", "pre_copy_p2p"]
WIDTH = 80
failed = 0


def fail(msg):
    global failed
    failed += 1
    print("FAIL:", msg, file=sys.stderr)


def render(page):
    """The page as man-db shows it at MANWIDTH=80 (groff -rLL=78n)."""
    roff = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-rLL=%dn" % (WIDTH - 2), page],
                          check=True, capture_output=True)
    return subprocess.run(["col", "-bx"], input=roff.stdout, check=True,
                          capture_output=True).stdout.decode()


def words(text):
    return set(re.findall(r"[A-Za-z0-9_]+", text))


def check_names(page, text, source):
    got = words(text)
    spelled = words(source)
    for name in sorted(n for n in spelled if "_" in n.strip("_")):
        squashed = name.replace("_", "")
        if squashed in got and squashed not in spelled:
            fail("%s: %s is printed as %s" % (page, name, squashed))
        elif name not in got:
            fail("%s: %s is not there whole" % (page, name))
    for state in STATES:
        if state in spelled and state not in got:
            fail("%s: the state %s is not there" % (page, state))


def check_tables(page, lines):
    rules = None
    for n, line in enumerate(lines, 1):
        if len(line) > WIDTH and rules is not None:
            fail("%s:%d: a table row of %d columns: %r" % (page, n, len(line), line))
        if line.lstrip().startswith("┌"):
            rules = line.count("┬") + 2
        elif line.lstrip().startswith("└"):
            rules = None
        elif rules is not None and not line.lstrip().startswith("├") \
                and line.count("│") != rules:
            fail("%s:%d: a table row lost its column rules: %r" % (page, n, line.strip()))


def main(args):
    if not shutil.which("groff") or not shutil.which("col"):
        print("SKIP: groff or col is missing (groff-base, bsdextrautils)")
        return 77
    for page, source in zip(args[::2], args[1::2]):
        text = render(page)
        check_names(page, text, open(source).read())
        check_tables(page, text.splitlines())
    print("%d pages, %d failures" % (len(args) // 2, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
