#!/bin/sh
# Inside the systemd guest of tests/e2e/probe_systemd_guest.sh (vmscale-e2e-report.service):
# says when the boot is over, waits (at most 300 s) for vmscale-probe.service to run, then prints
# how it came to run, one "vmscale-e2e: " line each, to the console.
u=vmscale-probe.service
# Type=exec: the boot can finish while this waits, so systemd-analyze has its figures.
systemctl is-system-running --wait >/dev/null
# The host hot-plugs the channel once it reads this line; then udev should start the probe.
echo "vmscale-e2e: booted"
i=0
while ! systemctl is-active --quiet "$u" && [ "$i" -lt 300 ]; do
	sleep 1
	i=$((i + 1))
done
sleep 2 # a probe that starts and dies at once shows as such, not as active
{
	echo "begin"
	echo "is-enabled=$(systemctl is-enabled "$u" 2>&1)"
	systemctl show -p ActiveState -p SubState -p WantedBy -p NRestarts \
		-p ExecMainStartTimestampMonotonic "$u"
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = org.vmscale.probe.0 ] || continue
		echo "port=/dev/${p##*/}"
		udevadm info -q property -n "/dev/${p##*/}" | grep -E '^(TAGS|SYSTEMD_WANTS|DEVLINKS)='
		# The port's own device unit, named after its sysfs path.
		systemctl show -p Id -p Wants -p ActiveEnterTimestampMonotonic \
			"$(systemd-escape -p --suffix=device "$(readlink -f "$p")")" | sed 's/^/device /'
	done
	systemd-analyze time
	systemctl status --no-pager --full --lines=5 "$u"
	echo "end"
} 2>&1 | sed 's/^/vmscale-e2e: /'
