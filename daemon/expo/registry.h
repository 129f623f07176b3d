/*
 * The metrics registry: every producer's metrics source in the order the exposition lists
 * them, and the text each rendered last. A refresh asks every source for its generation and
 * renders again only those whose generation moved; the exposition is assembled from the
 * cached pieces. Only the event loop uses it.
 */
#ifndef VMSCALE_EXPO_REGISTRY_H
#define VMSCALE_EXPO_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/util/buf.h"
#include "daemon/util/metrics_source.h"

struct vms_registry;

struct vms_registry *vms_registry_new(void);
void vms_registry_free(struct vms_registry *r);
/* Appends a source; the exposition lists sources in the order they were added. */
void vms_registry_add(struct vms_registry *r, struct vms_metrics_source src);
/* True if a refresh would render anything: a source's generation moved, or never rendered. */
bool vms_registry_changed(const struct vms_registry *r, uint64_t now_ns);
/* Renders the sources whose generation moved (all on the first call); true if any did. */
bool vms_registry_refresh(struct vms_registry *r, uint64_t now_ns);
/* Appends the exposition (text format 0.0.4): every source's cached text, in order. */
void vms_registry_text(const struct vms_registry *r, struct vms_buf *out);

/* Work counters, for the benchmark and the tests. */
struct vms_registry_counts {
	uint64_t refreshes; /* calls of vms_registry_refresh */
	uint64_t renders;   /* source renders */
	uint64_t reuses;    /* sources whose cached text served unchanged */
};
void vms_registry_get_counts(const struct vms_registry *r, struct vms_registry_counts *out);

/* The sources, for the metrics reference (scripts/metrics-doc.sh): owner and cached text. */
size_t vms_registry_count(const struct vms_registry *r);
const char *vms_registry_owner(const struct vms_registry *r, size_t i);
const struct vms_buf *vms_registry_piece(const struct vms_registry *r, size_t i);

#endif
