#!/usr/bin/env bash
# vmscale-probe's command line on the host: the human report, the record stream, the binary.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
probe=${1:?usage: probe_cli.sh PATH/TO/vmscale-probe [static|dynamic]}
linkage=${2:-static}
tmp=$(mktemp -d /tmp/vmscale-test-probe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

check "--version" bash -c "'$probe' --version | grep -q '^vmscale-probe [0-9].* (protocol 1)'"
"$probe" --once --stdout >"$tmp/once"
check "--once --stdout exits 0" test $? -eq 0
for mode in user nice system idle iowait irq softirq steal guest guest_nice; do
	check "--once --stdout shows $mode" grep -Eq "^  $mode +[0-9]+ +[0-9.]+ +[0-9.]+%$" "$tmp/once"
done
check "--once --stdout names the CPU count" grep -Eq "^cpu: $(nproc) CPUs, USER_HZ [0-9]+" "$tmp/once"

timeout 3 "$probe" --stdout --interval 1 >"$tmp/stream"
check "stream mode starts with hello" bash -c "head -1 '$tmp/stream' | grep -Eqx 'hello proto=1 probe=[^ ]* caps=cpu,disk,cpu_work,memory,(disk_read,)?network,micro'"
check "stream mode reports every second" test "$(grep -c '^cpu seq=' "$tmp/stream")" -ge 2
check "sequence numbers count up" bash -c "grep -o 'seq=[0-9]*' '$tmp/stream' | head -2 | tr '\n' ' ' | grep -qx 'seq=0 seq=1 '"
check "records are within the protocol's bound" awk 'length($0) >= 1024 {exit 1}' "$tmp/stream"

"$probe" --proc-stat /nonexistent --once --stdout 2>"$tmp/err"
check "a missing /proc/stat fails with exit 1" test $? -eq 1
check "and says which file" grep -q "cannot read /nonexistent" "$tmp/err"
"$probe" --interval 0 2>/dev/null
check "--interval 0 is refused" test $? -eq 2
"$probe" --port /nonexistent/port --once 2>"$tmp/err"
check "--once on a missing port fails clearly" grep -q "cannot open /nonexistent/port" "$tmp/err"

if [ "$linkage" = static ]; then
	check "the probe needs no shared library" bash -c "! readelf -d '$probe' | grep -q NEEDED"
fi
finish
