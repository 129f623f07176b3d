#!/usr/bin/env bash
# The man pages render without warnings and document every long option the binaries accept.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: manpages.sh VMSCALED PROBE VMSCALECTL}
probe=${2:?usage: manpages.sh VMSCALED PROBE VMSCALECTL}
vmscalectl=${3:?usage: manpages.sh VMSCALED PROBE VMSCALECTL}
man=$here/../../man
command -v groff >/dev/null || skip "groff is not installed (package groff-base)"
for page in vmscaled.8 vmscale-probe.8 vmscalectl.8; do
	out=$(groff -man -ww -z "$man/$page" 2>&1)
	check "$page renders without warnings" test -z "$out"
	[ -z "$out" ] || echo "$out"
done
for pair in "$vmscaled:vmscaled.8" "$probe:vmscale-probe.8" "$vmscalectl:vmscalectl.8"; do
	bin=${pair%%:*}
	page=${pair##*:}
	for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		escaped=${opt//-/\\\\-}
		check "$page documents $opt" grep -q -- "$escaped" "$man/$page"
	done
done
finish
