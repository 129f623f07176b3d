#!/usr/bin/env bash
# End to end: `scripts/lab.sh crosscheck` on a private lab (issue 15, item 5).
#
#   crosscheck.sh BUILD_DIR
#
# Runs the cross-checks against independent tools in one dedicated TCG guest: the memory
# probe against mbw in the same guest, the guest's CPU split against the host's vCPU time,
# the guest's disk bytes against the host's block stats, the network probe against plain TCP
# transfers of the same size. Fails if a row is missing (either figure absent) or the memory
# copy misses mbw's by more than 15 %. Exit 77 (skipped) only when the machine lacks root,
# QEMU or libvirtd; the lab is always taken down at exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab=$repo/scripts/lab.sh
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
prefix=vmsxck
# shellcheck source=tests/e2e/lab_lib.sh
. "$here/lab_lib.sh"
lab_preconditions
command -v mbw >/dev/null || {
	echo "not ok - no mbw on this host: scripts/bootstrap.sh installs it (the guest image takes it from there)"
	exit 1
}
# shellcheck disable=SC2119 # no extra vmscaled options
lab_prepare
out=$LAB_DIR.out
# shellcheck disable=SC2317 # lab_cleanup calls it
remove_out() { rm -f "$out"; }
lab_extra_cleanup=remove_out

fail() {
	echo "not ok - $*"
	lab_evidence 30
	exit 1
}

echo "# lab.sh crosscheck (LAB_DIR=$LAB_DIR, LAB_LISTEN=$LAB_LISTEN, build $build)"
rc=0
"$lab" crosscheck >"$out" 2>&1 || rc=$?
sed 's/^/#   /' "$out"

# The table's columns are separated by two spaces or more: check, vmscale, independent, unit,
# ratio, target, verdict. Prints "vmscale|independent|ratio|verdict" of the row LABEL.
row() { awk -F '  +' -v l="$1" 'index($1, l) == 1 { print $2 "|" $3 "|" $5 "|" $7; exit }' "$out"; }

for label in "memory copy" "network transmit" "network receive" "cpu busy" "disk bytes read" \
	"disk bytes written"; do
	r=$(row "$label")
	if [ -z "$r" ]; then
		not_ok "row '$label' is missing"
		continue
	fi
	IFS='|' read -r ours theirs ratio verdict <<<"$r"
	if [ "$ours" = - ] || [ "$theirs" = - ]; then
		not_ok "row '$label': a figure is missing (vmscale $ours, independent $theirs)"
	else
		ok "row '$label': vmscale $ours, independent $theirs, ratio $ratio ($verdict)"
	fi
done
r=$(row "memory copy")
if [ "${r##*|}" = PASS ]; then
	ok "memory copy within ±15 % of mbw"
else
	not_ok "memory copy outside ±15 % of mbw (ratio $(cut -d'|' -f3 <<<"$r"))"
fi
if [ "$rc" -eq 0 ]; then
	ok "lab.sh crosscheck exited 0"
else
	not_ok "lab.sh crosscheck exited $rc"
fi
if [ "$fails" -ne 0 ]; then
	fail "$fails check(s) failed"
fi
finish
