/*
 * Between the event loop and the HTTP endpoint: what /metrics and / show, drawn only when
 * someone asks for it. Each pass of the loop offers news (the registry's sources or the
 * landing page's inputs moved) and the endpoint marks the part stale; a request for a stale
 * part wakes the loop through the endpoint's demand fd, and the publisher draws and
 * publishes that part. The first snapshot is drawn at once, so that /metrics answers as soon
 * as the daemon says it is ready.
 */
#ifndef VMSCALE_PUBLISHER_H
#define VMSCALE_PUBLISHER_H

#include <stdint.h>

#include "daemon/analysis/analysis.h"
#include "daemon/expo/registry.h"
#include "daemon/http.h"
#include "daemon/store/store.h"

struct vms_publisher;

/* Draws from the registry, the store and the analysis (all owned by the caller, which keeps
 * them alive) into h; version is shown on the landing page. */
struct vms_publisher *vms_publisher_new(struct vms_http *h, struct vms_registry *r,
                                        const struct vms_store *st, const struct vms_analysis *a,
                                        const char *version);
/* Watches the endpoint's demand fd in libvirt's event loop; -1 if it cannot. */
int vms_publisher_watch(struct vms_publisher *p);
/* Once per pass of the loop, after the collectors and the analysis. */
void vms_publisher_offer(struct vms_publisher *p, uint64_t now_ns);
void vms_publisher_free(struct vms_publisher *p);

/* Work counters, for the tests and the benchmarks. */
struct vms_publisher_counts {
	uint64_t metrics_drawn; /* /metrics bodies rendered and published */
	uint64_t landing_drawn; /* landing pages rendered (not merely copied) */
	uint64_t demands;       /* wakeups by a request for a stale part */
};
void vms_publisher_get_counts(const struct vms_publisher *p, struct vms_publisher_counts *out);

#endif
