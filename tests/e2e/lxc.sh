#!/usr/bin/env bash
# e2e_lxc: libvirt LXC containers beside (or instead of) QEMU guests. Two containers of busybox
# run vmscale-probe, which reaches vmscaled through the unix socket in the host directory
# bind-mounted at /run/vmscale: ct1 without lxcfs (its /proc is the host's: view="host", no
# guest CPU or disk series), ct2 with lxcfs's /proc/stat (its own counters: view="guest").
# vmscaled watches lxc:///system: N_up counts the containers, host-side CPU and memory come
# from the per-domain calls (the LXC driver has no bulk statistics).
#
# Needs root, libvirt-daemon-driver-lxc and busybox-static; run it under the shared lock:
#   flock /tmp/vmscale-e2e.lock ctest --test-dir build -R '^e2e_lxc$' --output-on-failure
# On a hybrid cgroup host (cgroup v1 + cgroup2 at /sys/fs/cgroup/unified) libvirt_lxc fails
# with "Unable to create directory /sys/fs/cgroup/unified"; the test detaches that mount
# while it runs and mounts it again at the end (LXC_KEEP_UNIFIED=1: do not, and skip).
set -euo pipefail
build=$(cd "${1:?usage: lxc.sh BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/e2e/lib.sh"
uri=lxc:///system
probe=$build/probes/vmscale-probe
daemon=$build/daemon/vmscaled
prefix=vmslxc$$_

[ "$(id -u)" -eq 0 ] || skip "needs root (libvirt's lxc:///system)"
[ -x /usr/lib/libvirt/libvirt_lxc ] ||
	skip "no libvirt LXC driver: apt-get install libvirt-daemon-driver-lxc"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" | grep -q 'statically linked' ||
	skip "needs a static busybox (busybox-static)"
file -L "$probe" | grep -q 'statically linked' || skip "$probe is not static (a sanitizer build?)"

scratch vmscale-lxc
remount_unified=
libvirt_started=
cleanup() {
	for n in 1 2; do virsh -q -c "$uri" destroy "${prefix}ct$n" >/dev/null 2>&1 || true; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	umount "$tmp/lxcfs" 2>/dev/null || true
	if [ -n "$remount_unified" ]; then
		mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified && echo "# remounted /sys/fs/cgroup/unified"
	fi
	rm -rf "$tmp"
	if [ -n "$libvirt_started" ]; then stop_libvirt; fi
}
trap cleanup EXIT

# libvirtd: started by scripts/lab.sh's own code when nothing else did (no systemd here), and
# stopped again at the end. Not by `pgrep -x NAME || NAME -d`: PID 1 here reaps orphans only
# every few seconds, so right after another test's `lab.sh down` a zombie libvirtd still
# matches pgrep and nothing would start one (CI skipped this test that way). Their logs go to
# a folder outside $tmp: QEMU children of a libvirtd open its log file too.
libvirt_dir=/var/tmp/vmscale-lxc-libvirt
lab_libvirt() { # FUNCTION...: scripts/lab.sh's functions on the test's libvirt state folder
	(
		export LAB_DIR=$libvirt_dir LAB_URI=qemu:///system VMSCALE_BUILD_DIR=$build
		mkdir -p "$LAB_DIR"
		# shellcheck source=scripts/lab.sh
		. "$repo/scripts/lab.sh"
		for f in "$@"; do "$f"; done
	) 2>&1 | sed 's/^/#   /'
}
stop_libvirt() {
	stop_all() { for d in libvirtd virtlogd polkitd dbus-daemon; do stop_started "$d"; done; }
	# Someone else's domains started meanwhile: stopping libvirtd would orphan them.
	if [ -n "$(virsh -q -c qemu:///system list --name 2>/dev/null | sed '/^$/d')" ]; then
		echo "# leaving libvirtd running: other domains run"
	else
		lab_libvirt stop_all && rm -rf "$libvirt_dir"
	fi
}
if ! virsh -c "$uri" version >/dev/null 2>&1; then
	echo "# starting the libvirt daemons the way scripts/lab.sh does (logs in $libvirt_dir)"
	libvirt_started=1
	if ! lab_libvirt ensure_libvirt; then
		echo "not ok - libvirtd did not start (scripts/lab.sh's ensure_libvirt failed, output above)"
		exit 1
	fi
fi
# The LXC driver is installed (checked above): a libvirtd that does not serve it is a failure.
if ! wait_for 30 virsh -c "$uri" version >/dev/null 2>&1; then
	echo "not ok - libvirtd runs but does not answer on $uri: $(virsh -c "$uri" version 2>&1 | tail -n 1)"
	exit 1
fi
if mount | grep -q '^cgroup2 on /sys/fs/cgroup/unified '; then
	[ "${LXC_KEEP_UNIFIED:-}" != 1 ] ||
		skip "hybrid cgroups: libvirt_lxc fails with 'Unable to create directory /sys/fs/cgroup/unified' unless that mount is detached (LXC_KEEP_UNIFIED=1)"
	echo "# hybrid cgroups: detaching /sys/fs/cgroup/unified while the containers run"
	umount -l /sys/fs/cgroup/unified
	remount_unified=1
fi

# One rootfs for both: busybox and the probe; each container gets its own socket directory.
root=$tmp/rootfs
mkdir -p "$root"/{bin,proc,sys,dev,tmp,var/tmp,run/vmscale,lxcfs}
cp "$busybox" "$root/bin/busybox"
cp "$probe" "$root/bin/vmscale-probe"
for c in sh sleep cat mount grep; do ln -s busybox "$root/bin/$c"; done
lxcfs_ok=
if command -v lxcfs >/dev/null && [ -e /dev/fuse ]; then
	mkdir -p "$tmp/lxcfs"
	lxcfs "$tmp/lxcfs" >"$tmp/lxcfs.log" 2>&1 &
	pids+=($!)
	wait_for 10 test -e "$tmp/lxcfs/proc/stat" && lxcfs_ok=1
fi
[ -n "$lxcfs_ok" ] || echo "# lxcfs cannot run here: ct2 is skipped ($(tail -n 2 "$tmp/lxcfs.log" 2>/dev/null))"

define() { # N INIT_SCRIPT EXTRA_FILESYSTEM_XML
	local n=$1
	mkdir -p "$tmp/sock$n"
	cat >"$tmp/ct$n.xml" <<XML
<domain type='lxc'>
  <name>${prefix}ct$n</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>$2</initarg></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='$root'/><target dir='/'/></filesystem>
    <filesystem type='mount'><source dir='$tmp/sock$n'/><target dir='/run/vmscale'/></filesystem>
    $3
  </devices>
</domain>
XML
	virsh -q -c "$uri" create "$tmp/ct$n.xml" >"$tmp/create$n.log" 2>&1 || {
		cat "$tmp/create$n.log"
		tail -n 5 "/var/log/libvirt/lxc/${prefix}ct$n.log" 2>/dev/null
		return 1
	}
}

port=$(free_port)
"$daemon" -c "$uri" -l "127.0.0.1:$port" -i 1 --state-dir "$tmp/state" --control-socket "$tmp/control.sock" \
	--probe-domains "^${prefix}ct[0-9]+\$" >"$tmp/daemon.log" 2>&1 &
pids+=($!)
metrics() { curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null; }
# Whole text first: grep -q ending early would SIGPIPE curl, which pipefail counts as a failure.
has() {
	local m
	m=$(metrics) && grep -qE "$1" <<<"$m"
}
wait_for 20 has '^vmscale_libvirt_up\{uri="lxc:///system"\} 1' || {
	cat "$tmp/daemon.log"
	not_ok "vmscaled connected to $uri"
	finish
}
base=$(metrics | awk '/^vmscale_domains_running /{print $2}')

define 1 'exec /bin/vmscale-probe --interval 1' '' ||
	{ not_ok "container ${prefix}ct1 started"; finish; }
ok "container ${prefix}ct1 started"
if [ -n "$lxcfs_ok" ]; then
	define 2 'mount --bind /lxcfs/proc/stat /proc/stat &amp;&amp; exec /bin/vmscale-probe --interval 1' \
		"<filesystem type='mount'><source dir='$tmp/lxcfs'/><target dir='/lxcfs'/></filesystem>" &&
		ok "container ${prefix}ct2 (lxcfs) started" || not_ok "container ${prefix}ct2 (lxcfs) started"
fi
want=$((base + 1 + ${lxcfs_ok:-0}))

d1="domain=\"${prefix}ct1\""
check "N_up counts the containers ($want)" wait_for 20 has "^vmscale_domains_running $want\$"
check "host-side CPU time of ct1" wait_for 20 has "^vmscale_domain_cpu_seconds_total\{$d1,mode=\"user\"\} [0-9.e+-]+\$"
check "host-side memory of ct1" wait_for 10 has "^vmscale_domain_memory_rss_bytes\{$d1\} [1-9]"
check "ct1's socket made in its directory" test -S "$tmp/sock1/probe.sock"
check "ct1's probe is up over the unix socket" wait_for 30 has "^vmscale_probe_up\{$d1\} 1\$"
check "unix transport counted" has '^vmscale_probe_transport_connections_total\{transport="unix"\} [1-9]'
check "ct1 without lxcfs: view=\"host\"" has "^vmscale_probe_info\{$d1,.*view=\"host\"\} 1\$"
check "ct1's host counters are not its guest CPU" bash -c "! curl -fsS http://127.0.0.1:$port/metrics | grep -q '^vmscale_guest_cpu_seconds_total{$d1'"
check "ct1's reports were accepted" has "^vmscale_probe_reports_total\{$d1\} [1-9]"
if [ -n "$lxcfs_ok" ]; then
	d2="domain=\"${prefix}ct2\""
	check "ct2's probe is up" wait_for 30 has "^vmscale_probe_up\{$d2\} 1\$"
	check "ct2 with lxcfs: view=\"guest\"" has "^vmscale_probe_info\{$d2,.*view=\"guest\"\} 1\$"
	check "ct2's own CPU split is shown" has "^vmscale_guest_cpu_seconds_total\{$d2,mode=\"user\"\}"
fi
check "no records rejected" bash -c "! curl -fsS http://127.0.0.1:$port/metrics | grep -E '^vmscale_probe_records_rejected_total\{domain=\"$prefix' | grep -qv ' 0\$'"

virsh -q -c "$uri" destroy "${prefix}ct1" >/dev/null
check "N_up drops when ct1 stops" wait_for 20 has "^vmscale_domains_running $((want - 1))\$"
check "ct1's socket removed" wait_for 10 test ! -e "$tmp/sock1/probe.sock"
if [ "$fails" -ne 0 ]; then
	echo "# daemon log:"; tail -n 30 "$tmp/daemon.log"
	metrics | grep -E "$prefix|transport|container" || true
fi
finish
