# Shared helpers of the shell tests: TAP-like "ok"/"not ok" lines, a failure counter,
# a free loopback port, and bounded waiting.
fails=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
skip() { echo "SKIP: $*"; exit 77; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: polls every 0.5 s until COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}

finish() {
	if [ "$fails" -eq 0 ]; then
		echo "all checks passed"
		exit 0
	fi
	echo "$fails check(s) failed"
	exit 1
}

# A scratch folder in $tmp and background processes listed in pids[]: killed and removed at exit.
scratch() { # PREFIX
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	pids=()
	trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
}
