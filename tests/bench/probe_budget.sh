#!/usr/bin/env bash
# The probe's budget, measured (not a timed test): binary size, resident memory and CPU at
# the default schedule in real lab guests, plus vmscaled's own CPU in the same lab.
#
#   tests/bench/probe_budget.sh [BUILD_DIR] [SECONDS] [GUESTS]
#
# Boots GUESTS (default 3) TCG guests with scripts/lab.sh (its own LAB_DIR, prefix vmsb,
# free ports, default intervals: passive 5 s, active 60 s to 5 min), lets them settle one
# minute, then measures over SECONDS (default 300): the probes' CPU from their own
# accounting (vmscale_probe_cost_seconds_total: the probe's CPU and its children's), their
# RSS, and vmscaled's CPU from /proc. Under TCG every guest instruction is emulated, so the
# in-guest CPU share is also given against the same work measured natively on this host.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
duration=${2:-300}
nguests=${3:-3}
probe=$build/probes/vmscale-probe
PATH=$PATH:/usr/sbin:/sbin

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== binary"
stripped=$(mktemp)
strip -o "$stripped" "$probe"
size=$(stat -c %s "$stripped")
rm -f "$stripped"
printf '  stripped static probe: %d bytes (%.0f KiB; budget 1024 KiB)\n' "$size" "$(calc "$size/1024")"

echo "== native: every active family once, default sizes (this host, no emulation)"
"$probe" --once --stdout >"${TMPDIR:-/tmp}/probe-once.$$" 2>/dev/null || true
native=$(sed -n 's/^probe cost: \([0-9.]*\) ms.*/\1/p' "${TMPDIR:-/tmp}/probe-once.$$")
echo "  one round of all active families: $native ms of CPU"
# At the default intervals (seconds): each family's measuring time weighted by its runs per
# minute (the network and the disk read need vmscaled and a device: not measured here).
native_per_min=$(awk 'BEGIN { iv["cpu_work"] = 60; iv["memory"] = 300; iv["micro"] = 300 }
	$1 in iv && / in [0-9.]+ ms\)/ { ms = $0; sub(/.* in /, "", ms); sub(/ ms\).*/, "", ms)
		sum += ms * 60 / iv[$1] }
	END { printf "%.1f", sum }' "${TMPDIR:-/tmp}/probe-once.$$")
rm -f "${TMPDIR:-/tmp}/probe-once.$$"
echo "  at the default intervals (cpu_work 60 s, memory and micro 300 s): $native_per_min ms a minute"

export LAB_DIR=$(mktemp -d /var/tmp/vmscale-bench.XXXXXX)
export LAB_LISTEN=127.0.0.1:$(free_port) LAB_NETIO=127.0.0.1:$(free_port) LAB_PREFIX=vmsb
export VMSCALE_BUILD_DIR=$build
unset LAB_DAEMON_ARGS LAB_SELFTEST LAB_NO_DAEMON
trap '"$repo/scripts/lab.sh" down --purge >/dev/null 2>&1 || true' EXIT
"$repo/scripts/lab.sh" up "$nguests" | sed 's/^/  /'
read -r dpid _ <"$LAB_DIR/vmscaled.pid"
settle=70
echo "== settling ${settle} s (one active interval)"
sleep "$settle"

scrape() { curl -sf "http://$LAB_LISTEN/metrics"; }
cost_sum() { # total probe CPU seconds per domain: "domain seconds"
	awk '/^vmscale_probe_cost_seconds_total\{/ { d = $1; sub(/.*domain="/, "", d); sub(/".*/, "", d); s[d] += $2 }
	     END { for (d in s) print d, s[d] }' | sort
}
daemon_ticks() { awk '{ print $14 + $15 }' "/proc/$dpid/stat"; }
hz=$(getconf CLK_TCK)

scrape >"$LAB_DIR/m0"
t0=$(date +%s.%N)
d0=$(daemon_ticks)
echo "== measuring ${duration} s"
sleep "$duration"
scrape >"$LAB_DIR/m1"
t1=$(date +%s.%N)
d1=$(daemon_ticks)
elapsed=$(calc "$t1 - $t0")

echo "== results over ${elapsed%.*} s, $nguests guests, default schedule"
join <(cost_sum <"$LAB_DIR/m0") <(cost_sum <"$LAB_DIR/m1") | while read -r d c0 c1; do
	rss=$(awk -v d="$d" '$0 ~ "^vmscale_probe_resident_memory_bytes\\{domain=\"" d "\"" { print $2 }' "$LAB_DIR/m1")
	peak=$(awk -v d="$d" '$0 ~ "^vmscale_probe_resident_memory_max_bytes\\{domain=\"" d "\"" { print $2 }' "$LAB_DIR/m1")
	pct=$(calc "100 * ($c1 - $c0) / $elapsed")
	printf '  %s: probe CPU %.3f %% of one vCPU (TCG); RSS %.0f KiB steady, %.1f MiB peak (transient buffers)\n' \
		"$d" "$pct" "$(calc "$rss/1024")" "$(calc "$peak/1048576")"
done
# Per family, every guest together: CPU per run and its share at the default intervals.
family_cost() { # "family seconds" summed over domains
	awk '/^vmscale_probe_cost_seconds_total\{/ { f = $1; sub(/.*family="/, "", f); sub(/".*/, "", f); s[f] += $2 }
	     END { for (f in s) print f, s[f] }' | sort
}
family_runs() { # "family runs" summed over domains
	awk '/^vmscale_probe_runs_total\{/ { f = $1; sub(/.*family="/, "", f); sub(/".*/, "", f); s[f] += $2 }
	     END { for (f in s) print f, s[f] }' | sort
}
echo "  by family, $nguests guests together (TCG):"
join <(family_cost <"$LAB_DIR/m0") <(family_cost <"$LAB_DIR/m1") |
	join -a 1 - <(join <(family_runs <"$LAB_DIR/m0") <(family_runs <"$LAB_DIR/m1")) |
	while read -r f c0 c1 r0 r1; do
		share=$(calc "100 * ($c1 - $c0) / $elapsed / $nguests")
		if [ -n "${r1:-}" ] && [ "$(calc "$r1 - $r0")" != 0.000000 ]; then
			printf '    %-10s %.3f %% of a vCPU per guest, %.0f ms of CPU per run (%d runs)\n' \
				"$f" "$share" "$(calc "1000 * ($c1 - $c0) / ($r1 - $r0)")" "$(calc "$r1 - $r0" | cut -d. -f1)"
		else
			printf '    %-10s %.3f %% of a vCPU per guest\n' "$f" "$share"
		fi
	done
printf '  native equivalent: %.3f %% of one core (active families at the default intervals, %s ms a minute)\n' \
	"$(calc "100 * $native_per_min / 1000 / 60")" "$native_per_min"
printf '  vmscaled: %.3f %% of one core (%d guests, default intervals; budget 0.5 %%)\n' \
	"$(calc "100 * ($d1 - $d0) / $hz / $elapsed")" "$nguests"
printf '  vmscaled RSS: %s\n' "$(grep VmRSS "/proc/$dpid/status" | awk '{print $2, $3}')"
