/* The perf events libvirt reports per domain (those the operator enabled) as metric families. */
#include "daemon/expo/store_families.h"

#include <string.h>

#include "daemon/expo/sample.h"

/* One family: the clocks (nanoseconds, shown in seconds) or the counted events. */
static void
render_perf(struct vms_buf *b, const struct vms_store *st, const char *name, bool clocks)
{
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		const struct vms_domstats *ds = &d->stats;
		for (unsigned e = 0; e < VMS_PERF_COUNT; e++) {
			if (!(ds->perf_have & (UINT32_C(1) << e)) ||
			    vms_perf_event_is_clock((enum vms_perf_event)e) != clocks)
				continue;
			vms_sample_domain(b, name, d);
			vms_sample_label(b, "event", vms_perf_event_name((enum vms_perf_event)e));
			if (clocks) {
				vms_buf_append(b, "}", 1);
				vms_sample_ns_seconds(b, ds->perf[e]);
			} else {
				vms_buf_append(b, "} ", 2);
				vms_buf_u64(b, ds->perf[e]);
				vms_buf_append(b, "\n", 1);
			}
		}
	}
}

void
vms_expo_domain_perf(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_domain_perf_events_total", "counter",
	               "Host perf events counted on the domain's QEMU process, by libvirt event "
	               "name (only the events enabled with virsh perf).");
	render_perf(b, st, "vmscale_domain_perf_events_total", false);
	vms_buf_family(b, "vmscale_domain_perf_clock_seconds_total", "counter",
	               "Host perf software clocks of the domain's QEMU process: cpu_clock and "
	               "task_clock (only when enabled with virsh perf).");
	render_perf(b, st, "vmscale_domain_perf_clock_seconds_total", true);
}
