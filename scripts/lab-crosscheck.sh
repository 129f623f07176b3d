# lab-crosscheck.sh — `lab.sh crosscheck` (issue 15, item 5), sourced by scripts/lab.sh; not run alone.
#
# Boots one dedicated guest with vmscale.crosscheck=PORT: its /init runs a command loop that
# asks the host's controller (scripts/lab-crosscheck.py, listening on PORT) for one command
# at a time over slirp. The controller reads vmscaled's /metrics and `virsh domstats` around
# each phase and prints vmscale's figures beside independent ones:
#   memory   the probe's copy samples      vs mbw -t2 -b 1M (memcpy in 1 MiB blocks, the
#                                             probe's own method) over 16 MiB arrays
#   cpu      the guest's non-idle seconds  vs the host's vcpu.0.time, report to report
#   disk     the guest's diskstats bytes   vs the host's block.N.{rd,wr}.bytes
#   network  the probe's TCP throughput    vs a plain TCP transfer of the same size (wget)
# Only the memory check has a numeric target (+-15 %): it sets the exit status.

readonly xc_py=$repo/scripts/lab-crosscheck.py
# Only the probes the checks compare, often: memory every 5 s, network every 10 s (one run
# at a time host-wide, so the two never overlap); the others off, so nothing else runs beside
# mbw or the plain transfers in the guest. LAB_DAEMON_ARGS still override these.
readonly xc_daemon_args=(--probe-memory-interval 5s --probe-network-interval 10s
	--probe-cpu-work-interval off --probe-disk-read-interval off --probe-micro-interval off)

# The controller's port: it binds first and writes it to FILE.
xc_wait_port() { # FILE PID
	local i
	for ((i = 0; i < 50; i++)); do
		if [ -s "$1" ]; then
			cat "$1"
			return 0
		fi
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

cmd_crosscheck() {
	local n portfile rc=0
	[ $# -eq 0 ] || die "crosscheck: takes no arguments"
	[ "$no_daemon" != 1 ] || die "crosscheck: reads vmscaled's /metrics; unset LAB_NO_DAEMON"
	command -v python3 >/dev/null || die "crosscheck: needs python3 (scripts/bootstrap.sh installs it)"
	daemon_args=("${daemon_args[@]:0:${#daemon_args[@]}-${#extra_daemon_args[@]}}"
		"${xc_daemon_args[@]}" ${extra_daemon_args[@]+"${extra_daemon_args[@]}"})
	prepare crosscheck
	grep -q ' mbw=/' "$lab_dir/initramfs.inputs" ||
		die "crosscheck: no mbw on this host for the guest image; scripts/bootstrap.sh installs it"
	[ -z "$(lab_guests)" ] ||
		die "crosscheck: the lab already runs guests ($(lab_guests | paste -sd' ')); 'lab.sh down' first"
	ensure_daemon
	n=$(next_free_name)
	portfile=$lab_dir/crosscheck.port
	rm -f "$portfile"
	python3 "$xc_py" --listen "$listen" --domain "$n" --uri "$uri" --port-file "$portfile" 9>&- &
	xc_pid=$!
	# A boot that fails (die) must not leave the controller waiting for a guest.
	trap 'kill "$xc_pid" 2>/dev/null || true' EXIT
	crosscheck=$(xc_wait_port "$portfile" "$xc_pid") || die "crosscheck: the controller did not start"
	say "crosscheck: booting $n (controller on 127.0.0.1:$crosscheck, guests reach it at 10.0.2.2)"
	created_at[$n]=$(date +%s.%N)
	create_guest "$n"
	wait_booted "$n"
	wait "$xc_pid" || rc=$?
	trap - EXIT
	destroy_guest "$n"
	say "crosscheck: destroyed $n; vmscaled keeps running ('$prog down' stops it)"
	case $rc in
	0) say "crosscheck: every row present, memory copy within +-15 % of mbw" ;;
	1) warn "crosscheck: a row is missing or the memory copy is outside +-15 % of mbw" ;;
	*) warn "crosscheck: nothing compared; see $lab_dir/console/$n.log and $lab_dir/vmscaled.log" ;;
	esac
	exit "$rc"
}
