/*
 * Where a guest's passive figures come from, and how the QEMU guest agent's reads went. One
 * info series per domain names the source of its vmscale_guest_cpu_* and vmscale_probe_disk_*
 * series, which keep one label set whatever the source: a domain with both shows the probe's
 * figures once, never two series side by side.
 */
#include "daemon/expo/store_families.h"

#include "daemon/expo/sample.h"

void
vms_expo_guest_source(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(
	    b, "vmscale_guest_source_info", "gauge",
	    "1 per domain with guest CPU or disk series: source=\"probe\" (vmscale-probe) "
	    "or \"qemu_agent\" (QEMU guest agent, passive figures only, read by the host: no "
	    "active probes, no slowdown).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		struct vms_passive p = vms_domain_passive(d);
		if (p.source == VMS_SOURCE_NONE)
			continue;
		vms_sample_domain(b, "vmscale_guest_source_info", d);
		vms_sample_label(b, "source", vms_guest_source_name(p.source));
		vms_buf_append(b, "} 1\n", 4);
	}
	vms_buf_family(
	    b, "vmscale_qemu_agent_reads_total", "counter",
	    "QEMU guest agent commands sent to qemu-agent-domains guests, by command and result "
	    "(ok; error: no agent, timeout or qemu-ga before 7.1; rejected: the reply broke "
	    "a bound).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		uint64_t any = 0;
		for (unsigned c = 0; c < VMS_AGENT_COMMAND_COUNT; c++)
			for (unsigned r = 0; r < VMS_AGENT_RESULT_COUNT; r++)
				any |= d->agent.reads_total[c][r];
		if (!any)
			continue;
		for (unsigned c = 0; c < VMS_AGENT_COMMAND_COUNT; c++)
			for (unsigned r = 0; r < VMS_AGENT_RESULT_COUNT; r++) {
				vms_sample_domain(b, "vmscale_qemu_agent_reads_total", d);
				vms_sample_label(b, "command",
				                 vms_agent_command_name((enum vms_agent_command)c));
				vms_sample_label(b, "result",
				                 vms_agent_result_name((enum vms_agent_result)r));
				vms_buf_append(b, "} ", 2);
				vms_buf_u64(b, d->agent.reads_total[c][r]);
				vms_buf_append(b, "\n", 1);
			}
	}
}
