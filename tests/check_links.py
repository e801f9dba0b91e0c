#!/usr/bin/env python3
"""Checks the relative links of the docs.

Every link of README.md and docs/**/*.md that is not a URL (no scheme such
as https:) must name a file or folder that exists, relative to the page
it is on; a link with a #anchor into a Markdown page (the same page for
a bare #anchor) must name one of its anchors: a heading's, as GitHub
makes it (the heading's text lowercased, each space made '-', every
other character but letters, digits, '-' and '_' dropped, and -1, -2,
... added to repeats), or an explicit <a id="..."> / <a name="...">.

Links are [text](target) and [label]: target, outside code blocks and
code spans. Exits 0 when every link resolves, 1 otherwise, naming each
broken one.

Usage: check_links.py [PROJECT_ROOT]   (default: the parent of tests/)
"""
import pathlib
import re
import sys
import urllib.parse

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?"
                         r"(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
HTML_ANCHOR = re.compile(r"<a\s+(?:[^>]*?\s)?(?:id|name)\s*=\s*\"([^\"]+)\"",
                         re.IGNORECASE)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose_lines(text):
    """Yields (line number, line) for the lines outside fenced code."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is not None:
            if m and m.group(1) == fence:
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield n, line


def slug(heading):
    """The anchor GitHub gives a heading of this Markdown text."""
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1",
                  heading)                    # links: their text
    text = re.sub(r"<[^>]+>", "", text)      # inline HTML
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*)", "", text)  # emphasis marks
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors_of(path, cache):
    """The set of anchors of a Markdown page."""
    if path in cache:
        return cache[path]
    found, seen = set(), {}
    text = path.read_text(encoding="utf-8")
    for _, line in prose_lines(text):
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else "%s-%d" % (base, n))
        for a in HTML_ANCHOR.findall(line):
            found.add(a)
    cache[path] = found
    return found


def links_of(text):
    """Yields (line number, target) for each link of a page."""
    for n, line in prose_lines(text):
        m = REF_DEF.match(line)
        if m:
            yield n, m.group(1)
            continue
        plain = CODE_SPAN.sub(lambda c: " " * len(c.group(0)), line)
        for m in INLINE_LINK.finditer(plain):
            yield n, m.group(1)


def check(root):
    pages = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    cache = {}
    errors = []
    count = 0
    for page in pages:
        rel = page.relative_to(root)
        for line, target in links_of(page.read_text(encoding="utf-8")):
            if not target or SCHEME.match(target):
                continue
            count += 1
            where = "%s:%d: %s" % (rel, line, target)
            path_part, _, anchor = target.partition("#")
            path_part = urllib.parse.unquote(path_part)
            if path_part.startswith("/"):
                dest = root / path_part.lstrip("/")
            elif path_part:
                dest = page.parent / path_part
            else:
                dest = page
            if not dest.exists():
                errors.append("%s: no such file" % where)
                continue
            if not anchor or dest.is_dir() or dest.suffix != ".md":
                continue
            anchor = urllib.parse.unquote(anchor)
            if anchor not in anchors_of(dest.resolve(), cache):
                errors.append("%s: no anchor #%s in %s" % (
                    where, anchor, dest.resolve().relative_to(root)))
    return count, errors


def main(argv):
    root = pathlib.Path(argv[1] if len(argv) > 1 else
                        pathlib.Path(__file__).resolve().parent.parent)
    count, errors = check(root.resolve())
    for e in errors:
        print("check_links: " + e, file=sys.stderr)
    if errors:
        print("check_links: %d broken link(s) of %d" % (len(errors), count),
              file=sys.stderr)
        return 1
    print("check_links: %d relative links resolve" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
