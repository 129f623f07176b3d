#!/usr/bin/env bash
# End to end: the vmscale-probe Debian package in a guest with systemd and udev.
#
#   probe_systemd_guest.sh BUILD_DIR [DEB_DIR]
#
# Builds (or reuses) a Debian 12 root filesystem with systemd, udev and a kernel (mmdebstrap,
# cached), installs the vmscale-probe package into a copy of it offline with docs/install.md's
# guest-install command (in a chroot), and boots that as a defined TCG libvirt domain without
# the probe's channel. Once the guest has booted, it hot-plugs the channel with the guide's
# guest-channel commands (virsh attach-device --live --config). Checks that systemd started
# vmscale-probe.service because udev saw the port appear (the package's rule: TAG+="systemd",
# SYSTEMD_WANTS), from a report the guest prints to its serial console, and that BUILD_DIR's
# vmscaled, limited to this domain, shows the probe up with passive values. The package comes
# from DEB_DIR or VMSCALE_DEB_DIR (a folder with vmscale-probe_*.deb), else from
# scripts/package.sh. Exit 77 only when the machine lacks root, QEMU, libvirtd,
# mmdebstrap or e2fsprogs, or has no cached image and cannot reach the Debian mirror.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILD_DIR [DEB_DIR]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
[ -z "${2:-}" ] || VMSCALE_DEB_DIR=$2
prefix=vmssdg
name=${prefix}1
guide_domain=$name # the install guide's DOMAIN
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
command -v mmdebstrap >/dev/null || skip "no mmdebstrap (Debian package mmdebstrap)"
command -v mke2fs >/dev/null || skip "no mke2fs (Debian package e2fsprogs)"
command -v dpkg-deb >/dev/null || skip "no dpkg-deb (Debian package dpkg)"

readonly suite=bookworm mirror=${VMSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly guest_pkgs=systemd,systemd-sysv,udev,linux-image-amd64,initramfs-tools
# Not under /var/tmp/vmscale-lab: `lab.sh down` empties that folder.
readonly cache=${VMSCALE_IMAGE_CACHE:-/var/tmp/vmscale-lab-cache}/debian-$suite-systemd
# Bounded waits, in seconds: a systemd boot under TCG, then the probe's first reports.
readonly report_wait=240 up_wait=90 grow_wait=30
readonly tag='vmscale-e2e: '

# shellcheck source=tests/e2e/guest_lib.sh
. "$here/guest_lib.sh"
guest_setup sdguest
trap guest_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { guest_fail "$*" '^vmscale_(probe_up|guest_|probe_reports)' 60; }

# ---------------------------------------------------------------- the cached root filesystem

# shellcheck source=tests/e2e/guest_image.sh
. "$here/guest_image.sh"

# ---------------------------------------------------------------- this run's disk

# VMSCALE_DEB_DIR's newest vmscale-probe_*.deb, else what scripts/package.sh builds.
find_deb() {
	local dir=${VMSCALE_DEB_DIR:-} t0=$SECONDS
	if [ -z "$dir" ]; then
		[ -x "$repo/scripts/package.sh" ] || fail "no VMSCALE_DEB_DIR and no scripts/package.sh: no package to test"
		dir=$T/pkg
		mkdir -p "$dir"
		if ! "$repo/scripts/package.sh" "$dir" >"$T/package.log" 2>&1; then
			tail -n 30 "$T/package.log" | sed 's/^/# /'
			fail "scripts/package.sh $dir failed"
		fi
		ok "scripts/package.sh built the packages in $((SECONDS - t0)) s"
	fi
	deb=$(find "$dir" -maxdepth 1 -name 'vmscale-probe_*.deb' | sort -V | tail -n1)
	[ -n "$deb" ] || fail "no vmscale-probe_*.deb in $dir"
}

# Offline, as an image builder would, with the install guide's own command (the package needs
# nothing from the archive). It leaves the unit disabled: only udev can start the probe.
in_chroot() { chroot "$chroot_root" bash -euo pipefail -c "cd /root; $1"; }
install_probe() { # ROOT
	cp "$deb" "$1/root/"
	chroot_root=$1
	guide_run guest-install in_chroot
	rm -f "$1/root/${deb##*/}"
	ok "installed ${deb##*/} into the guest root as docs/install.md says"
	check "the package leaves vmscale-probe.service disabled" \
		test "$(chroot "$1" systemctl is-enabled vmscale-probe.service 2>/dev/null)" = disabled
}

# A oneshot that prints the probe unit's state to the serial console, for the host to read.
write_report_unit() { # ROOT
	cp "$here/probe_systemd_report.sh" "$1/usr/local/sbin/vmscale-e2e-report"
	chmod 755 "$1/usr/local/sbin/vmscale-e2e-report"
	cat >"$1/etc/systemd/system/vmscale-e2e-report.service" <<'EOF'
[Unit]
Description=vmscale e2e test: the probe unit's state on the serial console
After=multi-user.target

[Service]
Type=exec
ExecStart=/usr/local/sbin/vmscale-e2e-report
StandardOutput=journal+console
Environment=SYSTEMD_COLORS=0 SYSTEMD_PAGER=cat

[Install]
WantedBy=multi-user.target
EOF
	chroot "$1" systemctl enable --quiet vmscale-e2e-report.service
}

# Copies the cached root, adds the package and the report, makes the ext4 disk (no mounts).
make_guest_disk() {
	local root=$T/root img=$T/lab/disks/$name.img mib t0=$SECONDS
	cp -a "$cache/base" "$root"
	install_probe "$root"
	write_report_unit "$root"
	# libvirt relabels kernel and initrd while a guest runs: our own copies.
	cp "$root"/boot/vmlinuz-* "$T/lab/vmlinuz"
	cp "$root"/boot/initrd.img-* "$T/lab/initramfs.img"
	mib=$(($(du -sm "$root" | cut -f1) + 256))
	truncate -s "${mib}M" "$img"
	mke2fs -q -t ext4 -L vmscale-root -d "$root" "$img" || fail "mke2fs -d $root $img failed"
	rm -rf "$root"
	chmod 644 "$T/lab/vmlinuz" "$T/lab/initramfs.img" "$img"
	ok "guest disk: ${mib} MiB ext4 made in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- host side

start_vmscaled() {
	cat >"$T/vmscaled.conf" <<EOF
connect qemu:///system
listen $LAB_LISTEN
state-dir $T/state
EOF
	# --probe-domains on the command line: other tests' lab_preconditions look for it there.
	"$build/daemon/vmscaled" --config "$T/vmscaled.conf" --probe-domains "^$name\$" \
		--control-socket "$T/control.sock" \
		</dev/null >"$T/vmscaled.log" 2>&1 &
	daemon_pid=$!
	wait_for 30 get_metrics || fail "vmscaled does not answer on $LAB_LISTEN within 30 s"
	ok "vmscaled (pid $daemon_pid) on $LAB_LISTEN, probe-domains ^$name\$"
}

# The lab's domain (TCG, serial console to a file) booting the disk, defined (attach-device
# --config needs a persistent domain) and without the probe's channel: the guide adds it once
# the guest runs. A virtio-serial controller stays, for the port to be hot-plugged into.
boot_guest() {
	local xml=$T/lab/xml/$name.xml err
	lab_fn domain_xml "$name" |
		sed "s|<cmdline>|<cmdline>root=/dev/vda rw systemd.show_status=1 systemd.firstboot=off |" |
		sed "/<channel type='unix'>/,/<\/channel>/d" |
		sed "s|</devices>|  <controller type='virtio-serial' index='0'/>\n  </devices>|" >"$xml" ||
		fail "no domain XML from scripts/lab.sh's domain_xml"
	grep -q 'org.vmscale.probe.0' "$xml" && fail "the channel is still in $xml"
	lab_fn check_qemu_can_read "$T/lab/vmlinuz" "$T/lab/initramfs.img" "$T/lab/disks/$name.img"
	t_create=$SECONDS
	err=$(virsh -q -c qemu:///system define "$xml" 2>&1 >/dev/null) || fail "virsh define $xml: $err"
	err=$(virsh -q -c qemu:///system start "$name" 2>&1 >/dev/null) || fail "virsh start $name: $err"
	ok "virsh define + start $name (TCG, no probe channel yet)"
}

booted() { grep -q "${tag}booted" "$console" 2>/dev/null; }

# Once systemd inside has finished booting: the guide's guest-channel commands, DOMAIN being
# our guest, run in a folder of ours (they write vmscale-channel.xml).
in_scratch() { (cd "$T" && bash -euo pipefail -c "$1"); }
attach_channel() {
	wait_for "$report_wait" booted || fail "$name did not finish booting within $report_wait s"
	ok "the guest booted (systemd) $((SECONDS - t_create)) s after virsh start, no port yet"
	guide_run guest-channel in_scratch
	t_attach=$SECONDS
	check "the channel is in the running domain" \
		bash -c "virsh -q -c qemu:///system dumpxml $name | grep -q org.vmscale.probe.0"
	check "and in its persistent definition (--config)" \
		bash -c "virsh -q -c qemu:///system dumpxml --inactive $name | grep -q org.vmscale.probe.0"
}

report_done() { grep -q "${tag}end" "$console" 2>/dev/null; }

wait_report() {
	local deadline=$((SECONDS + report_wait))
	until report_done; do
		virsh -q -c qemu:///system domstate "$name" 2>/dev/null | grep -q running ||
			fail "$name stopped while booting"
		[ "$SECONDS" -lt "$deadline" ] || fail "no report on $name's console within $report_wait s"
		sleep 1
	done
	report=$(tr -d '\r\033' <"$console" | grep -o "${tag}.*" | cut -c$((${#tag} + 1))-)
	ok "the guest's report on its console $((SECONDS - t_attach)) s after the channel was attached"
	sed -n 's/^/# guest: /p' <<<"$report"
}

in_report() { grep -qE "$1" <<<"$report"; }
# Both monotonic, in µs since the guest booted.
field() { sed -n "s/^$1=//p" <<<"$report" | head -n1; }
started_after_port() {
	local dev probe
	dev=$(field 'device ActiveEnterTimestampMonotonic') probe=$(field ExecMainStartTimestampMonotonic)
	num_gt "$dev" 0 && { num_gt "$probe" "$dev" || num_eq "$probe" "$dev"; } || return 1
	echo "# guest uptime: port's device unit up at $dev µs, probe started at $probe µs"
}
probe_running() { in_report '^ActiveState=active$' && in_report '^SubState=running$'; }

check_guest_side() {
	check "(a) vmscale-probe.service is not enabled (only udev can have started it)" \
		in_report '^is-enabled=(disabled|static|indirect)$'
	check "(a) vmscale-probe.service is active (running)" probe_running
	check "(a) udev tagged the port for systemd" in_report '^TAGS=.*:systemd:'
	check "(a) udev set SYSTEMD_WANTS=vmscale-probe.service on the port" \
		in_report '^SYSTEMD_WANTS=(.* )?vmscale-probe\.service( |$)'
	check "(a) the port's device unit wants vmscale-probe.service" \
		in_report '^device Wants=(.* )?vmscale-probe\.service( |$)'
	check "(a) vmscale-probe.service is wanted by a .device unit" in_report '^WantedBy=.*\.device("| |$)'
	check "(a) the probe started once its port's device unit was up" started_after_port
}

idle() { value vmscale_guest_cpu_seconds_total "domain=\"$name\"" 'mode="idle"'; }
probe_reporting() { num_eq "$(value vmscale_probe_up "domain=\"$name\"")" 1 && [ -n "$(idle)" ]; }

check_host_side() {
	local idle1
	until_metrics "$up_wait" "(b) vmscale_probe_up{domain=\"$name\"} 1 with guest CPU values" probe_reporting
	ok "(b) vmscale_probe_up{domain=\"$name\"} 1, $((SECONDS - t_attach)) s after the channel was attached"
	idle1=$(idle)
	ok "(b) vmscale_guest_cpu_seconds_total{domain=\"$name\",mode=\"idle\"} $idle1 (passive cpu)"
	grown() { num_gt "$(idle)" "$idle1"; }
	until_metrics "$grow_wait" "(b) guest idle CPU seconds grow" grown
	ok "(b) guest idle CPU seconds grow to $(idle): the probe keeps reporting"
}

# The guide's guest-detach commands: vmscaled hears the device event and lets the channel go.
channel_gone() { [ -n "$(value vmscale_domain_info "domain=\"$name\"" 'probe_channel="no"')" ]; }
detach_channel() {
	guide_run guest-detach in_scratch
	check "the channel left the persistent definition" \
		bash -c "! virsh -q -c qemu:///system dumpxml --inactive $name | grep -q org.vmscale.probe.0"
	until_metrics 30 "vmscale_domain_info{probe_channel=\"no\"} after the detach" channel_gone
	ok "vmscaled saw the channel go: probe_channel=\"no\", vmscale_probe_up $(value vmscale_probe_up "domain=\"$name\"")"
}

# ---------------------------------------------------------------- the test

find_deb
echo "# package ${deb}; guest $name; state folder $T"
lab_fn ensure_libvirt 2>&1 | sed 's/^/#   /' || fail "libvirtd does not run (scripts/lab.sh's ensure_libvirt)"
ensure_base
make_guest_disk
start_vmscaled
boot_guest
attach_channel
wait_report
check_guest_side
check_host_side
detach_channel
finish
