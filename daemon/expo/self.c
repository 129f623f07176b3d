/* The daemon's own families: build info and configuration reloads. */
#include "daemon/expo/expo.h"

#include "daemon/expo/sample.h"
#include "vmscale/protocol.h"

static void
render_self(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	const struct vms_self_info *s = ctx;
	static const char *const results[VMS_RELOAD_COUNT] = {"ok", "error", "refused"};
	(void)now_ns;
	vms_buf_family(b, "vmscale_build_info", "gauge",
	               "Version of vmscaled and of its wire protocol.");
	vms_buf_append(b, "vmscale_build_info{version=\"", 28);
	vms_buf_label_value(b, s->version);
	vms_buf_printf(b, "\",protocol=\"%d\"} 1\n", VMS_PROTO_VERSION);
	vms_buf_family(b, "vmscale_config_reloads_total", "counter",
	               "Configuration reloads (SIGHUP) by result: ok, error (invalid file) or "
	               "refused (a change that needs a restart).");
	for (unsigned r = 0; r < VMS_RELOAD_COUNT; r++)
		vms_buf_printf(b, "vmscale_config_reloads_total{result=\"%s\"} %llu\n", results[r],
		               (unsigned long long)s->config_reloads[r]);
	vms_gauge_double(
	    b, "vmscale_config_last_reload_success_timestamp_seconds",
	    "When the configuration in force was loaded (Unix time): at start, then at "
	    "each successful reload.",
	    s->config_loaded_unix);
}

static uint64_t
self_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return ((const struct vms_self_info *)ctx)->generation;
}

struct vms_metrics_source
vms_expo_self_source(const struct vms_self_info *self)
{
	return (struct vms_metrics_source){.owner = "daemon/expo/self.c",
	                                   .ctx = self,
	                                   .generation = self_generation,
	                                   .render = render_self};
}
