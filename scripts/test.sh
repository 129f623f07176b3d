#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs the whole suite (ctest).
# First a sanitizer build (ASan + UBSan) of everything but the tests that boot guests (their
# initramfs needs the static probe; a sanitized probe is dynamic), then a clang build of the
# libFuzzer targets, each fuzzed briefly (docs/fuzzing.md), then the normal build with every
# test, the end-to-end ones included; before that last pass, a Release build (compile only:
# -O3 finds warnings, format-truncation among them, that -Werror must stop; its tests would
# repeat the normal build's). The normal build's ctest summary stays the last line.
#   VMSCALE_SKIP_SANITIZE=1   skip the sanitizer pass
#   VMSCALE_SKIP_FUZZ=1       skip the fuzz pass
#   VMSCALE_BUILD_DIR=DIR     build directory of the main pass (default build/)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${VMSCALE_BUILD_DIR:-$repo/build}
jobs=$(nproc 2>/dev/null || echo 2)

"$repo/scripts/bootstrap.sh"

if [ "${VMSCALE_SKIP_SANITIZE:-0}" != 1 ]; then
	echo "== sanitizer build (ASan + UBSan) in $repo/build-asan"
	cmake -S "$repo" -B "$repo/build-asan" -DCMAKE_BUILD_TYPE=Debug -DVMSCALE_SANITIZE=ON >/dev/null
	cmake --build "$repo/build-asan" -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir "$repo/build-asan" -E '^e2e_' --output-on-failure
fi

if [ "${VMSCALE_SKIP_FUZZ:-0}" != 1 ]; then
	echo "== fuzz build (clang, libFuzzer + ASan + UBSan) in $repo/build-fuzz"
	cmake -S "$repo" -B "$repo/build-fuzz" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVMSCALE_FUZZ=ON -DVMSCALE_BUILD_TESTS=OFF >/dev/null
	cmake --build "$repo/build-fuzz" -j"$jobs"
	# One target at a time, each for VMSCALE_FUZZ_SECONDS (15): findings in build-fuzz/fuzz-work/.
	ctest --test-dir "$repo/build-fuzz" -R '^fuzz_' --output-on-failure
fi

echo "== Release build in $repo/build-release (compile only)"
cmake -S "$repo" -B "$repo/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$repo/build-release" -j"$jobs"

echo "== build in $build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure
