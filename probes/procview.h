/*
 * Whose counters the probe's /proc shows. In a VM, its own kernel's. In a container (libvirt
 * LXC, no kernel of its own) /proc/stat and /proc/diskstats are the host's, unless lxcfs is
 * mounted over them (a fuse.lxcfs mount at /proc/stat in /proc/self/mountinfo), which gives
 * the container's own from its cgroups. Host counters must never pass for the guest's: the
 * probe says view=host in its hello and vmscaled keeps them out of the guest's series.
 */
#ifndef VMSCALE_PROCVIEW_H
#define VMSCALE_PROCVIEW_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the mountinfo text mounts a lxcfs (fuse.lxcfs, or fuse with source lxcfs) at
 * mountpoint. Lines that are not well-formed are skipped. */
bool vmsp_procview_lxcfs(const char *mountinfo, size_t len, const char *mountpoint);

/* Whether an environment block (NUL-separated NAME=VALUE, as /proc/1/environ) has a
 * non-empty container= (set by libvirt LXC, systemd-nspawn, LXC, podman for their init). */
bool vmsp_procview_container_env(const char *env, size_t len);

struct vmsp_procview_paths {
	const char *mountinfo;    /* /proc/self/mountinfo */
	const char *pid1_environ; /* /proc/1/environ */
	const char *procstat;     /* the mount point lxcfs would cover: /proc/stat */
};

/*
 * True when the /proc counters are the host's: in a container (container= in our
 * environment or init's, or in_container: the probe reached vmscaled through a container's
 * socket) and no lxcfs at paths->procstat. why says which signal decided.
 */
bool vmsp_procview_is_host(const struct vmsp_procview_paths *paths, bool in_container, char *why,
                           size_t whysz);

#endif
