#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: new inputs go to WORKDIR/corpus (the seeds in
# SEEDS are only read), findings to WORKDIR/artifacts. Fails on any crash, leak, timeout (5 s
# on one input) or OOM (512 MiB), and prints how to replay the reproducer.
#   run_fuzzer.sh BINARY SEEDS WORKDIR SECONDS
set -euo pipefail
bin=${1:?usage: run_fuzzer.sh BINARY SEEDS WORKDIR SECONDS}
seeds=${2:?}
work=${3:?}
seconds=${4:?}
mkdir -p "$work/corpus" "$work/artifacts"
log="$work/fuzz.log"
touch "$work/.start" # findings of this run: artifacts newer than this
# -close_fd_mask=2: the daemon's log lines would drown the output; libFuzzer's own report and
# the sanitizers' still reach stderr.
status=0
"$bin" -max_total_time="$seconds" -rss_limit_mb=512 -timeout=5 -print_final_stats=1 \
	-close_fd_mask=2 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1 ||
	status=$?
grep -E '^(INFO: seed corpus|#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' \
	"$log" || true
mapfile -t found < <(find "$work/artifacts" -type f -newer "$work/.start")
if [ "$status" -ne 0 ] || [ "${#found[@]}" -gt 0 ]; then
	tail -n 60 "$log"
	for f in "${found[@]}"; do
		echo "FUZZ FINDING: reproducer kept in $f"
		echo "  replay: $bin $f"
	done
	echo "$(basename "$bin"): FAILED (exit $status; full log: $log)"
	exit 1
fi
echo "$(basename "$bin"): no finding in $seconds s"
