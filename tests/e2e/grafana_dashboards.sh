#!/usr/bin/env bash
# The Grafana dashboards (grafana/dashboards/*.json) are valid without a Grafana: JSON parses,
# provisioning style (a datasource template variable, no __inputs), the instance/domain
# variables, unique uids, the vmscale tag, every target on ${datasource} and selecting on
# $instance, at least 20 queries (the fleet dashboard: a site variable, and only the series
# that cross the federation, vmscale:* and up, each selector on $site), and every query
# (variables substituted by scripts/dashboard-queries.sh) parses as PromQL: promtool check
# rules on a rules file with one recording rule per query. Also the provisioning examples are there, with their key lines.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
src=$(cd "$here/../.." && pwd)
dir=${1:-$src/grafana/dashboards}
command -v python3 >/dev/null || skip "python3 is not installed (scripts/bootstrap.sh installs it)"
command -v promtool >/dev/null || skip "promtool is not installed (package prometheus)"

tmp=$(mktemp -d /tmp/vmscale-test-grafana.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Structure of every dashboard (one "ok"/"not ok" line per check, from Python).
python3 - "$dir" >"$tmp/structure" 2>&1 <<'PY'
import glob, json, os, re, sys

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
def say(ok, what):
    print(("ok - " if ok else "not ok - ") + what)

say(len(files) >= 4, f"at least 4 dashboards ({len(files)})")
uids = {}
total = 0
for path in files:
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except Exception as e:  # noqa: BLE001
        say(False, f"{name}: JSON parses ({e})")
        continue
    say(True, f"{name}: JSON parses")
    uid = d.get("uid")
    say(bool(uid) and len(uid) <= 40 and uid not in uids,
        f"{name}: uid {uid!r} set, <= 40 characters and unique" + (f" (also in {uids.get(uid)})" if uid in uids else ""))
    uids.setdefault(uid, name)
    say(bool(d.get("title")), f"{name}: title")
    say("vmscale" in d.get("tags", []), f"{name}: tagged vmscale")
    say(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36, f"{name}: schemaVersion >= 36")
    say("__inputs" not in d, f"{name}: no __inputs (provisioning style)")
    tvars = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = tvars.get("datasource", {})
    say(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
        f"{name}: datasource variable of type datasource/prometheus")
    def vquery(v):
        q = v.get("query")
        return q.get("query") if isinstance(q, dict) else q
    inst = tvars.get("instance", {})
    iq = vquery(inst)
    # The fleet dashboard reads a global Prometheus, which holds only what crosses the
    # federation (grafana/prometheus/prometheus.global.example.yml): recorded per-host series
    # and up, told apart by site. Its variables and queries use nothing else.
    fleet = "fleet" in d.get("tags", [])
    if fleet:
        site = tvars.get("site", {})
        say(vquery(site) == "label_values(vmscale:domains_running:by_instance, site)"
            and site.get("multi") and site.get("includeAll") and site.get("allValue") == ".*",
            f"{name}: site variable, multi with All = .* (series without a site label too)")
        say(iq == 'label_values(vmscale:domains_running:by_instance{site=~"$site"}, instance)'
            and inst.get("multi") and inst.get("includeAll"), f"{name}: instance variable of the selected sites")
    else:
        say(iq == "label_values(vmscale_domains_running, instance)", f"{name}: instance variable")
        dom = tvars.get("domain", {})
        say(vquery(dom) == 'label_values(vmscale_domain_info{instance=~"$instance"}, domain)'
            and dom.get("multi") and dom.get("includeAll"), f"{name}: domain variable, multi with All")
    for v in tvars.values():
        if v.get("type") == "query":
            say(v.get("datasource", {}).get("uid") == "${datasource}",
                f"{name}: variable {v.get('name')} queries ${{datasource}}")

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))
    ids, n, bad = set(), 0, []
    for p in panels(d.get("panels", [])):
        pid = p.get("id")
        if pid in ids:
            bad.append(f"duplicate panel id {pid}")
        ids.add(pid)
        if p.get("type") == "row":
            continue
        if not p.get("description"):
            bad.append(f"panel {p.get('title')!r} has no description")
        if p.get("datasource", {}).get("uid") != "${datasource}":
            bad.append(f"panel {p.get('title')!r}: datasource is not ${{datasource}}")
        if not p.get("targets"):
            bad.append(f"panel {p.get('title')!r} has no query")
        for t in p.get("targets", []):
            n += 1
            if t.get("datasource", {}).get("uid") != "${datasource}":
                bad.append(f"panel {p.get('title')!r} {t.get('refId')}: datasource is not ${{datasource}}")
            expr = t.get("expr", "")
            if 'instance=~"$instance"' not in expr:
                bad.append(f"panel {p.get('title')!r} {t.get('refId')}: no instance=~\"$instance\"")
            if fleet:
                # Every selector is NAME{...} with the site matcher, NAME a recorded vmscale:
                # series or up; no raw vmscale_ name anywhere.
                names = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{", expr)
                off = [x for x in names if not (x.startswith("vmscale:") or x == "up")]
                if off or "vmscale_" in expr or not names:
                    bad.append(f"panel {p.get('title')!r} {t.get('refId')}: not only federated series "
                               f"(vmscale:* and up): {expr}")
                if expr.count("{") != expr.count('site=~"$site"'):
                    bad.append(f"panel {p.get('title')!r} {t.get('refId')}: a selector without site=~\"$site\"")
    say(not bad, f"{name}: panels ({n} queries)" + ("".join("\n    " + b for b in bad)))
    total += n
say(total >= 20, f"at least 20 queries in all ({total})")
PY
cat "$tmp/structure"
fails=$((fails + $(grep -c '^not ok' "$tmp/structure")))
grep -q '^ok - ' "$tmp/structure" || not_ok "the structure checks ran"

# Every query parses as PromQL, variables substituted as for a real run.
if "$src/scripts/dashboard-queries.sh" "$dir" >"$tmp/queries.tsv" 2>"$tmp/queries.err"; then
	ok "dashboard-queries.sh lists $(wc -l <"$tmp/queries.tsv") queries, every variable known"
else
	not_ok "dashboard-queries.sh: $(cat "$tmp/queries.err")"
fi
python3 - "$tmp/queries.tsv" >"$tmp/rules.yml" <<'PY'
import json, sys
print("groups:\n  - name: dashboard-queries\n    rules:")
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    file, title, ref, expr = line.rstrip("\n").split("\t")
    print(f"      # {file} / {title} / {ref}")
    # JSON strings are valid YAML flow scalars: no quoting trouble with the expressions.
    print(f"      - record: q_{i}\n        expr: {json.dumps(expr)}")
PY
if out=$(promtool check rules "$tmp/rules.yml" 2>&1); then
	ok "every query parses as PromQL (promtool check rules: $(echo "$out" | grep -o 'SUCCESS: [0-9]* rules found' || echo "$out"))"
else
	not_ok "promtool check rules on the dashboards' queries:"
	echo "$out" | sed 's/^/    /'
	# Say which query: promtool names the rule's index in the group.
	grep -o 'rule [0-9]*' <<<"$out" | sort -u | while read -r _ n; do
		sed -n "$((n))p" "$tmp/queries.tsv" | sed 's/^/    query: /'
	done
fi

# The provisioning examples exist and point where the README says.
prov=$src/grafana/provisioning
check "datasource provisioning example (type prometheus)" grep -q 'type: prometheus' "$prov/datasources/vmscale.yml"
check "dashboard provider example (/var/lib/grafana/dashboards/vmscale)" \
	grep -q 'path: /var/lib/grafana/dashboards/vmscale' "$prov/dashboards/vmscale.yml"

finish
