/*
 * The host collector, through libstatgrab: CPU split, memory, load, swap, disk and network
 * I/O, process counts; and seed 000's virtualization memory from those and the domains' RSS.
 */
#ifndef VMSCALE_HOST_H
#define VMSCALE_HOST_H

#include "daemon/store/store.h"

#include <stdbool.h>

/* Processes are counted (a scan of /proc) at most this often; every read in between keeps
 * the last count: vmscale_host_processes is at most 30 s old. */
#define VMS_HOST_PROCS_PERIOD_NS 30000000000ull

int vms_host_init(void);
/*
 * Refreshes st->host; 0, or -1 (logged, rate-limited) leaving the last values marked invalid.
 * Swap, disks, interfaces and processes fail on their own (flag cleared, complaint logged)
 * without failing the read. Call it after the libvirt refresh of the same interval: the
 * virtualization memory uses the domains' RSS as the store holds them.
 */
int vms_host_read(struct vms_store *st);
/* Loop and RAM disks (loopN, ramN) are skipped unless this is set. */
void vms_host_include_virtual_disks(bool include);
void vms_host_fini(void);

#endif
