#!/usr/bin/env bash
# End to end: the cpu_work warning is right at the shipped defaults (issue 15).
#
#   alert_defaults.sh BUILD_DIR
#
# A private lab (scripts/lab.sh) of BUILD_DIR's binaries, vmscaled at its shipped probe sizes
# and analysis settings with one change: time runs six times faster. Every probe interval,
# slowdown-window and alert-for are divided by 6 (cpu_work every 10 s instead of 60 s, the
# window 20 s instead of 120 s, alert-for 10 s instead of 60 s). What the defaults decide
# counts samples, not seconds (a window of two cpu_work periods, the median of at least 3
# values, two values out of the normal range, alert-for one period), and each sample is the
# same work (shipped cpu_work units) timed the same way, so the test sees what the defaults
# see, in a sixth of the time; it says nothing about noise whose period is minutes (cron
# jobs), which the shipped cadence would average differently.
#
# Guest 1 (the victim) and guest 2 boot idle; once guest 1 has its cpu_work baseline, 30
# cpu_work periods idle (30 minutes at the shipped cadence) must raise no cpu_work alert on
# either; two neighbours with a CPU + memory load (LAB_LOAD=1) join, 3 busy VMs on 2 host
# CPUs: guest 1's warning must fire by the sample after two of its newest three are slow;
# they go: it must clear at its second sample back in range. Both counted in samples, as the defaults decide (each sample
# is printed); the seconds are reported and bounded by three periods (the probe schedule
# stretches under load: runs of all guests go one at a time). A sample after the neighbours
# left that is still above the clear threshold (this machine's own noise; seen once in CI,
# 1.30x) holds the alert for one more, by design, and is reported as such.
# ALERT_DEFAULTS_IDLE_PERIODS=N shortens the idle run, for debugging the join and the leave.
# Exit 77 (skipped) only when the machine lacks root, QEMU or libvirtd.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
prefix=vmsdef
g1=${prefix}1 g2=${prefix}2 g3=${prefix}3 g4=${prefix}4
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions

readonly speedup=6
readonly period=$((60 / speedup)) # cpu_work's shipped 60 s
readonly idle_periods=${ALERT_DEFAULTS_IDLE_PERIODS:-30} # fewer only to debug the join and leave
# Slack beyond two periods: the run itself (the second slow sample is reported when its run
# ends), the analysis' next turn (1 s) and this script's scrape (1 s).
readonly slack=$((period / 2 + 2))
lab_prepare --probe-cpu-work-interval "${period}s" --probe-disk-read-interval "${period}s" \
	--probe-memory-interval "$((300 / speedup))s" --probe-network-interval "$((300 / speedup))s" \
	--probe-micro-interval "$((300 / speedup))s" --slowdown-window "$((120 / speedup))s" \
	--alert-for "$((60 / speedup))s"

fail() {
	echo "not ok - $*"
	echo "# ---- last scrape of http://$LAB_LISTEN/metrics (cpu_work analysis series)"
	grep -E '^vmscale_(baseline|slowdown|alert|domains_running|probe_cpu_work)' "$scrape" 2>/dev/null |
		grep -E 'cpu_work|domains_running|alert' | sed 's/^/# /' || echo "# (none)"
	lab_evidence
	exit 1
}

warning_of() { value vmscale_alert "domain=\"$1\"" 'probe="cpu_work"' 'severity="warning"'; }
alerting() { # DOMAIN: a cpu_work alert of any severity
	grep -qE "^vmscale_alert\\{domain=\"$1\",probe=\"cpu_work\"" "$scrape"
}
firing_lines() { # DOMAIN: the log's cpu_work alert transitions
	grep -F "domain $1:" "$LAB_DIR/vmscaled.log" | grep -E 'alert (warning|critical) firing: probe cpu_work' || true
}

echo "# lab.sh up 2 (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, time x$speedup)"
"$lab" up 2 2>&1 | sed 's/^/#   /' || fail "lab.sh up 2 failed (see its output above)"
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
ok "lab.sh up 2: $g1 and $g2 idle, vmscaled (pid $daemon_pid), cpu_work every ${period} s"

has_baseline() { [ -n "$(value vmscale_baseline_n_up "domain=\"$g1\"" 'probe="cpu_work"')" ]; }
until_metrics $((12 * period)) "a cpu_work baseline for $g1" has_baseline
ok "$g1's cpu_work baseline: $(value vmscale_baseline_work_units_per_second "domain=\"$g1\"" 'probe="cpu_work"') units/s, noise (CV) $(value vmscale_baseline_cv_ratio "domain=\"$g1\"" 'probe="cpu_work"')"

# The idle run, watched each second; the log has every transition between scrapes.
t0=$SECONDS
max=0
while [ $((SECONDS - t0)) -lt $((idle_periods * period)) ]; do
	get_metrics || fail "/metrics does not answer during the idle run"
	for g in "$g1" "$g2"; do
		! alerting "$g" || fail "$g raised a cpu_work alert $((SECONDS - t0)) s into the idle run"
	done
	s=$(value vmscale_slowdown_ratio "domain=\"$g1\"" 'probe="cpu_work"')
	[ -z "$s" ] || max=$(awk -v a="$max" -v b="$s" 'BEGIN { print (b > a ? b : a) }')
	sleep 1
done
for g in "$g1" "$g2"; do
	[ -z "$(firing_lines "$g")" ] || fail "the log has cpu_work alerts of $g in the idle run: $(firing_lines "$g")"
done
others=$(grep -cE 'alert (warning|critical) firing' "$LAB_DIR/vmscaled.log" || true)
ok "$idle_periods cpu_work periods idle: no cpu_work alert; highest slowdown $max; other probes' alerts: $others"

echo "# LAB_LOAD=1 lab.sh up 4"
LAB_LOAD=1 "$lab" up 4 2>&1 | sed 's/^/#   /' || fail "LAB_LOAD=1 lab.sh up 4 failed (see its output above)"
t_join=$SECONDS
get_metrics || fail "/metrics does not answer after the neighbours joined"
samples() { value vmscale_probe_samples_total "domain=\"$g1\"" 'family="cpu_work"'; }
samples_join=$(samples)
for g in "$g3" "$g4"; do
	grep -q 'load started' "$LAB_DIR/console/$g.log" || fail "$g's console lacks 'load started' (LAB_LOAD=1)"
done
# Each new cpu_work sample of the victim, printed as it comes (what the median saw), and
# counted: slow (at or above the warning threshold) and back (below the clear threshold).
last_sample='' slow_n=0 back_n=0 high_n=0 flags='' due_n=''
log_sample() { # T0
	local n v b r
	n=$(samples)
	[ -n "$n" ] && [ "$n" != "$last_sample" ] || return 0
	last_sample=$n
	v=$(value vmscale_probe_cpu_work_units_per_second "domain=\"$g1\"")
	b=$(value vmscale_baseline_work_units_per_second "domain=\"$g1\"" 'probe="cpu_work"')
	r=$(awk -v v="$v" -v b="$b" 'BEGIN { printf "%.3f", (v > 0 ? b / v : 0) }')
	if num_gt "$r" "$(awk -v w="$warn" 'BEGIN { print w - 1e-9 }')"; then
		slow_n=$((slow_n + 1)) flags=${flags}1
	else
		flags=${flags}0
	fi
	# Two slow ones among the newest three (the window's median): the alert is due now.
	[ ${#flags} -le 3 ] || flags=${flags: -3}
	if [ -z "$due_n" ] && [ "$(tr -cd 1 <<<"$flags" | wc -c)" -ge 2 ]; then due_n=$n; fi
	if num_lt "$r" "$clear"; then back_n=$((back_n + 1)); else high_n=$((high_n + 1)); fi
	echo "#   +$((SECONDS - $1))s: $g1 cpu_work sample $n: ${v%.*} units/s, $r x its baseline (slow so far: $slow_n, back: $back_n); window median slowdown $(value vmscale_slowdown_ratio "domain=\"$g1\"" 'probe="cpu_work"')"
}
threshold() { value vmscale_slowdown_threshold_ratio 'probe="cpu_work"' "severity=\"$1\""; }
warn=$(threshold warning) clear=$(threshold clear)
[ -n "$warn" ] && [ -n "$clear" ] || fail "no cpu_work warning/clear thresholds in /metrics"
in_periods() { awk -v s="$1" -v p="$period" 'BEGIN { printf "%.1f", s / p }'; }

fired() { log_sample "$t_join"; num_eq "$(warning_of "$g1")" 1 || alerting "$g1"; }
until_metrics $((8 * period + slack)) "$g1's cpu_work alert after $g3 and $g4 joined" fired
join_s=$((SECONDS - t_join))
# The promise counts samples: the alert is due once two of the newest three are slow (the
# window's median, CPI²'s two values out of range) and must show by the next sample. Not
# every sample under load is slow: a 10 ms run often finds a host CPU at once (a mostly idle
# vCPU thread's wake-up bonus), seen in CI as slow, ok, ok, slow. So the seconds, reported
# in periods, are bounded only loosely (eight periods); the issue's "two periods" holds when
# the loaded samples come out slow, which they do not always at the shipped 10 ms size.
# (A sample taken while the neighbours booted, before this watch began, may be the first
# slow one: then the alert is due earlier than this count says, never later.)
if [ -n "$due_n" ] && [ $((last_sample - due_n)) -gt 1 ]; then
	fail "$g1's cpu_work alert came $((last_sample - due_n)) samples after it was due (sample $due_n)"
fi
ok "$g1's cpu_work alert $join_s s after the loaded neighbours joined ($(in_periods "$join_s") periods), at sample $last_sample (due at ${due_n:-a sample before}, slow samples seen $slow_n), $(($(samples) - samples_join)) cpu_work samples since: slowdown $(value vmscale_slowdown_ratio "domain=\"$g1\"" 'probe="cpu_work"')"

for g in "$g3" "$g4"; do
	"$lab" remove "$g" 2>&1 | sed 's/^/#   /' || fail "lab.sh remove $g failed"
done
t_leave=$SECONDS
slow_n=0 back_n=0 high_n=0 flags=''
cleared() { log_sample "$t_leave"; ! alerting "$g1"; }
until_metrics $((3 * period + slack)) "$g1's cpu_work alert cleared after $g3 and $g4 left" cleared
leave_s=$((SECONDS - t_leave))
# The window's median (of at least 3 values) drops below clear with the second value back in
# range; a value still above the clear threshold after they left (noise of this machine) rightly holds
# the alert one period longer: counted, and reported.
[ "$back_n" -le 2 ] || fail "$g1's cpu_work alert cleared only after $back_n samples back in range (two should clear it)"
held=
[ "$high_n" -eq 0 ] || held=" (held by $high_n sample(s) after they left that were still above the clear threshold)"
ok "$g1's cpu_work alert cleared $leave_s s after they left ($(in_periods "$leave_s") periods), at sample $back_n back in range$held: slowdown $(value vmscale_slowdown_ratio "domain=\"$g1\"" 'probe="cpu_work"')"
echo "# alert_defaults: idle ${idle_periods} periods without a cpu_work alert (max slowdown $max), fired after $join_s s, cleared after $leave_s s (period ${period} s = 60 s / $speedup)"
