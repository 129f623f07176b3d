#!/usr/bin/env bash
# End to end: a fleet of two hosts, a site Prometheus and a global one federating only the
# aggregates, as docs/fleet.md describes.
#
#   fleet.sh BUILD_DIR
#
# Host "lab": a private lab (scripts/lab.sh) of 2 TCG guests and its own vmscaled. Host
# "testdriver": a second vmscaled against libvirt's test driver (test:///default). The site
# Prometheus (the Debian `prometheus`) scrapes both as job "vmscale", with distinct instance
# labels, the shipped recording and alerting rules and external_labels {site="fleet-test"}. The
# global Prometheus runs grafana/prometheus/prometheus.global.example.yml as shipped (its
# match[] list, honor_labels, /federate), only its targets pointed at the site Prometheus and
# its intervals shortened. Through the global one's HTTP API: both hosts are there, with the
# lab's probes and slowdown and the test driver's domain; every query of the fleet dashboard
# (scripts/dashboard-queries.sh, $site and $instance substituted) returns data; nothing but
# vmscale:* and up crossed, no series with a domain label, no raw vmscale_ series; and the
# number of series per host that crossed is printed (README, "Fleet").
#
# Intervals: 5 s scrapes, rule evaluations and federation instead of 15-30 s. That only
# shortens the wait for a rate() over [1m] to have samples and for the federation to catch
# up: the rules, the match[] list and the labels are the shipped ones, so the same series
# cross, and their number per host does not depend on the interval.
#
# Exit 77 when the machine lacks root, QEMU, libvirtd, prometheus or python3 with PyYAML.
# Everything is on 127.0.0.1, on free ports, in scratch folders; the lab, both Prometheus
# servers and the second vmscaled are stopped at exit. Other labs' guests are not touched:
# the lab's vmscaled takes only this test's guests' channels (--probe-domains, lab_lib.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
prefix=vmsfleet
lab_preconditions
command -v prometheus >/dev/null || skip "no prometheus (scripts/bootstrap.sh installs it)"
command -v promtool >/dev/null || skip "no promtool (Debian package prometheus)"
python3 -c 'import yaml' 2>/dev/null || skip "no python3 with PyYAML (python3-yaml)"

readonly site=fleet-test
readonly global_example=$repo/grafana/prometheus/prometheus.global.example.yml
# Bounded waits, in seconds: the scrapes and federation, then the lab's cpu_work baseline
# (3 samples 5 s apart once the probe said hello) and its first slowdown.
readonly up_wait=60 data_wait=120

# cpu_work every 5 s and a baseline after 3 samples: the lab host has a slowdown (the worst
# slowdown panel) within a minute or so. The other families keep their defaults.
lab_prepare --probe-cpu-work-interval 5s --baseline-min-samples 3 --slowdown-window 30s
fleet_dir=$LAB_DIR.fleet
fleet_pids=()
stop_fleet() {
	local p
	for p in "${fleet_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$fleet_dir"
}
lab_extra_cleanup=stop_fleet

fail() {
	echo "not ok - $*"
	local f
	for f in site/prometheus.log global/prometheus.log testdriver/vmscaled.log; do
		echo "# ---- $f (last lines)"
		tail -n 15 "$fleet_dir/$f" 2>/dev/null | sed 's/^/# /' || true
	done
	lab_evidence 5
	exit 1
}

# ---------------------------------------------------------------- helpers

# query API PROMQL: the JSON answer of an instant query (empty on an HTTP error).
query() { curl -sf --max-time 10 --data-urlencode "query=$2" "$1/query" || true; }
# results API PROMQL: the number of series of a successful answer, "error: ..." otherwise.
results() {
	query "$1" "$2" | python3 -c '
import json, sys
try:
    a = json.load(sys.stdin)
except ValueError:
    print("error: no answer"); sys.exit()
if a.get("status") != "success":
    print("error: " + a.get("error", "?")); sys.exit()
d = a["data"]
print(len(d["result"]) if d["resultType"] in ("vector", "matrix") else 1)'
}
# table API PROMQL LABEL...: one line per series, the labels' values then the value, sorted.
table() {
	local api=$1 q=$2
	shift 2
	query "$api" "$q" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
for x in sorted(r, key=lambda x: [x["metric"].get(l, "") for l in sys.argv[1:]]):
    print(" ".join([x["metric"].get(l, "-") for l in sys.argv[1:]] + [x["value"][1]]))' "$@" 2>/dev/null || true
}
# value API PROMQL: the value of the first series, empty when there is none.
val() { table "$1" "$2" | awk 'NR == 1 { print $NF }'; }

start_prometheus() { # NAME CONFIG: the server's API in $api
	local name=$1 port
	port=$(free_port)
	promtool check config "$2" >"$fleet_dir/$name/check.log" 2>&1 ||
		fail "promtool check config on the $name configuration: $(cat "$fleet_dir/$name/check.log")"
	prometheus --config.file="$2" --storage.tsdb.path="$fleet_dir/$name/data" \
		--web.listen-address="127.0.0.1:$port" >"$fleet_dir/$name/prometheus.log" 2>&1 &
	fleet_pids+=($!)
	api=http://127.0.0.1:$port/api/v1
	prom_addr=127.0.0.1:$port
}

# ---------------------------------------------------------------- host 2: the test driver

t_start=$SECONDS
mkdir -p "$fleet_dir/testdriver" "$fleet_dir/site" "$fleet_dir/global"
td_listen=127.0.0.1:$(free_port)
"$build/daemon/vmscaled" --connect test:///default --listen "$td_listen" \
	--state-dir "$fleet_dir/testdriver/state" --control-socket "$fleet_dir/testdriver/control.sock" \
	2>"$fleet_dir/testdriver/vmscaled.log" &
fleet_pids+=($!)
wait_for 15 curl -sf -o /dev/null "http://$td_listen/metrics" ||
	fail "vmscaled --connect test:///default does not answer on $td_listen"
ok "host testdriver: vmscaled (pid ${fleet_pids[0]}) against test:///default on $td_listen"

# ---------------------------------------------------------------- host 1: the lab

echo "# lab.sh up 2 (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, build $build)"
"$lab" up 2 2>&1 | sed 's/^/#   /' || fail "lab.sh up 2 failed (see its output above)"
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
ok "host lab: ${prefix}1, ${prefix}2 and vmscaled (pid $daemon_pid) on $LAB_LISTEN ($((SECONDS - t_start)) s)"

# ---------------------------------------------------------------- the site Prometheus

cat >"$fleet_dir/site/prometheus.yml" <<YML
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
  external_labels:
    site: $site
rule_files:
  - $repo/grafana/prometheus/vmscale-recording.rules.yml
  - $repo/grafana/prometheus/vmscale-alerts.rules.yml
scrape_configs:
  - job_name: vmscale
    static_configs:
      - targets: ["$LAB_LISTEN"]
        labels: {instance: lab}
      - targets: ["$td_listen"]
        labels: {instance: testdriver}
YML
start_prometheus site "$fleet_dir/site/prometheus.yml"
site_api=$api site_addr=$prom_addr
site_up() { [ "$(table "$site_api" 'up{job="vmscale"} == 1' instance | awk '{ print $1 }' | tr '\n' ' ')" = "lab testdriver " ]; }
wait_for "$up_wait" site_up || fail "the site Prometheus does not scrape both hosts: $(table "$site_api" 'up' job instance | tr '\n' ';')"
bad=$(curl -sf "$site_api/rules" | python3 -c '
import json, sys
g = json.load(sys.stdin)["data"]["groups"]
print(" ".join(r["name"] for x in g for r in x["rules"] if r.get("health") == "err"))')
[ -z "$bad" ] || fail "site rules in error: $bad"
ok "site Prometheus on $site_addr scrapes lab and testdriver every 5 s, shipped rules loaded, external label site=\"$site\""

# ---------------------------------------------------------------- the global Prometheus

# The shipped example, as is, but for its targets (the site Prometheus) and its intervals.
python3 - "$global_example" "$site_addr" >"$fleet_dir/global/prometheus.yml" <<'PY'
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
conf["global"].update(scrape_interval="5s", evaluation_interval="5s", scrape_timeout="4s")
jobs = [j for j in conf["scrape_configs"] if j.get("metrics_path") == "/federate"]
if len(jobs) != 1 or not jobs[0].get("params", {}).get("match[]"):
    sys.exit("fleet.sh: the example has no single /federate job with match[]")
jobs[0]["static_configs"] = [{"targets": [sys.argv[2]]}]
yaml.safe_dump(conf, sys.stdout, sort_keys=False)
PY
mapfile -t matches < <(python3 -c '
import sys, yaml
for j in yaml.safe_load(open(sys.argv[1]))["scrape_configs"]:
    for m in j.get("params", {}).get("match[]", []):
        print(m)' "$global_example")
fed_job=$(python3 -c '
import sys, yaml
print([j for j in yaml.safe_load(open(sys.argv[1]))["scrape_configs"] if j.get("metrics_path") == "/federate"][0]["job_name"])' "$global_example")
start_prometheus global "$fleet_dir/global/prometheus.yml"
global_api=$api global_addr=$prom_addr
echo "# federation match[] (from ${global_example#"$repo"/}): ${matches[*]}"
ok "global Prometheus on $global_addr federates from $site_addr with the shipped example's $fed_job job"

# ---------------------------------------------------------------- both hosts, globally

t0=$SECONDS
hosts_global() { [ "$(table "$global_api" "up{job=\"vmscale\",site=\"$site\"} == 1" instance | awk '{ print $1 }' | tr '\n' ' ')" = "lab testdriver " ]; }
wait_for "$up_wait" hosts_global || fail "the global Prometheus does not have both hosts up: $(table "$global_api" 'up' job instance site | tr '\n' ';')"
ok "both hosts in the global Prometheus: up{job=\"vmscale\",site=\"$site\"} for lab and testdriver ($((SECONDS - t0)) s)"

# The figures behind the panels, per host, with what each host really has: the lab's two
# probes up and a cpu_work slowdown, the test driver's one domain ("test"), libvirt up on both.
g() { val "$global_api" "$1{site=\"$site\",instance=\"$2\"}"; }
others_nup=$(others)
lab_ready() {
	num_eq "$(g vmscale:probes_up:by_instance lab)" 2 &&
		num_gt "$(val "$global_api" "vmscale:slowdown_ratio:max{site=\"$site\",instance=\"lab\",probe=\"cpu_work\"}")" 0
}
t0=$SECONDS
wait_for "$data_wait" lab_ready ||
	fail "lab host in the global Prometheus: probes up '$(g vmscale:probes_up:by_instance lab)' (want 2), cpu_work worst slowdown '$(val "$global_api" "vmscale:slowdown_ratio:max{site=\"$site\",instance=\"lab\",probe=\"cpu_work\"}")' (want a number) after $data_wait s"
lab_nup=$(g vmscale:domains_running:by_instance lab)
num_gt "$lab_nup" 1 || fail "lab N_up $lab_nup, want at least our 2 guests (other domains: $others_nup)"
ok "lab, globally: N_up $lab_nup (our 2 + $others_nup other), probes up 2, down $(g vmscale:probes_down:by_instance lab), cpu_work worst slowdown $(val "$global_api" "vmscale:slowdown_ratio:max{site=\"$site\",instance=\"lab\",probe=\"cpu_work\"}") ($((SECONDS - t0)) s)"
td_ready() { num_eq "$(g vmscale:domains_running:by_instance testdriver)" 1 && num_eq "$(g vmscale:probes_up:by_instance testdriver)" 0; }
wait_for 30 td_ready || fail "testdriver, globally: N_up '$(g vmscale:domains_running:by_instance testdriver)' (want 1), probes up '$(g vmscale:probes_up:by_instance testdriver)' (want 0)"
for h in lab testdriver; do
	num_eq "$(g vmscale:libvirt_up:min "$h")" 1 || fail "$h: vmscale:libvirt_up:min is '$(g vmscale:libvirt_up:min "$h")', want 1"
done
ok "testdriver, globally: N_up 1 (test:///default's domain), no probes; libvirt up on both hosts"

# ---------------------------------------------------------------- the fleet dashboard

mapfile -t queries < <(SITE="$site" INSTANCE=".+" "$repo/scripts/dashboard-queries.sh" "$repo/grafana/dashboards" |
	awk -F '\t' '$1 == "vmscale-fleet.json"')
[ "${#queries[@]}" -ge 20 ] || fail "only ${#queries[@]} fleet dashboard queries (want >= 20)"
deadline=$((SECONDS + data_wait))
while :; do
	bad=()
	for line in "${queries[@]}"; do
		IFS=$'\t' read -r file title ref expr <<<"$line"
		n=$(results "$global_api" "$expr")
		[[ $n =~ ^[1-9] ]] || bad+=("${file##*/} \"$title\" $ref: $n: $expr")
	done
	[ "${#bad[@]}" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ] || break
	sleep 5
done
if [ "${#bad[@]}" -gt 0 ]; then
	printf '# %s\n' "${bad[@]}"
	fail "${#bad[@]} of ${#queries[@]} fleet dashboard queries return no data or an error from the global Prometheus"
fi
ok "all ${#queries[@]} fleet dashboard queries return data from the global Prometheus (site=\"$site\", every host)"
# Per host: the queries that have data for that host alone (a host without degradation
# analysis has no slowdown line, by design).
for h in lab testdriver; do
	mapfile -t hq < <(SITE="$site" INSTANCE="$h" "$repo/scripts/dashboard-queries.sh" "$repo/grafana/dashboards" |
		awk -F '\t' '$1 == "vmscale-fleet.json"')
	empty=()
	for line in "${hq[@]}"; do
		IFS=$'\t' read -r file title ref expr <<<"$line"
		[[ $(results "$global_api" "$expr") =~ ^[1-9] ]] || empty+=("\"$title\" $ref")
	done
	echo "# $h alone: $((${#hq[@]} - ${#empty[@]})) of ${#hq[@]} queries with data${empty[*]:+; none for ${empty[*]}}"
done

# ---------------------------------------------------------------- what crossed

# Everything in the global Prometheus but its own scrape of the site (job $fed_job) came
# through /federate.
crossed=$(table "$global_api" "count by (__name__) ({__name__=~\".+\",job!=\"$fed_job\"})" __name__)
[ -n "$crossed" ] || fail "nothing crossed the federation"
odd=$(awk '$1 !~ /^vmscale:/ && $1 != "up" { print $1 }' <<<"$crossed" | tr '\n' ' ')
[ -z "$odd" ] || fail "series other than vmscale:* and up crossed the federation: $odd"
n=$(results "$global_api" '{__name__=~"vmscale_.+"}')
[ "$n" = 0 ] || fail "$n raw vmscale_ series crossed the federation"
n=$(results "$global_api" '{__name__=~".+",domain!=""}')
[ "$n" = 0 ] || fail "$n series with a domain label crossed the federation"
n=$(results "$global_api" "{__name__=~\".+\",job!=\"$fed_job\",site!=\"$site\"}")
[ "$n" = 0 ] || fail "$n federated series without site=\"$site\""
# On the site, per-domain and raw series abound: the filter is what kept them out.
site_raw=$(val "$site_api" 'count({__name__=~"vmscale_.+",domain!=""})')
num_gt "$site_raw" 0 || fail "the site Prometheus has no per-domain series: nothing to keep out"
ok "only vmscale:* and up crossed ($(wc -l <<<"$crossed") names), every series with site=\"$site\"; no raw vmscale_ series, none with a domain label (the site holds $site_raw per-domain raw series)"

echo "# series per host on the site Prometheus (job vmscale, raw and recorded) and crossing the federation:"
while read -r inst n_global; do
	n_site=$(val "$site_api" "count({job=\"vmscale\",instance=\"$inst\"})")
	echo "#   instance=$inst: $n_global series cross the federation (of $n_site on the site)"
done < <(table "$global_api" "count by (instance) ({site=\"$site\",instance!=\"\"})" instance)
echo "#   without instance (per site and job): $(val "$global_api" "count({site=\"$site\",instance=\"\"})")"
echo "# crossing, by name (lab testdriver):"
table "$global_api" "count by (__name__, instance) ({site=\"$site\"})" __name__ instance |
	awk '{ n[$1] = n[$1] " " $2 "=" $3 } END { for (k in n) print "#   " k n[k] }' | sort
echo "# fleet.sh: $((SECONDS - t_start)) s from the first vmscaled to here"
