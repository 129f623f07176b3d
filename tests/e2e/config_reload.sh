#!/usr/bin/env bash
# The configuration file end to end, with libvirt's in-process test driver: --check-config on
# good and broken files; the daemon with a file naming two test:/// URIs (N_up = 1 + 2);
# SIGHUP: a change applied live, a change that needs a restart refused, a broken file kept
# out (the daemon serves on), a regex too costly to compile refused by --check-config and by
# reload alike (and the costliest accepted one checked within a 256 MiB cap), and command-line
# flags winning over the file on reload too.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: config_reload.sh PATH/TO/vmscaled}
command -v curl >/dev/null || skip "curl is not installed (scripts/bootstrap.sh installs it)"
command -v python3 >/dev/null || skip "python3 is not installed (scripts/bootstrap.sh installs it)"

tmp=$(mktemp -d /tmp/vmscale-test-config.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

two="test://$(cd "$here/../fixtures" && pwd)/testdriver-two.xml"
conf=$tmp/vmscaled.conf
port=$(free_port)
url=http://127.0.0.1:$port

# write_conf BUSY_THRESHOLD PORT [PROBE_DOMAINS]: busy-threshold is on line 7.
write_conf() {
	cat >"$conf" <<EOF
# vmscaled under test: two URIs on one host

connect test:///default
connect $two
listen 127.0.0.1:$2
interval 1s
busy-threshold $1
EOF
	[ -z "${3:-}" ] || echo "probe-domains $3" >>"$conf"
}

# --check-config: no daemon, no libvirt, no port.
write_conf 0.2 "$port"
out=$("$vmscaled" --config "$conf" --check-config 2>&1)
rc=$?
check "--check-config accepts a good file (exit $rc)" test "$rc" -eq 0
check "and says FILE: OK" test "$out" = "$conf: OK"
sed -i 's/^busy-threshold .*/busy-threshold 1.5/' "$conf"
out=$("$vmscaled" --config "$conf" --check-config 2>&1)
rc=$?
check "--check-config rejects a bad value with exit 1 (exit $rc)" test "$rc" -eq 1
check "naming file and line ($out)" \
	test "$out" = "$conf:7: 'busy-threshold' must be a ratio 0..1, got '1.5'"
write_conf 0.2 "$port"
echo "intervall 5" >>"$conf"
out=$("$vmscaled" --config "$conf" --check-config 2>&1)
rc=$?
check "--check-config rejects an unknown key with exit 1" test "$rc" -eq 1
check "naming file and line ($out)" test "$out" = "$conf:8: unknown key 'intervall'"
write_conf 0.2 "$port"
echo "interval 2s" >>"$conf"
out=$("$vmscaled" --config "$conf" --check-config 2>&1)
check "a key given twice names both lines ($out)" \
	test "$out" = "$conf:8: duplicate key 'interval' (first set on line 6)"
out=$("$vmscaled" --config "$tmp/missing.conf" --check-config 2>&1)
rc=$?
check "a missing --config file is an error (exit $rc)" test "$rc" -eq 1
check "that says so" grep -q "missing.conf: cannot open: No such file or directory" <<<"$out"
printf 'connect qemu+unix:///system?socket=/nonexistent/vmscale-test/sock\n' >"$tmp/unreachable.conf"
out=$("$vmscaled" --config "$tmp/unreachable.conf" --check-config 2>&1)
check "--check-config does not connect to libvirt" test "$out" = "$tmp/unreachable.conf: OK"
write_conf 0.2 "$port"
out=$("$vmscaled" --config "$conf" --check-config --tls-cert /x.pem 2>&1)
check "--check-config checks the flags too ($out)" test "$out" = "--tls-cert needs --tls-key"
"$vmscaled" --config "$conf" --check-config --interval 0 >/dev/null 2>&1
check "a bad flag is still a usage error (exit 2)" test $? -eq 2
# A regex that would cost glibc's regcomp ~3.9 GB is refused before it, at once.
costly='^(a+)+++++++++++++++++++++++++$'
write_conf 0.2 "$port" "$costly"
start=$(date +%s%N)
out=$(timeout 20 "$vmscaled" --config "$conf" --check-config 2>&1)
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "--check-config refuses a nested-repetition regex with exit 1 (exit $rc)" test "$rc" -eq 1
check "within a few seconds (${ms} ms)" test "$ms" -lt 3000
check "naming file, line, key and why ($out)" test "$out" = \
	"$conf:8: 'probe-domains': '$costly' is refused before compiling: '+' at offset 5 repeats a group that contains a repetition (nested repetitions multiply what regcomp builds; only '?' may apply to such a group)"
# Under a memory cap: the costliest regex the bounds accept (16 counted classes of 255, 4 080
# atoms written out; ~10 MB in regcomp in a UTF-8 locale) checks in 256 MiB of address space,
# and the costly one is refused in it too. Sanitizer builds reserve terabytes of shadow
# memory, so the cap is tried on the plain build only.
if grep -qa '__asan_init' "$vmscaled"; then
	echo "SKIP (this check only): $vmscaled is a sanitizer build; ulimit -v would stop it at start"
else
	costliest="^$(printf '[[:alpha:][:digit:]]{1,255}%.0s' $(seq 16))\$"
	write_conf 0.2 "$port" "$costliest"
	out=$(ulimit -v 262144 && LC_ALL=C.UTF-8 "$vmscaled" --config "$conf" --check-config 2>&1)
	check "the costliest accepted regex checks within 256 MiB ($out)" test "$out" = "$conf: OK"
	write_conf 0.2 "$port" "$costly"
	(ulimit -v 262144 && exec "$vmscaled" --config "$conf" --check-config >/dev/null 2>&1)
	check "the costly one is refused within 256 MiB, not out of memory" test $? -eq 1
fi

# The daemon with the file.
metrics() { curl -sf "$url/metrics"; }
# Through a file: grep -q would stop reading early and fail curl (pipefail).
has() { metrics >"$tmp/scrape" && grep -qxF -- "$1" "$tmp/scrape"; }
wait_has() { wait_for 10 has "$1"; }
write_conf 0.2 "$port"
"$vmscaled" --config "$conf" --state-dir "$tmp/state" --control-socket "$tmp/control.sock" 2>"$tmp/vmscaled.log" &
pid=$!
wait_for 10 metrics >/dev/null
check "N_up = 1 (test:///default) + 2 (testdriver-two.xml)" wait_has 'vmscale_domains_running 3'
check "libvirt up on test:///default" has 'vmscale_libvirt_up{uri="test:///default"} 1'
check "libvirt up on the second URI" has "vmscale_libvirt_up{uri=\"$two\"} 1"
check "vmscale_domain_info says where two-a runs" has \
	"vmscale_domain_info{domain=\"two-a\",uuid=\"7c0b3a52-2d1e-4f55-9e7a-000000000a02\",uri=\"$two\",probe_channel=\"yes\"} 1"
check "no reload yet" has 'vmscale_config_reloads_total{result="ok"} 0'
check "the busy threshold of the file" has 'vmscale_busy_threshold_ratio 0.2'
t0=$(metrics | awk '$1 == "vmscale_config_last_reload_success_timestamp_seconds" { print $2 }')
check "the configuration's load time is exported ($t0)" awk -v t="${t0:-0}" 'BEGIN { exit !(t > 1e9) }'

# A live change: busy-threshold and probe-domains.
sleep 1.1 # a later load time
write_conf 0.5 "$port" '^none$'
kill -HUP "$pid"
check "SIGHUP: the reload is counted ok" wait_has 'vmscale_config_reloads_total{result="ok"} 1'
check "the new busy threshold is in force" wait_has 'vmscale_busy_threshold_ratio 0.5'
check "the new probe-domains filter excludes two-a" wait_has \
	"vmscale_domain_info{domain=\"two-a\",uuid=\"7c0b3a52-2d1e-4f55-9e7a-000000000a02\",uri=\"$two\",probe_channel=\"excluded\"} 1"
t1=$(metrics | awk '$1 == "vmscale_config_last_reload_success_timestamp_seconds" { print $2 }')
check "the load time moved ($t0 -> $t1)" awk -v a="${t0:-0}" -v b="${t1:-0}" 'BEGIN { exit !(b > a) }'
check "the log says so" grep -q "configuration reloaded from $conf" "$tmp/vmscaled.log"

# A change that needs a restart: refused whole, the old configuration kept.
port2=$(free_port)
write_conf 0.9 "$port2"
kill -HUP "$pid"
check "SIGHUP with a new listen: refused" wait_has 'vmscale_config_reloads_total{result="refused"} 1'
check "the log says why" grep -q \
	"reload refused: changing 'listen' needs a restart; keeping the running configuration" \
	"$tmp/vmscaled.log"
check "the other changes of that file are not applied" has 'vmscale_busy_threshold_ratio 0.5'
check "still serving on the old address" has 'vmscale_domains_running 3'
check "nothing on the new one" bash -c "! curl -sf -o /dev/null 'http://127.0.0.1:$port2/metrics'"

# A broken file: logged with file and line, the daemon serves on.
write_conf 2 "$port"
kill -HUP "$pid"
check "SIGHUP with a broken file: error" wait_has 'vmscale_config_reloads_total{result="error"} 1'
check "the log names file and line" grep -q \
	"reload failed: $conf:7: 'busy-threshold' must be a ratio 0..1, got '2'; keeping the running configuration" \
	"$tmp/vmscaled.log"
check "the running configuration stays" has 'vmscale_busy_threshold_ratio 0.5'
check "still serving" has "vmscale_libvirt_up{uri=\"$two\"} 1"

# A costly regex: refused before regcomp, the running filter ('^none$') and threshold kept.
write_conf 0.8 "$port" "$costly"
kill -HUP "$pid"
check "SIGHUP with a costly probe-domains regex: error" \
	wait_has 'vmscale_config_reloads_total{result="error"} 2'
check "the log says why" grep -qF \
	"reload failed: $conf:8: 'probe-domains': '$costly' is refused before compiling: '+' at offset 5" \
	"$tmp/vmscaled.log"
check "the running threshold stays" has 'vmscale_busy_threshold_ratio 0.5'
check "the running filter stays: two-a still excluded" has \
	"vmscale_domain_info{domain=\"two-a\",uuid=\"7c0b3a52-2d1e-4f55-9e7a-000000000a02\",uri=\"$two\",probe_channel=\"excluded\"} 1"
check "still serving" has 'vmscale_domains_running 3'

# Good again.
write_conf 0.3 "$port"
kill -HUP "$pid"
check "a good file again: ok" wait_has 'vmscale_config_reloads_total{result="ok"} 2'
check "its threshold" wait_has 'vmscale_busy_threshold_ratio 0.3'
check "two-a claimed again" wait_has \
	"vmscale_domain_info{domain=\"two-a\",uuid=\"7c0b3a52-2d1e-4f55-9e7a-000000000a02\",uri=\"$two\",probe_channel=\"yes\"} 1"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
check "SIGTERM: clean exit 0" test "$rc" -eq 0

# Flags win over the file, at start and on reload: the first --connect replaces its URIs.
port3=$(free_port)
url=http://127.0.0.1:$port3
write_conf 0.3 "$port"
"$vmscaled" --config "$conf" --listen "127.0.0.1:$port3" --busy-threshold 0.7 \
	--connect test:///default --state-dir "$tmp/state2" --control-socket "$tmp/control2.sock" \
	2>"$tmp/vmscaled2.log" &
pid=$!
wait_for 10 metrics >/dev/null
check "flags win at start: --busy-threshold" wait_has 'vmscale_busy_threshold_ratio 0.7'
check "flags win at start: --connect replaces the file's URIs" has 'vmscale_domains_running 1'
write_conf 0.4 "$port"
kill -HUP "$pid"
check "reload with flags: ok" wait_has 'vmscale_config_reloads_total{result="ok"} 1'
check "the flag still wins" has 'vmscale_busy_threshold_ratio 0.7'
kill -TERM "$pid"
wait "$pid"
pid=

if [ "$fails" -gt 0 ]; then
	echo "--- vmscaled log"
	cat "$tmp/vmscaled.log"
	echo "--- second vmscaled log"
	cat "$tmp/vmscaled2.log" 2>/dev/null
fi
finish
