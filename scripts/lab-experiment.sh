# lab-experiment.sh — `lab.sh experiment`, seed 001 live; sourced by scripts/lab.sh, not run alone.
# shellcheck shell=bash disable=SC2154 # lab.sh, which sources this file, sets listen, prefix, lab_dir, ...
#
# The first guest's probe values while loaded guests join one at a time (N_up = 1..N) and leave
# again, in LAB_REPEATS passes that alternate up and down (1..N, N..1, 1..N): every level is
# held once per pass, so each has LAB_REPEATS visits, and a drift of the machine over the run
# does not line up with N_up. The table (scripts/experiment-stats.awk) gives each level's mean
# over its visits with a 95 % interval, and seed 001's two fits of the CPU-work elapsed time
# with residuals; the plot is scripts/experiment-svg.awk's.

# The probes the table reports: the per-run gauge (metric|labels) and the family whose run
# end time dates a sample.
readonly exp_probes=(cpu_work memory_copy disk_read network_transmit network_receive fork_exit)
declare -A exp_series=(
	[cpu_work]='vmscale_probe_cpu_work_units_per_second|'
	[memory_copy]='vmscale_probe_memory_bandwidth_bytes_per_second|op="copy"'
	[disk_read]='vmscale_probe_disk_read_bytes_per_second|'
	[network_transmit]='vmscale_probe_network_throughput_bytes_per_second|direction="transmit"'
	[network_receive]='vmscale_probe_network_throughput_bytes_per_second|direction="receive"'
	[fork_exit]='vmscale_probe_latency_seconds|op="fork_exit"'
)
declare -A exp_family=([cpu_work]=cpu_work [memory_copy]=memory [disk_read]=disk_read
	[network_transmit]=network [network_receive]=network [fork_exit]=micro)

# Active probes often enough for several samples per level. With concurrency 1 the host runs
# one guest's run at a time and keeps 0.5 s quiet after each (daemon/probesched.c), so a run
# costs its length + 0.5 s of the host-wide schedule. Runs measured with 6 loaded TCG guests
# on 2 CPUs: cpu_work 0.3-0.45 s, memory 0.4-0.6, disk_read 0.1, micro 0.4-0.5, network
# 0.9-2: a guest needs 3 x 0.9 + 4.5 = 7 s of schedule per 15 s, six guests 43 s per 15 s,
# three times what one slot serves. The quiet gap follows every finish, host-wide, so slots
# fill in batches (a batch lasts its longest run + 0.5 s): 3 slots still fell behind from
# N_up 4 on (vmscale_probe_runs_delayed_total 145 by N_up 6, cpu_work every ~10 s instead of
# 5 s); one slot per guest of the default N comes closest (30 delayed by N_up 6, cpu_work
# every ~5 s). Runs of different guests overlap then, which matters little when every guest
# is loaded anyway.
# CPU work is ten times the default (about 100 ms on an idle core): a run much shorter than a
# scheduler slice measures the wake-up bonus a mostly idle vCPU thread gets, not its share.
readonly exp_cpu_units=1720000
readonly exp_daemon_args=(--probe-cpu-work-interval 5s --probe-cpu-work-units "$exp_cpu_units"
	--probe-memory-interval 15s
	--probe-disk-read-interval 15s --probe-network-interval 15s --probe-micro-interval 15s
	--probe-active-concurrency 6)

# Samples from one scrape: "probe run_end value" for every probe of DOMAIN whose family's
# latest run ended after SINCE (unix s). The network series of the largest block.
exp_samples() { # SCRAPE DOMAIN SINCE
	local p metric labels fam end v
	declare -A ends=()
	for p in "${exp_probes[@]}"; do
		fam=${exp_family[$p]}
		[ -n "${ends[$fam]+x}" ] || ends[$fam]=$(prom_value "$1" vmscale_probe_run_end_timestamp_seconds \
			"domain=\"$2\"" "family=\"$fam\"")
		end=${ends[$fam]}
		if [ -z "$end" ] || ! awk -v e="$end" -v s="$3" 'BEGIN { exit !(e > s) }'; then continue; fi
		metric=${exp_series[$p]%%|*} labels=${exp_series[$p]#*|}
		if [ "$fam" = network ]; then
			v=$(awk -v m="$metric" -v d="domain=\"$2\"" -v dir="$labels" '
				index($0, m "{") == 1 && index($0, d) && index($0, dir) {
					b = $0; sub(/.*block_bytes="/, "", b); sub(/".*/, "", b)
					if (b + 0 >= best) { best = b + 0; v = $2 }
				} END { if (v != "") print v }' "$1")
		else
			# shellcheck disable=SC2086 # labels: none or one
			v=$(prom_value "$1" "$metric" "domain=\"$2\"" $labels)
		fi
		if [ -n "$v" ]; then echo "$p $end $v"; fi
	done
}

# One hold of level LEVEL (visit VISIT): scrapes every 2 s, appends "VISIT LEVEL probe end
# value" to $exp_out/samples.txt and "VISIT LEVEL N_UP" to $exp_out/visits.txt.
exp_hold() { # VISIT LEVEL
	local visit=$1 level=$2 since t0 scrape=$exp_out/scrapes/visit-$1.prom n_up
	# From a second on: a run that began at the previous level ends within it.
	since=$(awk -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", t + 1 }')
	t0=$SECONDS
	while :; do
		if curl -sf --max-time 5 -o "$scrape.new" "http://$listen/metrics"; then
			mv -f "$scrape.new" "$scrape"
			exp_samples "$scrape" "${prefix}1" "$since" | sed "s/^/$visit $level /" >>"$exp_out/samples.txt"
		else
			warn "visit $visit (N_up $level): http://$listen/metrics did not answer"
		fi
		[ $((SECONDS - t0)) -lt "$exp_hold_s" ] || break
		sleep 2
	done
	[ -f "$scrape" ] || die "visit $visit: no scrape of http://$listen/metrics; see $lab_dir/vmscaled.log"
	n_up=$(prom_value "$scrape" vmscale_domains_running)
	[ -n "$n_up" ] || die "visit $visit: no vmscale_domains_running in /metrics"
	[ "$n_up" -eq "$level" ] || warn "visit $visit: vmscaled counts N_up = $n_up, the lab $level (other domains run)"
	echo "$visit $level $n_up" >>"$exp_out/visits.txt"
	say "visit $visit: N_up $level, $(awk -v v="$visit" '$1 == v && $3 == "cpu_work" && !s[$4]++ { n++; t += $5 }
		END { if (n) printf "%s cpu_work %.0f units/s (mean of %d runs)", "'"${prefix}1"'", t / n, n; else print "no cpu_work run" }' \
		"$exp_out/samples.txt")"
}

# Level LEVEL from the lab's current one: guests start (their boot is not held) or go (the
# newest first; the first guest, the one measured, stays).
exp_goto() { # LEVEL
	local have n
	have=$(lab_guests | wc -l)
	if [ "$have" -lt "$1" ]; then
		start_guests $(($1 - have))
	fi
	while [ "$have" -gt "$1" ]; do
		n=$(lab_guests | tail -n1)
		[ "$n" != "${prefix}1" ] || die "experiment: would remove the measured guest $n"
		destroy_guest "$n"
		have=$((have - 1))
	done
}

exp_args() { # ARG...: sets exp_want and exp_down
	local arg
	exp_want=6 exp_down=0
	for arg in "$@"; do
		case $arg in
		--down) exp_down=1 ;;
		*[!0-9]* | '') die "experiment: unknown argument '$arg' (experiment [N] [--down])" ;;
		*) exp_want=$arg ;;
		esac
	done
	[ "$exp_want" -ge 1 ] || die "experiment: N must be at least 1"
	exp_hold_s=${LAB_HOLD:-60} exp_repeats=${LAB_REPEATS:-3}
	if ! [[ $exp_hold_s =~ ^[0-9]+$ ]] || [ "$exp_hold_s" -lt 10 ]; then
		die "LAB_HOLD '$exp_hold_s' must be whole seconds, at least 10"
	fi
	if ! [[ $exp_repeats =~ ^[0-9]+$ ]] || [ "$exp_repeats" -lt 1 ]; then
		die "LAB_REPEATS '$exp_repeats' must be a whole number, at least 1"
	fi
	[ "$exp_repeats" -ge 2 ] || warn "LAB_REPEATS=1: one visit per level, no intervals"
}

# Every pass visits all levels, in alternating directions: 1..N, N..1, 1..N, ...
exp_passes() {
	local pass level from to step visit=0
	for ((pass = 1; pass <= exp_repeats; pass++)); do
		if ((pass % 2)); then from=1 to=$exp_want step=1; else from=$exp_want to=1 step=-1; fi
		say "pass $pass of $exp_repeats: N_up $from to $to"
		for ((level = from; level != to + step; level += step)); do
			exp_goto "$level"
			if [ "$visit" -eq 0 ] && [ "$(lab_guests | head -n1)" != "${prefix}1" ]; then
				die "experiment: the first guest is $(lab_guests | head -n1), not ${prefix}1 (another domain is named ${prefix}1?)"
			fi
			visit=$((visit + 1))
			exp_hold "$visit" "$level"
		done
	done
}

# The CSV (with its header lines), the plot and the summary.
exp_report() {
	local csv=$exp_out/experiment.csv svg=$exp_out/experiment.svg body=$exp_out/table.csv cpus
	cpus=$(nproc)
	awk -v P="$cpus" -v probes="${exp_probes[*]}" -f "$repo/scripts/experiment-stats.awk" \
		"$exp_out/samples.txt" >"$body" || die "experiment: no samples of ${prefix}1 at all; see $lab_dir/vmscaled.log"
	{
		echo "# vmscale lab experiment (LAB_HOLD=$exp_hold_s LAB_REPEATS=$exp_repeats scripts/lab.sh experiment $exp_want): ${prefix}1 measured while loaded guests join and leave"
		echo "# $(date -Is); host CPUs P = $cpus; $exp_repeats passes (up, down, ...) of N_up 1..$exp_want, ${exp_hold_s} s per visit; vmscaled ${daemon_args[*]}"
		echo "# each level: the mean over its visits of each visit's mean per-run value (vmscale_probe_* gauges, network at the largest block), and the 95 % interval (Student's t over the visits)"
		echo "# units: cpu_work units/s; memory_copy, disk_read, network_transmit, network_receive bytes/s; fork_exit seconds"
		echo "# slowdown = ET(N_up) / ET(1) with ET = 1 / cpu_work; model_queue = a max(1, N_up/P) (seed 001), model_refined = a max(1, N_up/P) (1 + O N_up); residual = (slowdown - model) / model"
		cat "$body"
	} >"$csv"
	rm -f "$body"
	awk -F, -v P="$cpus" -v title="${prefix}1 under load: means per N_up, P = $cpus host CPUs" \
		-f "$repo/scripts/experiment-svg.awk" "$csv" >"$svg"
	say "experiment: wrote $csv and $svg"
	exp_summary "$csv" "$cpus"
}

exp_summary() { # CSV P
	awk -F, -v P="$2" -v units="$exp_cpu_units" '
		$1 == "n_up" { for (i = 1; i <= NF; i++) c[$i] = i; next }
		/^# fit queue:/ { qa = $0; sub(/.* = /, "", qa); sub(/ .*/, "", qa); next }
		/^# fit refined:/ { nf = split($0, f, " "); if (f[6] ~ /^[0-9.eE+-]+$/) { ra = f[6]; ro = f[nf - 2] }; next }
		/^#/ { next }
		{
			r = $c["cpu_work"]; h = $c["cpu_work_ci95"]
			if ($1 == 1) et1 = r > 0 ? units / r : 0
			printf "  N_up %s: cpu_work %.0f", $1, r
			if (h != "") printf " ± %.0f (%.1f %%)", h, (r > 0 ? 100 * h / r : 0)
			printf " units/s over %d visits (%d runs)", $c["visits"], $c["cpu_work_runs"]
			if ($c["slowdown"] != "") {
				printf "; slowdown %.3f", $c["slowdown"]
				if ($c["slowdown_ci95"] != "") printf " ± %.3f", $c["slowdown_ci95"]
				if ($c["model_queue"] != "") printf "; queue model %.3f (%+.1f %%)", $c["model_queue"], 100 * $c["residual_queue"]
				if ($c["model_refined"] != "") {
					d = $c["slowdown"] - $c["model_refined"]; if (d < 0) d = -d
					printf "; refined %.3f (%+.1f %%%s)", $c["model_refined"], 100 * $c["residual_refined"],
						$c["slowdown_ci95"] != "" && d <= $c["slowdown_ci95"] ? ", within the interval" : ""
					a = $c["residual_refined"] < 0 ? -$c["residual_refined"] : $c["residual_refined"]
					if (a > worst) { worst = a; wl = $1 }
				}
			}
			printf "\n"
		}
		END {
			if (qa != "") printf "  seed 001 queue fit: ET(i) = ET_P max(1, i/%d), ET_P = %.3f ET(1) = %.1f ms per cpu_work run (%d units)\n", P, qa, 1000 * qa * et1, units
			if (ra != "") {
				printf "  refined fit: ET(i) = %.3f ET(1) max(1, i/%d) (1 + O i), O = %.2f %% per VM\n", ra, P, 100 * ro
				printf "  worst |residual| of the refined fit: %.1f %% at N_up %s (target: every level within 10 %%)\n", 100 * worst, wl
			}
		}' "$1"
}

cmd_experiment() {
	local host_others
	exp_args "$@"
	[ "$no_daemon" != 1 ] || die "experiment: reads vmscaled's /metrics; unset LAB_NO_DAEMON"
	# Every guest runs the load: the measured one too, as in seed 001 (its probe at nice 0 still
	# gets its vCPU), so all levels differ only in the number of busy VMs.
	load=1
	# The experiment's intervals go just before LAB_DAEMON_ARGS (the tail of daemon_args),
	# which still override them.
	daemon_args=("${daemon_args[@]:0:${#daemon_args[@]}-${#extra_daemon_args[@]}}"
		"${exp_daemon_args[@]}" ${extra_daemon_args[@]+"${extra_daemon_args[@]}"})
	prepare experiment
	# PREFIX1 must be the first guest and each level one guest more: start from an empty lab.
	[ -z "$(lab_guests)" ] ||
		die "experiment: the lab already runs guests ($(lab_guests | paste -sd' ')); 'lab.sh down' first"
	host_others=$(vsh list --name | sed '/^$/d' | paste -sd' ')
	# N_up counts every running domain on the host, and other guests take CPU too.
	[ -z "$host_others" ] ||
		warn "other domains run on this host ($host_others): they count in N_up and disturb the levels"
	exp_out=$lab_dir/experiment
	rm -rf "$exp_out"
	mkdir -p "$exp_out/scrapes"
	: >"$exp_out/samples.txt"
	: >"$exp_out/visits.txt"
	exp_goto 1
	ensure_daemon
	say "experiment: $exp_repeats passes of N_up 1..$exp_want, ${exp_hold_s} s per visit, P = $(nproc) host CPUs; measuring ${prefix}1"
	exp_passes
	exp_report
	if [ "$exp_down" = 1 ]; then
		cmd_down
	else
		say "the lab keeps running (guests $(lab_guests | paste -sd' ')); '$prog down' takes it down"
	fi
}
