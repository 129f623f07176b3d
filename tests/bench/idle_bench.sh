#!/usr/bin/env bash
# What vmscaled costs with nobody scraping it (issue 14): file opens per host read, and idle
# CPU on libvirt's test driver, default node and a node with $IDLE_DOMAINS domains.
#
#   tests/bench/idle_bench.sh [BUILD_DIR|VMSCALED]        (default build/)
#   IDLE_SECONDS=60 IDLE_DOMAINS=1000 IDLE_STRACE_SECONDS=30 IDLE_INTERVAL=5
#
# Not a ctest test: its figures depend on the machine. It starts only its own vmscaled
# processes (in-process test:/// driver, loopback ports, no scrapes) and stops them on exit.
# CPU is the run time of every thread (/proc/PID/task/*/schedstat, in ns) over IDLE_SECONDS,
# after a 10 s warm-up. Opens are
# counted by strace attached to the running daemon (openat, every thread) over
# IDLE_STRACE_SECONDS and divided by the host reads in that time (one per interval).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
arg=${1:-$repo/build}
vmscaled=$arg
[ -d "$arg" ] && vmscaled=$arg/daemon/vmscaled
seconds=${IDLE_SECONDS:-60}
ndom=${IDLE_DOMAINS:-1000}
strace_s=${IDLE_STRACE_SECONDS:-30}
interval=${IDLE_INTERVAL:-5}
[ -x "$vmscaled" ] || { echo "idle_bench: $vmscaled not built" >&2; exit 1; }

# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh" vmscale-idle

# Starts vmscaled on URI (NAME names its files); leaves its pid in $pid.
start() { start_vmscaled "$1" "$vmscaled" "$2" "$interval"; }

# Percent of a core the process used over $seconds.
idle_cpu() {
	local t0 t1
	t0=$(cpu_ns "$1")
	sleep "$seconds"
	t1=$(cpu_ns "$1")
	awk -v a="$t0" -v b="$t1" -v s="$seconds" 'BEGIN { printf "%.3f", 100 * (b - a) / 1e9 / s }'
}

xml=$tmp/node.xml
"$repo/tests/bench/node_xml.sh" "$ndom" >"$xml"

start default test:///default
pid_default=$pid
start node "test://$xml"
pid_node=$pid
sleep 10 # warm-up: connected, first reads and renders done

# Opens first (strace slows what it traces), then both idle figures side by side.
opens=0
if command -v strace >/dev/null; then
	timeout -s INT "$strace_s" strace -f -c -e trace=openat -p "$pid_default" \
		-o "$tmp/strace.txt" 2>/dev/null || true
	opens=$(awk '$NF == "openat" { print $4 }' "$tmp/strace.txt")
	opens=${opens:-0}
else
	echo "idle_bench: strace missing: no file opens" >&2
fi
reads=$((strace_s / interval))
idle_cpu "$pid_default" >"$tmp/cpu_default" &
w1=$!
idle_cpu "$pid_node" >"$tmp/cpu_node" &
w2=$!
wait "$w1" "$w2"

printf '%-58s %s\n' "figure ($(basename "$vmscaled"), --interval $interval, no scrapes)" value
printf '%-58s %s\n' "openat calls in ${strace_s} s, test:///default" "$opens"
printf '%-58s %s\n' "openat per host read (${reads} reads)" \
	"$(awk -v o="$opens" -v r="$reads" 'BEGIN { printf "%.0f", o / r }')"
printf '%-58s %s %%\n' "idle CPU over ${seconds} s, test:///default" "$(cat "$tmp/cpu_default")"
printf '%-58s %s %%\n' "idle CPU over ${seconds} s, test driver, $ndom domains" "$(cat "$tmp/cpu_node")"
