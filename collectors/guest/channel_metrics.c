/* The channels' family (see channel.h): active runs that started late. */
#include "collectors/guest/channel.h"

static uint64_t
channels_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return vms_channels_runs_delayed(ctx);
}

static void
channels_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_buf_family(
	    b, "vmscale_probe_runs_delayed_total", "counter",
	    "Active runs that started more than half an interval late: the schedule asks "
	    "more than one-at-a-time runs can serve.");
	vms_buf_printf(b, "vmscale_probe_runs_delayed_total %llu\n",
	               (unsigned long long)vms_channels_runs_delayed(ctx));
}

struct vms_metrics_source
vms_channels_metrics_source(const struct vms_channels *c)
{
	return (struct vms_metrics_source){.owner = "collectors/guest/channel_metrics.c",
	                                   .ctx = c,
	                                   .generation = channels_generation,
	                                   .render = channels_render};
}
