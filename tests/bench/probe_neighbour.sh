#!/usr/bin/env bash
# Is the probe the noisy neighbour? (issue 15) One guest's CPU-work and memory-bandwidth
# figures with every other guest's probes running, against the same with them paused,
# interleaved in one run.
#
#   tests/bench/probe_neighbour.sh [BUILD_DIR] [ROUNDS] [HOLD_SECONDS] [GUESTS]
#
# Boots GUESTS (default 4) idle TCG guests (scripts/lab.sh, prefix vmsn, its own LAB_DIR and
# ports). Each round holds two phases of HOLD_SECONDS (default 90), in alternating order:
#   on   vmscaled runs every guest's probes;
#   off  vmscaled claims only guest 1's channel (--probe-domains): the others' probes get no
#        runs and report nothing (they wait for a connection, which costs nothing).
# Guest 1 is measured by its own probe in both. To get samples in a phase, every active
# interval is shortened: cpu_work, memory and disk_read every 10 s, network and micro every
# 50 s (shipped: 60 s, 5 min, 60 s, 5 min, 5 min), so in "on" the neighbours' probes run 6 to
# 30 times as often as shipped: the difference measured is an upper bound of the shipped one.
# The first 20 s of a phase (vmscaled restarting, probes reconnecting) are left out.
# Prints per round the mean of guest 1's samples in each phase, then for each figure the mean
# of the per-round differences (on - off, in % of off) with a 95 % interval (Student's t over
# the rounds). Target: under 1 % (README, Performance).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
rounds=${2:-4}
hold=${3:-90}
nguests=${4:-4}
settle=20
lab=$repo/scripts/lab.sh
PATH=$PATH:/usr/sbin:/sbin
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export LAB_DIR=$(mktemp -d /var/tmp/vmscale-neighbour.XXXXXX)
export LAB_LISTEN=127.0.0.1:$(free_port) LAB_NETIO=127.0.0.1:$(free_port) LAB_PREFIX=vmsn
export VMSCALE_BUILD_DIR=$build VMSCALE_DAEMON=$build/daemon/vmscaled VMSCALE_PROBE=$build/probes/vmscale-probe
unset LAB_SELFTEST LAB_NO_DAEMON LAB_LOAD LAB_HOSTILE
readonly g1=${LAB_PREFIX}1
readonly fast="--probe-cpu-work-interval 10s --probe-memory-interval 10s --probe-disk-read-interval 10s --probe-network-interval 50s --probe-micro-interval 50s"
trap '"$lab" down --purge >/dev/null 2>&1 || true' EXIT

# vmscaled anew with ARGS (the guests stay up).
restart_daemon() { # ARGS...
	if [ -f "$LAB_DIR/vmscaled.pid" ]; then
		local pid
		read -r pid _ <"$LAB_DIR/vmscaled.pid"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	fi
	LAB_DAEMON_ARGS="$fast $*" "$lab" up "$nguests" >/dev/null
}

# Guest 1's samples during one phase: "family value" per distinct run (the gauges hold a
# run's value until the next; its end time tells runs apart).
sample_phase() { # SECONDS OUT
	local end=$((SECONDS + $1)) scrape
	scrape=$(mktemp)
	: >"$2"
	while [ "$SECONDS" -lt "$end" ]; do
		if curl -sf "http://$LAB_LISTEN/metrics" >"$scrape"; then
			awk -v d="domain=\"$g1\"" '
				index($0, d) == 0 { next }
				/^vmscale_probe_run_end_timestamp_seconds\{/ { f = $1; sub(/.*family="/, "", f); sub(/".*/, "", f); end[f] = $2 }
				/^vmscale_probe_cpu_work_units_per_second\{/ { v["cpu_work"] = $2 }
				/^vmscale_probe_memory_bandwidth_bytes_per_second\{/ && /op="copy"/ { v["memory"] = $2 }
				END { for (f in v) if (f in end) print f, end[f], v[f] }' "$scrape" >>"$2"
		fi
		sleep 2
	done
	rm -f "$scrape"
	sort -u "$2" -o "$2"
}

mean_of() { # FAMILY FILE
	awk -v f="$1" '$1 == f { s += $3; n++ } END { if (n) printf "%.6g %d\n", s / n, n; else print "nan 0" }' "$2"
}

echo "== $nguests idle guests (every active interval shortened, see the header)"
LAB_DAEMON_ARGS=$fast "$lab" up "$nguests" | sed 's/^/  /'
echo "== settling 60 s"
sleep 60
results=$LAB_DIR/neighbour.txt
: >"$results"
for ((r = 1; r <= rounds; r++)); do
	order="on off"
	[ $((r % 2)) -eq 0 ] && order="off on"
	for phase in $order; do
		if [ "$phase" = on ]; then restart_daemon; else restart_daemon --probe-domains "^${g1}\$"; fi
		sleep "$settle"
		sample_phase $((hold - settle)) "$LAB_DIR/phase.txt"
		read -r cw ncw < <(mean_of cpu_work "$LAB_DIR/phase.txt")
		read -r mb nmb < <(mean_of memory "$LAB_DIR/phase.txt")
		echo "$r $phase $cw $ncw $mb $nmb" >>"$results"
		printf '  round %d %-3s cpu_work %s units/s (%s runs), memory copy %s bytes/s (%s runs)\n' \
			"$r" "$phase" "$cw" "$ncw" "$mb" "$nmb"
	done
done

echo "== on - off, in % of off, per round; mean and 95 % interval over the rounds"
awk '
	# Student t (two-sided 95 %) for n - 1 degrees of freedom.
	function t95(df) {
		split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228", t, " ")
		return df <= 10 ? t[df] : 2.228
	}
	{ v[$1, $2, "cpu_work"] = $3; v[$1, $2, "memory"] = $5; if ($1 > rounds) rounds = $1 }
	END {
		split("cpu_work memory", fam, " ")
		for (k = 1; k <= 2; k++) {
			f = fam[k]; n = 0; s = 0; ss = 0
			for (r = 1; r <= rounds; r++) {
				on = v[r, "on", f]; off = v[r, "off", f]
				if (on == "nan" || off == "nan" || off == 0) continue
				d = (on - off) / off * 100; x[++n] = d; s += d
				printf "  %s round %d: %+.2f %%\n", f, r, d
			}
			if (n < 2) { printf "probe_neighbour_%s_diff_percent nan (fewer than 2 rounds with samples)\n", f; continue }
			m = s / n
			for (i = 1; i <= n; i++) ss += (x[i] - m) ^ 2
			ci = t95(n - 1) * sqrt(ss / (n - 1)) / sqrt(n)
			printf "probe_neighbour_%s_diff_percent %+.2f\n", f, m
			printf "probe_neighbour_%s_ci95_percent %.2f\n", f, ci
		}
	}' "$results"
