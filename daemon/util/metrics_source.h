/*
 * What a producer hands the metrics registry (daemon/expo/registry.h): a render callback that
 * writes its metric families (# HELP, # TYPE, samples) and a generation number that moves
 * whenever what it would write changes. The registry keeps each source's text and renders it
 * again only when its generation moved, so a producer never includes the exposition.
 */
#ifndef VMSCALE_UTIL_METRICS_SOURCE_H
#define VMSCALE_UTIL_METRICS_SOURCE_H

#include <stdint.h>

#include "daemon/util/buf.h"

struct vms_metrics_source {
	const char *owner; /* the producing module's file, e.g. "collectors/guest/netio.c" */
	const void *ctx;   /* handed to both callbacks */
	/* Any value that differs whenever render would write something else. */
	uint64_t (*generation)(const void *ctx, uint64_t now_ns);
	void (*render)(const void *ctx, struct vms_buf *out, uint64_t now_ns);
};

#endif
