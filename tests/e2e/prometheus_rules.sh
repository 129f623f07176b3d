#!/usr/bin/env bash
# The shipped Prometheus rules (grafana/prometheus): `promtool check rules` is clean on both
# files (SUCCESS, no warning), the unit tests (`promtool test rules`) pass, every rule is
# exercised by a test, and every alert's runbook_url anchor exists in the documentation.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
dir=${1:-$root/grafana/prometheus}
command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus; scripts/bootstrap.sh installs it)"

recording=$dir/vmscale-recording.rules.yml
alerts=$dir/vmscale-alerts.rules.yml
tests=("$dir"/tests/*.test.yml)
[ -f "${tests[0]}" ] || { not_ok "unit tests exist in $dir/tests"; finish; }

clean_check() { # FILE: promtool check rules says SUCCESS and nothing else worth a warning
	local out rc
	out=$(promtool check rules "$1" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  # /'
	[ $rc -eq 0 ] && grep -q 'SUCCESS' <<<"$out" && ! grep -qiE 'warn|FAILED' <<<"$out"
}
check "promtool check rules: $(basename "$recording")" clean_check "$recording"
check "promtool check rules: $(basename "$alerts")" clean_check "$alerts"

unit_tests() {
	local out rc
	out=$(cd / && promtool test rules "${tests[@]}" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  # /'
	[ $rc -eq 0 ] && ! grep -q 'FAILED' <<<"$out"
}
check "promtool test rules: ${#tests[@]} file(s)" unit_tests

# Every recording rule is the expression of a promql_expr_test, every alert the alertname of
# an alert_rule_test.
names() { sed -n "s/^ *- $1: *\([^ ]*\) *$/\1/p" "$2"; }
for r in $(names record "$recording"); do
	check "recording rule $r is tested" grep -qE "^ *- expr: *'?$r'? *$" "${tests[@]}"
done
for a in $(names alert "$alerts"); do
	check "alert $a is tested" grep -qE "^ *alertname: *$a *$" "${tests[@]}"
	# The runbooks live in docs/runbooks.md ("Alerts and runbooks").
	anchor=runbook-$(tr '[:upper:]' '[:lower:]' <<<"$a")
	check "alert $a links to docs/runbooks.md#$anchor" grep -q "runbook_url: .*/docs/runbooks\.md#$anchor\$" "$alerts"
	check "the runbook anchor #$anchor exists" grep -qs "id=\"$anchor\"" "$root/docs/runbooks.md"
done

# The example multi-host configuration is valid once its paths point at this checkout.
example_config() {
	local tmp rc
	tmp=$(mktemp -d /tmp/vmscale-promconf.XXXXXX)
	: >"$tmp/ca.pem"
	sed -e "s|/etc/prometheus/vmscale/|$root/grafana/prometheus/|" \
		-e "s|/etc/prometheus/vmscale-ca.pem|$tmp/ca.pem|" \
		"$root/grafana/prometheus/prometheus.example.yml" >"$tmp/prometheus.yml"
	promtool check config "$tmp/prometheus.yml" >"$tmp/out" 2>&1
	rc=$?
	sed 's/^/  # /' "$tmp/out"
	rm -rf "$tmp"
	return $rc
}
check "promtool check config: prometheus.example.yml" example_config
# The global (federating) example as it ships: it names no file.
global_config() {
	local out rc
	out=$(promtool check config "$root/grafana/prometheus/prometheus.global.example.yml" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  # /'
	[ $rc -eq 0 ] && grep -q SUCCESS <<<"$out"
}
check "promtool check config: prometheus.global.example.yml" global_config
finish
