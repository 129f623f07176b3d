#!/usr/bin/env bash
# Builds the Debian packages vmscaled and vmscale-probe (debian/, dpkg-buildpackage) in a clean
# copy of the tree, so the worktree stays as it is, then checks them with lintian.
#   scripts/package.sh [OUTDIR]    OUTDIR: where the .deb files go (default build-deb/)
# Prints the path of each .deb, one a line, last. Fails when the build fails or lintian reports
# an error or a warning (the tags debian/*.lintian-overrides explains are not reported).
# The copy holds what git tracks plus new files it does not ignore, as they are in the worktree:
# uncommitted changes are packaged too.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build-deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Build dependencies and the tooling; when it cannot install (not root), dpkg-buildpackage
# still names any build dependency that is missing.
"$repo/scripts/bootstrap.sh" || echo "package: bootstrap.sh failed; trying with what is installed" >&2

# debian/changelog carries the version; it must be CMake's project version.
cmake_version=$(sed -n 's/^project(vmscale VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
if [ "$cmake_version" != "$deb_version" ]; then
	echo "package: debian/changelog says $deb_version, CMakeLists.txt says $cmake_version: add a changelog entry (dch -v $cmake_version)" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/vmscale-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/vmscale-$deb_version
mkdir "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and new files, without what .gitignore names (build*/, .lab/); skip deleted ones.
	(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf -) | tar -xf - -C "$src"
else
	tar -C "$repo" --exclude='./build' --exclude='./build-*' --exclude='./.lab' -cf - . | tar -xf - -C "$src"
fi

echo "package: dpkg-buildpackage in $src"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b -jauto) >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	echo "package: dpkg-buildpackage failed (the last 40 lines above)" >&2
	exit 1
fi

rm -f "$out"/vmscale*_*.deb "$out"/vmscale_*.buildinfo "$out"/vmscale_*.changes "$out"/lintian.txt
mv "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out"/
cp "$tmp/build.log" "$out/build.log"

# --fail-on error,warning: lintian's exit status says whether any is left. Its output (also in
# OUTDIR/lintian.txt) names each tag with its explanation.
changes=$(ls "$out"/vmscale_*.changes)
if ! lintian --info --fail-on error,warning "$changes" >"$out/lintian.txt" 2>&1; then
	grep -v '^running with root privileges' "$out/lintian.txt" >&2 || true
	echo "package: lintian reports errors or warnings (above; in $out/lintian.txt)" >&2
	exit 1
fi
grep -v '^running with root privileges' "$out/lintian.txt" || true
echo "package: lintian: no error or warning (overrides: debian/*.lintian-overrides)"
ls "$out"/*.deb
