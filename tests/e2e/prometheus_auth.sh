#!/usr/bin/env bash
# A real Prometheus scrapes vmscaled over HTTPS with basic auth, both configured by the shipped
# examples (docs/examples/web-config.yml for vmscaled, docs/examples/prometheus-auth.yml for
# Prometheus) with only their paths, names and target substituted, so the docs are what is
# tested. The right password: the target is up. A wrong one: down, with 401. A hash made with
# the documented htpasswd command and a SIGHUP: the new password works without a restart.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
vmscaled=${1:?usage: prometheus_auth.sh PATH/TO/vmscaled}
examples=$here/../../docs/examples
command -v prometheus >/dev/null || skip "prometheus is not installed (scripts/bootstrap.sh installs it)"
command -v openssl >/dev/null || skip "openssl is not installed"
command -v htpasswd >/dev/null || skip "htpasswd is not installed (package apache2-utils)"
command -v curl >/dev/null || skip "curl is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

scratch vmscale-test-auth

# A self-signed certificate for the name the scrape config checks.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=vmscaled.example -addext subjectAltName=DNS:vmscaled.example \
	-keyout "$tmp/vmscaled.key" -out "$tmp/vmscaled.crt" 2>/dev/null || not_ok "openssl makes a certificate"

# The example web config, its TLS files moved to $tmp. Its hash is of "change-me".
sed -e "s|/etc/vmscale/vmscaled.crt|$tmp/vmscaled.crt|" -e "s|/etc/vmscale/vmscaled.key|$tmp/vmscaled.key|" \
	"$examples/web-config.yml" >"$tmp/web-config.yml"
check "the example web config names the TLS files" grep -q "cert_file: $tmp/vmscaled.crt" "$tmp/web-config.yml"
check "the example web config passes --check-config" \
	"$vmscaled" --web-config-file "$tmp/web-config.yml" --check-config

port=$(free_port)
"$vmscaled" --connect test:///default --listen "127.0.0.1:$port" --interval 1 --state-dir "$tmp/state" \
	--control-socket "$tmp/control.sock" --web-config-file "$tmp/web-config.yml" 2>"$tmp/vmscaled.log" &
vpid=$!
pids+=($vpid)
url="https://127.0.0.1:$port/metrics"
curl_tls=(--cacert "$tmp/vmscaled.crt" --resolve "vmscaled.example:$port:127.0.0.1")
code() { curl -s -o /dev/null -w '%{http_code}' "${curl_tls[@]}" "$@" "https://vmscaled.example:$port/metrics"; }
answers() { test "$(code -u "$1")" = 200; } # USER:PASSWORD
check "vmscaled serves HTTPS with the web config's certificate" wait_for 10 answers prometheus:change-me
check "no credentials: 401" test "$(code)" = 401
check "a wrong password: 401" test "$(code -u prometheus:wrong)" = 401
check "401 asks for Basic auth" bash -c "curl -s -D - -o /dev/null ${curl_tls[*]} https://vmscaled.example:$port/healthz | tr -d '\r' | grep -qx 'WWW-Authenticate: Basic realm=\"vmscale\"'"
check "plain HTTP is not served" bash -c "! curl -sf -o /dev/null http://127.0.0.1:$port/metrics"

# The example scrape config: CA, server name, user and password file, target substituted.
printf 'change-me\n' >"$tmp/password"
prom_port=$(free_port)
{
	printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
	sed -e "s|/etc/prometheus/vmscaled.crt|$tmp/vmscaled.crt|" -e "s|/etc/prometheus/vmscaled.password|$tmp/password|" \
		-e "s|vmhost.example:9477|127.0.0.1:$port|" "$examples/prometheus-auth.yml"
} >"$tmp/prometheus.yml"
check "the example scrape config points at this vmscaled" grep -q "127.0.0.1:$port" "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)

api="http://127.0.0.1:$prom_port/api/v1"
target() { # prints "HEALTH LASTERROR" of the vmscale target
	curl -sf "$api/targets" 2>/dev/null | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["data"]["activeTargets"] if x["labels"]["job"] == "vmscale"]
print(t[0]["health"], t[0]["lastError"]) if t else print("none")' 2>/dev/null
}
up_with_series() {
	target | grep -qx 'up ' &&
		curl -sf --data-urlencode 'query=max(vmscale_libvirt_up)' "$api/query" | grep -q '"1"'
}
check "Prometheus scrapes over HTTPS with basic auth: up, series arrive" wait_for 60 up_with_series

printf 'wrong\n' >"$tmp/password" # Prometheus rereads password_file at each scrape
down_401() { target | grep -q '^down .*401'; }
check "a wrong password: the target is down with 401" wait_for 30 down_401
check "refusals are counted" bash -c "curl -s ${curl_tls[*]} -u prometheus:change-me https://vmscaled.example:$port/metrics | grep -q '^vmscale_http_requests_unauthorized_total{reason=\"wrong\"} [1-9]'"

# The documented way to make a hash, then a reload: the new password works, the old one not.
hash=$(htpasswd -nbBC 10 prometheus 'n3w-secret' | cut -d: -f2)
sed -i "s|^  prometheus: .*|  prometheus: $hash|" "$tmp/web-config.yml"
kill -HUP "$vpid"
printf 'n3w-secret\n' >"$tmp/password"
check "after SIGHUP the new password is accepted" wait_for 10 answers prometheus:n3w-secret
check "and the old one refused" test "$(code -u prometheus:change-me)" = 401
check "Prometheus is up again with the new password" wait_for 30 bash -c "$(declare -f target); api=$api; target | grep -qx 'up '"
# A changed tls_server_config cannot apply live: the reload is refused, users stay.
sed -i "s|key_file: .*|key_file: $tmp/other.key|" "$tmp/web-config.yml"
kill -HUP "$vpid"
check "a changed tls_server_config refuses the reload" wait_for 10 grep -q "reload refused: changing 'tls_server_config of web-config-file' needs a restart" "$tmp/vmscaled.log"
check "the running users stay" test "$(code -u prometheus:n3w-secret)" = 200
check "refusals are logged at a bounded rate" test "$(grep -c 'refused a request' "$tmp/vmscaled.log")" -le 5

if [ "$fails" -gt 0 ]; then
	echo "--- vmscaled log"; tail -20 "$tmp/vmscaled.log"
	echo "--- prometheus log"; tail -20 "$tmp/prometheus.log"
	echo "--- target"; target
fi
finish
