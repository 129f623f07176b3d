# shellcheck shell=bash
# Sourced by the benchmarks: a scratch folder in $tmp (prefix $1), the daemons they start in
# $pids (stopped, and $tmp removed, on exit), and free_port.
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
