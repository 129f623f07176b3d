/*
 * The QEMU guest agent's replies (qemu-ga >= 7.1), as libvirt's virDomainQemuAgentCommand
 * returns them: {"return": ...}. They come from inside the guest, so every reply is read with
 * bounds: its size, the JSON's values and depth, the number of CPUs and disks, each value's
 * range, each name's characters. A reply that breaks one is rejected whole.
 */
#ifndef VMSCALE_AGENT_PARSE_H
#define VMSCALE_AGENT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"
#include "daemon/util/json.h"

#define VMS_AGENT_REPLY_MAX (512u * 1024) /* bytes of one reply */
#define VMS_AGENT_NODES_MAX 32768u        /* JSON values in one reply */
#define VMS_AGENT_DEPTH_MAX 6             /* {"return": [{"stats": {...}}]} is 4 deep */
#define VMS_AGENT_MAX_CPUS VMS_MAX_VCPUS  /* CPUs in a cpustats reply */
#define VMS_AGENT_MAX_DISK_ENTRIES 256    /* devices in a diskstats reply, partitions included */
#define VMS_AGENT_VALUE_MAX (UINT64_C(1) << 53) /* any count, ms or sectors: exact in a double */

/* Scratch for the JSON reader: VMS_AGENT_NODES_MAX nodes, allocated once by the caller. */
struct vms_agent_scratch {
	struct vms_json_node *nodes;
};
void vms_agent_scratch_init(struct vms_agent_scratch *s);
void vms_agent_scratch_fini(struct vms_agent_scratch *s);

/*
 * guest-get-cpustats: per-CPU times in milliseconds, summed into *out (hz 1000, ncpu the CPUs
 * listed, nmodes the modes every CPU gave: user nice system idle, then iowait irq softirq
 * steal guest guestnice as far as all have them). 0, or -1 with err.
 */
int vms_agent_parse_cpustats(struct vms_agent_scratch *s, const char *reply, size_t len,
                             struct vms_cpu_report *out, char *err, size_t errsz);

/*
 * guest-get-diskstats: whole disks into out[0..max) in /proc/diskstats column order (11, 15 or
 * 17 fields); partitions and the virtual devices the probe also leaves out (loop, ram, zram,
 * dm-, md, nbd, sr, fd) are skipped, disks past max counted in *dropped. 0, or -1 with err.
 */
int vms_agent_parse_diskstats(struct vms_agent_scratch *s, const char *reply, size_t len,
                              struct vms_disk_report *out, unsigned max, unsigned *n,
                              unsigned *dropped, char *err, size_t errsz);

/* Whether a device name is a whole disk the figures should show (see above). */
int vms_agent_whole_disk(const char *name);

#endif
