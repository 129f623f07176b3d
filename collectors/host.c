/* Host collector (see host.h). */
#include "collectors/host.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <statgrab.h>

#include "daemon/util/log.h"
#include "vmscale/clock.h"

static struct vms_complaint host_complaint;
static struct vms_complaint meminfo_complaint, swap_complaint, disk_complaint, net_complaint,
    proc_complaint;
static bool include_virtual_disks;

void
vms_host_include_virtual_disks(bool include)
{
	include_virtual_disks = include;
}

/* loopN and ramN mirror files and memory that are already counted elsewhere. */
static bool
virtual_disk(const char *name)
{
	static const char *const prefixes[] = {"loop", "ram"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) == 0 && isdigit((unsigned char)name[n]))
			return true;
	}
	return false;
}

static void
complain_sg(struct vms_complaint *c, const char *what)
{
	sg_error_details det;
	sg_get_error_details(&det);
	vms_complain(c, LOG_WARNING, NULL, "libstatgrab: %s: %s (%s)", what,
	             sg_str_error(det.error), det.error_arg ? det.error_arg : "");
}

/*
 * Buffers and Shmem, which libstatgrab does not give: its "used" keeps buffers and leaves out
 * all of Cached, shared memory included, though guest RAM backed by memfd or tmpfs lives
 * there and counts in QEMU's RSS.
 */
static int
read_meminfo(uint64_t *buffers, uint64_t *shmem)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	int found = 0;
	while (fgets(line, sizeof(line), f) && found != 3) {
		uint64_t kib;
		if (sscanf(line, "Buffers: %" SCNu64 " kB", &kib) == 1) {
			*buffers = kib * 1024;
			found |= 1;
		} else if (sscanf(line, "Shmem: %" SCNu64 " kB", &kib) == 1) {
			*shmem = kib * 1024;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -1;
}

static void
read_meminfo_extra(struct vms_host_stats *h)
{
	h->have_shared = read_meminfo(&h->mem_buffers, &h->mem_shared) == 0;
	if (!h->have_shared)
		vms_complain(
		    &meminfo_complaint, LOG_WARNING, NULL,
		    "/proc/meminfo: no Buffers or Shmem line; virtualization memory unknown");
	else
		vms_complain_recovered(&meminfo_complaint, NULL, "/proc/meminfo: readable again");
}

static void
read_swap(struct vms_host_stats *h)
{
	size_t n = 0;
	sg_swap_stats *sw = sg_get_swap_stats(&n);
	h->have_swap = sw && n;
	if (!h->have_swap) {
		complain_sg(&swap_complaint, "swap");
		return;
	}
	vms_complain_recovered(&swap_complaint, NULL, "libstatgrab: swap statistics recovered");
	h->swap_total = sw->total;
	h->swap_used = sw->used;
	h->swap_free = sw->free;
}

/* A name kept as a label value: one that does not fit is dropped, never truncated into a
 * name that may collide with another device's. */
static bool
keep_name(char *dst, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > VMS_DEVICE_NAME_MAX)
		return false;
	memcpy(dst, name, n + 1);
	return true;
}

static void
read_disks(struct vms_host_stats *h)
{
	size_t n = 0;
	sg_disk_io_stats *io = sg_get_disk_io_stats(&n);
	/* No entry at all is a host without block devices, not an error. */
	h->have_disks = io || sg_get_error() == SG_ERROR_NONE;
	h->ndisks = h->disks_dropped = 0;
	if (!h->have_disks) {
		complain_sg(&disk_complaint, "disk I/O");
		return;
	}
	vms_complain_recovered(&disk_complaint, NULL, "libstatgrab: disk I/O statistics recovered");
	for (size_t i = 0; io && i < n; i++) {
		if (!include_virtual_disks && io[i].disk_name && virtual_disk(io[i].disk_name))
			continue;
		struct vms_host_disk *d = &h->disks[h->ndisks];
		if (h->ndisks == VMS_HOST_MAX_DISKS || !keep_name(d->name, io[i].disk_name)) {
			h->disks_dropped++;
			continue;
		}
		d->read_bytes = io[i].read_bytes;
		d->write_bytes = io[i].write_bytes;
		h->ndisks++;
	}
}

static void
read_ifaces(struct vms_host_stats *h)
{
	size_t n = 0;
	sg_network_io_stats *io = sg_get_network_io_stats(&n);
	h->have_ifaces = io || sg_get_error() == SG_ERROR_NONE;
	h->nifaces = h->ifaces_dropped = 0;
	if (!h->have_ifaces) {
		complain_sg(&net_complaint, "network I/O");
		return;
	}
	vms_complain_recovered(&net_complaint, NULL,
	                       "libstatgrab: network I/O statistics recovered");
	for (size_t i = 0; io && i < n; i++) {
		struct vms_host_iface *f = &h->ifaces[h->nifaces];
		if (h->nifaces == VMS_HOST_MAX_IFACES ||
		    !keep_name(f->name, io[i].interface_name)) {
			h->ifaces_dropped++;
			continue;
		}
		f->rx_bytes = io[i].rx;
		f->tx_bytes = io[i].tx;
		f->rx_packets = io[i].ipackets;
		f->tx_packets = io[i].opackets;
		f->rx_errors = io[i].ierrors;
		f->tx_errors = io[i].oerrors;
		f->collisions = io[i].collisions;
		h->nifaces++;
	}
}

/*
 * libstatgrab counts processes by reading /proc/PID/{stat,status,cmdline} of every process:
 * hundreds of opens, most of an idle host read. A count of processes by state moves slowly
 * and is a gauge, so it is taken at most once per VMS_HOST_PROCS_PERIOD_NS (every read when
 * the interval is longer); between scans the last count stands.
 */
static void
read_procs(struct vms_host_stats *h)
{
	static uint64_t scanned_at_ns;
	uint64_t now = vms_monotonic_ns();
	if (h->have_procs && now - scanned_at_ns < VMS_HOST_PROCS_PERIOD_NS)
		return;
	scanned_at_ns = now;
	sg_process_count *pc = sg_get_process_count();
	h->have_procs = pc != NULL;
	if (!pc) {
		complain_sg(&proc_complaint, "process count");
		return;
	}
	vms_complain_recovered(&proc_complaint, NULL, "libstatgrab: process count recovered");
	h->procs_running = pc->running;
	h->procs_sleeping = pc->sleeping;
	h->procs_stopped = pc->stopped;
	h->procs_zombie = pc->zombie;
	/* What libstatgrab leaves unclassified, so that the states add up to the total. */
	uint64_t known = pc->running + pc->sleeping + pc->stopped + pc->zombie;
	h->procs_other = pc->total > known ? pc->total - known : 0;
}

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
			st->host.have_virt_mem = false;
			vms_store_part_changed(st, VMS_STORE_HOST);
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
	read_meminfo_extra(h);
	read_swap(h);
	read_disks(h);
	read_ifaces(h);
	read_procs(h);
	int vm = vms_store_virtualization_memory(st, &h->virt_mem);
	h->have_virt_mem = vm >= 0;
	h->virt_mem_clamped_total += vm == 1;
	vms_store_part_changed(st, VMS_STORE_HOST);
	return 0;
}

void
vms_host_fini(void)
{
	sg_shutdown();
}
