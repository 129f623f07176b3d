# The cached Debian guest root of the systemd guest tests (probe_systemd_guest.sh,
# agentless_guest.sh): mmdebstrap of $suite from $mirror with $guest_pkgs into $cache/base,
# rebuilt only when that recipe changes. The caller sets suite, mirror, guest_pkgs and cache,
# and has ok, skip and fail (tests/e2e/lib.sh and its own).

# Debian with systemd, udev and a kernel; initramfs-tools makes the initrd that loads virtio_blk
# and ext4 (modules in Debian's kernel) to mount the root disk.
build_base() { # DIR
	mmdebstrap --variant=minbase --aptopt='APT::Install-Recommends "false"' \
		--include="$guest_pkgs" "$suite" "$1" "$mirror"
}

# Smaller, and quiet at boot: no docs, no drivers a TCG guest never has, a machine id (no
# first-boot questions on the console), the root disk in fstab.
trim_base() { # DIR
	local r=$1 kver
	rm -rf "$r"/usr/share/{doc,man,info,locale}/*
	kver=$(basename "$r"/lib/modules/*)
	rm -rf "$r/lib/modules/$kver/kernel/"{sound,drivers/{gpu,media,infiniband,iio,staging,comedi}}
	rm -rf "$r/lib/modules/$kver/kernel/net/"{wireless,mac80211,bluetooth}
	chroot "$r" depmod "$kver"
	echo vmscale-guest >"$r/etc/hostname"
	tr -d '-' </proc/sys/kernel/random/uuid >"$r/etc/machine-id"
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' >"$r/etc/fstab"
}

# The recipe is the key: editing either function rebuilds, the rest of this file does not.
base_key() { { echo "$suite $mirror $guest_pkgs"; declare -f build_base trim_base; } | sha256sum | cut -c1-16; }

# Holds the cache's lock until exit: one builder at a time, and no rebuild under a reader.
ensure_base() {
	local key t0=$SECONDS
	key=$(base_key)
	mkdir -p "$cache"
	exec 8>"$cache/.lock"
	flock -w 900 8 || fail "another run holds $cache/.lock for 15 minutes"
	if [ -d "$cache/base" ] && [ "$(cat "$cache/base.key" 2>/dev/null)" = "$key" ]; then
		ok "image cache: reusing $cache/base (key $key)"
		return 0
	fi
	curl -sf -o /dev/null --max-time 15 "$mirror/dists/$suite/Release" ||
		skip "no cached guest root in $cache and $mirror does not answer"
	rm -rf "$cache/base" "$cache/base.new" "$cache/base.key"
	if ! build_base "$cache/base.new" >"$cache/build.log" 2>&1; then
		tail -n 20 "$cache/build.log" | sed 's/^/# /'
		fail "mmdebstrap failed; see $cache/build.log"
	fi
	trim_base "$cache/base.new"
	mv "$cache/base.new" "$cache/base"
	echo "$key" >"$cache/base.key"
	ok "image cache: built $cache/base in $((SECONDS - t0)) s (mmdebstrap $suite: $guest_pkgs)"
}

