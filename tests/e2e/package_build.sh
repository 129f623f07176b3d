#!/usr/bin/env bash
# The Debian packages: scripts/package.sh builds vmscaled and vmscale-probe into OUTDIR (kept
# there for the tests that install them), and each package holds what issue 16 lists: paths,
# conffiles, a static probe, a daemon that reads /etc/vmscale/vmscaled.conf, maintainer
# scripts; lintian reports no error or warning beyond debian/*.lintian-overrides.
#   package_build.sh REPO OUTDIR
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
repo=${1:?usage: package_build.sh REPO OUTDIR}
out=${2:?usage: package_build.sh REPO OUTDIR}
command -v dpkg-buildpackage >/dev/null || skip "dpkg-buildpackage is not installed (package dpkg-dev)"

scratch vmscale-test-package
log=$tmp/package.log
"$repo/scripts/package.sh" "$out" >"$log" 2>&1
rc=$?
check "scripts/package.sh builds both packages, lintian clean (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 40 "$log"; finish; }
check "lintian reported no E: or W: line" bash -c "! grep -q '^[EW]: ' '$out/lintian.txt'"

version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
daemon=$out/vmscaled_${version}_${arch}.deb
probe=$out/vmscale-probe_${version}_${arch}.deb
check "package.sh printed $daemon" grep -qxF "$daemon" "$log"
check "package.sh printed $probe" grep -qxF "$probe" "$log"

# contains DEB PATH...: each path is in the package's file list (called through check).
# shellcheck disable=SC2317
contains() {
	local deb=$1 list p
	shift
	list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
	for p in "$@"; do
		grep -qxF "$p" <<<"$list" || { echo "  $(basename "$deb") lacks $p"; return 1; }
	done
}
check "vmscaled holds the daemon, vmscalectl, unit, configuration, man pages, docs" contains "$daemon" \
	/usr/sbin/vmscaled /usr/sbin/vmscalectl /lib/systemd/system/vmscaled.service \
	/etc/vmscale/vmscaled.conf /etc/default/vmscaled \
	/usr/share/man/man8/vmscaled.8.gz /usr/share/man/man8/vmscalectl.8.gz \
	/usr/share/doc/vmscaled/README.md /usr/share/doc/vmscaled/copyright \
	/usr/share/doc/vmscaled/docs/configuration.md
dashboards=$(cd "$repo/grafana" && printf '/usr/share/vmscale/grafana/%s\n' dashboards/*.json prometheus/*.yml)
# shellcheck disable=SC2086
check "vmscaled holds every dashboard and Prometheus file under /usr/share/vmscale/grafana" \
	contains "$daemon" $dashboards
check "vmscale-probe holds the probe, its unit, udev rule and man page" contains "$probe" \
	/usr/sbin/vmscale-probe /lib/systemd/system/vmscale-probe.service \
	/lib/udev/rules.d/60-vmscale-probe.rules /usr/share/man/man8/vmscale-probe.8.gz
check "nothing under /usr/etc, /usr/local or /usr/lib/systemd" \
	bash -c "! { dpkg-deb -c '$daemon' && dpkg-deb -c '$probe'; } | grep -E '\./usr/(etc|local|lib/systemd)/'"
check "vmscale-probe does not hold the daemon" bash -c "! dpkg-deb -c '$probe' | grep -q 'sbin/vmscaled'"

dpkg-deb -e "$daemon" "$tmp/daemon-control"
dpkg-deb -e "$probe" "$tmp/probe-control"
check "conffiles: /etc/vmscale/vmscaled.conf and /etc/default/vmscaled" \
	diff <(sort "$tmp/daemon-control/conffiles") <(printf '/etc/default/vmscaled\n/etc/vmscale/vmscaled.conf\n')
check "vmscaled has postinst, prerm and postrm" \
	test -x "$tmp/daemon-control/postinst" -a -x "$tmp/daemon-control/prerm" -a -x "$tmp/daemon-control/postrm"
check "postinst creates the system user vmscale" grep -q 'adduser --system .*vmscale' "$tmp/daemon-control/postinst"
check "postinst adds vmscale to libvirt-qemu" grep -q 'adduser --quiet vmscale libvirt-qemu' "$tmp/daemon-control/postinst"
check "postinst enables vmscaled.service" grep -q "deb-systemd-helper enable 'vmscaled.service'" "$tmp/daemon-control/postinst"
check "postrm removes /var/lib/vmscale on purge" grep -q 'rm -rf /var/lib/vmscale' "$tmp/daemon-control/postrm"
check "vmscale-probe has postinst (its unit)" grep -q "vmscale-probe.service" "$tmp/probe-control/postinst"
check "vmscaled depends on adduser, recommends libvirt-daemon-system" bash -c \
	"dpkg-deb -f '$daemon' Depends | grep -qw adduser && dpkg-deb -f '$daemon' Recommends | grep -qw libvirt-daemon-system"
check "vmscale-probe is Built-Using glibc" bash -c "dpkg-deb -f '$probe' Built-Using | grep -q '^glibc (= '"

dpkg-deb -x "$daemon" "$tmp/daemon"
dpkg-deb -x "$probe" "$tmp/probe"
check "the probe is statically linked (no dynamic section)" \
	bash -c "readelf -h '$tmp/probe/usr/sbin/vmscale-probe' >/dev/null && ! readelf -d '$tmp/probe/usr/sbin/vmscale-probe' | grep -q NEEDED"
# The packaged daemon names its default configuration: the conffile's path, never /usr/etc.
check "vmscaled's compiled-in configuration is /etc/vmscale/vmscaled.conf" \
	grep -qaF '/etc/vmscale/vmscaled.conf' "$tmp/daemon/usr/sbin/vmscaled"
cc_out=$("$tmp/daemon/usr/sbin/vmscaled" --check-config 2>&1)
echo "  vmscaled --check-config: $cc_out"
check "vmscaled --check-config reads /etc/vmscale/vmscaled.conf" grep -q '^/etc/vmscale/vmscaled.conf: ' <<<"$cc_out"
check "the unit runs /usr/sbin/vmscaled and reads /etc/default/vmscaled" bash -c \
	"grep -q '^ExecStart=/usr/sbin/vmscaled ' '$tmp/daemon/lib/systemd/system/vmscaled.service' &&
	 grep -q '^EnvironmentFile=-/etc/default/vmscaled' '$tmp/daemon/lib/systemd/system/vmscaled.service'"
check "the probe's unit runs /usr/sbin/vmscale-probe" \
	grep -q '^ExecStart=/usr/sbin/vmscale-probe' "$tmp/probe/lib/systemd/system/vmscale-probe.service"
check "the udev rule starts vmscale-probe.service" \
	grep -q 'TAG+="systemd", ENV{SYSTEMD_WANTS}+="vmscale-probe.service"' "$tmp/probe/lib/udev/rules.d/60-vmscale-probe.rules"
finish
