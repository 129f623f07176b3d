#!/usr/bin/env bash
# Every figure the README quotes names the benchmark that prints it (issue 17).
#
#   tests/docs/bench_figures.sh SOURCE_DIR
#
# The rule, over README.md's "## Performance" section and its "## Not there yet" list:
# - A block is a paragraph (lines up to a blank line), a bullet of a list, or a table.
# - A measured figure is a number with a unit: ms, µs, %, KiB, MiB, GiB, KB, MB, GB.
# - A paragraph or bullet that quotes one names the command that printed it: a
#   `tests/bench/NAME.sh` (or `build/tests/bench_render`, the driver render_bench.sh runs,
#   or `scripts/lab.sh crosscheck`, whose table scripts/lab-crosscheck.py prints), and that
#   file exists (bench_render: tests/bench/bench_render.c).
# - A table takes its command from the paragraph just before it, which must name one; the
#   label in the first cell of every row (backticks dropped) must be a label that command
#   prints, i.e. appear verbatim in the script's text (for anchors.sh, its `rows` table).
# - A table starts with its header and `|---|` line: a table that a blank line split in two
#   fails (the second half would render as text).
# The figures themselves are not rerun (they depend on the machine and the day); the test
# keeps each one traceable to the line of output it was copied from.
set -uo pipefail
src=${1:?usage: bench_figures.sh SOURCE_DIR}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 - "$src" <<'EOF'
import os, re, sys

src = os.path.abspath(sys.argv[1])
lines = open(os.path.join(src, "README.md")).read().split("\n")
FIGURE = re.compile(r"\d[\d.,]*\s?(?:ms|µs|%|KiB|MiB|GiB|KB|MB|GB)(?![A-Za-z])")
COMMAND = re.compile(r"(tests/bench/[a-z_]+\.sh|build/tests/bench_render|scripts/lab\.sh crosscheck)")
# Commands whose output a file other than the one named prints.
PRINTER = {"build/tests/bench_render": "tests/bench/bench_render.c",
           "scripts/lab.sh crosscheck": "scripts/lab-crosscheck.py"}
fails = 0
checked = 0

def script_of(cmd):
    path = PRINTER.get(cmd, cmd)
    full = os.path.join(src, path)
    return full if os.path.exists(full) else None

def section(title):
    start = next((i for i, l in enumerate(lines) if l.strip() == "## " + title), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return list(range(start + 1, end))

def blocks(idx, bullets):
    """(kind, first line number, [lines]) for paragraphs, bullets and tables."""
    out, cur, kind, first = [], [], None, 0
    def flush():
        if cur:
            out.append((kind, first, list(cur)))
        cur.clear()
    for i in idx:
        l = lines[i]
        k = "table" if l.startswith("|") else "text"
        new = not l.strip() or k != kind or (bullets and l.startswith("- "))
        if new:
            flush()
            kind, first = k, i + 1
        if l.strip():
            cur.append(l)
    flush()
    return out

for title, bullets in (("Performance", False), ("Not there yet", True)):
    idx = section(title)
    if not idx:
        fails += 1
        print("not ok - README.md has no '## %s' section" % title)
        continue
    prev_cmds = []
    for kind, first, text in blocks(idx, bullets):
        body = "\n".join(text)
        cmds = COMMAND.findall(body)
        if kind == "text":
            if FIGURE.search(body):
                checked += 1
                if not cmds:
                    fails += 1
                    print("not ok - README.md:%d: quotes %s but names no command (tests/bench/NAME.sh, scripts/lab.sh crosscheck)"
                          % (first, FIGURE.search(body).group(0)))
                for c in cmds:
                    if not script_of(c):
                        fails += 1
                        print("not ok - README.md:%d: names %s, which does not exist" % (first, c))
                if cmds:
                    print("ok - README.md:%d: figures from %s" % (first, ", ".join(sorted(set(cmds)))))
            prev_cmds = cmds
            continue
        # A table: a header and a |---| line first, or it is the tail of a table that a blank
        # line split (Markdown renders that as text).
        if len(text) < 2 or not re.match(r"^\|[\s:|-]+\|$", text[1]):
            fails += 1
            print("not ok - README.md:%d: a table without a header: one split by a blank line?" % first)
            continue
        # Its command is the preceding paragraph's.
        scripts = [s for s in (script_of(c) for c in prev_cmds) if s]
        if not scripts:
            fails += 1
            print("not ok - README.md:%d: a table of figures without a command in the paragraph before it" % first)
            continue
        printed = "\n".join(open(s).read() for s in scripts)
        for n, row in enumerate(text[2:], first + 2):
            label = row.strip("|").split("|")[0].strip().replace("`", "")
            checked += 1
            if label in printed:
                print("ok - README.md:%d: '%s' is printed by %s" % (n, label, ", ".join(os.path.relpath(s, src) for s in scripts)))
            else:
                fails += 1
                print("not ok - README.md:%d: '%s' is not a label %s prints" % (n, label, ", ".join(os.path.relpath(s, src) for s in scripts)))

print("%d blocks and rows checked" % checked)
if fails:
    print("%d check(s) failed" % fails)
    sys.exit(1)
print("all checks passed")
EOF
