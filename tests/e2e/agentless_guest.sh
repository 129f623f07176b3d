#!/usr/bin/env bash
# End to end: a guest without vmscale-probe, read through its QEMU guest agent.
#
#   agentless_guest.sh BUILD_DIR
#
# Builds (or reuses) a Debian 12 root filesystem with systemd, udev, a kernel and
# qemu-guest-agent (mmdebstrap, cached apart from the probe test's image), and boots it as a
# transient TCG libvirt domain that has the org.qemu.guest_agent.0 channel and no probe
# channel; the guest's udev starts qemu-ga when the port appears. BUILD_DIR's vmscaled runs
# with qemu-agent-domains matching that domain alone and qemu-agent-connect on qemu:///system. Checks:
# libvirt refuses the agent command on a read-only connection (why qemu-agent-connect exists);
# the guest CPU split, CPU count and disk series appear, vmscale_guest_source_info says
# source="qemu_agent", the counters move between reads, no reply is rejected, and /metrics answers
# at once while the agent is being read. Exit 77 only when the machine lacks root, QEMU,
# libvirtd, mmdebstrap or e2fsprogs, or has no cached image and cannot reach the mirror.
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
prefix=vmsqga
name=${prefix}1
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
command -v mmdebstrap >/dev/null || skip "no mmdebstrap (Debian package mmdebstrap)"
command -v mke2fs >/dev/null || skip "no mke2fs (Debian package e2fsprogs)"

readonly suite=bookworm mirror=${VMSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly guest_pkgs=systemd,systemd-sysv,udev,linux-image-amd64,initramfs-tools,qemu-guest-agent
# Its own cache: the probe test's image has no qemu-guest-agent, and must not get one.
readonly cache=${VMSCALE_IMAGE_CACHE:-/var/tmp/vmscale-lab-cache}/debian-$suite-qga
# Bounded waits, in seconds: a systemd boot under TCG until qemu-ga answers, then reads.
readonly agent_wait=300 grow_wait=40

# shellcheck source=tests/e2e/guest_lib.sh
. "$here/guest_lib.sh"
guest_setup agentless
trap guest_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fail() { guest_fail "$*" '^vmscale_(guest_|qemu_agent_|probe_disk_read_bytes)' 40; }

# shellcheck source=tests/e2e/guest_image.sh
. "$here/guest_image.sh"

# The cached root with nothing of ours added: no probe, no channel of ours, only qemu-ga.
make_guest_disk() {
	local root=$T/root img=$T/lab/disks/$name.img mib ver t0=$SECONDS
	cp -a "$cache/base" "$root"
	[ -x "$root/usr/sbin/qemu-ga" ] || fail "no /usr/sbin/qemu-ga in the guest image"
	[ ! -e "$root/usr/sbin/vmscale-probe" ] || fail "the guest image has vmscale-probe"
	ver=$(chroot "$root" dpkg-query -W -f '${Version}' qemu-guest-agent)
	dpkg --compare-versions "$ver" ge 1:7.1 ||
		fail "qemu-guest-agent $ver in the image: guest-get-cpustats needs 7.1"
	ok "guest image: qemu-guest-agent $ver, no vmscale-probe"
	cp "$root"/boot/vmlinuz-* "$T/lab/vmlinuz"
	cp "$root"/boot/initrd.img-* "$T/lab/initramfs.img"
	mib=$(($(du -sm "$root" | cut -f1) + 256))
	truncate -s "${mib}M" "$img"
	mke2fs -q -t ext4 -L vmscale-root -d "$root" "$img" || fail "mke2fs -d $root $img failed"
	rm -rf "$root"
	chmod 644 "$T/lab/vmlinuz" "$T/lab/initramfs.img" "$img"
	ok "guest disk: ${mib} MiB ext4 made in $((SECONDS - t0)) s"
}

# The lab's domain XML with the guest agent's channel in place of the probe's.
boot_guest() {
	local xml=$T/lab/xml/$name.xml err
	lab_fn domain_xml "$name" |
		sed "s|<cmdline>|<cmdline>root=/dev/vda rw systemd.firstboot=off |" |
		sed "s|name='org.vmscale.probe.0'|name='org.qemu.guest_agent.0'|" >"$xml" ||
		fail "no domain XML from scripts/lab.sh's domain_xml"
	grep -q "org.vmscale.probe.0" "$xml" && fail "the probe channel is still in $xml"
	grep -q "org.qemu.guest_agent.0" "$xml" || fail "no guest agent channel in $xml"
	lab_fn check_qemu_can_read "$T/lab/vmlinuz" "$T/lab/initramfs.img" "$T/lab/disks/$name.img"
	t_create=$SECONDS
	err=$(virsh -q -c qemu:///system create "$xml" 2>&1 >/dev/null) || fail "virsh create $xml: $err"
	ok "virsh create $name (TCG, org.qemu.guest_agent.0 channel, no probe channel)"
}

start_vmscaled() {
	cat >"$T/vmscaled.conf" <<EOF
connect qemu:///system
listen $LAB_LISTEN
state-dir $T/state
qemu-agent-connect qemu:///system
qemu-agent-domains ^$name\$
qemu-agent-interval 2s
qemu-agent-timeout 1s
EOF
	# --probe-domains on the command line: other tests' lab_preconditions look for it there.
	"$build/daemon/vmscaled" --config "$T/vmscaled.conf" --probe-domains "^$name\$" \
		--control-socket "$T/control.sock" </dev/null >"$T/vmscaled.log" 2>&1 &
	daemon_pid=$!
	wait_for 30 get_metrics || fail "vmscaled does not answer on $LAB_LISTEN within 30 s"
	ok "vmscaled (pid $daemon_pid) on $LAB_LISTEN, qemu-agent-domains ^$name\$ over qemu-agent-connect qemu:///system"
}

# Once the guest's qemu-ga answers a read-write connection: the read-only one is refused.
agent_answers() { virsh -q -c qemu:///system qemu-agent-command "$name" '{"execute":"guest-ping"}' >/dev/null 2>&1; }
check_read_only() {
	local out
	wait_for "$agent_wait" agent_answers || fail "qemu-ga in $name does not answer within $agent_wait s"
	ok "qemu-ga answers guest-ping $((SECONDS - t_create)) s after virsh create"
	echo "# guest-info: $(virsh -q -c qemu:///system qemu-agent-command "$name" '{"execute":"guest-info"}' | grep -o '"version":"[^"]*"')"
	if out=$(virsh -r -q -c qemu:///system qemu-agent-command "$name" '{"execute":"guest-ping"}' 2>&1); then
		not_ok "a read-only connection ran a guest agent command: qemu-agent-connect would not be needed"
	else
		echo "# virsh -r qemu-agent-command: $out"
		check "libvirt refuses virDomainQemuAgentCommand on a read-only connection" \
			grep -q "read only access prevents virDomainQemuAgentCommand" <<<"$out"
	fi
}

sel() { echo "domain=\"$name\""; }
idle() { value vmscale_guest_cpu_seconds_total "$(sel)" 'mode="idle"'; }
cpu_reads() { value vmscale_qemu_agent_reads_total "$(sel)" 'command="cpustats"' 'result="ok"'; }
agent_source() { num_eq "$(value vmscale_guest_source_info "$(sel)" 'source="qemu_agent"')" 1 && [ -n "$(idle)" ]; }

check_series() {
	local idle1 reads1 rd t
	until_metrics 60 "vmscale_guest_source_info{source=\"qemu_agent\"} with guest CPU series for $name" agent_source
	ok "vmscale_guest_source_info{$(sel),source=\"qemu_agent\"} 1"
	check "no source=\"probe\" series for $name (it has no probe)" \
		test -z "$(value vmscale_guest_source_info "$(sel)" 'source="probe"')"
	check "vmscale_probe_up{$(sel)} is 0 (no probe channel)" \
		num_eq "$(value vmscale_probe_up "$(sel)")" 0
	check "vmscale_guest_cpus{$(sel)} 1 (one vCPU)" num_eq "$(value vmscale_guest_cpus "$(sel)")" 1
	for m in user system idle iowait softirq steal; do
		check "vmscale_guest_cpu_seconds_total{mode=\"$m\"} present" \
			test -n "$(value vmscale_guest_cpu_seconds_total "$(sel)" "mode=\"$m\"")"
	done
	rd=$(value vmscale_probe_disk_read_bytes_total "$(sel)" 'device="vda"')
	check "vmscale_probe_disk_read_bytes_total{device=\"vda\"} $rd > 0 (the guest booted from it)" num_gt "$rd" 0
	check "no partition or virtual device among the disks" \
		test -z "$(grep -E "^vmscale_probe_disk_read_bytes_total\{domain=\"$name\",device=\"(vda[0-9]|loop|ram|sr|dm-)" "$scrape")"
	check "no reply rejected" num_eq "$(value vmscale_qemu_agent_reads_total "$(sel)" 'command="cpustats"' 'result="rejected"')" 0
	check "no diskstats reply rejected" num_eq "$(value vmscale_qemu_agent_reads_total "$(sel)" 'command="diskstats"' 'result="rejected"')" 0
	idle1=$(idle) reads1=$(cpu_reads)
	grown() { num_gt "$(idle)" "$idle1" && num_gt "$(cpu_reads)" "$reads1"; }
	until_metrics "$grow_wait" "guest idle seconds and cpustats reads grow" grown
	ok "guest idle CPU seconds $idle1 -> $(idle), cpustats reads ok $reads1 -> $(cpu_reads)"
	# Disk figures move too: the guest reads 16 MiB of its disk, bypassing its page cache (the
	# test asks qemu-ga to run dd; vmscaled itself only ever sends the two read commands).
	rd=$(value vmscale_probe_disk_read_bytes_total "$(sel)" 'device="vda"')
	virsh -q -c qemu:///system qemu-agent-command "$name" \
		'{"execute":"guest-exec","arguments":{"path":"/bin/dd","arg":["if=/dev/vda","of=/dev/null","bs=1M","count=16","iflag=direct"]}}' \
		>/dev/null || fail "guest-exec of dd in $name failed"
	disk_grown() { num_gt "$(value vmscale_probe_disk_read_bytes_total "$(sel)" 'device="vda"')" "$((rd + 16 * 1048576 - 1))"; }
	until_metrics "$grow_wait" "vmscale_probe_disk_read_bytes_total{device=\"vda\"} grows by 16 MiB" disk_grown
	ok "vmscale_probe_disk_read_bytes_total{device=\"vda\"} $rd -> $(value vmscale_probe_disk_read_bytes_total "$(sel)" 'device="vda"') after a 16 MiB direct read in the guest"
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "http://$LAB_LISTEN/metrics")
	check "/metrics answers in $t s while the agent is read (< 1 s)" num_lt "$t" 1
	check "vmscaled logged the agent connection" grep -q "guest agent: connected to qemu:///system" "$T/vmscaled.log"
	check "vmscaled logged no rejected reply" bash -c "! grep -q 'guest agent reply rejected' '$T/vmscaled.log'"
}

# The guest's qemu-ga stops answering (SIGSTOP, its port still open): each read now waits for
# qemu-agent-timeout and libvirt's own sync, on vmscaled's agent thread. /metrics must answer at
# once meanwhile; the failures are counted and logged; diskstats is not sent after a cpustats
# that found the agent unresponsive; the guest's figures go once they are stale.
scrape_fast() {
	local t
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "http://$LAB_LISTEN/metrics") || return 1
	num_lt "$t" 1 || { echo "# /metrics took $t s"; return 1; }
}
cpu_errors() { value vmscale_qemu_agent_reads_total "$(sel)" 'command="cpustats"' 'result="error"'; }
check_hung_agent() {
	local err1 disk_err1 slow=0 t0=$SECONDS
	err1=$(cpu_errors)
	disk_err1=$(value vmscale_qemu_agent_reads_total "$(sel)" 'command="diskstats"' 'result="error"')
	virsh -q -c qemu:///system qemu-agent-command "$name" \
		'{"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c","kill -STOP $(pidof qemu-ga)"]}}' \
		>/dev/null || fail "guest-exec of kill -STOP in $name failed"
	gone() { [ -z "$(value vmscale_guest_source_info "$(sel)")" ] && [ -z "$(idle)" ]; }
	while ! { get_metrics && num_gt "$(cpu_errors)" "$err1" && gone; }; do
		[ $((SECONDS - t0)) -lt 120 ] || fail "with qemu-ga stopped: no cpustats error counted and series kept for 120 s (errors $(cpu_errors), was $err1)"
		scrape_fast || slow=$((slow + 1))
		sleep 1
	done
	ok "qemu-ga stopped: cpustats errors $err1 -> $(cpu_errors), the guest's series gone $((SECONDS - t0)) s later"
	check "/metrics answered in under 1 s at every scrape while the agent hung" test "$slow" -eq 0
	check "diskstats not sent after an unresponsive agent (errors stay ${disk_err1:-0})" \
		num_eq "$(value vmscale_qemu_agent_reads_total "$(sel)" 'command="diskstats"' 'result="error"')" "${disk_err1:-0}"
	echo "# vmscaled: $(grep -m1 'guest agent: guest-get-cpustats' "$T/vmscaled.log" || echo '(no line)')"
	check "vmscaled logged the failed read" grep -q "domain $name: guest agent: guest-get-cpustats" "$T/vmscaled.log"
}

# ---------------------------------------------------------------- the test

echo "# guest $name; state folder $T"
lab_fn ensure_libvirt 2>&1 | sed 's/^/#   /' || fail "libvirtd does not run (scripts/lab.sh's ensure_libvirt)"
ensure_base
make_guest_disk
start_vmscaled
boot_guest
check_read_only
check_series
check_hung_agent
finish
