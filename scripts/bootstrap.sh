#!/usr/bin/env bash
# Install every Debian package vmscale needs to build, test and run its lab.
# Idempotent and non-interactive: installs only what is missing.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config
	libvirt-dev libmicrohttpd-dev libstatgrab-dev libsystemd-dev libxml2-dev zlib1g-dev
	libgnutls28-dev libcrypt-dev  # CMake asks for them by name (both come with the above today)
	# packages (scripts/package.sh): Debian's tooling; debian/control's Build-Depends are the
	# build line above with debhelper
	debhelper dpkg-dev fakeroot lintian
	# e2e_systemd_host: a Debian 12 system booted with systemd as PID 1 (systemd-nspawn --boot)
	mmdebstrap systemd-container e2fsprogs  # e2e_probe_systemd: mke2fs -d makes its guest disk
	# run and lab: libvirt + QEMU (TCG), a Debian guest kernel, busybox for the guest initramfs
	libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
	dbus polkitd  # a non-root vmscaled: libvirtd asks polkit about its read-only socket
	linux-image-amd64 busybox-static cpio gzip kmod
	# tests (clang-format and cppcheck: the house style and the static analyser)
	clang-format cppcheck
	clang libclang-rt-14-dev  # the fuzz pass: libFuzzer and clang's sanitizer runtimes
	curl python3 prometheus iproute2 procps psmisc systemd groff-base
	openssl  # test_http: a self-signed certificate for the HTTPS test
	apache2-utils  # prometheus_auth: htpasswd makes bcrypt hashes as docs/configuration.md shows
	chromium fonts-dejavu-core  # landing_chromium: the landing page in a headless browser
	# benchmark (tests/bench/render_bench.sh): the exporter operators use today, for comparison
	prometheus-libvirt-exporter
	mbw  # lab.sh crosscheck: the independent memory-bandwidth figure, in the guest's initramfs
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "bootstrap: all ${#PACKAGES[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "bootstrap: missing packages (${missing[*]}) and not root; install them or rerun as root" >&2
	exit 1
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# --force-confnew: libvirt-daemon-system ships conffiles; never stop on a prompt.
# policy-rc.d: this host has no systemd as PID 1, so maintainer scripts must not try to start services.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confnew -o Dpkg::Options::=--force-confdef \
	"${missing[@]}"
# The exporter's package enables its service (qemu:///system on :9177); vmscale only starts
# it from the benchmark, on loopback, against the test driver.
if [[ " ${missing[*]} " == *" prometheus-libvirt-exporter "* ]]; then
	systemctl disable prometheus-libvirt-exporter.service >/dev/null 2>&1 || true
fi
echo "bootstrap: done"
