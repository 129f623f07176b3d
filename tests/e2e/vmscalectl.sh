#!/usr/bin/env bash
# vmscalectl's command line: usage errors (exit 2), no daemon (exit 69), and real exchanges
# with a stand-in server that speaks the control protocol (vmscalectl(8), PROTOCOL).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
ctl=${1:?usage: vmscalectl.sh PATH/TO/vmscalectl}
tmp=$(mktemp -d /tmp/vmscale-test-ctl.XXXXXX)
server=
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# rc EXPECTED COMMAND...: the command exits with EXPECTED (output in $tmp/out and $tmp/err).
rc() {
	local want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	[ "$got" -eq "$want" ] || { echo "  exit $got, want $want; stderr: $(cat "$tmp/err")"; return 1; }
}

check "--version" bash -c "'$ctl' --version | grep -qx 'vmscalectl [0-9][0-9.]*'"
check "--help exits 0" rc 0 "$ctl" --help
check "--help names the default socket" grep -q /run/vmscale/control.sock "$tmp/out"
check "-h lists the commands" bash -c "'$ctl' -h | grep -q 'baseline reset DOMAIN \[PROBE\]'"

check "no command: exit 2" rc 2 "$ctl"
check "unknown command: exit 2" rc 2 "$ctl" frobnicate
check "and says which" grep -q "unknown command 'frobnicate'" "$tmp/err"
check "baseline alone: exit 2" rc 2 "$ctl" baseline
check "unknown baseline command: exit 2" rc 2 "$ctl" baseline drop web1
check "baseline pin without a domain: exit 2" rc 2 "$ctl" baseline pin
check "baseline reset with three arguments: exit 2" rc 2 "$ctl" baseline reset a b c
check "baseline list with two domains: exit 2" rc 2 "$ctl" baseline list a b
check "status with an argument: exit 2" rc 2 "$ctl" status now
check "an argument with a space: exit 2" rc 2 "$ctl" baseline pin "web 1"
check "an argument with a control byte: exit 2" rc 2 "$ctl" baseline pin $'web\t1'
check "an argument of 256 bytes: exit 2" rc 2 "$ctl" baseline pin "$(printf 'x%.0s' {1..256})"
check "an empty argument: exit 2" rc 2 "$ctl" baseline pin ""
check "an unknown option: exit 2" rc 2 "$ctl" --frob status
check "named once, with one prefix" bash -c "[ \"\$(head -1 '$tmp/err')\" = \"vmscalectl: unknown option '--frob'\" ]"
check "an unknown short option: exit 2" rc 2 "$ctl" -x status
check "named with one prefix" bash -c "[ \"\$(head -1 '$tmp/err')\" = \"vmscalectl: unknown option '-x'\" ]"
check "--socket without a path: exit 2" rc 2 "$ctl" --socket
check "said with one prefix" bash -c "[ \"\$(head -1 '$tmp/err')\" = \"vmscalectl: option '--socket' needs an argument\" ]"
check "a socket path too long: exit 2" rc 2 "$ctl" -s "/$(printf 'x%.0s' {1..120})" status

check "no socket: exit 69" rc 69 "$ctl" -s "$tmp/none.sock" status
check "the message names the path" grep -q "$tmp/none.sock" "$tmp/err"
check "and hints at the daemon and the setting" \
	bash -c "grep -q 'vmscaled running' '$tmp/err' && grep -q 'control-socket' '$tmp/err'"
check "default path when not given" bash -c "'$ctl' status 2>&1 | grep -q /run/vmscale/control.sock; true"
command -v python3 >/dev/null || { echo "SKIP: no python3 for the stand-in server"; finish; }
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$tmp/stale.sock"
check "a socket nobody listens on: exit 69" rc 69 "$ctl" --socket "$tmp/stale.sock" status
check "a regular file as socket: exit 69" bash -c "touch '$tmp/file'; '$ctl' -s '$tmp/file' status 2>/dev/null; [ \$? -eq 69 ]"

# The stand-in daemon: logs each request line, answers according to its last word.
cat >"$tmp/server.py" <<'EOF'
import os, socket, sys, threading, time
path, log = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
os.rename(path + ".tmp", path)
srv.listen(8)
replies = {
    "status": b"up 1\nok\n",
    "fail": b"error: no such domain web9\n",
    "empty": b"ok\n",
    "okbody": b"ok\nok\n",
    "garbage": b"this is not the protocol\n",
    "cut": b"web1 cpu 12.5\n",
    "nolf": b"ok",
}
def serve(c):
    data = b""
    while not data.endswith(b"\n"):
        chunk = c.recv(2048)
        if not chunk:
            break
        data += chunk
    with open(log, "ab") as f:
        f.write(data)
    word = data.split()[-1].decode() if data.split() else ""
    if word == "silent":
        time.sleep(30)
    if word == "dropped":  # what the daemon does to the oldest of 8 connections for a 9th
        c.close()
        return
    c.sendall(replies.get(word, b"web1 cpu 12.5\nweb1 disk 3\nok\n"))
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
python3 "$tmp/server.py" "$tmp/ctl.sock" "$tmp/requests" &
server=$!
wait_for 10 test -S "$tmp/ctl.sock" || { not_ok "the stand-in server starts"; finish; }
s="$tmp/ctl.sock"

check "baseline list: exit 0" rc 0 "$ctl" -s "$s" baseline list
check "the body goes to stdout" bash -c "printf 'web1 cpu 12.5\nweb1 disk 3\n' | cmp -s - '$tmp/out'"
check "nothing on stderr" test ! -s "$tmp/err"
check "status: exit 0" rc 0 "$ctl" --socket "$s" status
check "status body" bash -c "[ \"\$(cat '$tmp/out')\" = 'up 1' ]"
check "baseline pin with a probe: exit 0" rc 0 "$ctl" -s "$s" baseline pin web1 cpu
check "baseline unpin: exit 0" rc 0 "$ctl" -s "$s" baseline unpin web1
check "the requests went as words on one line each" bash -c "printf 'baseline list\nstatus\nbaseline pin web1 cpu\nbaseline unpin web1\n' | cmp -s - '$tmp/requests'"
check "an error answer: exit 1" rc 1 "$ctl" -s "$s" baseline reset fail
check "the reason on stderr" bash -c "[ \"\$(cat '$tmp/err')\" = 'vmscalectl: no such domain web9' ]"
check "and no body" test ! -s "$tmp/out"
check "an empty body: exit 0" rc 0 "$ctl" -s "$s" baseline reset empty
check "prints nothing" test ! -s "$tmp/out"
check "a body line 'ok' is body, the last line is the status" rc 0 "$ctl" -s "$s" baseline reset okbody
check "so it is printed" bash -c "[ \"\$(cat '$tmp/out')\" = ok ]"
check "an answer without a status: exit 76" rc 76 "$ctl" -s "$s" baseline reset garbage
check "an answer cut short: exit 76" rc 76 "$ctl" -s "$s" baseline reset cut
check "a last line without LF: exit 76" rc 76 "$ctl" -s "$s" baseline reset nolf
check "a connection dropped without an answer (a busy daemon): exit 69" rc 69 "$ctl" -s "$s" baseline reset dropped
check "saying it was busy, to try again" grep -q "without answering (busy.*try again" "$tmp/err"
check "no error line carries a doubled prefix" bash -c "! grep -E '^vmscalectl: (vmscalectl|error):' '$tmp/err'"
start=$SECONDS
check "a daemon that does not answer: exit 69" rc 69 "$ctl" -s "$s" baseline list silent
check "within about 5 s" test $((SECONDS - start)) -le 7
check "saying so" grep -q "no complete answer within 5 s" "$tmp/err"
finish
