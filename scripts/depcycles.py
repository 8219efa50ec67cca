#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""
The circles between the files of a room, measured on what the compiler
made (design-notes 2.2): nm of each object file gives what it defines and
what it uses; A -> B when A uses a symbol B defines; every strongly
connected component of more than one file is a circle.

usage: depcycles.py [--allow NAME] OBJECT|ARCHIVE...
Prints each circle, then its edges; exits 1 if one is not allowed.
--allow NAME (repeatable): circles through NAME are allowed ("main" for
main.c: the command table, whose commands call its next_option()).
"""
import os
import subprocess
import sys


def symbols(paths):
    """{object: (defined, used)} from nm -A over objects and archives."""
    objs = {}
    out = subprocess.run(['nm', '-A', '-P'] + paths, check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        # "path/file.c.o: sym T ..." or "lib.a[path/file.c.o]: sym T ..."
        where, _, rest = line.partition(': ')
        fields = rest.split()
        if len(fields) < 2:
            continue
        member = where[where.find('[') + 1:].rstrip(']')
        name = os.path.basename(member).removesuffix('.o').removesuffix('.c')
        sym, kind = fields[0], fields[1]
        d, u = objs.setdefault(name, (set(), set()))
        if kind == 'U':
            u.add(sym)
        elif kind.isupper():	# a global definition
            d.add(sym)
    return objs


def edges(objs):
    owner = {}
    for name, (d, _) in objs.items():
        for sym in d:
            owner.setdefault(sym, name)
    graph = {name: {} for name in objs}
    for name, (_, u) in objs.items():
        for sym in u:
            to = owner.get(sym)
            if to and to != name:
                graph[name].setdefault(to, set()).add(sym)
    return graph


def sccs(graph):
    """Tarjan's, iterative enough for a room of a hundred files."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main(argv):
    allow, paths = set(), []
    it = iter(argv)
    for a in it:
        if a == '--allow':
            allow.add(next(it))
        else:
            paths.append(a)
    graph = edges(symbols(paths))
    bad = 0
    for comp in sccs(graph):
        ok = bool(allow & set(comp))
        bad += not ok
        print(('allowed ' if ok else '') + 'circle: {' + ', '.join(comp) + '}')
        for a in comp:
            for b in sorted(graph[a]):
                if b in comp:
                    print('  %s -> %s: %s' % (a, b, ' '.join(sorted(graph[a][b]))))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
