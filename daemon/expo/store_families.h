/* The store's metric families, by part: each writes its families' HELP, TYPE and samples. */
#ifndef VMSCALE_EXPO_STORE_FAMILIES_H
#define VMSCALE_EXPO_STORE_FAMILIES_H

#include <stdint.h>

#include "daemon/store/store.h"
#include "daemon/util/buf.h"

/* libvirt connections, N_up, busy domains, probe liveness and identity. */
void vms_expo_probes(struct vms_buf *b, const struct vms_store *st, uint64_t now_ns);
/* Host-side per-domain statistics: CPU, vCPUs, balloon, block and network devices. */
void vms_expo_domain_stats(struct vms_buf *b, const struct vms_store *st);
/* The perf events libvirt reports per domain: counts, and the two clocks in seconds. */
void vms_expo_domain_perf(struct vms_buf *b, const struct vms_store *st);
/* Domain records without CPU statistics: counted at every refresh with the test driver. */
void vms_expo_stats_incomplete(struct vms_buf *b, const struct vms_store *st);
/* The guests' CPU split from /proc/stat. */
void vms_expo_guest_cpu(struct vms_buf *b, const struct vms_store *st);
/* vmscale_guest_source_info and the guest agent's read counters (store_agent.c). */
void vms_expo_guest_source(struct vms_buf *b, const struct vms_store *st);
/* The guests' disks and every active probe's measurements, counters and cost. */
void vms_expo_probe_measurements(struct vms_buf *b, const struct vms_store *st);
/* The host: CPU, memory, load, disks, interfaces, processes. */
void vms_expo_host(struct vms_buf *b, const struct vms_store *st);

#endif
