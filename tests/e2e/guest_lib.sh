# Shared by the end-to-end tests that boot one Debian guest of their own beside a vmscaled of
# their own (probe_systemd_guest.sh, agentless_guest.sh): the run's folder, scripts/lab.sh's
# functions on it, the teardown and the failure report. Source tests/e2e/lib.sh and
# tests/e2e/lab_lib.sh first; the caller sets `lab`, `prefix`, `name` and `build`.

# The run's folder T (kernel, initrd and disk: QEMU's user reads them), the lab layout in it,
# the listen address, the scrape and console files. TAG names the folder.
guest_setup() { # TAG
	T=$(mktemp -d "/var/tmp/vmscale-$1.XXXXXX")
	chmod 755 "$T"
	mkdir -p "$T/lab/disks" "$T/lab/console" "$T/lab/xml"
	LAB_LISTEN=127.0.0.1:$(free_port)
	scrape=$T/scrape
	console=$T/lab/console/$name.log
	daemon_pid=
}

# One of scripts/lab.sh's functions (libvirt daemons, domain XML, teardown) on our folder.
lab_fn() {
	(
		export LAB_DIR=$T/lab LAB_PREFIX=$prefix VMSCALE_BUILD_DIR=$build
		# shellcheck source=scripts/lab.sh
		. "$lab"
		trap - ERR
		"$@"
	)
}

# The EXIT trap: our guest (and its definition, if it was defined), our vmscaled, and
# libvirtd and virtlogd only if this test started them and nobody else has domains.
guest_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if virsh -q -c qemu:///system domstate "$name" >/dev/null 2>&1 && lab_fn is_ours "$name"; then
		lab_fn destroy_guest "$name" || rc=1
		virsh -q -c qemu:///system undefine "$name" >/dev/null 2>&1 || true
	fi
	[ -z "$daemon_pid" ] || lab_fn stop_pid "$daemon_pid" vmscaled
	if [ -z "$(virsh -q -c qemu:///system list --name 2>/dev/null | sed '/^$/d')" ]; then
		lab_fn stop_started libvirtd
		lab_fn stop_started virtlogd
	fi
	rm -rf "$T"
	exit "$rc"
}

# A failure: MESSAGE, the last scrape's series matching SERIES (an ERE), vmscaled's log and
# the console's last LINES lines; exits 1.
guest_fail() { # MESSAGE SERIES LINES
	echo "not ok - $1"
	echo "# ---- last scrape (series of $name matching $2)"
	grep -E "$2" "$scrape" 2>/dev/null | sed 's/^/# /' || echo "# (none)"
	echo "# ---- vmscaled log"
	sed 's/^/# /' "$T/vmscaled.log" 2>/dev/null || echo "# (none)"
	echo "# ---- last $3 lines of the console"
	tail -n "$3" "$console" 2>/dev/null | tr -d '\033\r' | sed 's/^/# /' || echo "# (none)"
	exit 1
}
