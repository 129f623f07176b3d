#!/usr/bin/env bash
# The static analyser over every source of the daemon, the probe and the common library:
# cppcheck's warning, performance and portability checks must find nothing. A finding that
# is wrong is suppressed where it stands (// cppcheck-suppress ID, with the reason).
#   cppcheck.sh REPO
set -euo pipefail
repo=${1:?usage: cppcheck.sh REPO}
command -v cppcheck >/dev/null || { echo "SKIP: cppcheck not installed (package cppcheck)"; exit 77; }
cd "$repo"
if ! cppcheck --enable=warning,performance,portability --inline-suppr --error-exitcode=1 --quiet \
	--std=c11 -D_GNU_SOURCE -I include -I . --suppress=missingIncludeSystem \
	common probes daemon collectors; then
	echo "cppcheck: FAILED: fix the findings above"
	exit 1
fi
echo "cppcheck: no finding in common/ probes/ daemon/ collectors/ ($(cppcheck --version))"
