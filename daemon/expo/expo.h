/*
 * The exposition layer: the metrics registry (registry.h) and the sources it owns itself —
 * the daemon's own state and the store's families — plus the landing page. Producers above
 * the store register their own sources (see daemon/util/metrics_source.h).
 */
#ifndef VMSCALE_EXPO_EXPO_H
#define VMSCALE_EXPO_EXPO_H

#include <stdint.h>

#include "daemon/expo/registry.h"
#include "daemon/store/store.h"
#include "daemon/util/buf.h"

struct vms_analysis;

enum vms_reload_result { VMS_RELOAD_OK, VMS_RELOAD_ERROR, VMS_RELOAD_REFUSED, VMS_RELOAD_COUNT };

/* What the daemon knows about itself; the store holds what it measures. */
struct vms_self_info {
	const char *version;
	uint64_t config_reloads[VMS_RELOAD_COUNT]; /* SIGHUP reloads by result */
	double config_loaded_unix; /* when the configuration in force was loaded successfully */
	uint64_t generation;       /* bumped by whoever changes a field above */
};

/* Build info and configuration reloads. */
struct vms_metrics_source vms_expo_self_source(const struct vms_self_info *self);
/* Adds the store's sources, in the exposition's order, each rendered again only when a part
 * of the store it shows changed: libvirt and N_up; probe liveness; host-side domain
 * statistics; their perf events; what the probes report. */
void vms_expo_add_store_sources(struct vms_registry *r, const struct vms_store *st);
/* The host's own statistics. */
struct vms_metrics_source vms_expo_host_source(const struct vms_store *st);

/* The HTML landing page: domains, probes, the analysis' verdicts and slowdown plots. The
 * caller renders it again when the registry's refresh reports a change. */
void vms_expo_landing(struct vms_buf *out, const struct vms_store *st, const char *version,
                      const struct vms_analysis *a, uint64_t now_ns);

#endif
