#!/usr/bin/env bash
# Writes the generated part of docs/metrics.md (below its marker line) from the metrics
# registry: every family with its type, unit, labels, help and owning module, as printed by
# the metrics_doc tool (tests/tools/metrics_doc.c, built with the tests).
#   scripts/metrics-doc.sh [--check] [METRICS_DOC]   METRICS_DOC defaults to build/tests/metrics_doc
#   --check   change nothing; exit 1 and show the difference if the document is out of date
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
tool=${1:-$repo/build/tests/metrics_doc}
doc=$repo/docs/metrics.md
marker='<!-- BEGIN GENERATED REFERENCE: everything below is written by scripts/metrics-doc.sh; do not edit by hand -->'

[ -x "$tool" ] || { echo "metrics-doc: $tool not built (cmake --build build)" >&2; exit 2; }
grep -qxF "$marker" "$doc" || { echo "metrics-doc: $doc has no marker line" >&2; exit 2; }
new=$(mktemp)
trap 'rm -f "$new"' EXIT
{
	sed "/^$(printf '%s' "$marker" | sed 's/[][\.*^$/]/\\&/g')\$/q" "$doc"
	echo
	"$tool"
} >"$new"
if [ "$check" = 1 ]; then
	if ! diff -u "$doc" "$new"; then
		echo "metrics-doc: docs/metrics.md is out of date with the registry: run scripts/metrics-doc.sh" >&2
		exit 1
	fi
	echo "metrics-doc: docs/metrics.md is current: $(tail -n 1 "$new")"
	exit 0
fi
cp "$new" "$doc"
echo "metrics-doc: wrote $doc"
