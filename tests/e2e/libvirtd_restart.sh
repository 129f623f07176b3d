#!/usr/bin/env bash
# End to end: vmscaled survives its libvirtd coming late, dying and coming back.
#
#   libvirtd_restart.sh BUILD_DIR
#
# Runs a PRIVATE libvirtd (session mode, as the unprivileged user `nobody`, with HOME and
# XDG_* in a temp folder) so that it can be killed and restarted without touching the system
# libvirtd that scripts/lab.sh, the e2e_lab test and developers' labs use. Its TCG guests use
# the lab's kernel + busybox initramfs with the probe (built by sourcing scripts/lab.sh).
# vmscaled (root, like in production) watches it read-only through
# qemu+unix:///session?socket=<temp>/run/libvirt/libvirt-sock and checks:
#   a) started before libvirtd: /metrics answers with vmscale_libvirt_up 0, a bounded log,
#      then libvirt_up 1 and the right N_up once libvirtd runs;
#   b) three SIGKILL/restart cycles of libvirtd with guests up: libvirt_up 0, exactly one
#      complaint, libvirt_up 1, one "connected ... again" line, N_up right (QEMU keeps the
#      guests running, libvirtd re-attaches them), same pid, and an open-fd count that does not
#      grow (tolerance fd_slack, for libvirt's own client sockets/pipes);
#   c) a guest destroyed while its probe streams: /metrics answers, N_up drops, same pid.
# Exit 77 only when the machine lacks root, QEMU, libvirtd, busybox or a Debian guest kernel.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
PATH=$PATH:/usr/sbin:/sbin

[ "$(id -u)" -eq 0 ] || skip "needs root: runs a libvirtd as user nobody and reads vmscaled's /proc/PID/fd"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (scripts/bootstrap.sh installs qemu-system-x86)"
command -v libvirtd >/dev/null || skip "no libvirtd (scripts/bootstrap.sh installs libvirt-daemon-system)"
command -v virsh >/dev/null || skip "no virsh (libvirt-clients)"
command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
[ -x /bin/busybox ] || skip "no /bin/busybox (busybox-static) for the guest initramfs"
id nobody >/dev/null 2>&1 || skip "no user nobody to run the private libvirtd as"
compgen -G '/boot/vmlinuz-*-amd64' >/dev/null || skip "no Debian guest kernel /boot/vmlinuz-*-amd64 (linux-image-amd64)"

build=$(cd "$1" && pwd)
vmscaled=$build/daemon/vmscaled
probe=$build/probes/vmscale-probe
[ -x "$vmscaled" ] && [ -x "$probe" ] || { echo "not ok - no $vmscaled or $probe (build first)"; exit 1; }

prefix=vmslr
readonly nguests=3 cycles=3
# libvirt's client may hold a socket or pipe more or less at the moment we look: documented slack.
readonly fd_slack=2
# A quiet daemon logs a handful of lines while libvirtd is missing; a storm would be dozens.
readonly max_lines_waiting=6

T=$(mktemp -d /var/tmp/vmscale-lvr.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/home" "$T/run" "$T/lab/disks" "$T/lab/console" "$T/lab/xml" "$T/state"
chown -R nobody:nogroup "$T/home" "$T/run" "$T/lab"
chmod 700 "$T/run"
sock=$T/run/libvirt/libvirt-sock
uri="qemu+unix:///session?socket=$sock"
port=$(free_port)
listen=127.0.0.1:$port
log=$T/vmscaled.log
scrape=$T/scrape
daemon_pid=
lvd_pid=

# Everything libvirt-side runs as nobody with its session folders in $T.
asuser() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$T/home" XDG_RUNTIME_DIR="$T/run" \
		XDG_CONFIG_HOME="$T/home/.config" XDG_CACHE_HOME="$T/home/.cache" \
		XDG_DATA_HOME="$T/home/.local/share" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
vsh() { asuser virsh -q -c qemu:///session "$@"; }

start_libvirtd() {
	asuser libvirtd --timeout 0 -d </dev/null >/dev/null 2>&1 || return 1
	local i
	for ((i = 0; i < 150; i++)); do
		if [ -S "$sock" ] && lvd_pid=$(cat "$T/run/libvirt/libvirtd.pid" 2>/dev/null) &&
			kill -0 "$lvd_pid" 2>/dev/null && vsh version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# Our processes only, by pid: QEMU (pidfiles of the session), libvirtd, virtlogd, vmscaled.
cleanup() {
	local rc=$? f p
	trap - EXIT INT TERM
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	if [ -n "$lvd_pid" ] && kill -0 "$lvd_pid" 2>/dev/null; then
		for f in $(vsh list --name 2>/dev/null); do vsh destroy "$f" >/dev/null 2>&1 || true; done
	fi
	for f in "$T"/run/libvirt/qemu/run/*.pid "$T"/run/libvirt/libvirtd.pid "$T"/run/libvirt/virtlogd.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) || continue
		# Only processes of user nobody started from our folders' daemons.
		[ -n "$p" ] && [ "$(stat -c %U "/proc/$p" 2>/dev/null)" = nobody ] && kill -KILL "$p" 2>/dev/null || true
	done
	sleep 0.5
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

get_metrics() { curl -sf --max-time 5 "http://$listen/metrics" >"$scrape.new" && mv "$scrape.new" "$scrape"; }
value() { # METRIC: first sample's value of the last scrape
	awk -v m="$1" '/^#/ { next } { n = $0; sub(/[{ ].*/, "", n); if (n == m) { print $NF; exit } }' "$scrape"
}
probe_up_count() { grep -cE "^vmscale_probe_up\{domain=\"${prefix}[0-9]+\"\} 1\$" "$scrape" || true; }
metric_is() { get_metrics && [ "$(value "$1")" = "$2" ]; }
all_probes_up() { get_metrics && [ "$(probe_up_count)" -eq "$1" ]; }
nfds() { find "/proc/$daemon_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
alive() { kill -0 "$daemon_pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$daemon_pid/stat")" != Z ]; }
log_lines() { wc -l <"$log"; }
fail() {
	echo "not ok - $*"
	echo "# ---- last scrape"
	sed 's/^/# /' "$scrape" 2>/dev/null | grep -v '^# #' | head -40 || true
	echo "# ---- vmscaled log"
	sed 's/^/# /' "$log" 2>/dev/null || true
	exit 1
}

# ---------------------------------------------------------------- the guest image
echo "# building the guest image in $T/lab (scripts/lab.sh's builders)"
if ! (
	export LAB_DIR=$T/lab LAB_PREFIX=$prefix LAB_URI=$uri VMSCALE_BUILD_DIR=$build VMSCALE_PROBE=$probe
	# shellcheck source=scripts/lab.sh
	. "$repo/scripts/lab.sh"
	check_static "$probe_bin" probe # a sanitizer build's probe is dynamic: say so, not "no hello"
	pick_kernel
	ensure_guest_image
	for ((i = 1; i <= nguests; i++)); do domain_xml "$prefix$i" >"$LAB_DIR/xml/$prefix$i.xml"; done
) 2>&1 | sed 's/^/#   /'; then
	fail "building the guest image failed"
fi
[ -s "$T/lab/initramfs.img" ] || fail "no $T/lab/initramfs.img"
chown -R nobody:nogroup "$T/lab"

# ---------------------------------------------------------------- a) vmscaled first
args=(--connect "$uri" --listen "$listen" --interval 1 --state-dir "$T/state"
	--probe-domains "^${prefix}[0-9]+\$" --probe-cpu-work-interval 3s --probe-memory-interval 3s
	--probe-disk-read-interval 3s --probe-micro-interval 3s --probe-network-interval off)
t0=$SECONDS
"$vmscaled" "${args[@]}" 2>"$log" &
daemon_pid=$!
wait_for 10 metric_is vmscale_libvirt_up 0 || fail "a) /metrics with vmscale_libvirt_up 0 within 10 s"
ok "a) vmscaled (pid $daemon_pid) serves /metrics with vmscale_libvirt_up 0 while no libvirtd runs"
sleep 8
alive || fail "a) vmscaled died while libvirtd was missing"
n=$(log_lines)
[ "$n" -le "$max_lines_waiting" ] || fail "a) $n log lines in ~9 s without libvirtd (at most $max_lines_waiting)"
ok "a) no crash and $n log line(s) in ~9 s without libvirtd (bound $max_lines_waiting)"
start_libvirtd || fail "a) the private libvirtd did not come up"
ok "a) private libvirtd (pid $lvd_pid, user nobody) runs"
for ((i = 1; i <= nguests; i++)); do
	truncate -s 16M "$T/lab/disks/$prefix$i.img"
	chown nobody:nogroup "$T/lab/disks/$prefix$i.img"
	err=$(vsh create "$T/lab/xml/$prefix$i.xml" 2>&1 >/dev/null) || fail "virsh create $prefix$i: $err"
done
# Backoff is at most 16 s by now; probes come up after the guests boot (3-5 s of TCG).
wait_for 60 metric_is vmscale_libvirt_up 1 || fail "a) vmscale_libvirt_up 1 within 60 s of libvirtd"
wait_for 60 metric_is vmscale_domains_running "$nguests" || fail "a) vmscale_domains_running $nguests"
ok "a) vmscale_libvirt_up 1 and vmscale_domains_running $nguests once libvirtd came"
wait_for 90 all_probes_up "$nguests" || fail "a) $nguests probes up within 90 s"
ok "a) $nguests probes up"
grep -q 'connected to .* again' "$log" || fail "a) no 'connected ... again' line"
ok "a) one recovery line: $(grep -c 'connected to .* again' "$log")"

# ---------------------------------------------------------------- b) kill/restart cycles
sleep 3
fd0=$(nfds)
echo "# open fds before the cycles: $fd0"
declare -a fdc
for ((c = 1; c <= cycles; c++)); do
	before=$(log_lines)
	qemu_pids=$(for f in "$T"/run/libvirt/qemu/run/"$prefix"*.pid; do cat "$f"; echo; done)
	kill -KILL "$lvd_pid"
	wait_for 30 metric_is vmscale_libvirt_up 0 || fail "b$c) vmscale_libvirt_up 0 within 30 s of SIGKILL"
	ok "b$c) libvirtd SIGKILLed: vmscale_libvirt_up 0; vmscale_domains_running $(value vmscale_domains_running) (last known)"
	sleep 4
	alive || fail "b$c) vmscaled died while libvirtd was down"
	for p in $qemu_pids; do kill -0 "$p" 2>/dev/null || fail "b$c) QEMU $p did not survive libvirtd"; done
	start_libvirtd || fail "b$c) the private libvirtd did not restart"
	wait_for 40 metric_is vmscale_libvirt_up 1 || fail "b$c) vmscale_libvirt_up 1 within 40 s of the restart"
	wait_for 20 metric_is vmscale_domains_running "$nguests" || fail "b$c) vmscale_domains_running $nguests after the restart"
	wait_for 30 all_probes_up "$nguests" || fail "b$c) $nguests probes up after the restart"
	sleep 3
	alive || fail "b$c) vmscaled died"
	new=$(tail -n +"$((before + 1))" "$log")
	lost=$(grep -c 'libvirt: connection to .* lost\|libvirt: cannot connect\|libvirt: cannot list' <<<"$new" || true)
	again=$(grep -c 'libvirt: connected to .* again' <<<"$new" || true)
	[ "$lost" -eq 1 ] || fail "b$c) $lost libvirt complaints while it was down (want exactly 1): $new"
	[ "$again" -eq 1 ] || fail "b$c) $again recovery lines (want 1)"
	ok "b$c) libvirtd restarted (pid $lvd_pid): libvirt_up 1, N_up $nguests, probes up, 1 complaint, 1 recovery line ($(wc -l <<<"$new") log lines in the cycle)"
	fdc[c]=$(nfds)
	echo "# open fds after cycle $c: ${fdc[c]} (before the cycles: $fd0)"
	[ $((fdc[c] - fd0)) -le "$fd_slack" ] && [ $((fd0 - fdc[c])) -le "$fd_slack" ] ||
		fail "b$c) open fds ${fdc[c]}, before the cycles $fd0 (tolerance $fd_slack): $(ls -l "/proc/$daemon_pid/fd" | tail -n +2)"
	ok "b$c) open fds ${fdc[c]} vs $fd0 before (within ±$fd_slack)"
done
[ "${fdc[cycles]}" -le "${fdc[1]}" ] || fail "b) fds grew across cycles: ${fdc[*]}"
ok "b) no fd growth across $cycles cycles: ${fdc[*]} (before: $fd0)"

# ---------------------------------------------------------------- c) destroyed mid-report
victim=${prefix}2
pid_before=$daemon_pid
# Active probes run every 3 s and stream for a good part of it; a fresh report (a moving
# counter) says the channel is busy right now.
get_metrics
c0=$(grep -E "^vmscale_guest_cpu_seconds_total\{domain=\"$victim\",mode=\"idle\"\}" "$scrape" | awk '{ print $NF }')
moved() { get_metrics && [ "$(grep -E "^vmscale_guest_cpu_seconds_total\{domain=\"$victim\",mode=\"idle\"\}" "$scrape" | awk '{ print $NF }')" != "$c0" ]; }
wait_for 15 moved || fail "c) $victim's probe reports nothing"
vsh destroy "$victim" >/dev/null || fail "c) virsh destroy $victim"
ok "c) $victim destroyed right after a report of its probe"
wait_for 20 metric_is vmscale_domains_running $((nguests - 1)) || fail "c) vmscale_domains_running $((nguests - 1)) after the destroy"
ok "c) vmscale_domains_running $((nguests - 1))"
sleep 3
get_metrics || fail "c) /metrics does not answer after the destroy"
alive && [ "$daemon_pid" = "$pid_before" ] || fail "c) vmscaled died"
[ "$(value vmscale_libvirt_up)" = 1 ] || fail "c) vmscale_libvirt_up $(value vmscale_libvirt_up)"
ok "c) /metrics answers, libvirt_up 1, vmscaled pid $daemon_pid unchanged"

kill -TERM "$daemon_pid"
wait "$daemon_pid" && rc=0 || rc=$?
daemon_pid=
[ "$rc" -eq 0 ] || fail "vmscaled exited with $rc on SIGTERM"
ok "vmscaled stopped cleanly on SIGTERM"
echo "# runtime $((SECONDS - t0)) s; fds: before $fd0, after cycles ${fdc[*]}"
finish
