#!/usr/bin/env bash
# End to end: one hostile guest beside two honest ones (issue 13, "an adversarial test").
#
#   hostile.sh BUILD_DIR
#
# A private lab (scripts/lab.sh) of BUILD_DIR's binaries: two honest guests, then one booted
# with LAB_HOSTILE=1, whose init runs scripts/lab-hostile.sh instead of the probe: garbage and
# oversized lines, hellos in a loop, absurd values (2^64-1 ticks, runs of 2^64-1 operations in
# 1 ns), a flood of well-formed records, a reconnect storm on its channel; held and garbage
# connections to the network probe's responder. Over an attack window of attack_s seconds:
#
#   - the honest guests' vmscale_probe_up stays 1 at every scrape, their guest CPU counters
#     grow, and every active family runs (runs_total{result="ok"} grows) for each of them;
#   - the hostile domain's vmscale_probe_records_rejected_total grows for the reasons its
#     attacks provoke, and vmscale_probe_throttled_total grows;
#   - vmscaled's CPU (utime + stime of /proc/PID/stat) stays under max_cpu_pct % of one core,
#     its RSS under max_rss_kib, and its log has at most max_log_lines lines naming the
#     hostile domain.
#
# Exit 77 (skipped) only when the machine lacks root, QEMU or libvirtd; the lab is always
# taken down.
set -euo pipefail
[ $# -eq 1 ] || {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
build=$(cd "$1" && pwd)
prefix=vmshos
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd) && lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
g1=${prefix}1 g2=${prefix}2 bad=${prefix}3
honest=("$g1" "$g2")
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
# Active probes every 20 s, so each family runs several times in the window.
readonly active_s=20
readonly families=(cpu_work memory disk_read network micro)
# The attack window and its bounds. A round of the hostile script lasts about 50 s.
readonly attack_s=150 ready_wait=120 attack_wait=120
readonly max_cpu_pct=10 max_rss_kib=$((64 * 1024)) max_log_lines=50
# Reasons the hostile guest's records must be rejected for (it provokes each every round).
readonly reasons=(syntax oversized unknown_type duplicate_field implausible)

args=()
for fam in cpu-work memory disk-read network micro; do
	args+=("--probe-$fam-interval" "${active_s}s")
done
lab_prepare "${args[@]}"

fail() {
	echo "not ok - $*"
	echo "# ---- last scrape of http://$LAB_LISTEN/metrics (probe, netio and process series)"
	grep -E '^vmscale_(probe_(up|records_rejected|throttled|runs_total|hellos)|netio_|guest_cpu_seconds)' \
		"$scrape" 2>/dev/null | sed 's/^/# /' || echo "# (none)"
	lab_evidence 25
	exit 1
}

# ---------------------------------------------------------------- helpers

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
runs_ok() { value vmscale_probe_runs_total "domain=\"$1\"" "family=\"$2\"" 'result="ok"'; }
idle_s() { value vmscale_guest_cpu_seconds_total "domain=\"$1\"" 'mode="idle"'; }
rejected() { value vmscale_probe_records_rejected_total "domain=\"$bad\"" "reason=\"$1\""; }
# Every reason together: the throttle has one per cause (records, bytes).
throttled() {
	awk -v d="domain=\"$bad\"" 'index($0, "vmscale_probe_throttled_total{") == 1 && index($0, d) {
		s += $NF; n++ } END { if (n) print s }' "$scrape"
}
netio_completed() { value vmscale_netio_transfers_total 'result="completed"'; }

# What an honest guest still lacks in the last scrape: probe up, CPU counters.
honest_missing() {
	local d gaps=()
	for d in "${honest[@]}"; do
		num_eq "$(value vmscale_probe_up "domain=\"$d\"")" 1 ||
			gaps+=("vmscale_probe_up{domain=\"$d\"}='$(value vmscale_probe_up "domain=\"$d\"")'")
		[ -n "$(idle_s "$d")" ] || gaps+=("no vmscale_guest_cpu_seconds_total{domain=\"$d\",mode=\"idle\"}")
	done
	echo "${gaps[*]}"
}

# ---------------------------------------------------------------- the lab

echo "# lab.sh up 2 (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, build $build)"
"$lab" up 2 2>&1 | sed 's/^/#   /' || fail "lab.sh up 2 failed (see its output above)"
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
ok "lab.sh up 2: honest guests ${honest[*]} and vmscaled (pid $daemon_pid) on $LAB_LISTEN"
deadline=$((SECONDS + ready_wait))
until get_metrics && missing=$(honest_missing) && [ -z "$missing" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "honest guests not ready within ${ready_wait} s: ${missing:-/metrics does not answer}"
	sleep 1
done
ok "honest guests report: probe up, guest CPU counters"

echo "# LAB_HOSTILE=1 lab.sh add"
LAB_HOSTILE=1 "$lab" add 2>&1 | sed 's/^/#   /' || fail "LAB_HOSTILE=1 lab.sh add failed (see its output above)"
grep -q 'vmscale-hostile.*attacking through /dev/vport' "$LAB_DIR/console/$bad.log" ||
	wait_for 30 grep -q 'vmscale-hostile.*attacking through /dev/vport' "$LAB_DIR/console/$bad.log" ||
	fail "$bad's console does not say the attack began"
ok "$bad boots the hostile init: $(grep -m1 -ao 'vmscale-hostile.*attacking through.*' "$LAB_DIR/console/$bad.log" | tr -d '\r')"
! grep -qa 'starting vmscale-probe' "$LAB_DIR/console/$bad.log" || fail "$bad runs the real probe too"

# The attack has begun once the host counts it: records rejected and the channel throttled.
attack_seen() { [ -n "$(rejected syntax)" ] && [ -n "$(throttled)" ]; }
until_metrics "$attack_wait" "vmscale_probe_records_rejected_total{domain=\"$bad\",reason=\"syntax\"} and vmscale_probe_throttled_total{domain=\"$bad\"}" attack_seen
ok "the host sees the attack: $(rejected syntax) syntax rejects, throttled $(throttled) times"

# ---------------------------------------------------------------- the attack window

declare -A runs0 idle0 rej0
for d in "${honest[@]}"; do
	idle0[$d]=$(idle_s "$d")
	for f in "${families[@]}"; do runs0[$d/$f]=$(runs_ok "$d" "$f"); done
done
for r in "${reasons[@]}"; do rej0[$r]=$(rejected "$r"); done
throttled0=$(throttled) netio0=$(netio_completed)
log_from=$(($(stat -c %s "$LAB_DIR/vmscaled.log") + 1))
ticks0=$(cpu_ticks "$daemon_pid") t0=$(date +%s.%N)
hz=$(getconf CLK_TCK)
rss_max=0 scrapes=0
echo "# attack window: ${attack_s} s from $(date -Is)"
while [ "$(awk -v a="$t0" -v b="$(date +%s.%N)" -v s="$attack_s" 'BEGIN { print (b - a < s) }')" = 1 ]; do
	get_metrics || fail "/metrics does not answer during the attack"
	scrapes=$((scrapes + 1))
	for d in "${honest[@]}"; do
		num_eq "$(value vmscale_probe_up "domain=\"$d\"")" 1 ||
			fail "during the attack: vmscale_probe_up{domain=\"$d\"} is '$(value vmscale_probe_up "domain=\"$d\"")', not 1"
	done
	rss=$(rss_kib "$daemon_pid") || fail "vmscaled (pid $daemon_pid) is gone"
	[ "$rss" -le "$rss_max" ] || rss_max=$rss
	sleep 5
done
ticks1=$(cpu_ticks "$daemon_pid") t1=$(date +%s.%N)
get_metrics || fail "/metrics does not answer at the end of the attack"
window=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
ok "vmscale_probe_up 1 for ${honest[*]} at each of $scrapes scrapes over ${window} s"

# vmscaled's cost of the attack.
cpu_pct=$(awk -v t="$((ticks1 - ticks0))" -v hz="$hz" -v w="$window" 'BEGIN { printf "%.2f", 100 * t / hz / w }')
num_lt "$cpu_pct" "$max_cpu_pct" ||
	fail "vmscaled used ${cpu_pct} % of one core over ${window} s of attack (bound ${max_cpu_pct} %)"
ok "vmscaled CPU ${cpu_pct} % of one core over the attack (bound ${max_cpu_pct} %)"
[ "$rss_max" -lt "$max_rss_kib" ] || fail "vmscaled's RSS reached ${rss_max} KiB (bound ${max_rss_kib} KiB)"
ok "vmscaled RSS at most ${rss_max} KiB (bound ${max_rss_kib} KiB)"
log_lines=$(tail -c "+$log_from" "$LAB_DIR/vmscaled.log" | grep -cF "$bad" || true)
if [ "$log_lines" -gt "$max_log_lines" ]; then
	echo "# ---- vmscaled.log lines naming $bad during the attack (first 60)"
	tail -c "+$log_from" "$LAB_DIR/vmscaled.log" | grep -F "$bad" | head -n 60 | sed 's/^/# /'
	fail "vmscaled logged $log_lines lines naming $bad over ${window} s (bound $max_log_lines)"
fi
ok "vmscaled logged $log_lines lines naming $bad over the attack (bound $max_log_lines)"

# The honest guests' series.
for d in "${honest[@]}"; do
	num_gt "$(idle_s "$d")" "${idle0[$d]}" ||
		fail "vmscale_guest_cpu_seconds_total{domain=\"$d\",mode=\"idle\"} did not grow (${idle0[$d]} -> $(idle_s "$d"))"
	for f in "${families[@]}"; do
		num_gt "$(runs_ok "$d" "$f")" "${runs0[$d/$f]:-0}" ||
			fail "no $f run of $d ended ok during the attack (vmscale_probe_runs_total{result=\"ok\"} ${runs0[$d/$f]:-none} -> $(runs_ok "$d" "$f"))"
	done
	ok "$d: guest CPU grew (idle ${idle0[$d]} -> $(idle_s "$d") s), a run of each of ${families[*]} ended ok"
done
num_gt "$(netio_completed)" "${netio0:-0}" ||
	fail "no network probe transfer completed during the attack (vmscale_netio_transfers_total{result=\"completed\"} ${netio0:-none} -> $(netio_completed))"
ok "network probe transfers completed: ${netio0:-0} -> $(netio_completed)"

# The hostile domain's attacks, counted.
for r in "${reasons[@]}"; do
	num_gt "$(rejected "$r")" "${rej0[$r]:-0}" ||
		fail "vmscale_probe_records_rejected_total{domain=\"$bad\",reason=\"$r\"} did not grow (${rej0[$r]:-none} -> $(rejected "$r"))"
done
ok "records of $bad rejected, by reason: $(for r in "${reasons[@]}"; do printf '%s %s -> %s; ' "$r" "${rej0[$r]:-0}" "$(rejected "$r")"; done)"
num_gt "$(throttled)" "${throttled0:-0}" ||
	fail "vmscale_probe_throttled_total{domain=\"$bad\"} did not grow (${throttled0:-none} -> $(throttled))"
ok "$bad's channel throttled ${throttled0:-0} -> $(throttled) times"
echo "# for the record: the attacker's series and the responder's refusals at the end"
{
	grep -E '^vmscale_probe_(records_rejected|throttled|hellos|up|runs_total|samples_flagged)' "$scrape" |
		grep -F "domain=\"$bad\""
	grep -E '^vmscale_netio_(refused|transfers)_total' "$scrape"
} | sed 's/^/#   /' || true
echo "# the attacker's last console lines"
grep -a 'vmscale-hostile' "$LAB_DIR/console/$bad.log" | tail -n 6 | tr -d '\r' | sed 's/^/#   /' || true
