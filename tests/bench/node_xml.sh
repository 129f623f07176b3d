#!/usr/bin/env bash
# Prints a libvirt test-driver node with N running domains (default 1000): 4 vCPUs, 2 disks,
# 2 NICs each. Used by render_bench.sh and idle_bench.sh as test://FILE.
#
#   tests/bench/node_xml.sh [N] >node.xml
set -euo pipefail
ndom=${1:-1000}
echo "<node><cpu><nodes>1</nodes><sockets>2</sockets><cores>32</cores><threads>2</threads>"
echo "<active>128</active><mhz>2400</mhz><model>x86_64</model></cpu><memory>1073741824</memory>"
for ((i = 0; i < ndom; i++)); do
	printf "<domain type='test'><name>bench-vm-%04d</name>" "$i"
	printf "<uuid>%08x-6a86-4e38-9a8e-%012x</uuid>" "$i" "$i"
	printf "<memory>2097152</memory><currentMemory>2097152</currentMemory><vcpu>4</vcpu>"
	printf "<os><type arch='x86_64'>hvm</type></os><devices>"
	for d in a b; do
		printf "<disk type='file' device='disk'><source file='/var/tmp/bench/%04d-%s.img'/>" "$i" "$d"
		printf "<target dev='vd%s' bus='virtio'/></disk>" "$d"
	done
	for n in 0 1; do
		printf "<interface type='ethernet'><mac address='52:54:%02x:%02x:%02x:%02x'/>" \
			$((i >> 16 & 255)) $((i >> 8 & 255)) $((i & 255)) "$n"
		printf "<target dev='vnet%d'/><model type='virtio'/></interface>" $((i * 2 + n))
	done
	echo "</devices></domain>"
done
echo "</node>"
