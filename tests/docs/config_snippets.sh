#!/usr/bin/env bash
# Every configuration example in the docs is fed to `vmscaled --check-config`, so the docs
# cannot show a setting the daemon refuses (issue 17).
#
#   tests/docs/config_snippets.sh VMSCALED SOURCE_DIR
#
# What counts as a configuration example (the rule; docs/architecture.md, "How the docs are
# checked", says the same):
# - Markdown (README.md, docs/*.md): a fenced block tagged `conf` or `config`, or an untagged
#   (or `text`) block whose first line that is neither blank nor a `#` comment starts with a
#   known key and a blank. The whole block is one file. An inline code span that is
#   `KEY VALUE` (a file line) or `--KEY VALUE...` / `vmscaled --KEY VALUE...` (options), with
#   KEY a known key, is checked too; spans whose value is a metavar (FILE, ADDR:PORT,
#   RATIO[,PROBE=RATIO...], ...) are syntax, not examples, and are skipped. Spans are found
#   line by line (one broken across lines is not seen).
# - Man pages (man/*.8): an .EX/.EE block whose first non-comment line starts with a known
#   key is a file; `\fB\-\-KEY VALUE\fR` in the text is an option example.
# - systemd/vmscaled.conf: the file as shipped (everything commented out); then every
#   commented `#KEY VALUE` line uncommented alone. A line the daemon refuses alone only
#   because "'KEY' needs 'OTHER'" is checked again together with OTHER's example line of the
#   same file. Last, every example line uncommented at once (line numbers kept, so the
#   daemon's error names the file's own line); web-config-file's example path does not exist
#   here, so docs/examples/web-config.yml stands in for it.
# - Known keys: the rows of the key table, daemon/config/config_keys.c (`ROW("key", ...`).
# - A block or line meant to be refused is marked on the line before it: in Markdown
#   `<!-- check-config: invalid -->`, in a man page `.\" check-config: invalid`. It must then
#   be REJECTED by the daemon.
# Every failure names the doc's file and line. Exit 77 only without python3.
#
# The same script also holds the restart-only keys to the key table's RESTART column: the
# man page's "; restart)" markers, docs/configuration.md's list and the example file's
# "Daemon" section (the keys that need a restart) must each name exactly those keys. And
# --check-config's exit statuses to what its docs say, and probe-memory-buffer's bound to the
# probe unit's MemoryMax.
set -uo pipefail
vmscaled=${1:?usage: config_snippets.sh VMSCALED SOURCE_DIR}
src=${2:?usage: config_snippets.sh VMSCALED SOURCE_DIR}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -x "$vmscaled" ] || { echo "not ok - $vmscaled is not built"; exit 1; }
exec python3 - "$vmscaled" "$src" <<'EOF'
import glob, os, re, shlex, subprocess, sys, tempfile

vmscaled, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
rel = lambda p: os.path.relpath(p, src)
tmp = tempfile.mkdtemp(prefix="vmscale-docs.")
fails = 0
checked = 0

table = open(os.path.join(src, "daemon/config/config_keys.c")).read()
rows = re.findall(r'ROW\("([a-z0-9-]+)",\s*(?:\'.\'|0),\s*(?:NULL|"[^"]*"),\s*(LIVE|RESTART)', table)
keys = {k: live for k, live in rows}
restart = sorted(k for k, live in rows if live == "RESTART")
if len(keys) < 40:
    print("not ok - only %d keys parsed from config_keys.c: the ROW pattern changed" % len(keys))
    sys.exit(1)

def run(args, text=None):
    conf = os.path.join(tmp, "snippet.conf")
    with open(conf, "w") as f:
        f.write(text or "")
    p = subprocess.run([vmscaled, "--check-config", "--config", conf] + args,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, (p.stderr.strip() or p.stdout.strip()).replace(conf, "<snippet>")

def verdict(where, what, rc, msg, invalid):
    global fails, checked
    checked += 1
    if invalid and rc == 0:
        fails += 1
        print("not ok - %s: marked invalid but accepted: %s" % (where, what))
    elif not invalid and rc != 0:
        fails += 1
        print("not ok - %s: refused (exit %d): %s\n    %s" % (where, rc, what, msg))
    else:
        print("ok - %s: %s%s" % (where, what, " (refused, as marked)" if invalid else ""))

def check_file(where, text, invalid):
    rc, msg = run([], text)
    verdict(where, text.strip().replace("\n", " | "), rc, msg, invalid)

METAVAR = re.compile(r"^[A-Z][A-Z_]*([:,\[.].*)?$")

def check_words(where, words, invalid):
    """Options: --KEY VALUE... (a bare vmscaled first is dropped)."""
    if words and words[0] == "vmscaled":
        words = words[1:]
    if not words or any(METAVAR.match(w) or w in ("...", "…") for w in words):
        return
    args = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("--check-config",):
            i += 1
            continue
        if w in ("--config", "--help", "-h", "--version", "-V") or not w.startswith("--"):
            return  # not a settings example (a file of its own, or prose)
        k = w[2:].split("=", 1)[0]
        if k not in keys:
            return
        args.append(w)
        if "=" not in w and k != "verbose":
            if i + 1 >= len(words):
                return
            args.append(words[i + 1])
            i += 1
        i += 1
    if args:
        rc, msg = run(args)
        verdict(where, " ".join(args), rc, msg, invalid)

def check_span(where, span, invalid):
    try:
        words = shlex.split(span)
    except ValueError:
        return
    if not words:
        return
    if words[0].startswith("--") or (words[0] == "vmscaled" and len(words) > 1):
        check_words(where, words, invalid)
    elif words[0] in keys and len(words) >= 2 and not span.startswith(" "):
        value = span.split(None, 1)[1]
        if not METAVAR.match(value) and "..." not in value:
            check_file(where, span + "\n", invalid)

def is_config_block(lines):
    for l in lines:
        s = l.strip()
        if not s or s.startswith("#"):
            continue
        w = s.split()
        return w[0] in keys and len(w) > 1
    return False

# Markdown: fenced blocks and inline spans.
md = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs/*.md")))
for path in md:
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        invalid = i > 0 and "<!-- check-config: invalid -->" in lines[i - 1]
        m = re.match(r"^\s*(```+|~~~+)\s*([\w.+-]*)", line)
        if m:
            fence, tag = m.group(1), m.group(2)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                j += 1
            body = lines[i + 1:j]
            if tag in ("conf", "config") or (tag in ("", "text") and is_config_block(body)):
                check_file("%s:%d" % (rel(path), i + 1), "\n".join(body) + "\n", invalid)
            i = j + 1
            continue
        for span in re.findall(r"`([^`]+)`", line):
            check_span("%s:%d" % (rel(path), i + 1), span, invalid)
        i += 1

# Man pages: .EX/.EE blocks and \fB\-\-key value\fR in the text.
def unroff(s):
    for a, b in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\e", "\\"), ("\\(ha", "^"),
                 ("\\&", ""), ("\\ ", " ")):
        s = s.replace(a, b)
    return s

for path in sorted(glob.glob(os.path.join(src, "man/*.8"))):
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        invalid = i > 0 and "check-config: invalid" in lines[i - 1] and lines[i - 1].startswith('.\\"')
        if lines[i].strip() == ".EX":
            j = i + 1
            while j < len(lines) and lines[j].strip() != ".EE":
                j += 1
            body = [unroff(l) for l in lines[i + 1:j] if not l.startswith(".")]
            if is_config_block(body):
                check_file("%s:%d" % (rel(path), i + 1), "\n".join(body) + "\n", invalid)
            i = j + 1
            continue
        if "vmscaled" in os.path.basename(path):
            for span in re.findall(r"\\fB(\\-\\-[^\\]*(?:\\-[^\\]*)*)\\fR", lines[i]):
                span = unroff(span)
                if " " in span:
                    check_span("%s:%d" % (rel(path), i + 1), span, invalid)
        i += 1

# systemd/vmscaled.conf: as shipped, each example alone (with what it needs), all at once.
conf = os.path.join(src, "systemd/vmscaled.conf")
clines = open(conf).read().split("\n")
rc, msg = run([], "\n".join(clines))
verdict(rel(conf), "the file as shipped", rc, msg, False)
examples = {}
for n, l in enumerate(clines):
    m = re.match(r"^#([a-z0-9-]+)\s+(\S.*)$", l)
    if m and m.group(1) in keys:
        examples.setdefault(m.group(1), (n, l[1:]))
if set(examples) != set(keys):
    fails += 1
    print("not ok - %s: no example line for %s" % (rel(conf), ", ".join(sorted(set(keys) - set(examples)))))
stand_in = {"web-config-file": os.path.join(src, "docs/examples/web-config.yml")}
for k, (n, l) in sorted(examples.items(), key=lambda x: x[1][0]):
    text = l if k not in stand_in else "%s %s" % (k, stand_in[k])
    rc, msg = run([], text + "\n")
    need = re.search(r"'%s' needs '([a-z0-9-]+)'" % re.escape(k), msg)
    if rc != 0 and need and need.group(1) in examples:
        text += "\n" + examples[need.group(1)][1]
        rc, msg = run([], text + "\n")
    verdict("%s:%d" % (rel(conf), n + 1), text.replace("\n", " | "), rc, msg, False)
alllines = list(clines)
for k, (n, l) in examples.items():
    alllines[n] = l if k not in stand_in else "%s %s" % (k, stand_in[k])
rc, msg = run([], "\n".join(alllines) + "\n")
verdict(rel(conf), "every example line uncommented at once", rc,
        re.sub(r"<snippet>:(\d+)", rel(conf) + r":\1", msg), False)

# --check-config's exit statuses, as observed, must be the ones its docs give: the man page's
# OPTIONS paragraph and EXIT STATUS, docs/configuration.md's row and --help's line must each
# name every status it exits with (0 valid, 1 invalid file, 2 a bad option).
observed = {run([], "interval 5s\n")[0], run([], "interval 0\n")[0], run(["--no-such-option"])[0],
            run(["--interval", "0"])[0]}
texts = {}
m = re.search(r"^\.B \\-\\-check\\-config\n(.*?)^\.TP", man_text := open(os.path.join(src, "man/vmscaled.8")).read(), re.S | re.M)
texts["man/vmscaled.8 (--check-config)"] = m.group(1) if m else ""
m = re.search(r"^\.SH EXIT STATUS\n(.*?)^\.SH", man_text, re.S | re.M)
texts["man/vmscaled.8 (EXIT STATUS)"] = m.group(1) if m else ""
m = re.search(r"^\| `--check-config` \|.*$", open(os.path.join(src, "docs/configuration.md")).read(), re.M)
texts["docs/configuration.md (--check-config)"] = m.group(0) if m else ""
helptext = subprocess.run([vmscaled, "--help"], capture_output=True, text=True).stdout
m = re.search(r"--check-config(.*?)(?=\n  \S)", helptext, re.S)
texts["vmscaled --help (--check-config)"] = m.group(1) if m else ""
for where, t in texts.items():
    said = set(int(d) for d in re.findall(r"(?<![\d.])([0-9])(?!\d|\.\d)", re.sub(r"\\f.", "", t)))
    if observed <= said:
        print("ok - %s names every exit status of --check-config %s" % (where, sorted(observed)))
    else:
        fails += 1
        print("not ok - %s: --check-config exits with %s, the text names %s" % (where, sorted(observed), sorted(said & {0, 1, 2})))

# The probe unit's MemoryMax must hold the largest buffer vmscaled lets the memory probe map
# (probe-memory-buffer) plus the probe's own memory: a buffer within 8 MiB of MemoryMax must
# be refused.
unit = open(os.path.join(src, "systemd/vmscale-probe.service.in")).read()
m = re.search(r"^MemoryMax=(\d+)M$", unit, re.M)
if not m:
    fails += 1
    print("not ok - systemd/vmscale-probe.service.in: no MemoryMax=NM")
else:
    too_big = "%dM" % (int(m.group(1)) - 8)
    rc, msg = run(["--probe-memory-buffer", too_big])
    if rc == 0:
        fails += 1
        print("not ok - systemd/vmscale-probe.service.in: MemoryMax=%sM, but vmscaled accepts probe-memory-buffer %s" % (m.group(1), too_big))
    else:
        print("ok - probe-memory-buffer %s refused: within the probe unit's MemoryMax=%sM" % (too_big, m.group(1)))

# Restart-only keys: the key table's RESTART column, and every list of them in the docs.
def same(where, named):
    global fails
    named = sorted(set(named))
    if named == restart:
        print("ok - %s names exactly the %d restart-only keys" % (where, len(restart)))
        return
    fails += 1
    print("not ok - %s: restart-only keys differ from config_keys.c; missing %s, extra %s"
          % (where, sorted(set(restart) - set(named)) or "none", sorted(set(named) - set(restart)) or "none"))

man = open(os.path.join(src, "man/vmscaled.8")).read()
marked = []
for m in re.finditer(r"^\.BR (.*)\"; restart\)\"$", man, re.M):
    marked += [k for k in re.findall(r"([a-z][a-z0-9\\-]+)", unroff(m.group(1)).replace("\\", "")) if k in keys]
same("man/vmscaled.8 (CONFIGURATION, '; restart')", marked)
cfg = open(os.path.join(src, "docs/configuration.md")).read()
m = re.search(r"<!-- restart-keys -->(.*?)<!-- /restart-keys -->", cfg, re.S)
if not m:
    fails += 1
    print("not ok - docs/configuration.md: no <!-- restart-keys --> list")
else:
    same("docs/configuration.md (restart-keys list)", [k for k in re.findall(r"`([a-z0-9-]+)`", m.group(1)) if k in keys])
sect = re.search(r"^# -- Daemon\..*?needs a restart.*?$(.*?)^# -- ", "\n".join(clines), re.S | re.M)
same("systemd/vmscaled.conf (Daemon section)", re.findall(r"^#([a-z0-9-]+) ", sect.group(1), re.M) if sect else [])

print("%d examples checked" % checked)
if fails:
    print("%d check(s) failed" % fails)
    sys.exit(1)
print("all checks passed")
EOF
