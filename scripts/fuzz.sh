#!/usr/bin/env bash
# A longer fuzzing run of one libFuzzer target (docs/fuzzing.md): builds build-fuzz (clang) if
# needed, then fuzzes TARGET for SECONDS (default 600). New inputs stay in
# build-fuzz/fuzz-work/TARGET/corpus (the seeds in tests/fuzz/corpus/TARGET are only read),
# findings in build-fuzz/fuzz-work/TARGET/artifacts. Exit 1 on a finding.
#   scripts/fuzz.sh TARGET [SECONDS]      TARGET: record decode channel config procstat diskstats
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}
build=$repo/build-fuzz
if [ ! -d "$repo/tests/fuzz/corpus/$target" ]; then
	echo "fuzz.sh: no target '$target'; there are: $(ls "$repo/tests/fuzz/corpus" | tr '\n' ' ')" >&2
	exit 2
fi
cmake -S "$repo" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVMSCALE_FUZZ=ON -DVMSCALE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target "fuzz_$target"
exec "$repo/tests/fuzz/run_fuzzer.sh" "$build/tests/fuzz/fuzz_$target" \
	"$repo/tests/fuzz/corpus/$target" "$build/fuzz-work/$target" "$seconds"
