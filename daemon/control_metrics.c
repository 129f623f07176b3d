/* The control socket's family (see control.h): requests by result. */
#include "daemon/control.h"

void
vms_control_render_stats(const struct vms_control_stats *s, struct vms_buf *b)
{
	vms_buf_family(
	    b, "vmscale_control_requests_total", "counter",
	    "Requests on the control socket (vmscalectl) by result: ok, error (refused by "
	    "the daemon), rejected (malformed, oversize, wrong peer), timeout (silent or "
	    "slow peers).");
	vms_buf_printf(b,
	               "vmscale_control_requests_total{result=\"ok\"} %llu\n"
	               "vmscale_control_requests_total{result=\"error\"} %llu\n"
	               "vmscale_control_requests_total{result=\"rejected\"} %llu\n"
	               "vmscale_control_requests_total{result=\"timeout\"} %llu\n",
	               (unsigned long long)(s->requests_total - s->errors_total),
	               (unsigned long long)s->errors_total, (unsigned long long)s->rejected_total,
	               (unsigned long long)s->timeouts_total);
}

static uint64_t
control_generation(const void *ctx, uint64_t now_ns)
{
	struct vms_control_stats s;
	(void)now_ns;
	vms_control_get_stats(ctx, &s);
	/* Counters only grow: their sum moves exactly when one of them does. */
	return s.requests_total + s.errors_total + s.rejected_total + s.timeouts_total;
}

static void
control_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	struct vms_control_stats s;
	(void)now_ns;
	vms_control_get_stats(ctx, &s);
	vms_control_render_stats(&s, b);
}

struct vms_metrics_source
vms_control_metrics_source(const struct vms_control *c)
{
	return (struct vms_metrics_source){.owner = "daemon/control_metrics.c",
	                                   .ctx = c,
	                                   .generation = control_generation,
	                                   .render = control_render};
}
