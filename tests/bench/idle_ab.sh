#!/usr/bin/env bash
# Two vmscaled builds idle side by side (issue 14): which one costs less with nobody scraping.
#
#   tests/bench/idle_ab.sh VMSCALED_A VMSCALED_B
#   IDLE_SECONDS=120 IDLE_DOMAINS=1000 IDLE_INTERVAL=5
#
# Not a ctest test: its figures depend on the machine. Both run at once on the same
# test-driver node (tests/bench/node_xml.sh), so both see the same noise from the rest of
# the machine; then again with the start order swapped, in case the order favours one. CPU
# is the run time of every thread from
# /proc/PID/task/*/schedstat over IDLE_SECONDS after a 20 s warm-up. B/A per round and the
# geometric mean of the two rounds, which cancels the start-order effect.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 2 ] || { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
a=$1 b=$2
for bin in "$a" "$b"; do
	[ -x "$bin" ] || { echo "idle_ab: $bin is not an executable" >&2; exit 1; }
done
seconds=${IDLE_SECONDS:-120}
ndom=${IDLE_DOMAINS:-1000}
interval=${IDLE_INTERVAL:-5}

# shellcheck source=tests/bench/bench_lib.sh
. "$repo/tests/bench/bench_lib.sh" vmscale-idle-ab

xml=$tmp/node.xml
"$repo/tests/bench/node_xml.sh" "$ndom" >"$xml"

# Starts BINARY as NAME on the node; leaves its pid in $pid.
start() { start_vmscaled "$1" "$2" "test://$xml" "$interval"; }

# One round, N: both started (B first when SWAP is 1), measured over the same window; sets
# ra and rb to their CPU in percent of a core.
round() {
	local n=$1 swap=$2 pa pb a0 b0 a1 b1
	if [ "$swap" = 1 ]; then
		start "b$n" "$b"
		pb=$pid
		start "a$n" "$a"
		pa=$pid
	else
		start "a$n" "$a"
		pa=$pid
		start "b$n" "$b"
		pb=$pid
	fi
	sleep 20 # warm-up: connected, first reads done
	a0=$(cpu_ns "$pa")
	b0=$(cpu_ns "$pb")
	sleep "$seconds"
	a1=$(cpu_ns "$pa")
	b1=$(cpu_ns "$pb")
	kill "$pa" "$pb"
	wait "$pa" "$pb" 2>/dev/null || true
	if [ -z "$a0" ] || [ -z "$b0" ] || [ -z "$a1" ] || [ -z "$b1" ]; then
		echo "idle_ab: a daemon died:" >&2
		tail -n 3 "$tmp/a$n.log" "$tmp/b$n.log" >&2
		exit 1
	fi
	ra=$(awk -v d=$((a1 - a0)) -v s="$seconds" 'BEGIN { printf "%.3f", 100 * d / 1e9 / s }')
	rb=$(awk -v d=$((b1 - b0)) -v s="$seconds" 'BEGIN { printf "%.3f", 100 * d / 1e9 / s }')
}

round 1 0
a1=$ra b1=$rb
round 2 1
a2=$ra b2=$rb
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print b / a }'; }
printf '%-44s %10s %10s %8s\n' "idle CPU, $ndom domains, ${seconds} s (% core)" A B B/A
printf '%-44s %10s %10s %8.2f\n' "round 1: A started first" "$a1" "$b1" "$(ratio "$a1" "$b1")"
printf '%-44s %10s %10s %8.2f\n' "round 2: B started first" "$a2" "$b2" "$(ratio "$a2" "$b2")"
printf '%-44s %10s %10s %8.2f\n' "geometric mean of B/A (start order cancelled)" "" "" \
	"$(awk -v a1="$a1" -v b1="$b1" -v a2="$a2" -v b2="$b2" 'BEGIN { print sqrt(b1 / a1 * b2 / a2) }')"
echo "A: $a"
echo "B: $b"
