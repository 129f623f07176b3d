# Shared by the end-to-end tests that run a private lab (scripts/lab.sh) of real TCG guests:
# the preconditions, the lab's settings, its teardown, and reading vmscaled's /metrics.
# Source tests/e2e/lib.sh first. The caller sets `repo` (the checkout), `prefix` (its
# guests' name prefix) and `build` (the build folder), then calls lab_prepare; its `fail`
# prints the evidence and exits 1.

# ctest, sudo and CI shells do not always give root the sbin directories.
PATH=$PATH:/usr/sbin:/sbin

lab_preconditions() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: the lab runs guests on qemu:///system"
	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (scripts/bootstrap.sh installs qemu-system-x86)"
	command -v libvirtd >/dev/null || skip "no libvirtd (scripts/bootstrap.sh installs libvirt-daemon-system)"
	local bin pid args
	for bin in "$build/daemon/vmscaled" "$build/probes/vmscale-probe"; do
		[ -x "$bin" ] || {
			echo "not ok - no $bin: build BUILD_DIR first"
			exit 1
		}
	done
	# QEMU serves each channel socket to one client at a time; a vmscaled on qemu:///system
	# that claims every domain would take our guests' channels first.
	for pid in $(pgrep -x vmscaled || true); do
		args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
		args=${args% }
		[ -n "$args" ] || continue # a zombie
		case $args in *test:///* | *--probe-domains* | *" -p "*) continue ;; esac
		! conf_limits_probes "$pid" "$args" || continue
		echo "not ok - another vmscaled (pid $pid: $args) claims every probe channel on" \
			"qemu:///system, the test guests' included (one client per channel); restart it" \
			"with --probe-domains, or stop it, and rerun"
		exit 1
	done
}

# True when the config file of vmscaled PID (--config FILE, else the packaged default, seen
# from its own root: it may run in a container) sets probe-domains.
conf_limits_probes() { # PID ARGS
	local conf=/etc/vmscale/vmscaled.conf
	case " $2 " in *" --config "*) conf=${2#* --config } conf=${conf%% *} ;; esac
	grep -qE '^[[:space:]]*probe-domains[[:space:]]' "/proc/$1/root$conf" 2>/dev/null
}

# Our own lab, apart from any lab already running on this host; LAB_DAEMON_ARGS from the
# arguments. Both binaries pinned: lab.sh would otherwise rebuild BUILD_DIR when a source is
# newer.
lab_prepare() { # DAEMON_ARG...
	LAB_DIR=$(mktemp -d "/var/tmp/vmscale-$prefix.XXXXXX")
	LAB_LISTEN=127.0.0.1:$(free_port)
	LAB_NETIO=127.0.0.1:$(free_port)
	LAB_DAEMON_ARGS="$*"
	export LAB_DIR LAB_LISTEN LAB_NETIO LAB_DAEMON_ARGS LAB_PREFIX=$prefix VMSCALE_BUILD_DIR=$build \
		VMSCALE_DAEMON=$build/daemon/vmscaled VMSCALE_PROBE=$build/probes/vmscale-probe
	unset LAB_NO_DAEMON LAB_SELFTEST LAB_LOAD LAB_HOSTILE
	scrape=$LAB_DIR.scrape
	daemon_pid=
	lab_extra_cleanup=:
	trap lab_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Takes the lab down whatever happened, and checks that nothing is left behind.
lab_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	$lab_extra_cleanup
	echo "# lab.sh down --purge"
	if ! "$lab" down --purge 2>&1 | sed 's/^/#   /'; then
		echo "not ok - lab.sh down --purge failed; $LAB_DIR may be left behind"
		rc=1
	else
		# An aborted `up` may not have marked the folder as a lab: mktemp's is empty then.
		rmdir "$LAB_DIR" 2>/dev/null || true
		if virsh -q -c qemu:///system list --name 2>/dev/null | grep -qE "^${prefix}[0-9]+\$"; then
			echo "not ok - ${prefix} domains still run after down"
			rc=1
		elif [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null &&
			[ "$(awk '{ print $3 }' "/proc/$daemon_pid/stat" 2>/dev/null)" != Z ]; then
			echo "not ok - vmscaled (pid $daemon_pid) still runs after down"
			rc=1
		elif [ -e "$LAB_DIR" ]; then
			echo "not ok - $LAB_DIR still exists after down --purge"
			rc=1
		elif [ "$rc" -eq 0 ]; then
			ok "down: no ${prefix} domains, vmscaled stopped, $LAB_DIR removed"
		fi
	fi
	rm -f "$scrape" "$scrape.new"
	exit "$rc"
}

# vmscaled's log and the last LINES (10) of every console: what a failure report needs.
lab_evidence() { # [LINES]
	local f lines=${1:-10}
	echo "# ---- $LAB_DIR/vmscaled.log"
	sed 's/^/# /' "$LAB_DIR/vmscaled.log" 2>/dev/null || echo "# (none)"
	for f in "$LAB_DIR"/console/*.log; do
		[ -e "$f" ] || continue
		echo "# ---- last lines of $f"
		tail -n "$lines" "$f" | tr -d '\033\r' | sed 's/^/# /'
	done
}

get_metrics() { curl -sf --max-time 5 "http://$LAB_LISTEN/metrics" >"$scrape.new" && mv "$scrape.new" "$scrape"; }

# value METRIC [LABEL="VALUE"...]: the first sample of METRIC carrying all the given labels
# (in any order, among others), from the last scrape; empty when there is none.
value() {
	local metric=$1
	shift
	awk -v m="$metric" -v want="$*" -f "$repo/scripts/prom-value.awk" "$scrape" 2>/dev/null
}

num_eq() { [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'; }
num_gt() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }
num_lt() { [ -n "$1" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# Running domains that are not ours: N_up counts them too.
others() { virsh -q -c qemu:///system list --name | sed '/^$/d' | grep -cvE "^${prefix}[0-9]+\$" || true; }

# until_metrics SECONDS WHAT COMMAND...: scrapes every second until COMMAND holds, or fails.
until_metrics() {
	local wait=$1 what=$2 deadline=$((SECONDS + $1))
	shift 2
	until get_metrics && "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "$what: not within $wait s"
		sleep 1
	done
}
