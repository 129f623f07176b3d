#!/usr/bin/env bash
# End to end: the vmscaled package under a real systemd, as docs/install.md installs it.
#
#   systemd_host.sh BUILD_DIR DEB_DIR
#
# Boots two lab guests (TCG, probe inside, no vmscaled), makes a Debian 12 system with
# mmdebstrap and boots it with systemd as PID 1 (systemd-nspawn --boot), libvirt's socket
# folder and the probe channels' folder bound in, as they are on the host. Inside it, the
# commands of docs/install.md (the blocks marked `<!-- test: host-... -->`, run verbatim):
# the package installs, `systemctl enable --now` reaches active through Type=notify,
# `systemctl status` shows the STATUS= line, the daemon runs as user vmscale, /metrics
# serves the lab's domains with probes up, `systemctl reload` rereads the configuration,
# and a main loop that hangs (SIGSTOP) is killed by the watchdog and restarted.
# DEB_DIR holds vmscaled_*.deb (the package_build test writes it). Exit 77 only where the
# machine lacks root, QEMU, libvirtd, systemd-nspawn or mmdebstrap.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR DEB_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
deb_dir=$2
prefix=vmssdh
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (scripts/bootstrap.sh installs systemd-container)"
command -v mmdebstrap >/dev/null || skip "no mmdebstrap (scripts/bootstrap.sh installs it)"
deb=$(find "$deb_dir" -maxdepth 1 -name "vmscaled_*.deb" 2>/dev/null | sort -V | tail -n1) || true
[ -n "$deb" ] || {
	echo "not ok - no vmscaled_*.deb in $deb_dir: run scripts/package.sh $deb_dir (ctest runs package_build first)"
	exit 1
}
readonly mirror=${VMSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The packaged unit says WatchdogSec=30s; a drop-in makes it 5 s so that the hang is seen in
# seconds. What is proved (systemd kills a silent main loop and Restart= brings it back) is the
# same; the unit's own value is checked by systemd_unit.
readonly watchdog_s=5

lab_prepare
root=$LAB_DIR.root
nspawn_pid="" leader=""

# The container's systemd: poweroff, then its folder goes.
stop_container() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -TERM "$nspawn_pid" 2>/dev/null || true # nspawn asks the container's init to halt
		wait_for 30 bash -c "! kill -0 $nspawn_pid 2>/dev/null" || kill -KILL "$nspawn_pid" 2>/dev/null || true
	fi
	rm -rf "$root" "$LAB_DIR.nspawn.log"
}
lab_extra_cleanup=stop_container

# Runs a command inside the booted container, as a login shell of root would.
inside() { nsenter --target "$leader" --all -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

fail() {
	echo "not ok - $*"
	if [ -n "$leader" ]; then
		echo "# ---- journal of vmscaled.service in the container"
		inside journalctl -u vmscaled --no-pager -n 40 2>&1 | sed 's/^/# /' || true
	fi
	sed 's/^/# nspawn: /' "$LAB_DIR.nspawn.log" 2>/dev/null | tail -n 20 || true
	lab_evidence 10
	exit 1
}

# Runs the guide's block TAG inside the container, from /root (where the .deb lies).
in_root() { inside bash -euo pipefail -c "cd /root; $1"; }
run_guide() { # TAG
	guide_run "$1" in_root
	ok "docs/install.md '$1' ran as written"
}

# ---------------------------------------------------------------- the lab and the system

echo "# lab.sh up 2, no vmscaled (LAB_DIR=$LAB_DIR)"
LAB_NO_DAEMON=1 "$lab" up 2 2>&1 | sed 's/^/#   /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "lab.sh up 2 failed (see its output above)"

# The packaged daemon is not root: libvirtd must let a plain user use its read-only socket
# (polkit on the system bus, which lab.sh starts on hosts without systemd).
ro_err=$(setpriv --reuid=65534 --regid=65534 --clear-groups virsh -r -c qemu:///system version 2>&1 >/dev/null) ||
	fail "a non-root user cannot use libvirt's read-only socket: $ro_err (a libvirtd started before the system bus keeps failing: restart it)"
ok "a non-root user may read libvirt through its read-only socket"

# The package's dependencies come in with the system, so that `apt install ./vmscaled_*.deb`
# needs no network (the container has none of its own). libvirt-qemu: the host's group, with
# the host's number, as libvirt-daemon-system makes it on a real host (it owns the channels).
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' |
	grep -v '^$' | paste -sd,)
qemu_gid=$(getent group libvirt-qemu | cut -d: -f3)
[ -n "$qemu_gid" ] || fail "the host has no libvirt-qemu group (libvirt-daemon-system makes it)"
curl -sf -o /dev/null --max-time 15 "$mirror/dists/bookworm/Release" ||
	skip "the Debian mirror $mirror does not answer: mmdebstrap cannot make the test system"
echo "# mmdebstrap bookworm ($mirror) with systemd and $deps"
t0=$SECONDS
mmdebstrap --variant=minbase --include="systemd,systemd-sysv,dbus,curl,procps,$deps" \
	--customize-hook="chroot \"\$1\" groupadd --system --gid $qemu_gid libvirt-qemu" \
	--customize-hook="echo $prefix >\"\$1/etc/hostname\"" \
	--customize-hook="cp '$deb' \"\$1/root/\"" \
	bookworm "$root" "$mirror" >"$LAB_DIR.mmdebstrap.log" 2>&1 ||
	fail "mmdebstrap failed: $(tail -n 5 "$LAB_DIR.mmdebstrap.log" | tr '\n' ' ')"
ok "a Debian 12 system with systemd made in $((SECONDS - t0)) s"

# --keep-unit --register=no: this host's PID 1 is not systemd, so there is no machined and no
# scope to move into; the container's own systemd is PID 1 inside all the same.
setsid systemd-nspawn --directory="$root" --boot --machine="$prefix" --register=no --keep-unit \
	--private-network --console=passive --bind-ro=/run/libvirt \
	--bind-ro=/var/lib/libvirt/qemu/channel >"$LAB_DIR.nspawn.log" 2>&1 </dev/null &
nspawn_pid=$!
find_leader() { leader=$(pgrep -P "$nspawn_pid" -x systemd) && [ -n "$leader" ]; }
wait_for 30 find_leader || fail "systemd-nspawn --boot started no systemd"
booted() { [[ $(inside systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }
wait_for 90 booted || fail "the container's systemd did not finish booting within 90 s"
ok "systemd $(inside systemctl --version | awk 'NR == 1 { print $2 }') is PID 1 of the test system"

# ---------------------------------------------------------------- install and start

run_guide host-install
# in_output PATTERN COMMAND...: COMMAND, run inside, prints a line matching PATTERN (whatever
# its exit status: `systemctl is-enabled` says "disabled" with 1).
in_output() {
	local pattern=$1 out
	shift
	out=$(inside "$@" 2>&1) || true
	grep -qE -- "$pattern" <<<"$out"
}
idle_after_install() { ! inside systemctl is-active --quiet vmscaled && in_output '^disabled$' systemctl is-enabled vmscaled; }
check "the package made the system user vmscale" in_output '^[0-9]+$' id -u vmscale
check "vmscale is in libvirt-qemu (QEMU's channel sockets)" in_output '(^| )libvirt-qemu( |$)' id -nG vmscale
check "the dashboards and rules are where install.md says" inside test -f \
	/usr/share/vmscale/grafana/prometheus/prometheus.example.yml -a -d /usr/share/vmscale/grafana/dashboards
check "/etc/vmscale/vmscaled.conf is a conffile" in_output '/etc/vmscale/vmscaled.conf ' \
	dpkg-query -W -f='${Conffiles}\n' vmscaled
check "installing neither enables nor starts the daemon before it is configured" idle_after_install
# The operator's one edit for this host: claim only the test's guests (QEMU serves each
# channel to one client; other labs may run here).
inside bash -c "echo 'probe-domains ^${prefix}[0-9]+\$' >>/etc/vmscale/vmscaled.conf"
run_guide host-start
check "vmscaled.service is active (Type=notify: READY=1 came)" inside systemctl is-active --quiet vmscaled
status=$(inside systemctl status vmscaled --no-pager 2>&1 || true)
check "systemctl status shows the daemon's STATUS= line" grep -q '^ *Status: "' <<<"$status"
main_pid=$(inside systemctl show -p MainPID --value vmscaled)
check "the daemon runs as user vmscale" test "$(inside ps -o user= -p "$main_pid" | tr -d ' ')" = vmscale
check "it holds no capability" in_output '^CapEff:[[:space:]]*0+$' cat "/proc/$main_pid/status"
check "it read /etc/vmscale/vmscaled.conf" in_output 'configuration /etc/vmscale/vmscaled.conf \(read\)' \
	journalctl -u vmscaled --no-pager

# ---------------------------------------------------------------- what it serves

get_metrics() { inside curl -sf --max-time 5 http://127.0.0.1:9477/metrics >"$scrape.new" && mv "$scrape.new" "$scrape"; }
probes_up_two() { num_eq "$(value vmscale_probes_up)" 2; }
until_metrics 90 "vmscale_probes_up = 2 (both lab guests' probes, through group access)" probes_up_two
ok "/metrics: vmscale_probes_up $(value vmscale_probes_up), libvirt through the read-only socket"
for g in ${prefix}1 ${prefix}2; do
	check "/metrics: vmscale_probe_up{domain=\"$g\"} = 1" num_eq "$(value vmscale_probe_up domain=\"$g\")" 1
done
run_guide host-verify

# ---------------------------------------------------------------- reload and watchdog

inside bash -c "echo 'busy-threshold 0.35' >>/etc/vmscale/vmscaled.conf"
inside systemctl reload vmscaled
reloaded() { in_output 'configuration reloaded from /etc/vmscale/vmscaled.conf.*busy-threshold 0.35' journalctl -u vmscaled --no-pager; }
wait_for 15 reloaded || fail "systemctl reload: no 'configuration reloaded ... busy-threshold 0.35' in the journal"
check "systemctl reload rereads the configuration, same process" \
	test "$(inside systemctl show -p MainPID --value vmscaled)" = "$main_pid"

inside mkdir -p /etc/systemd/system/vmscaled.service.d
inside bash -c "printf '[Service]\nWatchdogSec=${watchdog_s}s\n' >/etc/systemd/system/vmscaled.service.d/test-watchdog.conf"
inside systemctl daemon-reload
inside systemctl restart vmscaled
hung=$(inside systemctl show -p MainPID --value vmscaled)
inside kill -STOP "$hung" # a pid of the container's namespace
echo "# SIGSTOP to vmscaled (pid $hung in the container): its main loop no longer answers"
restarted() {
	local now
	now=$(inside systemctl show -p MainPID --value vmscaled)
	[ "$now" != 0 ] && [ "$now" != "$hung" ] && inside systemctl is-active --quiet vmscaled
}
wait_for $((watchdog_s * 8)) restarted || fail "the watchdog did not kill and restart the hung daemon"
check "the journal says the watchdog fired" in_output 'Watchdog timeout' journalctl -u vmscaled --no-pager
ok "the watchdog killed the hung daemon; Restart= started pid $(inside systemctl show -p MainPID --value vmscaled)"

# ---------------------------------------------------------------- upgrade and uninstall

# The same package again takes the upgrade path of the maintainer scripts (configure with the
# old version): the running daemon is restarted, its state stays.
before=$(inside systemctl show -p MainPID --value vmscaled)
inside bash -c 'cd /root && apt-get install -y --reinstall ./vmscaled_*.deb' 2>&1 | sed 's/^/#   /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "apt-get install --reinstall of the package failed"
after=$(inside systemctl show -p MainPID --value vmscaled)
check "an upgrade restarts the running daemon (pid $before -> $after)" \
	bash -c "[ '$after' != 0 ] && [ '$after' != '$before' ]"
check "and it loads its state again" in_output 'analysis state loaded from /var/lib/vmscale/analysis.state' \
	journalctl -u vmscaled --no-pager _PID="$after"
run_guide host-uninstall
check "the purge removed /etc/vmscale and /var/lib/vmscale" \
	inside bash -c '! test -e /etc/vmscale && ! test -e /var/lib/vmscale'
check "the daemon is stopped" in_output '^inactive$' systemctl is-active vmscaled
check "the system user vmscale stays (Debian policy)" in_output '^[0-9]+$' id -u vmscale
finish
