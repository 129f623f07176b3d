#!/bin/sh
# vmscale-hostile — what a lab guest booted with LAB_HOSTILE=1 runs instead of vmscale-probe.
#
# scripts/lab.sh copies this busybox sh script into every guest's initramfs as
# /bin/vmscale-hostile; /init starts it when the kernel command line has vmscale.hostile=1.
# It attacks vmscaled the way a guest's root could (docs/security.md): through its own
# virtio-serial port it sends garbage and oversized lines, says hello over and over, lies
# with absurd values (2^64-1 ticks, a run of 2^64-1 operations in 1 ns), floods well-formed
# records as fast as the host takes them and opens and closes the port in a storm; on the
# network it holds connections to the host's network-probe responder and sends it garbage.
#
# It must not eat the host's CPU itself (a TCG vCPU is a host thread): the flood blocks on the
# port once the host stops reading (back-pressure), and every loop without I/O sleeps.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
readonly max=18446744073709551615
readonly channel=org.vmscale.probe.0

log() { echo "vmscale-hostile[$(cut -d' ' -f1 /proc/uptime)]: $*"; }

find_port() {
	for n in /sys/class/virtio-ports/*/name; do
		if [ "$(cat "$n" 2>/dev/null)" = "$channel" ]; then
			p=${n%/name}
			echo "/dev/${p##*/}"
			return 0
		fi
	done
	return 1
}

mono_ns() { awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime; }

hello() { echo "hello proto=1 probe=6.6.6 caps=cpu,disk,cpu_work,memory,disk_read,network,micro"; }

# ------------------------------------------------------------------ the channel

# Lines that break every rule of the record grammar, then lines over the 1 KiB bound.
garbage() {
	hello
	i=0
	while [ "$i" -lt 50 ]; do
		echo "garbage $i !@#%^&*() === \\ \"quoted\""
		echo "cpu seq=x mono_ns=-1"
		echo "cpu seq=$((i + 1)) seq=$((i + 1))"
		echo "nosuchtype seq=$((i + 100)) a=1"
		echo "cpu seq=$((i + 200)) mono_ns=1 hz=100 user=123456789012345678901234567890"
		printf 'cpu seq=1\001\002\377 nul\n'
		i=$((i + 1))
	done
	head -c 4096 /dev/zero | tr '\0' A
	echo
	head -c 262144 /dev/zero | tr '\0' B
	echo
}

# A hello, then counters of 2^64-1 since boot, a cost of 2^64-1 ns and a disk that read
# 2^64-1 sectors: all beyond what the guest could do.
lies() {
	now=$(mono_ns)
	hello
	echo "cpu seq=1 mono_ns=$now real_ns=$(date +%s)000000000 hz=100 ncpu=1 user=$max nice=0 system=$max idle=$max iowait=0 irq=0 softirq=0 steal=0 guest=0 guest_nice=0"
	echo "cost seq=2 mono_ns=$now cpu=$max disk=0 cpu_work=0 memory=0 disk_read=0 network=0 micro=$max other=$max"
	echo "disk seq=3 mono_ns=$now dev=vda reads=$max read_merges=0 read_sectors=$max read_ms=0 writes=0 write_merges=0 write_sectors=0 write_ms=0 in_flight=$max io_ms=$max weighted_io_ms=0"
	echo "cpu seq=4 mono_ns=$((now + 1000)) real_ns=$(date +%s)000000000 hz=7 ncpu=4096 user=$max nice=$max system=$max idle=$max"
}

# For SECONDS: honest-looking cpu reports once a second (the guest's real /proc/stat), and
# every run the host grants answered at once with a sample of 2^64-1 operations in 1 ns.
runs() { # SECONDS
	end=$(($(cut -d. -f1 /proc/uptime) + $1))
	seq=1
	exec 3<>"$port" || return 0
	hello >&3
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		now=$(mono_ns)
		# shellcheck disable=SC2046 # the counters, one word each
		set -- $(sed -n 's/^cpu  *//p' /proc/stat)
		echo "cpu seq=$seq mono_ns=$now real_ns=$(date +%s)000000000 hz=100 ncpu=1 user=$1 nice=$2 system=$3 idle=$4 iowait=$5 irq=$6 softirq=$7 steal=$8 guest=0 guest_nice=0" >&3
		seq=$((seq + 1))
		# shellcheck disable=SC3045 # busybox ash has read -t
		while read -t 1 -r line <&3; do
			case $line in
			run\ *) ;;
			*) continue ;;
			esac
			id=${line#*id=}
			id=${id%% *}
			probe=${line#*probe=}
			probe=${probe%% *}
			case $probe in
			cpu_work) op="op=work ops=$max" ;;
			memory) op="op=copy ops=$max bytes=$max" ;;
			disk_read) op="op=read ops=$max bytes=$max" ;;
			network) op="op=send block=1024 ops=$max bytes=$max" ;;
			*) op="op=fork_exit ops=$max" ;;
			esac
			now=$(mono_ns)
			echo "sample seq=$seq id=$id probe=$probe $op start_ns=$now end_ns=$((now + 1))" >&3
			echo "done seq=$((seq + 1)) id=$id probe=$probe start_ns=$now end_ns=$((now + 1)) mono_ns=$((now + 2))" >&3
			seq=$((seq + 2))
			log "answered $line with 2^64-1 ops in 1 ns"
		done
	done
	exec 3>&-
}

# For SECONDS: well-formed cpu records with a growing seq, as fast as the port takes them.
# awk's writes block as soon as the host stops reading: the guest then sleeps in write(2).
flood() { # SECONDS
	now=$(mono_ns)
	awk -v now="$now" 'BEGIN {
		print "hello proto=1 probe=6.6.6 caps=cpu,disk"
		for (i = 1; ; i++)
			printf "cpu seq=%d mono_ns=%s real_ns=1 hz=100 ncpu=1 user=1 nice=0 system=1 idle=1 iowait=0 irq=0 softirq=0 steal=0 guest=0 guest_nice=0\n", i, now
	}' >"$port" 2>/dev/null &
	pid=$!
	sleep "$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# COUNT times: open the port, say hello, close it.
storm() { # COUNT
	i=0
	while [ "$i" -lt "$1" ]; do
		hello >"$port"
		i=$((i + 1))
		usleep 50000
	done
}

# ------------------------------------------------------------------ the network

# Holds one responder connection without a request until the host closes it, again and again.
hold() { # PORT
	while :; do
		sleep 3 | nc 10.0.2.2 "$1" >/dev/null 2>&1
		usleep 200000
	done
}

# Requests with a token nobody granted, a bad syntax and an overlong line.
netio_garbage() { # PORT
	while :; do
		echo "netio proto=1 token=00000000000000000000000000000000 dir=recv block=1024 bytes=$max" |
			timeout 3 nc 10.0.2.2 "$1" >/dev/null 2>&1
		echo "GET / HTTP/1.0" | timeout 3 nc 10.0.2.2 "$1" >/dev/null 2>&1
		head -c 2048 /dev/zero | tr '\0' N | timeout 3 nc 10.0.2.2 "$1" >/dev/null 2>&1
		sleep 1
	done
}

# ------------------------------------------------------------------ main

port=
while ! port=$(find_port); do
	log "no virtio port named $channel yet"
	sleep 1
done
netio_port=$(sed -n 's/.*vmscale\.netio=\([0-9]*\).*/\1/p' /proc/cmdline)
log "attacking through $port and the responder at 10.0.2.2:${netio_port:-?}"
if [ -n "$netio_port" ]; then
	for i in 1 2 3 4; do
		hold "$netio_port" &
	done
	netio_garbage "$netio_port" &
fi
round=0
while :; do
	round=$((round + 1))
	log "round $round: garbage"
	garbage >"$port"
	log "round $round: lies"
	lies >"$port"
	log "round $round: runs"
	runs 15
	log "round $round: flood"
	flood 20
	log "round $round: reconnect storm"
	storm 100
done
