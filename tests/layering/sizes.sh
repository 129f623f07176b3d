#!/usr/bin/env bash
# One concern per file: no C source over 800 lines, no function body over 100 lines
# (from the `{` that opens it in column 0 to the `}` that closes it there, the house style).
# Then the check must catch an oversize function planted in a copy: it must be able to fail.
#   sizes.sh REPO
set -euo pipefail
repo=${1:?usage: sizes.sh REPO}
max_file=800
max_func=100

# Prints each oversize file and function of the .c files under $1; returns 1 if any.
check_sizes() {
	(cd "$1" && find common probes daemon collectors -name '*.c' | sort | xargs awk -v mf="$max_file" -v mfn="$max_func" '
		FNR == 1 { if (prev != "" && lines > mf) { print "sizes: " prev ": " lines " lines (at most " mf ")"; bad = 1 }
			   prev = FILENAME; name = ""; start = 0 }
		{ lines = FNR }
		/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
		/^\{/ { start = FNR }
		/^\}/ && start { n = FNR - start + 1
				 if (n > mfn) { print "sizes: " FILENAME ":" start ": " name "() is " n " lines (at most " mfn ")"; bad = 1 }
				 start = 0 }
		END { if (lines > mf) { print "sizes: " prev ": " lines " lines (at most " mf ")"; bad = 1 }
		      exit bad }')
}

if ! check_sizes "$repo"; then
	echo "sizes: FAILED: split the files and functions above by concern"
	exit 1
fi
echo "sizes: every .c file has at most $max_file lines and every function at most $max_func"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/common" "$tmp/probes" "$tmp/daemon" "$tmp/collectors"
{
	printf 'int\nplanted(void)\n{\n'
	for _ in $(seq 1 $max_func); do printf '\t;\n'; done
	printf '}\n'
} >"$tmp/daemon/planted.c"
if check_sizes "$tmp" >"$tmp/out" || ! grep -q 'planted() is' "$tmp/out"; then
	echo "sizes: FAILED: a planted $((max_func + 3))-line function went unseen"
	exit 1
fi
echo "sizes: a planted oversize function is caught"
