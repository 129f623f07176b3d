/* The analysis families as a metrics source (see analysis.h). */
#include "daemon/analysis/analysis.h"

static uint64_t
analysis_generation(const void *ctx, uint64_t now_ns)
{
	const struct vms_analysis_source *s = ctx;
	(void)now_ns;
	return vms_analysis_generation(s->analysis);
}

static void
analysis_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	const struct vms_analysis_source *s = ctx;
	vms_analysis_render(s->analysis, s->store, b, now_ns);
}

struct vms_metrics_source
vms_analysis_metrics_source(const struct vms_analysis_source *s)
{
	return (struct vms_metrics_source){.owner = "daemon/analysis/analysis_metrics.c",
	                                   .ctx = s,
	                                   .generation = analysis_generation,
	                                   .render = analysis_render};
}
