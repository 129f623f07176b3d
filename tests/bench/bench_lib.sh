# shellcheck shell=bash
# Sourced by the benchmarks: a scratch folder in $tmp (prefix $1), the daemons they start in
# $pids (stopped, and $tmp removed, on exit), free_port, start_vmscaled and cpu_ns.
tmp=$(mktemp -d "/tmp/${1:-vmscale-bench}.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts the vmscaled binary BIN on URI, reading every INTERVAL s, on a free loopback port,
# its state and log under $tmp/NAME; leaves its pid in $pid (stopped on exit).
start_vmscaled() {
	local name=$1 bin=$2 uri=$3 interval=$4
	mkdir -p "$tmp/$name"
	"$bin" --connect "$uri" --listen "127.0.0.1:$(free_port)" --interval "$interval" \
		--state-dir "$tmp/$name" --control-socket "$tmp/$name/control.sock" \
		>"$tmp/$name.log" 2>&1 &
	pid=$!
	pids+=("$pid")
}

# CPU time of a process, every thread, in ns (schedstat: finer than stat's clock ticks).
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s }'; }
