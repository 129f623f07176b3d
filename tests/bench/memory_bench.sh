#!/usr/bin/env bash
# Where vmscaled's memory goes (issue 14): resident memory split by kind, and a heap profile.
#
#   tests/bench/memory_bench.sh [BUILD_DIR|VMSCALED]      (default build/)
#   MEM_DOMAINS=1000 MEM_SECONDS=60
#
# Not a ctest test: its figures depend on the machine. It starts only its own vmscaled
# processes (in-process test:/// driver, loopback ports) and stops them on exit.
# 1. vmscaled on test:///default and on a test-driver node with MEM_DOMAINS domains
#    (tests/bench/node_xml.sh), each scraped (plain, then OpenMetrics + gzip) after a warm-up:
#    /proc/PID/smaps_rollup splits its RSS into shared library pages (clean, file-backed:
#    counted in every process that maps them), its own memory (anonymous) and PSS.
# 2. The same node under valgrind's massif for MEM_SECONDS, scraped alike: the peak heap and
#    where it was allocated (vmscaled's store, analysis and buffers; libvirt's test driver,
#    whose domain definitions live in vmscaled's process only because the driver runs there:
#    with qemu:/// they live in libvirtd).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
arg=${1:-$repo/build}
vmscaled=$arg
[ -d "$arg" ] && vmscaled=$arg/daemon/vmscaled
ndom=${MEM_DOMAINS:-1000}
seconds=${MEM_SECONDS:-60}
[ -x "$vmscaled" ] || { echo "memory_bench: $vmscaled not built" >&2; exit 1; }
command -v curl >/dev/null || { echo "memory_bench: curl missing (scripts/bootstrap.sh)" >&2; exit 1; }

# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh" vmscale-memory

# Starts vmscaled (behind the command prefix in $wrap, if any) on URI; NAME names its files.
# Leaves its pid in $pid and its port in $port.
start() {
	local name=$1 uri=$2
	mkdir -p "$tmp/$name"
	port=$(free_port)
	$wrap "$vmscaled" --connect "$uri" --listen "127.0.0.1:$port" --interval 5 \
		--state-dir "$tmp/$name" --control-socket "$tmp/$name/control.sock" \
		>"$tmp/$name.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 600); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		sleep 0.1
	done
	echo "memory_bench: $name did not come up:" >&2
	cat "$tmp/$name.log" >&2
	return 1
}

# Both formats once, as Prometheus and a person would ask.
scrape() {
	curl -sf -o /dev/null "http://127.0.0.1:$1/metrics"
	curl -sf -o /dev/null -H 'Accept: application/openmetrics-text; version=1.0.0' \
		-H 'Accept-Encoding: gzip' "http://127.0.0.1:$1/metrics"
	curl -sf -o /dev/null "http://127.0.0.1:$1/"
}

# "rss pss shared_clean anonymous hwm" in KiB.
memory_kib() {
	awk '$1 == "Rss:" { r = $2 } $1 == "Pss:" { p = $2 } $1 == "Shared_Clean:" { s = $2 }
	     $1 == "Anonymous:" { a = $2 } END { printf "%d %d %d %d", r, p, s, a }' \
		"/proc/$1/smaps_rollup"
	awk '$1 == "VmHWM:" { printf " %d\n", $2 }' "/proc/$1/status"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

xml=$tmp/node.xml
"$repo/tests/bench/node_xml.sh" "$ndom" >"$xml"
wrap=
printf '%-52s %12s %12s\n' "resident memory ($(basename "$vmscaled"), after 2 scrapes)" \
	"default" "$ndom domains"
start default test:///default
pd=$pid qd=$port
start node "test://$xml"
pn=$pid qn=$port
sleep 12 # two intervals: collected, analysed
scrape "$qd"
scrape "$qn"
sleep 6 # one more interval, drawn again on the next scrape
scrape "$qd"
scrape "$qn"
read -r rd sd shd ad hd <<<"$(memory_kib "$pd")"
read -r rn sn shn an hn <<<"$(memory_kib "$pn")"
printf '%-52s %12s %12s\n' "RSS" "$(mib "$rd")" "$(mib "$rn")"
printf '%-52s %12s %12s\n' "  of it shared library pages (clean, file-backed)" "$(mib "$shd")" \
	"$(mib "$shn")"
printf '%-52s %12s %12s\n' "  of it vmscaled's own (anonymous)" "$(mib "$ad")" "$(mib "$an")"
printf '%-52s %12s %12s\n' "PSS (shared pages divided among their users)" "$(mib "$sd")" \
	"$(mib "$sn")"
printf '%-52s %12s %12s\n' "peak RSS (VmHWM)" "$(mib "$hd")" "$(mib "$hn")"
kill "$pd" "$pn"
wait "$pd" "$pn" 2>/dev/null || true

command -v valgrind >/dev/null || { echo "memory_bench: valgrind missing: no heap profile" >&2; exit 0; }
echo
echo "heap profile: $ndom domains under valgrind --tool=massif, ${seconds} s, scraped every 10 s"
wrap="valgrind --tool=massif --massif-out-file=$tmp/massif.out"
start massif "test://$xml"
end=$((SECONDS + seconds))
while [ "$SECONDS" -lt "$end" ]; do
	scrape "$port"
	sleep 10
done
kill -INT "$pid"
wait "$pid" 2>/dev/null || true
ms_print "$tmp/massif.out" >"$tmp/massif.txt"
# The peak snapshot's first two levels: who allocated what, in bytes and percent of the heap.
peak=$(sed -n 's/.* \([0-9]*\) (peak)[],].*/\1/p' "$tmp/massif.txt")
[ -n "$peak" ] || { echo "memory_bench: no peak snapshot in ms_print's output ($tmp/massif.txt)" >&2; exit 1; }
awk -v peak="$peak" '
	$1 == peak && $3 ~ /^[0-9,]+$/ && !shown { printf "peak heap: %s B (useful %s B)\n", $3, $4; shown = 1; next }
	shown && /^(->|\| ->)/ { sub(/ \(in \/usr\/lib\/x86_64-linux-gnu\//, " ("); print "  " $0 }
	shown && /^----------/ { exit }' "$tmp/massif.txt"
