#!/usr/bin/env bash
# Every C source and header of the repository is formatted as .clang-format says
# (clang-format --dry-run -Werror). To fix: clang-format -i on the files named.
#   clang_format.sh REPO
set -euo pipefail
repo=${1:?usage: clang_format.sh REPO}
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed (package clang-format)"; exit 77; }
cd "$repo"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
# shellcheck disable=SC2086
if ! out=$(clang-format --dry-run -Werror $files 2>&1); then
	echo "$out" | grep 'error:' | cut -d: -f1 | sort | uniq -c | sed 's/^/clang-format: lines to fix: /'
	echo "clang-format: FAILED: run clang-format -i on the files above"
	exit 1
fi
echo "clang-format: $(echo "$files" | wc -w) files formatted as .clang-format says ($(clang-format --version))"
