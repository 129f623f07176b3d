#!/usr/bin/env bash
# Issue 14's side-by-side comparison: vmscaled beside collectd 5.12 (virt + write_prometheus)
# and prometheus-libvirt-exporter 0.2 (Debian's packages) on the same libvirt, scraped
# interleaved, and one table with ratios (vmscaled ÷ other).
#
#   tests/bench/anchors.sh [BUILD_DIR]                 (default build/)
#   ANCHORS_URI=qemu:///system tests/bench/anchors.sh  (the lab: scripts/lab.sh up)
#   ANCHORS_DOMAINS=1000 ANCHORS_ROUNDS=60 ANCHORS_GAP=1 ANCHORS_IDLE_SECONDS=60
#   ANCHORS_WARMUP=15 ANCHORS_INTERVAL=5 ANCHORS_SETTLE=0.1
#
# Modes. Without ANCHORS_URI: libvirt's in-process test driver, a node of ANCHORS_DOMAINS
# running domains (tests/bench/node_xml.sh) as test:///…/node.xml; each tool opens its own
# copy inside its own process, there is no libvirtd, so libvirtd's CPU is n/a. With
# ANCHORS_URI (e.g. qemu:///system), all three connect to that libvirtd, and its extra CPU
# per scrape is measured too (`pidof libvirtd`, else virtqemud). For the lab,
# `LAB_NO_DAEMON=1 scripts/lab.sh up` keeps the lab's own vmscaled from polling it meanwhile.
#
# Not a ctest test: its figures depend on the machine. It installs collectd-core if missing
# (apt-get, services kept from starting: policy-rc.d, then disabled), writes collectd's
# configuration to its scratch folder (never /etc/collectd), starts only its own processes
# on loopback ports and stops them on exit. vmscaled reads every ANCHORS_INTERVAL s, collectd
# too (its Interval); the exporter reads libvirt on every scrape.
#
# How it measures (one python3 client, the same for all three):
# - ready: the first scrape that shows a domain; then ANCHORS_WARMUP s and 3 unmeasured
#   scrapes of each format per tool.
# - idle CPU: the three processes' CPU over the same ANCHORS_IDLE_SECONDS with no scrapes, as
#   % of one core. CPU is the sum of field 1 (ns on the CPU) of /proc/PID/task/*/schedstat,
#   every thread (threads that exit in between take their time with them).
# - rounds: ANCHORS_ROUNDS rounds; round r scrapes the tools in an order rotated by r, each
#   with plain text (no Accept header) then OpenMetrics + gzip (Prometheus's Accept header,
#   Accept-Encoding: gzip), the two swapped on odd rounds; ANCHORS_GAP s between rounds on
#   average (Prometheus's 15 s scaled down), jittered ±50 % so that the scrapes do not sample
#   the tools' own read cycles at fixed phases (the first runs, unjittered, gave collectd a
#   negative mean CPU per scrape). Latency: connect to last byte of the body (not
#   decompressed), a new connection per scrape. Median and p95 over the rounds.
# - CPU per scrape: the tool's schedstat sum from just before the request to ANCHORS_SETTLE s
#   after the body (work finished after the response counts), less its idle rate × that
#   window (its own background work, averaged out); the mean over the rounds. libvirtd's,
#   with ANCHORS_URI, likewise: its extra CPU during each tool's scrapes.
# - CPU during the rounds: the whole phase, scrapes, gaps and background work, % of a core.
# - RSS: VmRSS and VmHWM from /proc/PID/status after the rounds. Body, series (non-comment,
#   non-empty lines) and domains from the last plain scrape: distinct uuid of vmscaled's
#   vmscale_domain_info, instance of collectd's collectd_virt_* (its HostnameFormat name),
#   domain of the exporter's libvirt_domain_*.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build}
vmscaled=$build/daemon/vmscaled
uri=${ANCHORS_URI:-}
ndom=${ANCHORS_DOMAINS:-1000}
rounds=${ANCHORS_ROUNDS:-60}
gap=${ANCHORS_GAP:-1}
idle_s=${ANCHORS_IDLE_SECONDS:-60}
warmup=${ANCHORS_WARMUP:-15}
interval=${ANCHORS_INTERVAL:-5}
settle=${ANCHORS_SETTLE:-0.1}

[ -x "$vmscaled" ] || { echo "anchors: $vmscaled not built (cmake --build $build --target vmscaled)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "anchors: python3 missing" >&2; exit 1; }
exporter=$(command -v prometheus-libvirt-exporter || true)
[ -n "$exporter" ] || { echo "anchors: prometheus-libvirt-exporter missing (scripts/bootstrap.sh)" >&2; exit 1; }

# collectd-core and the libraries its two plugins need (they are only Suggests). Its
# postinst runs `invoke-rc.d collectd start`: a policy-rc.d that says 101 keeps it from
# starting (one is put in place for the install if the machine has none); the service is
# then disabled for boot (it would not start anyway: collectd-core ships no collectd.conf).
install_collectd() {
	local want=(collectd-core libprotobuf-c1 libmicrohttpd12 libvirt0 libxml2) missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ "${#missing[@]}" -gt 0 ] || return 0
	echo "anchors: installing ${missing[*]}" >&2
	local policy=/usr/sbin/policy-rc.d ours=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && ours=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 || {
		[ -z "$ours" ] || rm -f "$policy"
		return 1
	}
	[ -z "$ours" ] || rm -f "$policy"
	update-rc.d collectd disable >/dev/null 2>&1 || true
	systemctl disable collectd.service >/dev/null 2>&1 || true
}
install_collectd
command -v collectd >/dev/null || { echo "anchors: collectd missing and not installable" >&2; exit 1; }
# A collectd already running (the package's service, or anyone's) is not ours to stop: say so.
other_collectd=$(pidof collectd || true)

# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh" vmscale-anchors

libvirtd_pid=
if [ -z "$uri" ]; then
	mode="test driver, $ndom domains (in-process in each tool, no libvirtd)"
	"$repo/tests/bench/node_xml.sh" "$ndom" >"$tmp/node.xml"
	uri=test://$tmp/node.xml
else
	mode="libvirtd at $uri"
	# The monolithic daemon, or the modular one that serves qemu:///.
	libvirtd_pid=$({ pidof libvirtd || pidof virtqemud || true; } | awk '{ print $1 }')
	[ -n "$libvirtd_pid" ] || { echo "anchors: no libvirtd running for $uri (scripts/lab.sh up)" >&2; exit 1; }
	libvirtd_name=$(cat "/proc/$libvirtd_pid/comm")
fi

v_port=$(free_port)
c_port=$(free_port)
e_port=$(free_port)

# collectd: only virt and write_prometheus, everything in $tmp.
mkdir -p "$tmp/collectd" "$tmp/vmscaled"
{
	echo "Interval $interval"
	echo "BaseDir \"$tmp/collectd\""
	echo "PIDFile \"$tmp/collectd/collectd.pid\""
	echo 'PluginDir "/usr/lib/collectd"'
	echo 'TypesDB "/usr/share/collectd/types.db"'
	echo 'Hostname "anchors-host"'
	echo 'FQDNLookup false'
	echo 'LoadPlugin virt'
	echo 'LoadPlugin write_prometheus'
	echo '<Plugin virt>'
	echo "  Connection \"$uri\""
	echo '  RefreshInterval 60'
	if [[ $uri == test://* ]]; then
		# The test driver has no virDomainBlockStatsFlags: collectd would log two errors per
		# domain per read, a cost it would not have on a real host. Disks are left out.
		echo '  BlockDevice "/./"'
		echo '  IgnoreSelected true'
	fi
	echo '</Plugin>'
	echo '<Plugin write_prometheus>'
	echo '  Host "127.0.0.1"'
	echo "  Port \"$c_port\""
	echo '</Plugin>'
} >"$tmp/collectd/collectd.conf"

v_cmd=("$vmscaled" --connect "$uri" --listen "127.0.0.1:$v_port" --interval "$interval"
	--state-dir "$tmp/vmscaled" --control-socket "$tmp/vmscaled/control.sock")
c_cmd=(collectd -f -C "$tmp/collectd/collectd.conf")
e_cmd=("$exporter" --web.listen-address="127.0.0.1:$e_port" --libvirt.uri="$uri")

started=$(date +%s.%N)
"${v_cmd[@]}" >"$tmp/vmscaled.log" 2>&1 &
v_pid=$!
pids+=("$v_pid")
"${c_cmd[@]}" >"$tmp/collectd.log" 2>&1 &
c_pid=$!
pids+=("$c_pid")
"${e_cmd[@]}" >"$tmp/exporter.log" 2>&1 &
e_pid=$!
pids+=("$e_pid")

cat >"$tmp/anchors.py" <<'PY'
import glob, http.client, json, os, random, re, statistics, sys, time

OM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
             "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
cfg = json.load(open(sys.argv[1]))
tools = cfg["tools"]  # name, pid, port, domains (regex: metric prefix, label)
lvd = cfg.get("libvirtd_pid")

def cpu_ns(pid):
    total = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % pid):
        try:
            with open(f) as fh:
                total += int(fh.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread exited
    return total

def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

def scrape(port, om):
    headers = {"Accept": OM_ACCEPT, "Accept-Encoding": "gzip"} if om else {}
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", "/metrics", headers=headers)
    r = c.getresponse()
    body = r.read()
    t1 = time.perf_counter()
    c.close()
    return t1 - t0, r.status, body, r.getheader("Content-Type", ""), r.getheader("Content-Encoding", "")

def domains(t, body):
    prefix, label = t["domains"]
    lre = re.compile(r'[{,]%s="([^"]*)"' % label)
    seen = set()
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith(prefix):
            m = lre.search(line)
            if m:
                seen.add(m.group(1))
    return len(seen)

def alive(pid):
    return os.path.exists("/proc/%d" % pid)

def ready():
    deadline = time.time() + cfg["ready_timeout"]
    for t in tools:
        while True:
            if not alive(t["pid"]):
                sys.exit("anchors: %s exited before it was ready" % t["name"])
            try:
                _, st, body, _, _ = scrape(t["port"], False)
                if st == 200 and domains(t, body) > 0:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("anchors: %s not ready (no domain in its /metrics)" % t["name"])
            time.sleep(0.2)
        print("anchors: %s ready (%.1f s after the start)" % (t["name"], time.time() - cfg["started"]),
              file=sys.stderr)

def warm():
    for t in tools:
        for _ in range(3):
            scrape(t["port"], False)
            scrape(t["port"], True)

def idle():
    pids = [t["pid"] for t in tools] + ([lvd] if lvd else [])
    w0, c0 = time.perf_counter(), [cpu_ns(p) for p in pids]
    time.sleep(cfg["idle_seconds"])
    w1, c1 = time.perf_counter(), [cpu_ns(p) for p in pids]
    # ns of CPU per second of wall time
    return {str(p): (b - a) / (w1 - w0) for p, a, b in zip(pids, c0, c1)}

def rounds(rate):
    n, gap, settle = cfg["rounds"], cfg["gap"], cfg["settle"]
    rng = random.Random(14)
    rec = {t["name"]: {"plain": [], "om": []} for t in tools}
    last = {}
    pids = [t["pid"] for t in tools]
    w0, c0 = time.perf_counter(), [cpu_ns(p) for p in pids]
    for r in range(n):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for t in order:
            for om in ((False, True) if r % 2 == 0 else (True, False)):
                pid = t["pid"]
                a, la, wa = cpu_ns(pid), cpu_ns(lvd) if lvd else 0, time.perf_counter()
                lat, st, body, ctype, cenc = scrape(t["port"], om)
                time.sleep(settle)
                b, lb, wb = cpu_ns(pid), cpu_ns(lvd) if lvd else 0, time.perf_counter()
                if st != 200:
                    sys.exit("anchors: %s answered %d" % (t["name"], st))
                w = wb - wa
                rec[t["name"]]["om" if om else "plain"].append({
                    "lat": lat,
                    "cpu": (b - a) - rate[str(pid)] * w,
                    "raw": b - a,
                    "lvd": ((lb - la) - rate[str(lvd)] * w) if lvd else None,
                })
                last[(t["name"], om)] = (body, ctype, cenc)
        if r + 1 < n:
            # Jittered: a fixed period would sample the tools' read cycles at fixed phases.
            time.sleep(gap * rng.uniform(0.5, 1.5))
    w1, c1 = time.perf_counter(), [cpu_ns(p) for p in pids]
    whole = {t["name"]: 100 * (b - a) / 1e9 / (w1 - w0) for t, a, b in zip(tools, c0, c1)}
    return rec, last, whole, w1 - w0

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, max(0, int(round(q * len(v) + 0.5)) - 1))]

def main():
    ready()
    time.sleep(cfg["warmup"])
    warm()
    print("anchors: idle, %d s" % cfg["idle_seconds"], file=sys.stderr)
    rate = idle()
    print("anchors: %d rounds" % cfg["rounds"], file=sys.stderr)
    rec, last, whole, span = rounds(rate)
    out = {"mode": cfg["mode"], "span": span, "lvd_idle": (100 * rate[str(lvd)] / 1e9) if lvd else None}
    for t in tools:
        n, pid = t["name"], t["pid"]
        body, _, _ = last[(n, False)]
        om_body, om_type, om_enc = last[(n, True)]
        f = {}
        for k in ("plain", "om"):
            lat = [x["lat"] * 1000 for x in rec[n][k]]
            f["med_" + k] = statistics.median(lat)
            f["p95_" + k] = pct(lat, 0.95)
            cpu = [x["cpu"] / 1e6 for x in rec[n][k]]
            f["cpu_" + k] = statistics.mean(cpu)
            f["cpu_" + k + "_se"] = statistics.stdev(cpu) / len(cpu) ** 0.5 if len(cpu) > 1 else 0
            f["raw_" + k] = statistics.median(x["raw"] for x in rec[n][k]) / 1e6
            f["lvd_" + k] = statistics.mean(x["lvd"] for x in rec[n][k]) / 1e6 if lvd else None
        f["idle"] = 100 * rate[str(pid)] / 1e9
        f["whole"] = whole[n]
        f["rss"] = status_kib(pid, "VmRSS") / 1024
        f["hwm"] = status_kib(pid, "VmHWM") / 1024
        f["bytes"] = len(body)
        f["om_bytes"] = len(om_body)
        f["om_served"] = "%s%s" % (om_type.split(";")[0] or "?", ", " + om_enc if om_enc else ", not compressed")
        lines = [l for l in body.decode("utf-8", "replace").splitlines() if l.strip() and not l.startswith("#")]
        f["series"] = len(lines)
        f["domains"] = domains(t, body)
        out[n] = f
        with open(os.path.join(cfg["tmp"], n + ".prom"), "wb") as fh:
            fh.write(body)
    json.dump(out, open(os.path.join(cfg["tmp"], "result.json"), "w"))

main()
PY

cat >"$tmp/config.json" <<EOF
{"tmp": "$tmp", "started": $started, "mode": "$mode", "rounds": $rounds, "gap": $gap, "settle": $settle,
 "idle_seconds": $idle_s, "warmup": $warmup, "ready_timeout": 300,
 "libvirtd_pid": ${libvirtd_pid:-null},
 "tools": [
  {"name": "vmscaled", "pid": $v_pid, "port": $v_port, "domains": ["vmscale_domain_info{", "uuid"]},
  {"name": "collectd", "pid": $c_pid, "port": $c_port, "domains": ["collectd_virt_", "instance"]},
  {"name": "exporter", "pid": $e_pid, "port": $e_port, "domains": ["libvirt_domain_", "domain"]}
 ]}
EOF
python3 "$tmp/anchors.py" "$tmp/config.json" || {
	for n in vmscaled collectd exporter; do
		echo "--- $n.log (last lines)" >&2
		tail -5 "$tmp/$n.log" >&2
	done
	exit 1
}

# The table.
python3 - "$tmp/result.json" <<'PY' >"$tmp/table.txt"
import json, sys
d = json.load(open(sys.argv[1]))
T = ("vmscaled", "collectd", "exporter")
lvd = d["lvd_idle"] is not None
rows = [
    ("scrape median, plain text", "ms", "med_plain", "%.2f"),
    ("scrape p95, plain text", "ms", "p95_plain", "%.2f"),
    ("scrape median, OpenMetrics + gzip", "ms", "med_om", "%.2f"),
    ("scrape p95, OpenMetrics + gzip", "ms", "p95_om", "%.2f"),
    ("CPU per scrape, plain, mean less idle", "ms", "cpu_plain", "%.2f"),
    ("CPU per scrape, plain, median raw", "ms", "raw_plain", "%.2f"),
    ("CPU per scrape, OM + gzip, mean less idle", "ms", "cpu_om", "%.2f"),
    ("CPU per scrape, OM + gzip, median raw", "ms", "raw_om", "%.2f"),
    ("libvirtd's extra CPU per scrape, plain", "ms", "lvd_plain", "%.2f"),
    ("libvirtd's extra CPU per scrape, OM + gzip", "ms", "lvd_om", "%.2f"),
    ("idle CPU, no scrapes", "% core", "idle", "%.3f"),
    ("CPU during the rounds", "% core", "whole", "%.3f"),
    ("RSS after the scrapes (VmRSS)", "MiB", "rss", "%.1f"),
    ("peak RSS (VmHWM)", "MiB", "hwm", "%.1f"),
    ("body, plain text", "bytes", "bytes", "%d"),
    ("body, OpenMetrics + gzip as served", "bytes", "om_bytes", "%d"),
    ("series (sample lines, plain)", "", "series", "%d"),
    ("domains exported", "", "domains", "%d"),
]
def ratio(a, b, fmt):
    # No ratio to a figure that prints as zero (the exporter's idle CPU: it reads on scrapes).
    if a is None or b is None or b <= 0 or float(fmt % b) == 0:
        return "-"
    return "%.3g" % (a / b)
head = "%-44s %-6s %12s %12s %12s %10s %10s" % ("figure", "unit", *T, "v/collectd", "v/exporter")
print(head)
print("-" * len(head))
for name, unit, k, fmt in rows:
    vals = [d[t][k] for t in T]
    if vals[0] is None:
        print("%-44s %-6s %12s %12s %12s %10s %10s" % (name, unit, "n/a", "n/a", "n/a", "", ""))
        continue
    cells = [fmt % v for v in vals]
    if k + "_se" in d[T[0]]:  # the mean's standard error
        cells = ["%s±%.2f" % (c, d[t][k + "_se"]) for c, t in zip(cells, T)]
    print("%-44s %-6s %12s %12s %12s %10s %10s" % (name, unit, *cells, ratio(vals[0], vals[1], fmt),
                                                    ratio(vals[0], vals[2], fmt)))
if lvd:
    print("libvirtd idle over the same window: %.3f %% of a core" % d["lvd_idle"])
else:
    print("libvirtd: n/a in this mode (no libvirtd: each tool runs the test driver in-process)")
print()
for t in T:
    print("OpenMetrics + gzip request, %s answered: %s" % (t, d[t]["om_served"]))
PY

# What the run saw, for the notes under the table.
notes=()
e_doms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exporter"]["domains"])' "$tmp/result.json")
c_doms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collectd"]["domains"])' "$tmp/result.json")
v_doms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vmscaled"]["domains"])' "$tmp/result.json")
if [ "$e_doms" -lt "$v_doms" ]; then
	notes+=("the exporter lists $e_doms of $v_doms domains: Debian's 0.2.0 lists them through a fixed
  512-entry array (virConnectListDomains in its Go binding; docs/performance.md)")
fi
[ "$c_doms" -ge "$v_doms" ] || notes+=("collectd exports $c_doms of $v_doms domains")
if [[ $uri == test://* ]]; then
	notes+=("collectd's disks are left out on the test driver (no virDomainBlockStatsFlags there:
  it would log two errors per domain per read); its series count has no disk series")
	notes+=("with the test driver each process holds the $ndom domain definitions itself: RSS
  includes them (render_bench.sh measures that share apart)")
fi
c_errs=$(grep -c -i 'error\|failed' "$tmp/collectd.log" || true)
[ "$c_errs" = 0 ] || notes+=("collectd logged $c_errs error lines, e.g.: $(grep -i -m1 'error\|failed' "$tmp/collectd.log")")
[ -z "$other_collectd" ] || notes+=("another collectd was running (pid $other_collectd), not started by this script")
# vmscaled reads libvirt with one bulk virConnectGetAllDomainStats; the test driver answers it
# with the domains' state only, where the other two make per-domain calls it does answer.
if ! grep -q '^vmscale_domain_cpu_seconds_total{' "$tmp/vmscaled.prom"; then
	notes+=("vmscaled exports no per-domain CPU, vCPU, memory, disk or NIC series here: it reads
  libvirt's bulk virConnectGetAllDomainStats, which this libvirt answers with the domains'
  state only (virsh domstats shows the same); collectd and the exporter make per-domain calls
  it answers. Body, series, CPU and RSS are not like for like in this mode")
fi
notes+=("CPU per scrape: the tool's schedstat (every thread) from the request to ${settle} s after
  the body, $rounds scrapes. 'mean less idle': the mean (± its standard error), less the tool's
  idle rate × the window (its background work, reads every ${interval} s, averaged out:
  unbiased but noisy for bursty background work, can be below zero). 'median raw': the
  median without correction (robust to bursts; a cost paid by only some scrapes, e.g. once
  per snapshot, may not show)")
[ -z "$libvirtd_pid" ] || notes+=("libvirtd's extra CPU per scrape is the mean less its idle rate, like the tools': noisy
  when other clients keep it busy (its idle rate above)")

v_ver=$("$vmscaled" --version 2>/dev/null | head -1 || true)
echo
echo "vmscale anchors: vmscaled beside collectd and prometheus-libvirt-exporter, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
echo "mode:     $mode"
if [[ $uri == test://* ]]; then
	n_line="N = $ndom domains (node_xml.sh)"
else
	n_line="N = $v_doms running domains (as vmscaled exports them)"
fi
echo "          $n_line | rounds $rounds, gap ${gap} s ±50 %, settle ${settle} s | idle ${idle_s} s | warm-up ${warmup} s | interval ${interval} s"
echo "versions: ${v_ver:-vmscaled ?} ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "          $(collectd -h 2>&1 | grep -m1 '^collectd ') ($(dpkg-query -W -f '${Package} ${Version}' collectd-core 2>/dev/null))"
echo "          $(dpkg-query -W -f '${Package} ${Version}' prometheus-libvirt-exporter 2>/dev/null)"
[ -z "$libvirtd_pid" ] || echo "          $libvirtd_name $("$libvirtd_name" --version 2>/dev/null | awk '{ print $NF }') (pid $libvirtd_pid)"
echo "commands: vmscaled: ${v_cmd[*]}"
echo "          collectd: ${c_cmd[*]} (virt + write_prometheus, Interval $interval)"
echo "          exporter: ${e_cmd[*]}"
echo "client:   python3 http.client, a new connection per scrape, interleaved rotating rounds"
echo
cat "$tmp/table.txt"
echo
echo "notes:"
for n in "${notes[@]}"; do echo "- $n"; done
