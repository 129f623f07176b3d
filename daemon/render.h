/*
 * Rendering of the store: Prometheus text exposition format 0.0.4 for /metrics and a small
 * HTML landing page for /. Pure functions of the store and a clock value, so golden files
 * can pin them down.
 */
#ifndef VMSCALE_RENDER_H
#define VMSCALE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "netio.h"
#include "../collectors/listeners.h"
#include "store.h"

struct vms_analysis;

struct vms_buf {
	char *data;
	size_t len, cap;
};

void vms_buf_init(struct vms_buf *b);
void vms_buf_free(struct vms_buf *b);
void vms_buf_append(struct vms_buf *b, const char *s, size_t n);
void vms_buf_printf(struct vms_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a label value: \ " and newline escaped as the exposition format requires. */
void vms_buf_label_value(struct vms_buf *b, const char *s);
/* Appends v as the shortest decimal that reads back exactly (NaN, +Inf, -Inf as Prometheus spells them). */
void vms_buf_double(struct vms_buf *b, double v);
/* Appends v in decimal. */
void vms_buf_u64(struct vms_buf *b, uint64_t v);
/* Appends v rounded to `digits` significant digits (at most 15), without printf in the common
 * range (1e-4 to 1e15): for measured values, whose further digits are noise. */
void vms_buf_sig(struct vms_buf *b, double v, unsigned digits);
/* Appends a family's # HELP and # TYPE lines. */
void vms_render_family(struct vms_buf *b, const char *name, const char *type, const char *help);
/* Appends s with HTML's special characters as entities. */
void vms_buf_html(struct vms_buf *b, const char *s);

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
