#!/usr/bin/env bash
# End to end: vmscaled's degradation analysis sees a guest slow down and recover.
#
#   degradation.sh BUILD_DIR
#
# A private lab (scripts/lab.sh) of BUILD_DIR's binaries: guest 1 boots with an idle
# neighbour (guest 2), unloaded, until vmscaled has its cpu_work baseline at N_up 2; two
# neighbours running a CPU + memory load (LAB_LOAD=1, guests 3 and 4) join, 3 busy VMs on the
# host's CPUs, until guest 1's slowdown ratio passes the warning threshold and the warning
# alert fires (a transition line in the log); within three cpu_work periods after that the
# two loaded neighbours are guest 1's top two interference suspects and the idle one is none
# (issue 15: the culprit named, also when steadily busy); the loaded neighbours go, until the
# slowdown falls under the clear threshold and the alert is gone;
# vmscaled restarts and must come back with the same baseline from its state folder. Exit 77
# (skipped) only when the machine lacks root, QEMU or libvirtd; the lab is always taken down.
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
daemon=$build/daemon/vmscaled
prefix=vmsdeg
g1=${prefix}1 g2=${prefix}2 g3=${prefix}3 g4=${prefix}4
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
# Thresholds of the analysis: the slowdown must pass warn, then fall under clear.
readonly warn=1.3 clear=1.15 state_save_s=5 cpu_work_s=5 min_samples=3
# Bounded waits, in seconds: a baseline takes min_samples runs; the alert a slowdown window
# (30 s) of loaded samples plus --alert-for (10 s); clearing a window of unloaded ones.
readonly baseline_wait=90 alert_wait=150 clear_wait=150 restart_wait=10 stop_wait=15

# Only cpu_work matters here: the other active families off, so they stay out of its way.
# Its work is ten times the default (about 100 ms on an idle core): a run that short of a
# scheduler slice would measure the wake-up bonus a mostly idle vCPU gets, not its share.
lab_prepare --probe-cpu-work-interval "${cpu_work_s}s" --probe-cpu-work-units 1720000 \
	--probe-memory-interval off --probe-disk-read-interval off --probe-network-interval off \
	--probe-micro-interval off --slowdown-warning "$warn" --slowdown-clear "$clear" \
	--alert-for 10s --slowdown-window 30s --baseline-min-samples "$min_samples" \
	--state-save-interval "${state_save_s}s"
state_dir=$LAB_DIR/state

fail() {
	echo "not ok - $*"
	echo "# ---- last scrape of http://$LAB_LISTEN/metrics (analysis and cpu_work series)"
	grep -E '^vmscale_(baseline|slowdown|alert|nup|domains_running|probe_cpu_work|interference_score)' "$scrape" 2>/dev/null |
		sed 's/^/# /' || echo "# (none)"
	lab_evidence
	exit 1
}

cpu_work_of() { value vmscale_probe_cpu_work_units_per_second "domain=\"$1\""; }
slowdown() { value vmscale_slowdown_ratio "domain=\"$g1\"" 'probe="cpu_work"'; }
alert() { value vmscale_alert "domain=\"$g1\"" 'probe="cpu_work"' 'severity="warning"'; }
baseline_nup() { value vmscale_baseline_n_up "domain=\"$g1\"" 'probe="cpu_work"'; }
baseline_value() { value vmscale_baseline_work_units_per_second "domain=\"$g1\"" 'probe="cpu_work"'; }

# ---------------------------------------------------------------- the test

echo "# lab.sh up 2 (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, build $build)"
"$lab" up 2 2>&1 | sed 's/^/#   /' || fail "lab.sh up 2 failed (see its output above)"
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
ok "lab.sh up 2: $g1 and its idle neighbour $g2 (no load), vmscaled (pid $daemon_pid) on $LAB_LISTEN"
for g in "$g1" "$g2"; do
	! grep -q 'load started' "$LAB_DIR/console/$g.log" || fail "$g runs the load without LAB_LOAD=1"
done

# N_up counts every running domain on the host: guests 1 and 2 are N_up 2 plus the others.
nup1=$(($(others) + 2))
[ "$nup1" -eq 2 ] || echo "# $((nup1 - 2)) other domain(s) run on this host: guests 1 and 2 are N_up $nup1"

deadline=$((SECONDS + baseline_wait))
until get_metrics && num_eq "$(baseline_nup)" "$nup1"; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "no vmscale_baseline_n_up{domain=\"$g1\",probe=\"cpu_work\"} $nup1 within ${baseline_wait} s (got '$(baseline_nup)'; cpu_work $(cpu_work_of "$g1"))"
	sleep 1
done
ok "vmscale_baseline_n_up{domain=\"$g1\",probe=\"cpu_work\"} $nup1 after $((SECONDS - deadline + baseline_wait)) s (baseline $(baseline_value), last cpu_work $(cpu_work_of "$g1") units/s)"

# The baseline is the median of the bucket's recent samples: a few more than the minimum keep
# one noisy moment of the host (a compiler next door) out of it.
deadline=$((SECONDS + baseline_wait))
until get_metrics && num_gt "$(value vmscale_nup_samples "domain=\"$g1\"" 'probe="cpu_work"' "n_up=\"$nup1\"")" $((2 * min_samples - 1)); do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "vmscale_nup_samples{domain=\"$g1\",probe=\"cpu_work\",n_up=\"$nup1\"} did not reach $((2 * min_samples)) within ${baseline_wait} s"
	sleep 1
done
ok "$g1 alone: $(value vmscale_nup_samples "domain=\"$g1\"" 'probe="cpu_work"' "n_up=\"$nup1\"") cpu_work samples, baseline $(baseline_value) units/s"

# The operator's view of it, through vmscalectl and the daemon's control socket; pinning it
# keeps it where it is for the rest of the test, restart included.
ctl=$build/daemon/vmscalectl
sock=$LAB_DIR/control.sock
listing=$("$ctl" -s "$sock" baseline list "$g1") || fail "vmscalectl baseline list $g1 failed"
grep -q "^$g1 cpu_work baseline=[0-9.e+]* n_up=$nup1 pinned=no" <<<"$listing" ||
	fail "vmscalectl baseline list $g1 does not show the cpu_work baseline at N_up $nup1: $listing"
ok "vmscalectl baseline list: $(grep "^$g1 cpu_work" <<<"$listing")"
pinned=$("$ctl" -s "$sock" baseline pin "$g1" cpu_work) || fail "vmscalectl baseline pin $g1 cpu_work failed"
is_pinned() { num_eq "$(value vmscale_baseline_pinned "domain=\"$g1\"" 'probe="cpu_work"')" 1; }
until_metrics 5 "vmscale_baseline_pinned{domain=\"$g1\",probe=\"cpu_work\"} 1 after '$pinned'" is_pinned
ok "vmscalectl baseline pin: $pinned"

# Two loaded neighbours: 3 busy VMs on (typically) 2 host CPUs.
echo "# LAB_LOAD=1 lab.sh up 4"
LAB_LOAD=1 "$lab" up 4 2>&1 | sed 's/^/#   /' || fail "LAB_LOAD=1 lab.sh up 4 failed (see its output above)"
for g in "$g3" "$g4"; do
	grep -q 'load started' "$LAB_DIR/console/$g.log" || fail "$g's console lacks 'load started' (LAB_LOAD=1)"
done
ok "$g3 and $g4 up with the CPU + memory load"

t0=$SECONDS
deadline=$((SECONDS + alert_wait))
until get_metrics && num_gt "$(slowdown)" "$warn" && num_eq "$(alert)" 1; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "within ${alert_wait} s of the neighbours: vmscale_slowdown_ratio{domain=\"$g1\",probe=\"cpu_work\"}='$(slowdown)' (want > $warn), vmscale_alert{...,severity=\"warning\"}='$(alert)' (want 1); cpu_work $(cpu_work_of "$g1")"
	sleep 1
done
ok "slowdown $(slowdown) > $warn and vmscale_alert{domain=\"$g1\",probe=\"cpu_work\",severity=\"warning\"} 1 after $((SECONDS - t0)) s"
# The transition is logged when it happens; give the log a moment to be written. Loosely: a
# line with "alert", the domain and the probe, in any order and wording.
alert_lines() { grep -i alert "$LAB_DIR/vmscaled.log" | grep -F "$g1" | grep -F cpu_work; }
wait_for 5 alert_lines >/dev/null || fail "vmscaled.log has no line with 'alert', $g1 and cpu_work"
ok "log: $(alert_lines | tail -n1)"

# The culprits: guest 1's suspects, "score suspect evidence" per series, best first.
suspects() {
	sed -n "s/^vmscale_interference_score{victim=\"$g1\",suspect=\"\([^\"]*\)\",resource=\"[a-z]*\",evidence=\"\([a-z]*\)\"} \(.*\)/\3 \1 \2/p" "$scrape" |
		sort -grk1
}
# The two loaded ones hold the top two places (by their best score), the idle one none.
culprits_named() {
	local top
	top=$(suspects | awk '!seen[$2]++ { print $2 }' | head -n2 | sort | tr '\n' ' ')
	[ "$top" = "$g3 $g4 " ] && ! suspects | grep -q " $g2 "
}
t0=$SECONDS
until_metrics $((3 * cpu_work_s)) "within three cpu_work periods of the alert, $g3 and $g4 as $g1's top suspects and $g2 none (the last scrape's series below)" culprits_named
ok "culprits after $((SECONDS - t0)) s: $(suspects | tr '\n' ';')"

for g in "$g3" "$g4"; do
	"$lab" remove "$g" 2>&1 | sed 's/^/#   /' || fail "lab.sh remove $g failed"
done
ok "lab.sh remove $g3 $g4"
t0=$SECONDS
deadline=$((SECONDS + clear_wait))
until get_metrics && num_lt "$(slowdown)" "$clear" && [ -z "$(alert)" ]; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "within ${clear_wait} s of removing the neighbours: slowdown '$(slowdown)' (want < $clear), vmscale_alert{domain=\"$g1\",probe=\"cpu_work\",severity=\"warning\"}='$(alert)' (want no series)"
	sleep 1
done
ok "slowdown $(slowdown) < $clear and no warning alert series after $((SECONDS - t0)) s"

# The baseline must survive a restart. It is the median of recent samples, so it moves with
# each new one: scrape, then stop vmscaled at once (SIGTERM saves the state; a cpu_work sample
# lands in the few ms between only once in hundreds of runs).
get_metrics || fail "/metrics does not answer before the restart"
n_before=$(baseline_nup) v_before=$(baseline_value)
num_eq "$n_before" "$nup1" || fail "baseline N_up before the restart is '$n_before', not $nup1"
[ -n "$v_before" ] || fail "no vmscale_baseline_work_units_per_second{domain=\"$g1\",probe=\"cpu_work\"} before the restart"
kill -TERM "$daemon_pid"
for ((i = 0; ; i++)); do
	st=$(awk '{ print $3 }' "/proc/$daemon_pid/stat" 2>/dev/null || true)
	if [ -z "$st" ] || [ "$st" = Z ]; then break; fi # gone, or a zombie PID 1 has not reaped yet
	[ "$i" -lt $((stop_wait * 5)) ] || fail "vmscaled (pid $daemon_pid) still runs ${stop_wait} s after SIGTERM"
	sleep 0.2
done
ok "vmscaled (pid $daemon_pid) stopped with baseline N_up $n_before, value $v_before"
"$lab" up 1 2>&1 | sed 's/^/#   /' || fail "lab.sh up 1 (restarting vmscaled) failed"
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
# Right away: a new baseline needs min_samples x cpu_work interval (15 s) of new runs, so
# within restart_wait (10 s) the value can only come from the state folder.
t0=$SECONDS
until get_metrics && [ -n "$(baseline_nup)" ]; do
	[ $((SECONDS - t0)) -lt "$restart_wait" ] ||
		fail "no vmscale_baseline_n_up{domain=\"$g1\",probe=\"cpu_work\"} within ${restart_wait} s of the restart (state folder $state_dir)"
	sleep 0.5
done
num_eq "$(baseline_nup)" "$nup1" || fail "after the restart baseline N_up is '$(baseline_nup)', not $nup1"
awk -v a="$(baseline_value)" -v b="$v_before" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b
	exit !(a != "" && d <= 1e-6 * m) }' ||
	fail "after the restart baseline value is '$(baseline_value)', before it was $v_before"
ok "vmscaled (pid $daemon_pid) restarted: baseline N_up $(baseline_nup), value $(baseline_value) (was $v_before)"
is_pinned || fail "the pin did not survive the restart"
ok "the baseline is still pinned after the restart"

# An operator's reset forgets it: the series go until new samples make a new baseline.
"$ctl" -s "$sock" baseline reset "$g1" cpu_work >/dev/null || fail "vmscalectl baseline reset $g1 cpu_work failed"
no_baseline() { [ -z "$(baseline_nup)" ]; }
until_metrics 5 "no vmscale_baseline_n_up{domain=\"$g1\",probe=\"cpu_work\"} after vmscalectl baseline reset" no_baseline
ok "vmscalectl baseline reset $g1 cpu_work: its baseline series are gone"
