#!/usr/bin/env bash
# List every panel query of the Grafana dashboards, ready to send to Prometheus' HTTP API.
#
#   scripts/dashboard-queries.sh [DASHBOARD_DIR]      (default: grafana/dashboards)
#
# One line per query, TAB-separated: dashboard file, panel title, refId, PromQL expression.
# Template variables are substituted for a real run:
#   $instance ${instance}  -> $INSTANCE (default .+)
#   $domain   ${domain}    -> $DOMAIN   (default .+)
#   $probe    ${probe}     -> $PROBE    (default .+)
#   $site     ${site}      -> $SITE     (default .*: also series without a site label, as
#                             on a site's own Prometheus; the fleet dashboard's variable)
#   $__rate_interval -> 1m, $__interval -> 15s, $__range -> 5m
# (the values are used inside =~ matchers, so they are regular expressions). Whitespace runs
# in the expression (multi-line queries) become one space, so each query is one line.
# A variable the script does not know is an error (exit 1), so a new dashboard variable cannot
# silently reach Prometheus unsubstituted. Panels inside collapsed rows are included; targets
# with "hide": true are skipped.
#
# Example, against a Prometheus on localhost:
#   scripts/dashboard-queries.sh | while IFS=$'\t' read -r file title ref expr; do
#     curl -sfG http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$expr"; done
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/grafana/dashboards}
[ -d "$dir" ] || { echo "dashboard-queries: $dir: not a directory" >&2; exit 2; }
command -v python3 >/dev/null || { echo "dashboard-queries: python3 is required (scripts/bootstrap.sh)" >&2; exit 2; }

INSTANCE=${INSTANCE:-.+} DOMAIN=${DOMAIN:-.+} PROBE=${PROBE:-.+} SITE=${SITE:-.*} exec python3 - "$dir" <<'PY'
import glob, json, os, re, sys

subst = {
    "instance": os.environ["INSTANCE"],
    "domain": os.environ["DOMAIN"],
    "probe": os.environ["PROBE"],
    "site": os.environ["SITE"],
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
}
var_re = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
bad = 0


def replace(m):
    global bad
    name = m.group(1) or m.group(2)
    if name not in subst:
        bad += 1
        return m.group(0)
    return subst[name]


def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))  # rows, collapsed or not


files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
if not files:
    print(f"dashboard-queries: no *.json in {sys.argv[1]}", file=sys.stderr)
    sys.exit(2)
for path in files:
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    name = os.path.basename(path)
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            expr = t.get("expr")
            if not expr or t.get("hide"):
                continue
            before = bad
            out = " ".join(var_re.sub(replace, expr).split())
            if bad != before:
                print(f"dashboard-queries: {name}: panel {p.get('title')!r} {t.get('refId')}: "
                      f"unknown template variable in: {expr}", file=sys.stderr)
            title = " ".join(str(p.get("title", "")).split())
            print(f"{name}\t{title}\t{t.get('refId', '')}\t{out}")
sys.exit(1 if bad else 0)
PY
