#!/usr/bin/env bash
# Every metric name the docs mention exists, and NEWS.md's renames happened (issue 17).
#
#   tests/docs/metric_names.sh SOURCE_DIR
#
# The rule: a name is any `vmscale_[a-z0-9_]+` (a metric family) or `vmscale:[a-z0-9_:]+` (a
# recording rule) in README.md, docs/*.md (in docs/metrics.md only the hand-written part
# above the generated reference), man/*.8 and grafana/README.md. Brace lists after an `_` are
# expanded (`vmscale_probe_disk_{read,written}_bytes_total` is two names; braces after any other
# character are labels, `vmscale_alert{domain}`); a name ending in `_` or
# followed by `*` (`vmscale_capacity_*`) is a prefix and must start at least one family.
# A family name exists when the generated reference of docs/metrics.md (written from the
# registry by scripts/metrics-doc.sh, held to it by the metrics_doc test) lists it; a
# histogram's or summary's `_bucket`, `_sum` and `_count` count as its family. A recording
# rule exists when grafana/prometheus/*.rules.yml records it. Names that are not metrics
# (the project's own CMake libraries, vmscale_probe_parsers and such) are listed in NOT_METRICS
# below. Failures are listed as file:line:name.
#
# It also holds the job name: the `job="..."` the alert rules select must be the `job_name`
# of every example scrape config (grafana/prometheus/prometheus.example.yml,
# docs/examples/*.yml), and a doc or example saying the dashboards select a job must be right
# about them. And every "seed NNN" cited is in docs/analysis.md's table of the seeds.
set -uo pipefail
src=${1:?usage: metric_names.sh SOURCE_DIR}
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 - "$src" <<'EOF'
import glob, itertools, os, re, sys

src = os.path.abspath(sys.argv[1])
rel = lambda p: os.path.relpath(p, src)
NOT_METRICS = {"vmscale_common", "vmscale_util", "vmscale_probe_parsers", "vmscale_expo",
               "vmscale_serve", "vmscale_collectors", "vmscale_guest", "vmscale_config",
               "vmscale_store", "vmscale_analysis"}
MARK = "<!-- BEGIN GENERATED REFERENCE"

metrics_md = open(os.path.join(src, "docs/metrics.md")).read()
if MARK not in metrics_md:
    print("not ok - docs/metrics.md has no generated reference (%s)" % MARK)
    sys.exit(1)
generated = metrics_md.split(MARK, 1)[1]
families, types = set(), {}
for m in re.finditer(r"^\| `(vmscale_[a-z0-9_]+)` \| (\w+) \|", generated, re.M):
    families.add(m.group(1))
    types[m.group(1)] = m.group(2)
if len(families) < 50:
    print("not ok - only %d families in docs/metrics.md's reference: its table changed" % len(families))
    sys.exit(1)
rules = set()
for p in glob.glob(os.path.join(src, "grafana/prometheus/*.rules.yml")):
    rules |= set(re.findall(r"^\s*-?\s*record:\s*(\S+)", open(p).read(), re.M))

def exists(name):
    if name in NOT_METRICS:
        return True
    if name.startswith("vmscale:"):
        return name in rules
    if name in families:
        return True
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return True
    return False

def expand(tok):
    """vmscale_a_{b,c}_d -> [vmscale_a_b_d, vmscale_a_c_d]."""
    parts = re.split(r"(\{[a-z0-9_,]*\})", tok)
    choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
    return ["".join(c) for c in itertools.product(*choices)]

NAME = re.compile(r"vmscale[_:](?:[a-z0-9_:]|(?<=_)\{[a-z0-9_,]+\})+\*?")
docs = [os.path.join(src, "README.md"), os.path.join(src, "grafana/README.md")]
docs += sorted(glob.glob(os.path.join(src, "docs/*.md"))) + sorted(glob.glob(os.path.join(src, "man/*.8")))
fails, seen = 0, 0
for path in docs:
    text = open(path).read()
    if path.endswith("docs/metrics.md"):
        text = text.split(MARK, 1)[0]
    for n, line in enumerate(text.split("\n"), 1):
        line = line.replace("\\_", "_").replace("\\-", "-")
        for m in NAME.finditer(line):
            tok = m.group(0)
            # Part of a longer word (a path, a URL, an identifier): not a metric name.
            before = line[m.start() - 1] if m.start() else " "
            if before.isalnum() or before in "/.-":
                continue
            prefix = tok.endswith("*") or tok.endswith("_")
            for name in expand(tok.rstrip("*")):
                seen += 1
                if prefix:
                    ok = any(f.startswith(name) for f in families | rules)
                else:
                    ok = exists(name.rstrip(":"))
                if not ok:
                    fails += 1
                    print("not ok - %s:%d:%s" % (rel(path), n, name + ("*" if prefix else "")))

# NEWS.md's renames: no old name is still exported, every new one is; the families of the
# label table exist, and in the golden exposition (tests/golden/metrics.prom) none of them
# carries an old label or label value.
news = open(os.path.join(src, "NEWS.md")).read()
golden = open(os.path.join(src, "tests/golden/metrics.prom")).read().split("\n")
renamed = 0
for n, line in enumerate(news.split("\n"), 1):
    if not line.startswith("| `"):
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    names = [re.findall(r"`(vmscale_[a-z0-9_]+)`", c) for c in cells]
    bad = []
    if len(cells) == 2:
        renamed += 1
        bad += ["%s is still exported" % o for o in names[0] if exists(o)]
        bad += ["%s is not exported" % w for w in names[1] if not exists(w)]
    elif len(cells) == 3:
        renamed += 1
        bad += ["%s is not exported" % f for f in names[0] if not exists(f)]
        old_label = re.match(r"label `(\w+)`", cells[1])
        olds, label = [], None
        for lab, val in re.findall(r'`(?:(\w+)=)?"([^"]*)"`', cells[1]):
            label = lab or label
            olds.append('%s="%s"' % (label, val))
        for g in golden:
            fam = g.split("{", 1)[0]
            if fam not in names[0] and not (cells[0].startswith("every family") and "{" in g):
                continue
            if old_label and ("{%s=" % old_label.group(1) in g or ",%s=" % old_label.group(1) in g):
                bad.append("the golden exposition still has: " + g)
            bad += ["the golden exposition still has: " + g for o in olds if o in g]
    for b in bad:
        fails += 1
        print("not ok - NEWS.md:%d: %s" % (n, b))
if renamed < 10:
    fails += 1
    print("not ok - NEWS.md: only %d rename rows found: its tables changed" % renamed)

# The job name.
alerts = open(os.path.join(src, "grafana/prometheus/vmscale-alerts.rules.yml")).read()
jobs = set(re.findall(r'\bjob="([^"]+)"', alerts))
examples = [os.path.join(src, "grafana/prometheus/prometheus.example.yml")]
examples += sorted(glob.glob(os.path.join(src, "docs/examples/*.yml")))
for p in examples:
    for j in re.findall(r"job_name:\s*(\S+)", open(p).read()):
        if j not in jobs:
            fails += 1
            print("not ok - %s: job_name %s, the alert rules select job=%s" % (rel(p), j, sorted(jobs)))
dash_jobs = set()
for p in glob.glob(os.path.join(src, "grafana/dashboards/*.json")):
    dash_jobs |= set(re.findall(r'job=~?\\"([^\\"]+)', open(p).read()))
for p in docs + examples + [os.path.join(src, "grafana/provisioning/datasources/vmscale.yml")]:
    if not os.path.exists(p):
        continue
    for n, line in enumerate(open(p).read().split("\n"), 1):
        m = re.search(r'dashboards select (?:`)?job="([^"]+)"', line)
        if m and m.group(1) not in dash_jobs:
            fails += 1
            print('not ok - %s:%d: says the dashboards select job="%s"; they select %s'
                  % (rel(p), n, m.group(1), sorted(dash_jobs) or "no job"))

# Every seed the docs cite is explained in the one place they link to.
explained = set(re.findall(r"^\| (\d{3}) \|", open(os.path.join(src, "docs/analysis.md")).read().split("## The seeds", 1)[-1].split("\n## ", 1)[0], re.M))
for path in docs:
    for n, line in enumerate(open(path).read().split("\n"), 1):
        for seed in re.findall(r"\b[Ss]eeds? (\d{3})", line) + re.findall(r"\b[Ss]eeds (?:\d{3}, )*\d{3},? (?:and )?(\d{3})", line):
            if seed not in explained:
                fails += 1
                print("not ok - %s:%d: seed %s is not in docs/analysis.md's 'The seeds'" % (rel(path), n, seed))

print("%d metric names checked against %d families and %d recording rules" % (seen, len(families), len(rules)))
if fails:
    print("%d check(s) failed" % fails)
    sys.exit(1)
print("all checks passed")
EOF
