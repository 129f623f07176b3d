#!/usr/bin/env bash
# The scrape path cannot be starved: vmscaled (against libvirt's test driver) at its default
# HTTP limits, 1 000 slow clients (a byte every 2 s) and 1 000 idle connections from 127.0.0.2,
# each reconnecting when closed; /metrics from 127.0.0.1 must answer within 1 s, 100 times of
# 100, the refusals must be counted, and logged at a bounded rate. Loopback addresses only.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: http_starvation.sh PATH/TO/vmscaled}
command -v curl >/dev/null || skip "curl is not installed (scripts/bootstrap.sh installs it)"
command -v python3 >/dev/null || skip "python3 is not installed (scripts/bootstrap.sh installs it)"
python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2",0))' 2>/dev/null ||
	skip "cannot bind 127.0.0.2 (no loopback /8 here)"
# 2 000 client sockets and the harness: raise the soft limit as far as the hard one allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 2200 ] ||
	skip "the fd limit ($(ulimit -n)) is below the 2 200 the clients need"

scratch vmscale-test-starve # $tmp, and $pids killed at exit

port=$(free_port)
url=http://127.0.0.1:$port
"$vmscaled" --connect test:///default --listen "127.0.0.1:$port" --interval 1 --state-dir "$tmp/state" \
	--control-socket "$tmp/control.sock" 2>"$tmp/vmscaled.log" &
pids+=($!)
wait_for 10 curl -sf -o /dev/null "$url/metrics" || not_ok "vmscaled answers"

# The attackers: one process, non-blocking sockets bound to 127.0.0.2. A slow client sends
# a request line a byte every 2 s; an idle one sends nothing. Either reconnects 1 s after
# it is closed (a refusal at accept or a deadline), so the slots stay under pressure.
python3 - "$port" "$tmp/attack.log" <<'PY' &
import errno, os, random, selectors, socket, sys, time
port, log = int(sys.argv[1]), sys.argv[2]
SLOW = IDLE = 1000
REQUEST = b"GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"s" * 4000 + b"\r\n\r\n"
sel = selectors.DefaultSelector()
clients = []  # [sock or None, slow, next_action_time, bytes_sent]
opened = closed = 0

def connect(c):
    global opened
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind(("127.0.0.2", 0))
    err = s.connect_ex(("127.0.0.1", port))
    if err not in (0, errno.EINPROGRESS):
        s.close()
        c[0], c[2] = None, time.monotonic() + 1
        return
    c[0], c[2], c[3] = s, time.monotonic() + random.uniform(0, 2), 0
    sel.register(s, selectors.EVENT_READ, c)
    opened += 1

def drop(c):
    global closed
    sel.unregister(c[0])
    c[0].close()
    c[0], c[2] = None, time.monotonic() + 1
    closed += 1

for i in range(SLOW + IDLE):
    c = [None, i < SLOW, 0.0, 0]
    clients.append(c)
    connect(c)
last_report = 0.0
while True:
    for key, _ in sel.select(timeout=0.2):
        c = key.data
        try:
            data = c[0].recv(4096)
        except OSError:
            data = b""
        if not data:
            drop(c)
    now = time.monotonic()
    for c in clients:
        if now < c[2]:
            continue
        if c[0] is None:
            connect(c)
        elif c[1]:
            try:
                c[0].send(REQUEST[c[3]:c[3] + 1])
                c[3] += 1
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ENOTCONN):
                    drop(c)
                    continue
            c[2] = now + 2
        else:
            c[2] = now + 3600
    if now - last_report > 1:
        last_report = now
        held = sum(1 for c in clients if c[0] is not None)
        with open(log, "w") as f:
            f.write(f"opened {opened} closed {closed} open {held}\n")
PY
pids+=($!)
# Let the attack take every slot it can and a first round of header deadlines (5 s) pass.
sleep 8

# 100 scrapes from 127.0.0.1, spread over ~25 s so that they meet reconnect storms.
python3 - "$url/metrics" >"$tmp/scrapes" <<'PY'
import socket, sys, time, urllib.request
ok = slow = failed = 0
worst = 0.0
for i in range(100):
    t = time.monotonic()
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
            body = r.read()
        took = time.monotonic() - t
        if took <= 1 and b"vmscale_http_connections_refused_total" in body:
            ok += 1
        else:
            slow += 1
        worst = max(worst, took)
    except Exception as e:
        failed += 1
        print("scrape", i, "failed:", e, file=sys.stderr)
    time.sleep(0.25)
print(ok, slow, failed, f"{worst:.3f}")
PY
read -r ok slow failed worst <"$tmp/scrapes"
check "/metrics from 127.0.0.1 answered within 1 s 100 times of 100 ($ok ok, $slow slow, $failed failed, worst ${worst}s)" \
	test "${ok:-0}" -eq 100
echo "# attackers: $(cat "$tmp/attack.log" 2>/dev/null)"

m=$(curl -sf --max-time 2 "$url/metrics")
refused() { sed -n "s/^vmscale_http_connections_refused_total{reason=\"$1\"} //p" <<<"$m"; }
check "refusals at the per-address limit are counted ($(refused per_address_limit))" \
	test "$(refused per_address_limit)" -gt 0 2>/dev/null
check "slow headers are cut and counted ($(refused header_timeout))" \
	test "$(refused header_timeout)" -gt 0 2>/dev/null
lines=$(grep -c 'http: ' "$tmp/vmscaled.log")
check "refusals are logged at a bounded rate ($lines lines)" test "$lines" -le 10
grep 'http: ' "$tmp/vmscaled.log" | head -5 | cut -c1-240 | sed 's/^/# /'
if [ "$fails" -gt 0 ]; then
	echo "--- vmscaled log (head)"
	head -20 "$tmp/vmscaled.log"
fi
finish
