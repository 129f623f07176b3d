/* Host collector (see host.h). */
#include "host.h"

#include <unistd.h>

#include <statgrab.h>

#include "../daemon/log.h"

static struct vms_complaint host_complaint;

int
vms_host_init(void)
{
	if (sg_init(0) != SG_ERROR_NONE) {
		vms_err("libstatgrab: cannot initialise: %s", sg_str_error(sg_get_error()));
		return -1;
	}
	return 0;
}

int
vms_host_read(struct vms_store *st)
{
	size_t n = 0;
	sg_cpu_stats *cpu = sg_get_cpu_stats(&n);
	sg_mem_stats *mem = cpu && n ? sg_get_mem_stats(&n) : NULL;
	sg_load_stats *load = mem && n ? sg_get_load_stats(&n) : NULL;
	if (!cpu || !mem || !load || n == 0) {
		sg_error_details det;
		sg_get_error_details(&det);
		vms_complain(&host_complaint, LOG_WARNING, NULL, "libstatgrab: %s (%s)",
			     sg_str_error(det.error), det.error_arg ? det.error_arg : "");
		if (st->host.valid) {
			st->host.valid = false;
			vms_store_changed(st);
		}
		return -1;
	}
	vms_complain_recovered(&host_complaint, NULL, "libstatgrab: host statistics recovered");
	struct vms_host_stats *h = &st->host;
	h->cpu_ticks_user = cpu->user;
	h->cpu_ticks_nice = cpu->nice;
	h->cpu_ticks_system = cpu->kernel;
	h->cpu_ticks_idle = cpu->idle;
	h->cpu_ticks_iowait = cpu->iowait;
	/* libstatgrab reports Linux /proc/stat ticks, in USER_HZ. */
	long hz = sysconf(_SC_CLK_TCK);
	h->ticks_per_second = hz > 0 ? (uint64_t)hz : 100;
	h->mem_total = mem->total;
	h->mem_free = mem->free;
	h->mem_used = mem->used;
	h->mem_cache = mem->cache;
	h->load1 = load->min1;
	h->load5 = load->min5;
	h->load15 = load->min15;
	h->valid = true;
	vms_store_changed(st);
	return 0;
}

void
vms_host_fini(void)
{
	sg_shutdown();
}
