#!/usr/bin/env bash
# End to end: a three-guest lab (scripts/lab.sh) watched by the vmscaled under test.
#
#   lab_e2e.sh BUILD_DIR
#
# Boots three TCG guests whose initramfs runs the vmscale-probe of BUILD_DIR,
# starts BUILD_DIR's vmscaled on a free port and checks its /metrics: N_up,
# probe_up per guest, guest CPU counters that keep growing, libvirt_up, every
# probe family for every guest within two active intervals (network both ways),
# clock skew near zero, active runs of different guests never overlapping, the
# guests' own `vmscale-probe --once --stdout`, host perf events enabled on one
# guest with virsh (read-write) and read by vmscaled (read-only), and what
# happens when a guest goes away. Exit 77 (skipped) only when the machine
# lacks root, QEMU or libvirtd; the lab is always taken down at exit.
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
prefix=vmse2e
g1=${prefix}1 g2=${prefix}2 g3=${prefix}3
guests=("$g1" "$g2" "$g3")
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
# Active probes every 20 s instead of the defaults (1 to 3 minutes), so two intervals fit in
# a test.
readonly active_s=20
# Probe reports come every 5 s: counters must move between scrapes this far apart.
readonly ready_wait=60 gap=6 grow_wait=30 remove_wait=15

args=()
for fam in cpu-work memory disk-read network micro; do
	args+=(--probe-$fam-interval "${active_s}s")
done
# UDP receive rate and loss too (off by default), through QEMU's user networking (slirp).
args+=(--netio-udp-rate 4M)
lab_prepare "${args[@]}"
export LAB_SELFTEST=1
remove_windows() { rm -f "$LAB_DIR.windows"; }
lab_extra_cleanup=remove_windows

fail() {
	echo "not ok - $*"
	echo "# ---- last scrape of http://$LAB_LISTEN/metrics"
	sed 's/^/# /' "$scrape" 2>/dev/null || echo "# (none)"
	lab_evidence 25
	exit 1
}

# ---------------------------------------------------------------- the test

echo "# lab.sh up 3 (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, build $build)"
if ! "$lab" up 3 2>&1 | sed 's/^/#   /'; then
	fail "lab.sh up 3 failed (see its output above)"
fi
t_up=$SECONDS
read -r daemon_pid _ <"$LAB_DIR/vmscaled.pid"
ok "lab.sh up 3: guests ${guests[*]} and vmscaled (pid $daemon_pid) on $LAB_LISTEN"

# Everything the first scrape must show; prints what is still missing.
first_scrape_missing() {
	local want=$(($(others) + 3)) d gaps=()
	get_metrics || {
		echo "/metrics does not answer"
		return
	}
	num_eq "$(value vmscale_domains_running)" "$want" ||
		gaps+=("vmscale_domains_running=$(value vmscale_domains_running) (want $want)")
	num_eq "$(value vmscale_libvirt_up)" 1 || gaps+=("vmscale_libvirt_up=$(value vmscale_libvirt_up)")
	for d in "${guests[@]}"; do
		num_eq "$(value vmscale_probe_up "domain=\"$d\"")" 1 ||
			gaps+=("vmscale_probe_up{domain=\"$d\"}=$(value vmscale_probe_up "domain=\"$d\"")")
		[ -n "$(value vmscale_guest_cpu_seconds_total "domain=\"$d\"" 'mode="idle"')" ] ||
			gaps+=("no vmscale_guest_cpu_seconds_total{domain=\"$d\",mode=\"idle\"}")
	done
	echo "${gaps[*]}"
}

deadline=$((SECONDS + ready_wait))
while waiting=$(first_scrape_missing) && [ -n "$waiting" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "after ${ready_wait} s: $waiting"
	sleep 1
done
t1=$SECONDS
want=$(($(others) + 3))
ok "vmscale_domains_running = $want (3 lab guests + $((want - 3)) other running domains)"
ok "vmscale_libvirt_up 1"
declare -A idle1
for d in "${guests[@]}"; do
	ok "vmscale_probe_up{domain=\"$d\"} 1"
	idle1[$d]=$(value vmscale_guest_cpu_seconds_total "domain=\"$d\"" 'mode="idle"')
	ok "vmscale_guest_cpu_seconds_total{domain=\"$d\",mode=\"idle\"} present (${idle1[$d]})"
done

if command -v promtool >/dev/null; then
	lint_scrape() {
		local out
		if ! out=$(promtool check metrics <"$scrape" 2>&1) || [ -n "$out" ]; then
			fail "promtool check metrics complains: $(echo "$out" | tr '\n' ' ')"
		fi
	}
	lint_scrape
	ok "promtool check metrics: first scrape clean"
fi

# Second scrape at least $gap s later: both guests' idle time must have grown.
sleep "$gap"
deadline=$((t1 + gap + grow_wait))
while :; do
	grown=1
	if get_metrics; then
		for d in "${guests[@]}"; do
			num_gt "$(value vmscale_guest_cpu_seconds_total "domain=\"$d\"" 'mode="idle"')" "${idle1[$d]}" || grown=0
		done
	else
		grown=0
	fi
	[ "$grown" = 0 ] || break
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "guest idle CPU seconds did not grow within $((gap + grow_wait)) s of the first scrape (was $g1=${idle1[$g1]} $g2=${idle1[$g2]})"
	sleep 1
done
for d in "${guests[@]}"; do
	ok "vmscale_guest_cpu_seconds_total{domain=\"$d\",mode=\"idle\"} grew ${idle1[$d]} -> $(value vmscale_guest_cpu_seconds_total "domain=\"$d\"" 'mode="idle"') over $((SECONDS - t1)) s"
	num_eq "$(value vmscale_probe_up "domain=\"$d\"")" 1 || fail "second scrape: vmscale_probe_up{domain=\"$d\"} is not 1"
done
num_eq "$(value vmscale_libvirt_up)" 1 || fail "second scrape: vmscale_libvirt_up is not 1"
ok "second scrape: every probe and libvirt still up"
if command -v promtool >/dev/null; then
	lint_scrape
	ok "promtool check metrics: second scrape clean"
fi

# ---------------------------------------------------------------- probe families

# Every family for every guest, within two active intervals of the lab being up. While
# waiting, collect the active runs' windows (start, end) to check they never overlap.
family_gaps() {
	local d gaps=() series
	for d in "${guests[@]}"; do
		for series in \
			"vmscale_probe_disk_read_bytes_total domain=\"$d\" device=\"vda\"" \
			"vmscale_probe_cpu_work_units_per_second domain=\"$d\"" \
			"vmscale_probe_memory_bandwidth_bytes_per_second domain=\"$d\" op=\"copy\"" \
			"vmscale_probe_memory_bandwidth_bytes_per_second domain=\"$d\" op=\"read\"" \
			"vmscale_probe_memory_bandwidth_bytes_per_second domain=\"$d\" op=\"write\"" \
			"vmscale_probe_disk_read_bytes_per_second domain=\"$d\"" \
			"vmscale_probe_network_throughput_bytes_per_second domain=\"$d\" direction=\"transmit\" block_bytes=\"1024\"" \
			"vmscale_probe_network_throughput_bytes_per_second domain=\"$d\" direction=\"receive\" block_bytes=\"1024\"" \
			"vmscale_probe_network_throughput_bytes_per_second domain=\"$d\" direction=\"transmit\" block_bytes=\"32768\"" \
			"vmscale_probe_network_throughput_bytes_per_second domain=\"$d\" direction=\"receive\" block_bytes=\"32768\"" \
			"vmscale_probe_network_udp_throughput_bytes_per_second domain=\"$d\" direction=\"receive\" block_bytes=\"1024\"" \
			"vmscale_probe_network_udp_throughput_bytes_per_second domain=\"$d\" direction=\"receive\" block_bytes=\"32768\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"fork_exit\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"fork_exec\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"ctxsw\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"file_create_0k\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"file_create_10k\"" \
			"vmscale_probe_latency_seconds domain=\"$d\" op=\"mem_read\"" \
			"vmscale_probe_cost_seconds_total domain=\"$d\" family=\"memory\"" \
			"vmscale_probe_resident_memory_bytes domain=\"$d\"" \
			"vmscale_domain_cpu_seconds_total domain=\"$d\" mode=\"user\"" \
			"vmscale_domain_vcpu_seconds_total domain=\"$d\" vcpu=\"0\"" \
			"vmscale_domain_vcpu_delay_seconds_total domain=\"$d\" vcpu=\"0\"" \
			"vmscale_domain_memory_rss_bytes domain=\"$d\""; do
			# shellcheck disable=SC2086
			num_gt "$(value $series)" 0 || gaps+=("${series// /,}")
		done
		# A loss ratio may well be 0: it must be there, within 0..1.
		for series in \
			"vmscale_probe_network_udp_loss_ratio domain=\"$d\" direction=\"receive\" block_bytes=\"1024\"" \
			"vmscale_probe_network_udp_loss_ratio domain=\"$d\" direction=\"receive\" block_bytes=\"32768\""; do
			# shellcheck disable=SC2086
			awk -v v="$(value $series)" 'BEGIN { exit !(v != "" && v >= 0 && v <= 1) }' ||
				gaps+=("${series// /,}")
		done
	done
	echo "${gaps[*]}"
}
windows=$LAB_DIR.windows
: >"$windows"
collect_windows() {
	awk '/^vmscale_probe_run_(start|end)_timestamp_seconds\{/ {
		name = $1; kind = (name ~ /_start_/) ? "start" : "end"
		key = name; sub(/^[^{]*\{/, "", key); sub(/\}.*/, "", key)
		v[key, kind] = $2; keys[key] = 1
	} END { for (k in keys) if ((k, "start") in v && (k, "end") in v) print k, v[k, "start"], v[k, "end"] }' \
		"$scrape" >>"$windows"
}
deadline=$((t_up + 2 * active_s + 30))
while :; do
	if get_metrics; then
		collect_windows
		gaps=$(family_gaps)
		[ -n "$gaps" ] || break
	else
		gaps="/metrics does not answer"
	fi
	[ "$SECONDS" -lt "$deadline" ] || fail "families missing $((SECONDS - t_up)) s after lab.sh up (active interval ${active_s} s): $gaps"
	sleep 1
done
ok "every probe family reported for ${guests[*]} within $((SECONDS - t_up)) s (two active intervals: $((2 * active_s)) s)"
for d in "${guests[@]}"; do
	echo "#   $d: cpu_work $(value vmscale_probe_cpu_work_units_per_second "domain=\"$d\"") units/s," \
		"memory copy $(value vmscale_probe_memory_bandwidth_bytes_per_second "domain=\"$d\"" 'op="copy"') B/s," \
		"net transmit 32k $(value vmscale_probe_network_throughput_bytes_per_second "domain=\"$d\"" 'direction="transmit"' 'block_bytes="32768"') B/s," \
		"receive 32k $(value vmscale_probe_network_throughput_bytes_per_second "domain=\"$d\"" 'direction="receive"' 'block_bytes="32768"') B/s," \
		"udp 1k $(value vmscale_probe_network_udp_throughput_bytes_per_second "domain=\"$d\"" 'block_bytes="1024"') B/s" \
		"loss $(value vmscale_probe_network_udp_loss_ratio "domain=\"$d\"" 'block_bytes="1024"')," \
		"udp 32k $(value vmscale_probe_network_udp_throughput_bytes_per_second "domain=\"$d\"" 'block_bytes="32768"') B/s" \
		"loss $(value vmscale_probe_network_udp_loss_ratio "domain=\"$d\"" 'block_bytes="32768"')," \
		"fork_exit $(value vmscale_probe_latency_seconds "domain=\"$d\"" 'op="fork_exit"') s"
done
ok "network throughput > 0 both ways, 1 KiB and 32 KiB blocks, for every guest"
ok "UDP receive rate > 0 and loss in 0..1 through slirp, 1 KiB and 32 KiB datagrams, for every guest"
for reason in bad_token unproven_address block_exceeds_bytes exceeds_rate too_many_bytes; do
	num_eq "$(value vmscale_netio_udp_dropped_total "reason=\"$reason\"")" 0 ||
		fail "the responder dropped UDP requests ($reason) in a lab without hostile peers"
done
num_gt "$(value vmscale_netio_udp_datagrams_total 'direction="receive"')" 0 ||
	fail "the responder counted no UDP datagrams paced to guests"
grep -q '^vmscale_probe_records_rejected_total{.*reason="unmatched"' "$scrape" &&
	fail "UDP samples without a burst the host sent, in a lab without hostile peers"
ok "UDP: the probe asked only what the grant, the pace and its proven address allow; every sample matched a burst the host sent"
ok "host-side per-domain CPU, vCPU time, vCPU delay (steal seen from the host) and RSS > 0 for every guest"

# Clock skew of an idle lab: guest and host clocks agree within 50 ms per report.
for d in "${guests[@]}"; do
	skew=$(value vmscale_probe_clock_skew_seconds "domain=\"$d\"")
	[ -n "$skew" ] && awk -v s="$skew" 'BEGIN { exit !(s < 0.05 && s > -0.05) }' ||
		fail "vmscale_probe_clock_skew_seconds{domain=\"$d\"} = '$skew', not within 50 ms"
done
ok "clock skew within 50 ms for every guest"

# Runs of different guests never overlap: sort the distinct windows by start; each must end
# before the next one (of another guest) starts.
overlaps=$(sort -u "$windows" | sort -k2,2g | awk '
	{ dom = $1; sub(/,.*/, "", dom)
	  if (NR > 1 && $2 < last_end && dom != last_dom) { print last_key " and " $1; bad++ }
	  if ($3 > last_end) { last_end = $3; last_dom = dom; last_key = $1 } ; n++ }
	END { print "runs=" n; exit bad > 0 }') || fail "active runs of different guests overlap: $overlaps"
ok "no two guests' active runs overlapped ($(echo "$overlaps" | tail -1) distinct windows seen)"

# The guests ran `vmscale-probe --once --stdout` at boot: every family printed.
for d in "${guests[@]}"; do
	log=$LAB_DIR/console/$d.log
	for line in "cpu: [0-9]+ CPUs" "disk: [0-9]+ device" "cpu_work work +[0-9.]+ units/s" \
		"memory copy +[0-9.]+ MB/s" "memory read +[0-9.]+ MB/s" "memory write +[0-9.]+ MB/s" \
		"disk_read read +[0-9.]+ MB/s" "micro fork_exit +[0-9.]+ us" "micro fork_exec +[0-9.]+ us" \
		"micro ctxsw +[0-9.]+ us" "micro file_create_0k +[0-9.]+ us" \
		"micro file_create_10k +[0-9.]+ us" "micro mem_read +[0-9.]+ us" "network +not measured"; do
		tr -d '\r' <"$log" | grep -Eq "$line" || fail "$d's console lacks '$line' from vmscale-probe --once --stdout"
	done
done
ok "vmscale-probe --once --stdout in every guest printed every family (network needs the host's token)"

# Host perf events: an operator enables the software ones on guest 1 (read-write virsh, as
# root); vmscaled, read-only, reports them from its next collection and they grow. Guest 3 has
# none enabled and shows none. (No hardware events: these hosts have no PMU.)
perf_events=cpu_clock,task_clock,page_faults,context_switches,cpu_migrations
out=$(virsh -c qemu:///system perf "$g1" --enable "$perf_events" --live 2>&1) ||
	fail "virsh perf $g1 --enable $perf_events --live: $out"
ok "virsh perf $g1 --enable $perf_events --live"
perf_missing() {
	local e gaps=()
	get_metrics || {
		echo "/metrics does not answer"
		return
	}
	for e in page_faults context_switches cpu_migrations; do
		[ -n "$(value vmscale_domain_perf_events_total "domain=\"$g1\"" "event=\"$e\"")" ] ||
			gaps+=("vmscale_domain_perf_events_total{domain=\"$g1\",event=\"$e\"}")
	done
	for e in cpu_clock task_clock; do
		[ -n "$(value vmscale_domain_perf_clock_seconds_total "domain=\"$g1\"" "event=\"$e\"")" ] ||
			gaps+=("vmscale_domain_perf_clock_seconds_total{domain=\"$g1\",event=\"$e\"}")
	done
	echo "${gaps[*]}"
}
deadline=$((SECONDS + 20))
while missing=$(perf_missing) && [ -n "$missing" ]; do
	[ "$SECONDS" -lt "$deadline" ] || fail "20 s after enabling perf events on $g1, missing: $missing"
	sleep 1
done
grep -q "^vmscale_domain_perf_[a-z_]*{domain=\"$g3\"" "$scrape" &&
	fail "$g3 has perf series though none were enabled on it"
cs1=$(value vmscale_domain_perf_events_total "domain=\"$g1\"" 'event="context_switches"')
tc1=$(value vmscale_domain_perf_clock_seconds_total "domain=\"$g1\"" 'event="task_clock"')
t_perf=$SECONDS
ok "perf counters of $g1 in /metrics (context_switches $cs1, task_clock ${tc1} s); none for $g3"
deadline=$((SECONDS + grow_wait))
while :; do
	sleep "$gap"
	get_metrics || fail "/metrics does not answer"
	cs2=$(value vmscale_domain_perf_events_total "domain=\"$g1\"" 'event="context_switches"')
	tc2=$(value vmscale_domain_perf_clock_seconds_total "domain=\"$g1\"" 'event="task_clock"')
	num_gt "$cs2" "$cs1" && num_gt "$tc2" "$tc1" && break
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "perf counters of $g1 did not grow: context_switches $cs1 -> $cs2, task_clock $tc1 -> $tc2"
done
# Seconds, not nanoseconds: the QEMU process cannot run longer than elapsed time x host CPUs.
awk -v a="$tc1" -v b="$tc2" -v dt=$((SECONDS - t_perf + 2)) -v n="$(nproc)" \
	'BEGIN { exit !(b - a <= dt * n) }' ||
	fail "task_clock of $g1 grew $tc1 -> $tc2 s in $((SECONDS - t_perf)) s on $(nproc) CPUs: not seconds"
ok "perf counters of $g1 grow: context_switches $cs1 -> $cs2, task_clock $tc1 -> $tc2 s over $((SECONDS - t_perf)) s"
if command -v promtool >/dev/null; then
	lint_scrape
	ok "promtool check metrics: scrape with perf series clean"
fi

# A guest goes away: N_up drops and its probe is down or gone within 2 intervals.
if ! "$lab" remove "$g2" 2>&1 | sed 's/^/#   /'; then
	fail "lab.sh remove $g2 failed"
fi
ok "lab.sh remove $g2"
deadline=$((SECONDS + remove_wait))
while :; do
	want=$(($(others) + 2))
	if get_metrics && num_eq "$(value vmscale_domains_running)" "$want"; then
		p2=$(value vmscale_probe_up "domain=\"$g2\"")
		if [ -z "$p2" ] || num_eq "$p2" 0; then break; fi
	fi
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "${remove_wait} s after removing $g2: vmscale_domains_running=$(value vmscale_domains_running) (want $want), vmscale_probe_up{domain=\"$g2\"}=$(value vmscale_probe_up "domain=\"$g2\"")"
	sleep 1
done
ok "vmscale_domains_running = $want after removing $g2"
if [ -z "$p2" ]; then
	ok "no vmscale_probe_up series for $g2 any more"
else
	ok "vmscale_probe_up{domain=\"$g2\"} 0"
fi
num_eq "$(value vmscale_probe_up "domain=\"$g1\"")" 1 || fail "vmscale_probe_up{domain=\"$g1\"} is not 1 after removing $g2"
ok "vmscale_probe_up{domain=\"$g1\"} still 1"
