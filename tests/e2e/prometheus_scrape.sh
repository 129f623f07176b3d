#!/usr/bin/env bash
# A real Prometheus server scrapes vmscaled (against libvirt's test driver), negotiating
# OpenMetrics with gzip as Prometheus does by default: the scrape must succeed without error
# and the series must arrive with their names. (The 0.0.4 text format is checked by promtool
# in daemon_test_driver.)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: prometheus_scrape.sh PATH/TO/vmscaled}
command -v prometheus >/dev/null || skip "prometheus is not installed (scripts/bootstrap.sh installs it)"
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

scratch vmscale-test-prom # $tmp, and $pids killed at exit

port=$(free_port)
"$vmscaled" --connect test:///default --listen "127.0.0.1:$port" --interval 1 --state-dir "$tmp/state" \
	--control-socket "$tmp/control.sock" 2>"$tmp/vmscaled.log" &
pids+=($!)
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" || not_ok "vmscaled answers"

prom_port=$(free_port)
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vmscale
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$prom_port/api/v1"
query() { curl -sf --data-urlencode "query=$1" "$api/query"; }
has_value() { # QUERY VALUE: the first result's value
	query "$1" 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and r[0]["value"][1]==sys.argv[1] else 1)' "$2" 2>/dev/null
}
check "Prometheus scrapes vmscaled: up == 1" wait_for 60 has_value 'up{job="vmscale"}' 1
check "vmscale_libvirt_up arrives" wait_for 20 has_value 'max(vmscale_libvirt_up)' 1
check "vmscale_domains_running arrives" has_value 'max(vmscale_domains_running)' 1
check "the info family keeps its _info samples" has_value 'count(vmscale_build_info)' 1
check "counters keep their _total samples" wait_for 20 has_value 'count(vmscale_host_cpu_seconds_total{mode="idle"} > 0)' 1
check "a counter's rate is computable" wait_for 20 has_value 'count(rate(vmscale_host_cpu_seconds_total{mode="idle"}[5s]) >= 0)' 1
targets=$(curl -sf "$api/targets")
check "no scrape error on any target" python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
errs = [x["lastError"] for x in t if x["lastError"]]
if errs: print("\n".join(errs))
sys.exit(1 if errs or not t else 0)' <<<"$targets"
# What Prometheus negotiated: OpenMetrics with gzip, the format this daemon must get right.
hdr=$(curl -s -o /dev/null -D - -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
	-H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics" | tr -d '\r')
check "Prometheus' Accept header gets OpenMetrics" grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0' <<<"$hdr"
check "and gzip" grep -qi '^Content-Encoding: gzip' <<<"$hdr"
check "an OpenMetrics exposition ends with # EOF" bash -c "curl -s -H 'Accept: application/openmetrics-text' 'http://127.0.0.1:$port/metrics' | tail -1 | grep -qx '# EOF'"
if [ "$fails" -gt 0 ]; then
	echo "--- prometheus log"; tail -20 "$tmp/prometheus.log"
	echo "--- targets"; echo "$targets"
fi
finish
