#!/usr/bin/env bash
# lab.sh — a throw-away lab of tiny TCG guests for vmscale.
#
# Every guest is a transient libvirt domain (never defined, so nothing survives
# `down`): a Debian kernel, a busybox initramfs that runs vmscale-probe, a small
# virtio disk, slirp networking and the org.vmscale.probe.0 channel. The daemon
# vmscaled watches them through qemu:///system and exports /metrics.
#
# Everything the lab creates lives in one state folder (LAB_DIR); the only
# things outside it are libvirt's own per-domain files, which `remove`/`down`
# clean up, and the libvirt daemons, which `down` stops only if the lab
# started them.
set -Eeuo pipefail

readonly prog=${0##*/}
# A command that fails where nobody expected it still ends in one clear line.
trap 'printf "%s: error: unexpected failure (exit %s) at line %s: %s\n" "$prog" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR
self=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$self")/.." && pwd)
readonly self repo
# The attacker a LAB_HOSTILE=1 guest runs (a busybox sh script, copied into the initramfs).
readonly hostile_src=$repo/scripts/lab-hostile.sh

build=${VMSCALE_BUILD_DIR:-$repo/build}
lab_dir=${LAB_DIR:-/var/tmp/vmscale-lab}
prefix=${LAB_PREFIX:-dvm}
listen=${LAB_LISTEN:-127.0.0.1:9477}
# The network probe's responder: guests reach the host's loopback through slirp at 10.0.2.2.
netio=${LAB_NETIO:-127.0.0.1:18767}
# Extra vmscaled options, e.g. shorter active-probe intervals for a test.
read -r -a extra_daemon_args <<<"${LAB_DAEMON_ARGS:-}"
# 1: each guest runs `vmscale-probe --once --stdout` at boot (to its console log).
selftest=${LAB_SELFTEST:-}
[ "$selftest" = 1 ] || selftest=
# 1: guests boot with vmscale.load=1 and run a CPU + memory load at nice 19 (noisy neighbours).
load=${LAB_LOAD:-}
[ "$load" = 1 ] || load=
# 1: guests boot with vmscale.hostile=1 and run scripts/lab-hostile.sh instead of the probe.
hostile=${LAB_HOSTILE:-}
[ "$hostile" = 1 ] || hostile=
# A port: lab.sh crosscheck boots its guest with vmscale.crosscheck=PORT (its controller's).
crosscheck=
no_daemon=${LAB_NO_DAEMON:-0}
# N: up also starts N libvirt LXC containers (PREFIXct1..N) with the probe (scripts/lab-lxc.sh).
lxc=${LAB_LXC:-0}
probe_bin=${VMSCALE_PROBE:-$build/probes/vmscale-probe}
daemon_bin=${VMSCALE_DAEMON:-$build/daemon/vmscaled}
# Tests that source this file for its image and domain builders (tests/e2e/libvirtd_restart.sh)
# point it at their own libvirtd; up/add/remove/down assume the system daemons.
readonly uri=${LAB_URI:-qemu:///system}
# libvirtd (Debian's libvirt-daemon-system) runs QEMU as this user.
readonly qemu_user=libvirt-qemu
# Marks domains (in their XML metadata) and the state folder as ours, so that
# `remove`/`down` never touch anything the lab did not create.
readonly lab_ns=urn:vmscale:lab
readonly marker=.vmscale-lab
readonly channel_name=org.vmscale.probe.0
# 128 MiB settles idle; the memory probe maps 2 x 32 MiB while it samples copy bandwidth.
readonly guest_mem_mib=256
readonly disk_mib=16
# virtio is modular in Debian's kernel; this is the insmod order that works
# (dependencies first). virtio_balloon makes <memballoon> report guest stats.
readonly guest_modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
	virtio_pci virtio_console failover net_failover virtio_net virtio_blk virtio_balloon)
# Bounded waits, in seconds.
readonly libvirt_wait=30 boot_wait=90 daemon_wait=30 stop_wait=15
# The line /init prints once userspace is up; `up` waits for it.
readonly ready_line='userspace ready'
# shellcheck source=scripts/lab-lxc.sh
. "$repo/scripts/lab-lxc.sh"
# shellcheck source=scripts/lab-experiment.sh
. "$repo/scripts/lab-experiment.sh"
# shellcheck source=scripts/lab-crosscheck.sh
. "$repo/scripts/lab-crosscheck.sh"

# All output is plain text so logs and CI read it well; failures are one line.
say() { printf '%s: %s\n' "$prog" "$*"; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}
vsh() { virsh -q -c "$uri" "$@"; }

usage() {
	cat <<EOF
Usage: $prog COMMAND [ARGS]

A lab of small TCG guests (transient libvirt domains) running vmscale-probe,
watched by vmscaled.

Commands:
  up [N]          make sure N guests (default 3) run, plus libvirtd and vmscaled;
                  installs missing packages and builds vmscale when needed
  add             start one more guest (lowest free number)
  remove NAME     destroy one lab guest and delete its disk
  status          libvirtd, the lab guests, vmscaled and a /metrics summary
  experiment [N] [--down]
                  seed 001 live: loaded guests join one at a time up to N (default 6) and
                  leave again, LAB_REPEATS passes (1..N, N..1, ...), each level held
                  LAB_HOLD s per pass; PREFIX1's probe values per N_up as the mean over
                  the visits with a 95 % interval, and seed 001's fits of the CPU-work
                  time, ET_P max(1, N_up/P) and its (1 + O N_up) refinement, with
                  residuals (P = host CPUs). Writes LAB_DIR/experiment/experiment.{csv,svg}.
                  Needs a lab without guests; leaves the lab running for a look (--down:
                  takes it down, keeping the results)
  crosscheck      boots one dedicated guest and prints vmscale's figures beside independent
                  ones: the probe's memory copy vs mbw in the guest (target +-15 %, the exit
                  status), the guest's CPU split vs the host's vcpu time, the guest's disk
                  bytes vs the host's block stats, the network probe vs a plain TCP transfer
                  of the same size. Needs a lab without guests; destroys its guest at the end
  down [--purge]  destroy the lab guests, stop what the lab started, delete the
                  lab's files but the experiment's results; --purge also removes those
                  and the state folder itself
  -h, --help      this text

Environment:
  LAB_DIR            state folder             (default /var/tmp/vmscale-lab)
  LAB_PREFIX         guest name prefix        (default dvm -> dvm1, dvm2, ...)
  LAB_LISTEN         vmscaled listen address  (default 127.0.0.1:9477)
  LAB_NETIO          network-probe responder  (default 127.0.0.1:18767; guests use 10.0.2.2)
  LAB_DAEMON_ARGS    extra vmscaled options   (e.g. "--probe-memory-interval 20s")
  LAB_SELFTEST       1: guests print \`vmscale-probe --once --stdout\` to their console at boot
  LAB_LOAD           1: guests started by up/add run a steady CPU + memory load at nice 19
                     (kernel option vmscale.load=1): noisy neighbours for the others
  LAB_HOSTILE        1: guests started by up/add run scripts/lab-hostile.sh instead of the
                     probe (kernel option vmscale.hostile=1): garbage, oversized lines,
                     absurd values, a record flood, hello and reconnect storms on their
                     channel, held and garbage connections to the network responder
  LAB_LXC            N: up also starts N libvirt LXC containers (PREFIXct1..N), the probe
                     as their init, each with its socket directory at /run/vmscale, and
                     vmscaled also watches lxc:///system (needs libvirt-daemon-driver-lxc;
                     on hybrid cgroups the lab detaches /sys/fs/cgroup/unified until down)
  LAB_NO_DAEMON=1    do not start vmscaled
  LAB_HOLD           experiment: seconds per visit of an N_up level (default 60)
  LAB_REPEATS        experiment: passes, so visits per level (default 3)
  VMSCALE_BUILD_DIR  build folder             (default <repo>/build)
  VMSCALE_PROBE      guest probe binary       (default \$build/probes/vmscale-probe)
  VMSCALE_DAEMON     daemon binary            (default \$build/daemon/vmscaled)
EOF
}

# ---------------------------------------------------------------- checks

check_settings() {
	# The prefix must not end in a digit: dvm1 + "1" would read as dvm11.
	[[ $prefix =~ ^[A-Za-z][A-Za-z0-9_-]*[A-Za-z_-]$|^[A-Za-z]$ ]] ||
		die "LAB_PREFIX '$prefix' must be letters/digits/_/- and must not end in a digit"
	[[ $lab_dir == /* && $lab_dir != / ]] || die "LAB_DIR '$lab_dir' must be an absolute path other than /"
	# lab_dir goes verbatim into domain XML attributes.
	[[ $lab_dir != *[\'\"\<\>\&[:space:]]* ]] || die "LAB_DIR '$lab_dir' must not contain quotes, <, >, & or spaces"
	[[ $listen =~ ^[^[:space:]]+:[0-9]+$ ]] || die "LAB_LISTEN '$listen' must be HOST:PORT"
	[[ $lxc =~ ^[0-9]{1,2}$ ]] || die "LAB_LXC '$lxc' must be a number of containers (0..99)"
	[[ $netio =~ ^127\.0\.0\.1:[0-9]+$ ]] || die "LAB_NETIO '$netio' must be 127.0.0.1:PORT (slirp reaches the host's loopback)"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 needs root (libvirtd, qemu:///system)"
}

# ---------------------------------------------------------------- processes

# A pid alone can be reused; pid + start time identifies one process.
start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) } # drop "pid (comm) ", comm may contain spaces
	# A zombie is dead for our purposes (PID 1 here may be slow to reap).
	[ "${stat%% *}" != Z ] || return 1
	# Field 22 of /proc/PID/stat is field 20 once "pid (comm) " is gone.
	echo "$stat" | cut -d' ' -f20
}

record_pid() { # FILE PID
	local st
	st=$(start_time "$2") || die "process $2 vanished right after it started"
	echo "$2 $st" >"$1"
}

# Prints the pid recorded in FILE if that very process still runs.
recorded_pid() {
	local pid st
	[ -f "$1" ] || return 1
	read -r pid st <"$1" || return 1
	[ -n "$pid" ] && [ "$(start_time "$pid" || true)" = "$st" ] || return 1
	echo "$pid"
}

# First live (not zombie) process named NAME. PID 1 on the lab machines reaps
# orphans only every few seconds, and pgrep lists zombies.
live_pid() {
	local pid
	for pid in $(pgrep -x "$1" || true); do
		if start_time "$pid" >/dev/null; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

# TERM, wait, then KILL: one process, by id, never by name.
stop_pid() { # PID WHAT
	local pid=$1 what=$2 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < stop_wait * 5; i++)); do
		start_time "$pid" >/dev/null || return 0
		sleep 0.2
	done
	warn "$what (pid $pid) ignored SIGTERM for ${stop_wait} s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- state folder

lab_lock() {
	mkdir -p "$lab_dir"
	# libvirtd runs QEMU as $qemu_user, which must read the kernel, initramfs
	# and disks here (mktemp -d creates 0700 folders).
	chmod 755 "$lab_dir"
	[ -e "$lab_dir/$marker" ] || echo "state folder of scripts/lab.sh; 'lab.sh down' empties it" >"$lab_dir/$marker"
	mkdir -p "$lab_dir/disks" "$lab_dir/console" "$lab_dir/xml"
	# Two lab.sh runs on one state folder would race for guest names.
	exec 9>"$lab_dir/.lock"
	flock -w 120 9 || die "another lab.sh holds $lab_dir/.lock for more than 120 s"
}

check_qemu_can_read() {
	local f
	id "$qemu_user" >/dev/null 2>&1 || return 0 # another distro: libvirt's user differs
	for f in "$@"; do
		# -r for a file, and for a folder -x too: QEMU must reach into it.
		runuser -u "$qemu_user" -- test -r "$f" -a \( -f "$f" -o -x "$f" \) ||
			die "QEMU's user $qemu_user cannot read $f; put LAB_DIR where $qemu_user can reach it (not under /root)"
	done
}

# ---------------------------------------------------------------- packages and build

run_bootstrap() {
	"$repo/scripts/bootstrap.sh" || die "scripts/bootstrap.sh failed (see its output above)"
}

# True when every needed binary exists and no source file is newer than them.
build_up_to_date() {
	local bin oldest=
	for bin in "$@"; do
		[ -x "$bin" ] || return 1
		if [ -z "$oldest" ] || [ "$bin" -ot "$oldest" ]; then oldest=$bin; fi
	done
	[ -f "$build/CMakeCache.txt" ] || return 1
	# Skip VCS data and build folders: their generated files are always newer.
	[ -z "$(find "$repo" \( -path "$repo/.git" -o -path "$build" -o -name 'build*' -type d \) -prune -o \
		-type f \( -name CMakeLists.txt -o -name '*.cmake' -o -name '*.[ch]' -o -name '*.in' \) \
		-newer "$oldest" -print -quit)" ]
}

ensure_built() {
	local needed=() log=$lab_dir/build.log
	[ -n "${VMSCALE_PROBE:-}" ] || needed+=("$probe_bin")
	[ "$no_daemon" = 1 ] || [ -n "${VMSCALE_DAEMON:-}" ] || needed+=("$daemon_bin")
	if [ "${#needed[@]}" -eq 0 ]; then
		return 0
	fi
	if build_up_to_date "${needed[@]}"; then
		say "build: up to date ($build)"
		return 0
	fi
	[ -f "$repo/CMakeLists.txt" ] ||
		die "cannot build ${needed[*]}: no $repo/CMakeLists.txt (set VMSCALE_PROBE/VMSCALE_DAEMON, or LAB_NO_DAEMON=1)"
	say "build: cmake in $build (log $log)"
	{
		cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
			cmake --build "$build" -j2
	} >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		die "build failed; see $log"
	}
	local bin
	for bin in "${needed[@]}"; do
		[ -x "$bin" ] || die "the build did not produce $bin; see $log"
	done
}

# ---------------------------------------------------------------- libvirt

libvirt_answers() { virsh -c "$uri" version >/dev/null 2>&1; }

# Starts DAEMON -d unless one runs; records it so `down` stops only ours.
start_libvirt_daemon() { # NAME PIDFILE SOCKET
	local name=$1 pidfile=$2 sock=$3 pid i
	if live_pid "$name" >/dev/null; then
		return 0
	fi
	command -v "$name" >/dev/null || die "$name not found; run scripts/bootstrap.sh"
	say "starting $name -d (log $lab_dir/$name.log)"
	# Without systemd nobody else starts these; warnings go to the state folder.
	# 9>&-: a daemon must not inherit (and hold forever) the lab's lock.
	LIBVIRT_LOG_OUTPUTS="3:file:$lab_dir/$name.log" "$name" -d 9>&- ||
		die "$name -d failed; see $lab_dir/$name.log"
	for ((i = 0; i < libvirt_wait * 5; i++)); do
		if [ -S "$sock" ] && pid=$(cat "$pidfile" 2>/dev/null) && start_time "$pid" >/dev/null; then
			record_pid "$lab_dir/started-$name" "$pid"
			return 0
		fi
		sleep 0.2
	done
	die "$name did not come up within ${libvirt_wait} s (no $sock); see $lab_dir/$name.log"
}

# The system bus and polkitd, as systemd would have started them; before libvirtd, which
# connects to the bus once.
ensure_system_bus() {
	if ! live_pid dbus-daemon >/dev/null; then
		mkdir -p /run/dbus
		rm -f /run/dbus/pid # a stale one (the machine rebooted) stops dbus-daemon
		say "starting dbus-daemon --system"
		dbus-daemon --system --fork 9>&- || die "dbus-daemon --system failed"
		record_pid "$lab_dir/started-dbus-daemon" "$(cat /run/dbus/pid)"
	fi
	if ! live_pid polkitd >/dev/null; then
		[ -x /usr/lib/polkit-1/polkitd ] || die "polkitd not found; run scripts/bootstrap.sh"
		say "starting polkitd (log $lab_dir/polkitd.log)"
		setsid /usr/lib/polkit-1/polkitd --no-debug >"$lab_dir/polkitd.log" 2>&1 9>&- </dev/null &
		record_pid "$lab_dir/started-polkitd" "$!"
	fi
}

ensure_libvirt() {
	local i
	if [ -d /run/systemd/system ]; then
		# A systemd host starts libvirt through its units (and keeps it).
		libvirt_answers || systemctl start libvirtd ||
			die "systemctl start libvirtd failed; see journalctl -u libvirtd"
	else
		mkdir -p /var/log/libvirt # virtlogd and libvirtd refuse to start without it
		# A vmscaled that is not root reaches libvirt through the read-only socket, which
		# libvirtd lets in only after asking polkit on the system bus, as on any Debian host.
		ensure_system_bus
		# Even with libvirtd up: without virtlogd no guest starts (it writes
		# the QEMU logs and our console logs).
		start_libvirt_daemon virtlogd /run/virtlogd.pid /run/libvirt/virtlogd-sock
		libvirt_answers || start_libvirt_daemon libvirtd /run/libvirtd.pid /run/libvirt/libvirt-sock
	fi
	for ((i = 0; i < libvirt_wait * 5; i++)); do
		if libvirt_answers; then
			return 0
		fi
		sleep 0.2
	done
	die "virsh -c $uri version does not answer after ${libvirt_wait} s; see $lab_dir/libvirtd.log"
}

# Names of all domains libvirt knows (running or defined).
all_domains() { vsh list --all --name | sed '/^$/d'; }

# True when domain NAME carries our metadata for this state folder.
is_ours() {
	vsh metadata "$1" "$lab_ns" 2>/dev/null | grep -qF "dir=\"$lab_dir\""
}

# Lab guests of this state folder: prefix + number + our metadata.
lab_guests() {
	local n
	libvirt_answers || return 0
	{ all_domains | grep -E "^${prefix}[0-9]+\$" || true; } | sort -V | while read -r n; do
		if is_ours "$n"; then echo "$n"; fi
	done
}

channel_path() { # NAME: the host socket libvirt chose for the probe channel
	vsh dumpxml "$1" 2>/dev/null | awk -v q="'" -v want="$channel_name" '
		/<channel[ >]/ { inch = 1; path = ""; hit = 0 }
		inch && /<source / {
			if (match($0, "path=" q "[^" q "]*" q)) path = substr($0, RSTART + 6, RLENGTH - 7)
		}
		inch && index($0, "name=" q want q) { hit = 1 }
		/<\/channel>/ { if (hit && path != "") print path; inch = 0 }'
}

# libvirt's own per-domain log lives outside the state folder: ours to delete.
forget_domain_files() { # NAME
	rm -f "$lab_dir/disks/$1.img" "$lab_dir/xml/$1.xml" /var/log/libvirt/qemu/"$1".log*
}

destroy_guest() { # NAME
	vsh destroy "$1" >/dev/null 2>&1 || {
		# Already gone is fine; anything else is worth a line.
		if vsh domstate "$1" >/dev/null 2>&1; then
			die "virsh destroy $1 failed; see /var/log/libvirt/qemu/$1.log"
		fi
	}
	forget_domain_files "$1"
}

# ---------------------------------------------------------------- guest image

# Newest Debian kernel whose modules are installed. The host may run a
# kernel of its own (no /lib/modules/$(uname -r)): never look at uname -r.
pick_kernel() {
	local k v
	shopt -s nullglob
	local kernels=(/boot/vmlinuz-*-amd64)
	shopt -u nullglob
	[ "${#kernels[@]}" -gt 0 ] || die "no Debian guest kernel /boot/vmlinuz-*-amd64; run scripts/bootstrap.sh (linux-image-amd64)"
	while read -r k; do
		v=${k#/boot/vmlinuz-}
		if [ -f "/lib/modules/$v/modules.dep" ]; then
			kernel_src=$k kver=$v
			return 0
		fi
	done < <(printf '%s\n' "${kernels[@]}" | sort -rV)
	die "no /lib/modules/<version>/modules.dep for any of ${kernels[*]}"
}

# Copies module M (plain .ko) into DEST, or returns 1 if it is built-in.
stage_module() { # M DEST
	local m=$1 dest=$2 moddir=/lib/modules/$kver rel
	# modules.dep lists every loadable module as "path: deps"; names there may
	# use - or _ interchangeably.
	rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n);
		gsub(/-/, "_", n); if (n == m) { print $1; exit } }' "$moddir/modules.dep")
	if [ -z "$rel" ]; then
		if grep -qE "/${m//_/[-_]}\.ko\$" "$moddir/modules.builtin"; then
			return 1
		fi
		die "kernel module $m is neither in $moddir/modules.dep nor in modules.builtin"
	fi
	# busybox 1.35's insmod knows no zstd, and gz/xz only when built with
	# them: hand it plain .ko files (Debian 12's kernel ships plain ones).
	case $rel in
	*.ko) cp "$moddir/$rel" "$dest" ;;
	*.ko.xz) xz -dc "$moddir/$rel" >"$dest" ;;
	*.ko.gz) gzip -dc "$moddir/$rel" >"$dest" ;;
	*.ko.zst)
		command -v zstd >/dev/null || die "$moddir/$rel is zstd-compressed; install zstd"
		zstd -qdc "$moddir/$rel" >"$dest"
		;;
	*) die "unexpected module file $moddir/$rel" ;;
	esac || die "cannot unpack $moddir/$rel"
}

# A dynamically linked probe would find no libc in the initramfs. An ELF
# interpreter is what makes a binary dynamic (ldd calls static-pie "fine" with
# exit 0 and plain static "not dynamic" with exit 1: not a usable test).
check_static() { # FILE WHAT
	command -v readelf >/dev/null || return 0 # binutils (build-essential) absent: trust it
	if LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; then
		die "$2 $1 is dynamically linked; the guest initramfs has no libc (link it -static)"
	fi
}

# Copies a dynamically linked BINARY into the initramfs STAGE at its own path, with the
# libraries and the loader ldd lists (busybox and the probe are static; mbw is not).
stage_dynamic() { # BINARY STAGE
	local f
	for f in "$1" $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$2$(dirname "$f")"
		cp -L "$f" "$2$f"
	done
}

write_init() { # FILE MODULE...
	local file=$1
	shift
	cat >"$file" <<'EOF'
#!/bin/sh
# /init of a vmscale lab guest, generated by scripts/lab.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
# An initramfs has no /dev/console node of its own: get devtmpfs first so
# every line below reaches the serial console (and the lab's console log).
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# The file-create latency probe works in /var/tmp: the initramfs root is the guest's only
# writable filesystem (the lab's disk stays raw, for the disk-read probe).
mkdir -p /var/tmp
log() { echo "vmscale-lab[$(cut -d' ' -f1 /proc/uptime)]: $*"; }
log "init started"
name=$(sed -n 's/.*vmscale\.name=\([^ ]*\).*/\1/p' /proc/cmdline)
hostname "${name:-vmscale-guest}"
EOF
	{
		echo "for m in $*; do"
		cat <<'EOF'
	insmod "/lib/modules/$m.ko" || log "insmod $m failed"
done
ip link set lo up
# slirp: the guest is 10.0.2.15, the host (and its loopback) is 10.0.2.2.
if ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2; then
	log "eth0 10.0.2.15/24 via 10.0.2.2"
else
	log "eth0 setup failed"
fi
if grep -q 'vmscale.selftest=1' /proc/cmdline; then
	log "probe self-test begins"
	/bin/vmscale-probe --once --stdout
	log "probe self-test ended with status $?"
fi
# vmscale.hostile=1 (LAB_HOSTILE=1): an attacker instead of the probe (scripts/lab-hostile.sh).
if grep -q 'vmscale.hostile=1' /proc/cmdline; then
	(
		while :; do
			log "starting vmscale-hostile"
			/bin/vmscale-hostile
			log "vmscale-hostile exited with status $?; restarting in 1 s"
			sleep 1
		done
	) &
else
	# The probe finds its port by name under /sys/class/virtio-ports itself;
	# respawn it so a crash costs one report, not the guest.
	(
		while :; do
			log "starting vmscale-probe"
			/bin/vmscale-probe
			log "vmscale-probe exited with status $?; restarting in 1 s"
			sleep 1
		done
	) &
fi
# vmscale.load=1 (LAB_LOAD=1): a steady CPU + memory load, a noisy neighbour for the other
# guests. Nice 19, so this guest's own probe (nice 0) still gets the vCPU when it runs and
# measures the host, not its own load. busybox has no nice applet: each loop renices its own
# shell first. dd's 16 MiB buffer is larger than any cache, so it streams through memory.
if grep -q 'vmscale.load=1' /proc/cmdline; then
	sh -c 'renice -n 19 -p $$ >/dev/null && exec sh -c "while :; do :; done"' &
	sh -c 'renice -n 19 -p $$ >/dev/null &&
		while :; do dd if=/dev/zero of=/dev/null bs=16M count=64 2>/dev/null; done' &
	log "load started: CPU loop and 16 MiB dd memory loop at nice 19"
fi
# vmscale.crosscheck=PORT (lab.sh crosscheck): a command loop for the host's controller,
# scripts/lab-crosscheck.py. Each call sends the last result and gets the next command.
xc_port=$(sed -n 's/.*vmscale\.crosscheck=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$xc_port" ]; then
	xc() { # COMMAND ARG...
		case $1 in
		mbw) mbw -q -n "$2" -t2 -b 1048576 "$3" ;; # the probe's copy: 1 MiB memcpy blocks
		cpu-start)
			timeout "$2" sh -c 'while :; do :; done' >/dev/null 2>&1 &
			xc_cpu=$!
			echo "cpu loop started for $2 s"
			;;
		cpu-wait) wait "$xc_cpu" ; echo "cpu loop ended" ;;
		disk)
			i=0
			while [ "$i" -lt "$2" ]; do
				sync && echo 3 >/proc/sys/vm/drop_caches
				dd if=/dev/vda of=/dev/null bs=1M
				i=$((i + 1))
			done
			dd if=/dev/zero of=/dev/vda bs=1M count="$3" conv=fsync
			;;
		thp) echo "$2" >/sys/kernel/mm/transparent_hugepage/enabled && cat /sys/kernel/mm/transparent_hugepage/enabled ;;
		tcp-tx) # wget writes the whole body at once (no NUL bytes: it sends a string)
			{ [ -f /tmp/xc.bin ] && [ "$(wc -c </tmp/xc.bin)" = "$2" ]; } ||
				dd if=/dev/zero bs="$2" count=1 2>/dev/null | tr '\0' x >/tmp/xc.bin
			wget -q -O /dev/null --post-file=/tmp/xc.bin "http://10.0.2.2:$3/"
			echo "tcp-tx status $?"
			;;
		tcp-rx) wget -q -O /dev/null "http://10.0.2.2:$2/"; echo "tcp-rx status $?" ;;
		*) echo "unknown command '$1'" ;;
		esac
	}
	(
		res=hello
		while :; do
			cmd=$(echo "$res" | nc 10.0.2.2 "$xc_port")
			if [ -z "$cmd" ]; then sleep 1; continue; fi
			[ "$cmd" != done ] || break
			log "crosscheck: $cmd"
			# A file, not $(...): cpu-start's loop must stay this shell's child.
			xc $cmd >/tmp/xc.out 2>&1
			res=$(tr '\n\t' '  ' </tmp/xc.out)
		done
		echo bye | nc 10.0.2.2 "$xc_port" >/dev/null
		log "crosscheck: done"
	) &
fi
log "userspace ready"
# PID 1 must never exit, and must reap orphans: busybox init does both. Its
# inittab offers a shell on the console (virsh console NAME) once someone
# presses Enter, so an idle console log stays free of prompts.
exec /sbin/init
EOF
	} >>"$file"
	chmod 755 "$file"
}

# Rebuilds $lab_dir/initramfs.img when the probe, the kernel or this script
# changed since it was made.
ensure_guest_image() {
	local img=$lab_dir/initramfs.img stage m loaded=() mbw_bin inputs
	# mbw (lab.sh crosscheck's independent memory figure) when installed; its presence is an input.
	mbw_bin=$(command -v mbw || true)
	inputs="kernel=$kver probe=$probe_bin mbw=${mbw_bin:-none}"
	check_static /bin/busybox busybox
	# libvirt relabels (chowns) kernel and initrd while a guest runs: give it
	# our own copy, never the file in /boot.
	if [ ! -f "$lab_dir/vmlinuz" ] || ! cmp -s "$kernel_src" "$lab_dir/vmlinuz"; then
		cp --preserve=timestamps "$kernel_src" "$lab_dir/vmlinuz.tmp"
		mv -f "$lab_dir/vmlinuz.tmp" "$lab_dir/vmlinuz"
		chmod 644 "$lab_dir/vmlinuz"
	fi
	if [ -f "$img" ] && [ "$(cat "$lab_dir/initramfs.inputs" 2>/dev/null)" = "$inputs" ] &&
		[ "$img" -nt "$probe_bin" ] && [ "$img" -nt "$kernel_src" ] && [ "$img" -nt "$self" ] &&
		[ "$img" -nt "$hostile_src" ] && { [ -z "$mbw_bin" ] || [ "$img" -nt "$mbw_bin" ]; }; then
		return 0
	fi
	say "building guest initramfs (kernel $kver, probe $probe_bin)"
	stage=$(mktemp -d "$lab_dir/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,lib/modules}
	cp /bin/busybox "$stage/bin/busybox"
	# Applet links made here, so /init can use them from its first line.
	local applet
	while read -r applet; do
		[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
	done < <(/bin/busybox --list-full)
	for m in "${guest_modules[@]}"; do
		if stage_module "$m" "$stage/lib/modules/$m.ko"; then
			loaded+=("$m")
		else
			say "  $m is built into $kver: skipped"
		fi
	done
	cp "$probe_bin" "$stage/bin/vmscale-probe"
	chmod 755 "$stage/bin/vmscale-probe"
	cp "$hostile_src" "$stage/bin/vmscale-hostile"
	chmod 755 "$stage/bin/vmscale-hostile"
	if [ -n "$mbw_bin" ]; then
		stage_dynamic "$mbw_bin" "$stage"
	fi
	write_init "$stage/init" "${loaded[@]}"
	echo '::askfirst:-/bin/sh' >"$stage/etc/inittab"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 >"$img.tmp" ||
		die "cannot write $img.tmp (cpio/gzip)"
	rm -rf "$stage"
	chmod 644 "$img.tmp"
	mv -f "$img.tmp" "$img"
	echo "$inputs" >"$lab_dir/initramfs.inputs"
	if [ -n "$(lab_guests)" ]; then
		say "note: running guests keep their old initramfs; 'lab.sh down && lab.sh up' refreshes them"
	fi
}

# ---------------------------------------------------------------- guests

# A tap without a bridge, left unconfigured in the guest: libvirt reports traffic counters for
# it (user-mode networking has none), so the per-domain network series and the rules built on
# them exist in the lab. Only the system libvirtd may create taps (CAP_NET_ADMIN): a session
# one, as tests/e2e/libvirtd_restart.sh runs, gets none.
tap_interface() {
	[ "$uri" = qemu:///system ] || return 0
	cat <<EOF
    <interface type='ethernet'>
      <model type='virtio'/>
    </interface>
EOF
}

domain_xml() { # NAME
	local n=$1
	cat <<EOF
<domain type='qemu'>
  <!-- TCG: /dev/kvm exists on the lab machines but KVM guests hang there. -->
  <name>$n</name>
  <metadata>
    <lab:lab xmlns:lab='$lab_ns' dir='$lab_dir'/>
  </metadata>
  <memory unit='MiB'>$guest_mem_mib</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$lab_dir/vmlinuz</kernel>
    <initrd>$lab_dir/initramfs.img</initrd>
    <cmdline>console=ttyS0 quiet panic=5 vmscale.name=$n${selftest:+ vmscale.selftest=1}${load:+ vmscale.load=1}${hostile:+ vmscale.hostile=1 vmscale.netio=${netio##*:}}${crosscheck:+ vmscale.crosscheck=$crosscheck}</cmdline>
  </os>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <!-- A panicking guest reboots after 5 s: end it instead of looping. -->
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$lab_dir/disks/$n.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'>
      <model type='virtio'/>
    </interface>
$(tap_interface)
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='$channel_name'/>
    </channel>
    <serial type='pty'>
      <log file='$lab_dir/console/$n.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='virtio'/>
  </devices>
</domain>
EOF
}

# Lowest number whose name no domain (ours or not) uses.
next_free_name() {
	local used i=1
	used=$(all_domains)
	while grep -qxF "$prefix$i" <<<"$used"; do
		i=$((i + 1))
	done
	echo "$prefix$i"
}

create_guest() { # NAME
	local n=$1 xml=$lab_dir/xml/$1.xml err
	truncate -s "${disk_mib}M" "$lab_dir/disks/$n.img"
	chmod 644 "$lab_dir/disks/$n.img"
	: >"$lab_dir/console/$n.log"
	domain_xml "$n" >"$xml"
	err=$(vsh create "$xml" 2>&1 >/dev/null) || {
		rm -f "$lab_dir/disks/$n.img"
		die "virsh create $n failed: $(echo "$err" | sed '/^$/d' | head -n1); see $xml and /var/log/libvirt/qemu/$n.log"
	}
}

# When each new guest's virsh create began (date +%s.%N): boot times and the boot deadline.
declare -A created_at=()

# Waits until every NAME's console shows the init's ready line.
wait_booted() { # NAME...
	local n now left=() pending guest_up t_first
	pending=("$@")
	t_first=${created_at[$1]}
	while [ "${#pending[@]}" -gt 0 ]; do
		now=$(date +%s.%N)
		left=()
		for n in "${pending[@]}"; do
			if guest_up=$(grep -m1 "\]: $ready_line" "$lab_dir/console/$n.log" 2>/dev/null); then
				guest_up=${guest_up#*[}
				say "$n reached userspace at guest uptime ${guest_up%%]*} s"
			elif ! vsh domstate "$n" 2>/dev/null | grep -q running; then
				die "$n stopped while booting; see $lab_dir/console/$n.log and /var/log/libvirt/qemu/$n.log"
			else
				left+=("$n")
			fi
		done
		pending=(${left[@]+"${left[@]}"})
		if [ "${#pending[@]}" -eq 0 ]; then
			say "$# guest(s) up $(awk -v a="$t_first" -v b="$now" 'BEGIN { printf "%.1f", b - a }') s after the first virsh create"
			break
		fi
		if awk -v a="$t_first" -v b="$now" -v w="$boot_wait" 'BEGIN { exit !(b - a > w) }'; then
			die "${pending[*]} did not reach userspace within ${boot_wait} s; see $lab_dir/console/${pending[0]}.log"
		fi
		sleep 0.2
	done
}

start_guests() { # COUNT
	local count=$1 names=() n
	[ "$count" -gt 0 ] || return 0
	for ((; count > 0; count--)); do
		n=$(next_free_name)
		created_at[$n]=$(date +%s.%N)
		create_guest "$n"
		say "started $n (virsh create took $(awk -v a="${created_at[$n]}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s)"
		names+=("$n")
	done
	wait_booted "${names[@]}"
}

# ---------------------------------------------------------------- daemon

# Path, inode, mtime, size, address: a rebuilt binary or a new address restarts it.
# QEMU serves each probe channel to one client: the lab's daemon claims only the lab's guests,
# so another vmscaled (another lab, the end-to-end test) can watch its own on the same host.
daemon_args=(--connect "$uri" --listen "$listen" --probe-domains "^${prefix}[0-9]+\$"
	--state-dir "$lab_dir/state" --control-socket "$lab_dir/control.sock"
	--netio-listen "$netio" --netio-guest-address 10.0.2.2 "${extra_daemon_args[@]}")
if [ "$lxc" != 0 ]; then
	# The containers: a second connection, and their names among the claimed ones.
	daemon_args=(--connect "$uri" --connect lxc:///system --listen "$listen"
		--probe-domains "^${prefix}(ct)?[0-9]+\$" "${daemon_args[@]:6}")
fi
daemon_stamp() { echo "$daemon_bin $(stat -L -c '%i %Y %s' "$daemon_bin") ${daemon_args[*]}"; }

metrics_answer() { curl -sf -o /dev/null --max-time 3 "http://$listen/metrics"; }

stop_daemon() {
	local pid
	if pid=$(recorded_pid "$lab_dir/vmscaled.pid"); then
		say "stopping vmscaled (pid $pid)"
		stop_pid "$pid" vmscaled
	fi
	rm -f "$lab_dir/vmscaled.pid" "$lab_dir/vmscaled.stamp"
}

ensure_daemon() {
	local pid log=$lab_dir/vmscaled.log i
	if [ "$no_daemon" = 1 ]; then
		say "LAB_NO_DAEMON=1: not starting vmscaled"
		return 0
	fi
	if pid=$(recorded_pid "$lab_dir/vmscaled.pid"); then
		if [ "$(cat "$lab_dir/vmscaled.stamp" 2>/dev/null)" = "$(daemon_stamp)" ]; then
			say "vmscaled already running (pid $pid)"
		else
			say "vmscaled binary or arguments changed: restarting it"
			stop_daemon
		fi
	fi
	if ! recorded_pid "$lab_dir/vmscaled.pid" >/dev/null; then
		if metrics_answer; then
			die "something else already answers on http://$listen/metrics; set LAB_LISTEN to a free address"
		fi
		echo "=== $(date -Is) lab.sh: $daemon_bin ${daemon_args[*]}" >>"$log"
		# setsid: the daemon must outlive this script and ignore the terminal's ^C.
		# 9>&-: nor the lab's lock.
		setsid "$daemon_bin" "${daemon_args[@]}" </dev/null >>"$log" 2>&1 9>&- &
		pid=$!
		record_pid "$lab_dir/vmscaled.pid" "$pid"
		daemon_stamp >"$lab_dir/vmscaled.stamp"
		say "started vmscaled (pid $pid)"
	fi
	for ((i = 0; i < daemon_wait * 5; i++)); do
		if metrics_answer; then
			return 0
		fi
		if ! recorded_pid "$lab_dir/vmscaled.pid" >/dev/null; then
			tail -n 5 "$log" >&2
			die "vmscaled exited; see $log"
		fi
		sleep 0.2
	done
	die "vmscaled does not answer http://$listen/metrics after ${daemon_wait} s; see $log"
}

# ---------------------------------------------------------------- commands

# Everything cheap to check is checked before anything is started.
prepare() {
	need_root "$1"
	lab_lock
	check_qemu_can_read "$lab_dir"
	run_bootstrap
	ensure_built
	[ -x "$probe_bin" ] || die "no probe binary $probe_bin (build vmscale, or set VMSCALE_PROBE)"
	check_static "$probe_bin" probe
	if [ "$no_daemon" != 1 ]; then
		[ -x "$daemon_bin" ] || die "no daemon binary $daemon_bin (build vmscale, or set VMSCALE_DAEMON)"
	fi
	pick_kernel
	ensure_libvirt
	ensure_guest_image
	check_qemu_can_read "$lab_dir/vmlinuz" "$lab_dir/initramfs.img"
}

where_to_look() {
	local guests
	guests=$(lab_guests | tr '\n' ' ')
	say "guests: ${guests:-none}"
	if [ "$no_daemon" != 1 ]; then
		say "metrics:  http://$listen/metrics"
		say "landing:  http://$listen/"
		say "log:      $lab_dir/vmscaled.log"
		say "control:  $(dirname "$daemon_bin")/vmscalectl -s $lab_dir/control.sock baseline list"
	fi
	say "consoles: $lab_dir/console/NAME.log (a shell: virsh -c $uri console NAME, leave with ^])"
	say "status:   $self status"
}

cmd_up() {
	local want=${1:-3} have mem_avail_mib
	[[ $want =~ ^[0-9]+$ ]] || die "up: N must be a number, not '$want'"
	prepare up
	have=$(lab_guests | grep -c . || true)
	if [ "$have" -lt "$want" ]; then
		# A TCG guest's QEMU takes 220-300 MiB (translation cache); warn early.
		mem_avail_mib=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
		if [ $(((want - have) * 320)) -gt "$mem_avail_mib" ]; then
			warn "$((want - have)) more guests need about $(((want - have) * 320)) MiB; only $mem_avail_mib MiB available"
		fi
		say "$have lab guests running; starting $((want - have))"
		start_guests $((want - have))
	elif [ "$have" -gt "$want" ]; then
		say "$have lab guests already run (more than $want); 'lab.sh remove NAME' stops one"
	else
		say "$have lab guests already running"
	fi
	if [ "$lxc" != 0 ]; then
		start_containers "$lxc"
	fi
	ensure_daemon
	where_to_look
}

cmd_add() {
	prepare add
	start_guests 1
	ensure_daemon
	where_to_look
}

cmd_remove() {
	local n=${1:-}
	[ -n "$n" ] || die "remove: which guest? (lab.sh status lists them)"
	need_root remove
	[[ $n =~ ^${prefix}[0-9]+$ ]] || die "remove: '$n' is not a lab guest name (${prefix}N)"
	libvirt_answers || die "remove: libvirtd does not answer on $uri"
	vsh domstate "$n" >/dev/null 2>&1 || die "remove: no domain named $n"
	is_ours "$n" || die "remove: $n was not created by this lab (state folder $lab_dir); leaving it alone"
	lab_lock
	destroy_guest "$n"
	say "removed $n"
}

# Stops a libvirt daemon only if this lab started it (and it is still that process).
stop_started() { # NAME
	local pid
	if pid=$(recorded_pid "$lab_dir/started-$1"); then
		say "stopping $1 (pid $pid, started by lab.sh)"
		stop_pid "$pid" "$1"
	fi
	rm -f "$lab_dir/started-$1"
}

cmd_down() {
	local purge=0 n others keep=()
	case ${1:-} in
	--purge) purge=1 ;;
	'') ;;
	*) die "down: unknown option '$1' (only --purge)" ;;
	esac
	need_root down
	if [ ! -d "$lab_dir" ]; then
		say "no state folder $lab_dir: nothing to take down"
		return 0
	fi
	# Never empty a folder this script did not make (LAB_DIR=/tmp would hurt).
	[ -e "$lab_dir/$marker" ] || die "down: $lab_dir has no $marker file: not a lab state folder, not touching it"
	lab_lock
	for n in $(lab_guests); do
		destroy_guest "$n"
		say "destroyed $n"
	done
	stop_containers
	stop_daemon
	if [ -f "$lab_dir/started-libvirtd" ] || [ -f "$lab_dir/started-virtlogd" ]; then
		others=""
		if libvirt_answers; then
			others=$(vsh list --name | sed '/^$/d' | paste -sd' ')
		fi
		if [ -n "$others" ]; then
			# Stopping libvirtd would orphan someone else's guests. Keep the
			# records, so a later `down` stops what this lab started.
			say "leaving libvirtd/virtlogd running: other domains still run ($others); 'lab.sh down' again stops them once those are gone"
			keep=(! -name started-libvirtd ! -name started-virtlogd ! -name started-polkitd
				! -name started-dbus-daemon)
		else
			stop_started libvirtd
			stop_started virtlogd
			stop_started polkitd
			stop_started dbus-daemon
		fi
	fi
	# The experiment's results are the operator's data, not the lab's machinery: only --purge
	# deletes them.
	if [ "$purge" = 0 ] && [ -d "$lab_dir/experiment" ]; then
		keep+=(! -name experiment)
	fi
	# Everything but the state folder itself (and the lock we hold).
	find "$lab_dir" -mindepth 1 -maxdepth 1 ! -name .lock ! -name "$marker" ${keep[@]+"${keep[@]}"} -exec rm -rf {} +
	if [ "$purge" = 1 ]; then
		if [ "${#keep[@]}" -gt 0 ]; then
			say "note: libvirtd/virtlogd, started by this lab, keep running for the other domains"
		fi
		rm -rf "$lab_dir"
		say "down: removed $lab_dir"
	elif [ -d "$lab_dir/experiment" ]; then
		say "down: lab stopped; $lab_dir keeps its marker and the experiment's results in $lab_dir/experiment (down --purge removes them)"
	else
		say "down: lab stopped; $lab_dir holds only its marker (down --purge removes it)"
	fi
}

cmd_status() {
	local pid n state sock m line
	if pid=$(live_pid libvirtd); then
		line="libvirtd: running (pid $pid"
		if [ "$(recorded_pid "$lab_dir/started-libvirtd" || true)" = "$pid" ]; then line+=", started by lab.sh"; fi
		if libvirt_answers; then line+="), $uri answers"; else line+="), $uri does NOT answer"; fi
		echo "$line"
	elif libvirt_answers; then
		echo "libvirtd: $uri answers (socket-activated)"
	else
		echo "libvirtd: not running"
	fi
	echo "guests (prefix $prefix, state folder $lab_dir):"
	if libvirt_answers; then
		n=0
		while read -r m; do
			[ -n "$m" ] || continue
			n=$((n + 1))
			state=$(vsh domstate "$m" 2>/dev/null || echo unknown)
			sock=$(channel_path "$m")
			printf '  %-10s %-9s channel %s\n' "$m" "$state" "${sock:-(none)}"
		done < <(lab_guests)
		[ "$n" -gt 0 ] || echo "  (none)"
		# Same prefix, other owner: worth knowing, not ours to touch.
		for m in $(all_domains | grep -E "^${prefix}[0-9]+\$" || true); do
			if ! is_ours "$m"; then echo "  $m: not from this state folder (left alone)"; fi
		done
	else
		echo "  (unknown: $uri does not answer)"
	fi
	for m in $(lab_containers); do
		printf '  %-10s %-9s socket %s\n' "$m" container "$lab_dir/lxc/$m/probe.sock"
	done
	if pid=$(recorded_pid "$lab_dir/vmscaled.pid"); then
		echo "vmscaled: running (pid $pid), listen $listen, log $lab_dir/vmscaled.log"
	else
		echo "vmscaled: not running (from this lab)"
	fi
	if m=$(curl -sf --max-time 3 "http://$listen/metrics" 2>/dev/null); then
		echo "metrics: $(awk '
			/^vmscale_domains_running[ {]/ { r = "vmscale_domains_running=" $NF }
			/^vmscale_probe_up\{/ {
				d = $0; sub(/.*domain="/, "", d); sub(/".*/, "", d)
				p = p " " d "=" $NF
			}
			END { print (r ? r : "vmscale_domains_running=?") "  vmscale_probe_up:" (p ? p : " (none)") }' <<<"$m")"
	else
		echo "metrics: http://$listen/metrics not reachable"
	fi
}

# ---------------------------------------------------------------- metrics

# prom_value FILE METRIC [LABEL="VALUE"...]: the first sample of METRIC carrying all the given
# labels (in any order, among others); empty when there is none.
prom_value() {
	local file=$1 metric=$2
	shift 2
	awk -v m="$metric" -v want="$*" -f "$repo/scripts/prom-value.awk" "$file"
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case $cmd in
	-h | --help | help)
		usage
		return 0
		;;
	'')
		usage >&2
		exit 2
		;;
	esac
	check_settings
	case $cmd in
	up) cmd_up "$@" ;;
	add) cmd_add ;;
	remove) cmd_remove "$@" ;;
	status) cmd_status ;;
	experiment) cmd_experiment "$@" ;;
	crosscheck) cmd_crosscheck "$@" ;;
	down) cmd_down "$@" ;;
	*) die "unknown command '$cmd' (see $prog --help)" ;;
	esac
}

# Sourced (by a test, for its functions): define everything, run nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
