# lab-lxc.sh — LXC containers for scripts/lab.sh (LAB_LXC=N), sourced by it; not run alone.
#
# Each container is a transient libvirt LXC domain (lxc:///system) named PREFIXctN: a busybox
# root shared read-only by all, vmscale-probe as init, and its own socket directory
# LAB_DIR/lxc/NAME bind-mounted at /run/vmscale, where vmscaled listens for its probe. No
# lxcfs: the probes say view=host, and vmscaled keeps the host's counters out of their series.
#
# libvirt 9.0's libvirt_lxc fails on a host with hybrid cgroups ("Unable to create directory
# /sys/fs/cgroup/unified"): the lab detaches that cgroup2 mount while containers run, records
# it, and `down` mounts it again once no LXC domain runs.

readonly lxc_uri=lxc:///system
readonly lxc_unified=/sys/fs/cgroup/unified

lxsh() { virsh -q -c "$lxc_uri" "$@"; }

lxc_is_ours() {
	lxsh metadata "$1" "$lab_ns" 2>/dev/null | grep -qF "dir=\"$lab_dir\""
}

# The lab's containers of this state folder: PREFIXctN + our metadata.
lab_containers() {
	local n
	virsh -c "$lxc_uri" version >/dev/null 2>&1 || return 0
	{ lxsh list --name | grep -E "^${prefix}ct[0-9]+\$" || true; } | sort -V | while read -r n; do
		if lxc_is_ours "$n"; then echo "$n"; fi
	done
}

lxc_check() {
	[ -x /usr/lib/libvirt/libvirt_lxc ] ||
		die "LAB_LXC needs libvirt's LXC driver: apt-get install libvirt-daemon-driver-lxc, then restart libvirtd"
	virsh -c "$lxc_uri" version >/dev/null 2>&1 ||
		die "libvirtd does not answer on $lxc_uri (restart it after installing libvirt-daemon-driver-lxc)"
	command -v busybox >/dev/null && file -L "$(command -v busybox)" | grep -q 'statically linked' ||
		die "LAB_LXC needs a static busybox (apt-get install busybox-static)"
}

# Hybrid cgroups: detach the cgroup2 mount libvirt_lxc trips over (see the top).
lxc_cgroups() {
	if mount | grep -q "^cgroup2 on $lxc_unified "; then
		say "hybrid cgroups: detaching $lxc_unified for libvirt_lxc (down mounts it again)"
		umount -l "$lxc_unified"
		touch "$lab_dir/lxc-unified-detached"
	fi
}

lxc_rootfs() {
	local root=$lab_dir/lxc/rootfs c
	mkdir -p "$root"/{bin,proc,sys,dev,tmp,var/tmp,run/vmscale}
	cp "$(command -v busybox)" "$root/bin/busybox"
	cp "$probe_bin" "$root/bin/vmscale-probe"
	for c in sh sleep cat mount; do ln -sf busybox "$root/bin/$c"; done
}

lxc_xml() { # NAME
	cat <<XML
<domain type='lxc'>
  <name>$1</name>
  <metadata>
    <lab:lab xmlns:lab='$lab_ns' dir='$lab_dir'/>
  </metadata>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>exe</type><init>/bin/vmscale-probe</init></os>
  <devices>
    <console type='pty'/>
    <filesystem type='mount'><source dir='$lab_dir/lxc/rootfs'/><target dir='/'/><readonly/></filesystem>
    <filesystem type='mount'><source dir='$lab_dir/lxc/$1'/><target dir='/run/vmscale'/></filesystem>
  </devices>
</domain>
XML
}

# Makes sure COUNT lab containers run.
start_containers() { # COUNT
	local want=$1 have i n
	have=$(lab_containers | grep -c . || true)
	[ "$have" -lt "$want" ] || {
		say "$have lab containers already running"
		return 0
	}
	lxc_check
	lxc_cgroups
	lxc_rootfs
	for ((i = 1; have < want; i++)); do
		n=${prefix}ct$i
		if lxsh domstate "$n" >/dev/null 2>&1; then continue; fi
		mkdir -p "$lab_dir/lxc/$n" "$lab_dir/xml"
		lxc_xml "$n" >"$lab_dir/xml/$n.xml"
		lxsh create "$lab_dir/xml/$n.xml" >/dev/null ||
			die "virsh -c $lxc_uri create $n failed; see /var/log/libvirt/lxc/$n.log"
		say "started container $n (probe socket $lab_dir/lxc/$n/probe.sock)"
		have=$((have + 1))
	done
}

# down: the containers, then the cgroup2 mount once no LXC domain runs.
stop_containers() {
	local n others
	for n in $(lab_containers); do
		lxsh destroy "$n" >/dev/null 2>&1 || true
		rm -f "$lab_dir/xml/$n.xml" /var/log/libvirt/lxc/"$n".log*
		say "destroyed container $n"
	done
	[ -f "$lab_dir/lxc-unified-detached" ] || return 0
	others=$(lxsh list --name 2>/dev/null | sed '/^$/d' | paste -sd' ')
	if [ -n "$others" ]; then
		say "leaving $lxc_unified detached: LXC domains still run ($others)"
		return 0
	fi
	if ! mount | grep -q "^cgroup2 on $lxc_unified "; then
		mount -t cgroup2 cgroup2 "$lxc_unified" && say "mounted $lxc_unified again"
	fi
	rm -f "$lab_dir/lxc-unified-detached"
}
