#!/usr/bin/env bash
# The layer rule (docs/architecture.md): a file may include only headers of its own layer or
# of layers below it; sibling layers (collectors/ and collectors/guest/) include neither the
# other. Every `#include "..."` of the C sources is checked; an include that points up or
# sideways is printed and fails the test. Then the same check runs on a copy of the tree with
# one upward include planted, which it must catch: a checker that cannot fail proves nothing.
#   layering.sh REPO
set -euo pipefail
repo=${1:?usage: layering.sh REPO}

# Layer of a path into $layer: "rank name". Higher ranks may use lower ones.
layer_of() {
	case $1 in
	include/vmscale/* | common/*) layer="0 common" ;;
	probes/*) layer="1 probe" ;;
	daemon/util/*) layer="1 util" ;;
	daemon/store/*) layer="2 store" ;;
	collectors/guest/*) layer="3 guest" ;;
	collectors/*) layer="3 collectors" ;;
	daemon/analysis/*) layer="4 analysis" ;;
	daemon/expo/*) layer="5 expo" ;;
	daemon/http.* | daemon/http_* | daemon/control* | daemon/publisher.*) layer="6 serve" ;;
	daemon/config/*) layer="7 config" ;;
	daemon/main.c | daemon/vmscalectl.c) layer="8 main" ;;
	*) layer="" ;;
	esac
}

# Prints every bad include under $1; returns 1 if there is any.
check_tree() {
	local root=$1 bad=0 file line inc from to
	while IFS= read -r file; do
		layer_of "$file"
		from=$layer
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
			layer_of "$inc"
			to=$layer
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
printf '#include "daemon/expo/expo.h"\n' >>"$tmp/daemon/util/log.c"
if check_tree "$tmp" >"$tmp/out"; then
	echo "layering: FAILED: the planted include of the exposition in daemon/util/log.c went unseen"
	exit 1
fi
grep -q 'daemon/util/log.c:.*util includes "daemon/expo/expo.h" of layer expo' "$tmp/out" || {
	echo "layering: FAILED: the planted include was reported wrongly:"
	cat "$tmp/out"
	exit 1
}
echo "layering: a planted upward include (util -> expo) is caught"
