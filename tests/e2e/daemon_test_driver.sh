#!/usr/bin/env bash
# vmscaled as a whole against libvirt's in-process test driver: command line, /metrics,
# the landing page, HTTP errors, systemd notifications on a real NOTIFY_SOCKET, clean stop.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: daemon_test_driver.sh PATH/TO/vmscaled}
command -v curl >/dev/null || skip "curl is not installed (scripts/bootstrap.sh installs it)"
command -v python3 >/dev/null || skip "python3 is not installed (scripts/bootstrap.sh installs it)"

tmp=$(mktemp -d /tmp/vmscale-test-daemon.XXXXXX)
pid=
notify_pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# Command line.
check "--version prints the version" bash -c "'$vmscaled' --version | grep -q '^vmscaled [0-9]'"
check "--help documents --connect and --listen" bash -c "'$vmscaled' --help | grep -q -- '--listen'"
"$vmscaled" --bogus >/dev/null 2>&1
check "an unknown flag exits 2" test $? -eq 2
"$vmscaled" --interval 0 >/dev/null 2>&1
check "--interval 0 is refused with exit 2" test $? -eq 2
out=$("$vmscaled" --probe-domains '([' 2>&1)
check "a broken --probe-domains regex is refused with exit 2" test $? -eq 2
check "and the error names the flag" grep -q -- "--probe-domains: '(\[' is not an extended regular expression" <<<"$out"
out=$("$vmscaled" --connect test:///default --listen 127.0.0.1:99999 2>&1)
rc=$?
check "a bad --listen is refused with exit 2" test "$rc" -eq 2
check "a bad --listen says why" grep -q "port in '127.0.0.1:99999' must be 1..65535" <<<"$out"

# A real NOTIFY_SOCKET, as systemd would provide.
python3 - "$tmp/notify.sock" "$tmp/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode() + "\n")
PY
notify_pid=$!
wait_for 5 test -S "$tmp/notify.sock" || not_ok "notify socket listener started"

port=$(free_port)
url=http://127.0.0.1:$port
# WATCHDOG_USEC as systemd sets it for WatchdogSec=1s: pings every 0.5 s from the event loop.
NOTIFY_SOCKET=$tmp/notify.sock WATCHDOG_USEC=1000000 "$vmscaled" --connect test:///default --listen "127.0.0.1:$port" \
	--interval 1 --state-dir "$tmp/state" --control-socket "$tmp/control.sock" 2>"$tmp/vmscaled.log" &
pid=$!
metrics() { curl -sf "$url/metrics"; }
wait_for 10 metrics >/dev/null
metrics >"$tmp/m1"
check "serves /metrics" test $? -eq 0
check "vmscale_libvirt_up 1" grep -qx 'vmscale_libvirt_up{uri="test:///default"} 1' "$tmp/m1"
check "N_up of the test driver is 1" grep -qx 'vmscale_domains_running 1' "$tmp/m1"
check "the test domain has vmscale_domain_info" grep -q '^vmscale_domain_info{domain="test",uuid="' "$tmp/m1"
check "its probe is down (it has no channel)" grep -qx 'vmscale_probe_up{domain="test"} 0' "$tmp/m1"
check "build info" grep -q '^vmscale_build_info{version="' "$tmp/m1"
check "host CPU from libstatgrab" grep -q '^vmscale_host_cpu_seconds_total{mode="idle"} [0-9]' "$tmp/m1"
check "host memory from libstatgrab" grep -Eq '^vmscale_host_memory_total_bytes [1-9][0-9]+$' "$tmp/m1"
check "every family has HELP and TYPE" bash -c "
	diff <(grep '^# TYPE' '$tmp/m1' | cut -d' ' -f3) <(grep '^# HELP' '$tmp/m1' | cut -d' ' -f3)"
if command -v promtool >/dev/null; then
	out=$(promtool check metrics <"$tmp/m1" 2>&1)
	rc=$?
	check "promtool check metrics is silent" test "$rc" -eq 0 -a -z "$out"
	[ -z "$out" ] || echo "$out"
fi
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$url/metrics")
check "content type is text 0.0.4" test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"
enc=$(curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%header{content-encoding}' "$url/metrics" 2>/dev/null ||
	curl -s -D - -o /dev/null -H 'Accept-Encoding: gzip' "$url/metrics" | tr -d '\r' | sed -n 's/^Content-Encoding: //Ip')
check "gzip when the scraper accepts it ($enc)" test "$enc" = gzip
check "the gzip body is the same exposition" bash -c "curl -sf --compressed '$url/metrics' | grep -q '^vmscale_libvirt_up{uri=\"test:///default\"} 1$'"
check "/ is a landing page linking /metrics" bash -c "curl -sf '$url/' | grep -q 'href=\"/metrics\"'"
check "unknown path is 404" test "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")" = 404
check "POST is 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" = 405
check "/healthz says ok while collection runs" bash -c "curl -sf '$url/healthz' | grep -qx ok"
check "HEAD is 200" test "$(curl -s -o /dev/null -w '%{http_code}' -I "$url/metrics")" = 200

# The control socket of the real daemon, through the real vmscalectl (built beside it).
ctl=$(dirname "$vmscaled")/vmscalectl
sock=$tmp/control.sock
check "the control socket is mode 0600" test "$(stat -c %a "$sock")" = 600
check "vmscalectl status answers" bash -c "'$ctl' -s '$sock' status | grep -qx 'domains tracked 1 (running 1)'"
check "vmscalectl baseline pin without a baseline fails with the daemon's reason (exit 1)" \
	bash -c "'$ctl' -s '$sock' baseline pin test 2>&1 >/dev/null | grep -q 'nothing to pin'; [ \"\${PIPESTATUS[0]}\" = 1 ]"
check "vmscale_control_requests_total counts both" wait_for 5 bash -c \
	"curl -sf '$url/metrics' | grep -qx 'vmscale_control_requests_total{result=\"error\"} 1'"

# Host counters grow between scrapes (1 s interval). All modes summed: on a loaded machine
# (the rest of the suite runs beside this test) idle alone may stand still.
sleep 2.2
metrics >"$tmp/m2"
cpu_total() { awk '/^vmscale_host_cpu_seconds_total\{/ { t += $2 } END { printf "%.2f", t }' "$1"; }
cpu1=$(cpu_total "$tmp/m1")
cpu2=$(cpu_total "$tmp/m2")
check "host CPU seconds grow ($cpu1 -> $cpu2)" awk -v a="$cpu1" -v b="$cpu2" 'BEGIN{exit !(b > a)}'

check "READY=1 sent to systemd" wait_for 5 grep -q 'READY=1' "$tmp/notify.log"
check "STATUS= says N_up and libvirt" grep -q 'STATUS=N_up=1, probes 0/1 up, libvirt ok' "$tmp/notify.log"
check "WATCHDOG=1 sent every half watchdog period" wait_for 5 \
	bash -c "[ \$(grep -c '^WATCHDOG=1' '$tmp/notify.log') -ge 3 ]"
# A hung event loop must stop the pings, so that systemd restarts the daemon.
kill -STOP "$pid"
sleep 0.3
before=$(grep -c '^WATCHDOG=1' "$tmp/notify.log")
sleep 2
after=$(grep -c '^WATCHDOG=1' "$tmp/notify.log")
kill -CONT "$pid"
check "no WATCHDOG=1 while the loop is stopped ($before -> $after)" test "$before" -eq "$after"
check "pings resume when it runs again" wait_for 5 \
	bash -c "[ \$(grep -c '^WATCHDOG=1' '$tmp/notify.log') -gt $after ]"

kill -TERM "$pid"
rc=0
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
rc=$?
pid=
check "SIGTERM: clean exit 0" test "$rc" -eq 0
check "STOPPING=1 sent to systemd" wait_for 5 grep -q 'STOPPING=1' "$tmp/notify.log"
check "the log says it stopped" grep -q 'vmscaled: info: stopped' "$tmp/vmscaled.log"
if [ "$fails" -gt 0 ]; then
	echo "--- vmscaled log"; cat "$tmp/vmscaled.log"
	echo "--- notify log"; cat "$tmp/notify.log"
fi
finish
