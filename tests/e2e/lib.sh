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

# The fenced block of docs/install.md marked `<!-- test: TAG -->` (the line before it): the
# install guide's commands, which the tests run as written. Needs $repo.
guide_block() { # TAG
	awk -v tag="<!-- test: $1 -->" '
		$0 == tag { armed = 1; next }
		armed && /^```/ { if (inblock) { armed = 0; inblock = 0 } else inblock = 1; next }
		inblock { print }' "$repo/docs/install.md"
}

# guide_run TAG RUNNER...: shows the block TAG, with DOMAIN replaced by $guide_domain when set,
# then runs it as `RUNNER... SCRIPT`; the test's fail() when it fails.
guide_run() {
	local block=$1 script
	shift
	script=$(guide_block "$block")
	[ -n "$script" ] || fail "docs/install.md has no block marked <!-- test: $block -->"
	[ -z "${guide_domain:-}" ] || script=${script//DOMAIN/$guide_domain}
	echo "# docs/install.md, $block${guide_domain:+ (DOMAIN=$guide_domain)}:"
	sed 's/^/#   $ /' <<<"$script"
	"$@" "$script" 2>&1 | sed 's/^/#   /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "the install guide's $block commands failed"
}
