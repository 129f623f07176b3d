/*
 * Rendering of the store: Prometheus text exposition format 0.0.4 for /metrics and a small
 * HTML landing page for /. Pure functions of the store and a clock value, so golden files
 * can pin them down.
 */
#ifndef VMSCALE_RENDER_H
#define VMSCALE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/guest/netio.h"
#include "collectors/guest/listeners.h"
#include "daemon/store/store.h"
#include "daemon/util/buf.h"

struct vms_analysis;

enum vms_reload_result { VMS_RELOAD_OK, VMS_RELOAD_ERROR, VMS_RELOAD_REFUSED, VMS_RELOAD_COUNT };

/* What the daemon knows about itself (the store holds what it measures). */
struct vms_render_info {
	const char *version;
	uint64_t config_reloads[VMS_RELOAD_COUNT]; /* SIGHUP reloads by result */
	double config_loaded_unix; /* when the configuration in force was loaded successfully */
	uint64_t probe_runs_delayed; /* active runs that started late */
	bool netio_on;               /* the network-probe responder is listening */
	struct vms_netio_stats netio;
	struct vms_listener_stats listeners; /* vsock and tcp probe transports, when on */
	const struct vms_analysis *analysis; /* degradation analysis; NULL leaves it out */
	bool control_on;                     /* the control socket is listening */
	uint64_t control_requests, control_errors, control_rejected, control_timeouts;
};

void vms_render_metrics(struct vms_buf *out, const struct vms_store *st,
			const struct vms_render_info *info, uint64_t now_ns);
/*
 * Converts a text-format 0.0.4 exposition made by vms_render_metrics into OpenMetrics 1.0:
 * counter families are named without their _total suffix in HELP and TYPE, and the
 * exposition ends with "# EOF".
 */
void vms_render_openmetrics(struct vms_buf *out, const char *text, size_t len);
/* The same for whole lines of it, without "# EOF": converts a large exposition piece by piece
 * (the HTTP thread compresses OpenMetrics without keeping an uncompressed copy). */
void vms_render_openmetrics_lines(struct vms_buf *out, const char *text, size_t len);
void vms_render_landing(struct vms_buf *out, const struct vms_store *st,
			const struct vms_render_info *info, uint64_t now_ns);

#endif
