#!/usr/bin/env bash
# The layer rule (docs/architecture.md): a file may include only headers of its own layer or
# of layers below it; sibling layers (collectors/ and collectors/guest/) include neither the
# other. Every `#include "..."` of the C sources is checked; an include that points up or
# sideways is printed and fails the test. Then the same check runs on a copy of the tree with
# one upward include planted, which it must catch: a checker that cannot fail proves nothing.
#   layering.sh REPO
set -euo pipefail
repo=${1:?usage: layering.sh REPO}

# Layer of a path: "rank name". Higher ranks may use lower ones.
layer_of() {
	case $1 in
	include/vmscale/* | common/*) echo "0 common" ;;
	probes/*) echo "1 probe" ;;
	daemon/util/*) echo "1 util" ;;
	daemon/store/*) echo "2 store" ;;
	collectors/guest/*) echo "3 guest" ;;
	collectors/*) echo "3 collectors" ;;
	daemon/analysis/*) echo "4 analysis" ;;
	daemon/expo/*) echo "5 expo" ;;
	daemon/http.* | daemon/control.*) echo "6 serve" ;;
	daemon/config/*) echo "7 config" ;;
	daemon/main.c | daemon/vmscalectl.c) echo "8 main" ;;
	*) echo "" ;;
	esac
}

# Prints every bad include under $1; returns 1 if there is any.
check_tree() {
	local root=$1 bad=0 file line inc from to
	while IFS= read -r file; do
		from=$(layer_of "$file")
		if [ -z "$from" ]; then
			echo "layering: $file: in no layer (add it to tests/layering/layering.sh)"
			bad=1
			continue
		fi
		while IFS=: read -r line inc; do
			inc=${inc#*\"}
			inc=${inc%%\"*}
			case $inc in vmscale/*) inc=include/$inc ;; esac
			if [ ! -e "$root/$inc" ]; then
				echo "layering: $file:$line: \"$inc\" is not a path from the repository root"
				bad=1
				continue
			fi
			to=$(layer_of "$inc")
			if [ "${from%% *}" -lt "${to%% *}" ] ||
				{ [ "${from%% *}" = "${to%% *}" ] && [ "${from#* }" != "${to#* }" ]; }; then
				echo "layering: $file:$line: ${from#* } includes \"$inc\" of layer ${to#* }, which is not below it"
				bad=1
			fi
		done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/$file" || true)
	done < <(cd "$root" && find include common probes daemon collectors -name '*.[ch]' | sort)
	return $bad
}

if ! check_tree "$repo"; then
	echo "layering: FAILED: an include points up or sideways"
	exit 1
fi
echo "layering: every include of $(cd "$repo" && find include common probes daemon collectors -name '*.[ch]' | wc -l) files points down or within its layer"

# The checker must catch a planted upward include.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$repo/include" "$repo/common" "$repo/probes" "$repo/daemon" "$repo/collectors" "$tmp/"
printf '#include "daemon/expo/render.h"\n' >>"$tmp/daemon/util/log.c"
if check_tree "$tmp" >"$tmp/out"; then
	echo "layering: FAILED: the planted include of the exposition in daemon/util/log.c went unseen"
	exit 1
fi
grep -q 'daemon/util/log.c:.*util includes "daemon/expo/render.h" of layer expo' "$tmp/out" || {
	echo "layering: FAILED: the planted include was reported wrongly:"
	cat "$tmp/out"
	exit 1
}
echo "layering: a planted upward include (util -> expo) is caught"
