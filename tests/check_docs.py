#!/usr/bin/env python3
"""Checks that the code the docs quote is the code the examples compile.

Every quoted snippet in docs/*.md (and below) looks like this:

    <!-- snippet: NAME -->          (a region of examples/demo.c)
    <!-- snippet: FILE:NAME -->     (a region of examples/FILE)
    ```c
    ...
    ```
    <!-- /snippet -->

A region of an example is the lines between two marker lines
`/* [NAME] */`, the marker lines excluded. The code block must equal the
region line for line. Exits 0 when every snippet matches, 1 otherwise,
naming each mismatch.

Usage: check_docs.py [PROJECT_ROOT]   (default: the parent of tests/)
"""
import pathlib
import re
import sys

OPEN = re.compile(r"^<!--\s*snippet:\s*(\S+?)\s*-->\s*$")
CLOSE = re.compile(r"^<!--\s*/snippet\s*-->\s*$")
FENCE = re.compile(r"^```")
DEFAULT_FILE = "demo.c"


def marker_regions(path):
    """Maps each marker name of an example to its lines, or to an error."""
    lines = path.read_text(encoding="utf-8").splitlines()
    seen = {}
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\s*/\* \[([A-Za-z0-9_.-]+)\] \*/\s*", line)
        if m:
            seen.setdefault(m.group(1), []).append(i)
    regions = {}
    for name, at in seen.items():
        if len(at) != 2:
            regions[name] = "marker [%s] appears %d times in %s, not twice" % (
                name, len(at), path)
        else:
            regions[name] = lines[at[0] + 1:at[1]]
    return regions


def parse_snippets(doc):
    """Yields (line number, target, code lines or error) for each snippet."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = OPEN.match(lines[i])
        if not m:
            if CLOSE.match(lines[i]):
                yield i + 1, None, "<!-- /snippet --> without an opening"
            i += 1
            continue
        start, target = i + 1, m.group(1)
        i += 1
        if i >= len(lines) or not FENCE.match(lines[i]):
            yield start, target, "no ``` code block right after the marker"
            continue
        i += 1
        code = []
        while i < len(lines) and not FENCE.match(lines[i]):
            code.append(lines[i])
            i += 1
        if i >= len(lines):
            yield start, target, "the code block is not closed"
            return
        i += 1
        if i >= len(lines) or not CLOSE.match(lines[i]):
            yield start, target, "no <!-- /snippet --> right after the block"
            continue
        i += 1
        yield start, target, code


def first_difference(want, got):
    for n, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return n, w, g
    n = min(len(want), len(got))
    return (n, want[n] if n < len(want) else "<end>",
            got[n] if n < len(got) else "<end>")


def check(root):
    examples = root / "examples"
    docs = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    cache = {}
    errors = []
    count = 0
    for doc in docs:
        rel = doc.relative_to(root)
        for line, target, code in parse_snippets(doc):
            where = "%s:%d" % (rel, line)
            if isinstance(code, str):
                errors.append("%s: %s" % (where, code))
                continue
            count += 1
            fname, _, name = target.rpartition(":")
            fname = fname or DEFAULT_FILE
            path = examples / fname
            if not path.is_file():
                errors.append("%s: snippet %s: no file examples/%s" %
                              (where, target, fname))
                continue
            if path not in cache:
                cache[path] = marker_regions(path)
            region = cache[path].get(name)
            if region is None:
                errors.append("%s: snippet %s: no marker /* [%s] */ in "
                              "examples/%s" % (where, target, name, fname))
            elif isinstance(region, str):
                errors.append("%s: snippet %s: %s" % (where, target, region))
            elif region != code:
                n, want, got = first_difference(region, code)
                errors.append(
                    "%s: snippet %s differs from examples/%s at its line "
                    "%d:\n    example: %r\n    doc:     %r" %
                    (where, target, fname, n + 1, want, got))
    if count == 0 and not errors:
        errors.append("no snippet found in %s/docs: is the marker syntax "
                      "right?" % root)
    return count, errors


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else
                        pathlib.Path(__file__).resolve().parent.parent)
    count, errors = check(root.resolve())
    for e in errors:
        print("check_docs: " + e, file=sys.stderr)
    if errors:
        print("check_docs: %d problem(s); snippets must be copied verbatim "
              "from the examples" % len(errors), file=sys.stderr)
        return 1
    print("check_docs: %d snippets match their examples" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
