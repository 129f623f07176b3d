/* The host's own statistics (libstatgrab) as metric families. */
#include "daemon/expo/store_families.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "daemon/expo/sample.h"

/* Host per-device counter families: one quantity each, the device as a label. */
struct host_dev_family {
	const char *name, *help;
	size_t off; /* of the value in the device struct */
};

static void
host_device_family(struct vms_buf *b, const struct host_dev_family *f, const char *label,
                   const void *devs, size_t stride, size_t name_off, unsigned n)
{
	vms_buf_family(b, f->name, "counter", f->help);
	for (unsigned i = 0; i < n; i++) {
		const char *dev = (const char *)devs + (size_t)i * stride;
		uint64_t v;
		memcpy(&v, dev + f->off, sizeof(v));
		vms_buf_printf(b, "%s{%s=\"", f->name, label);
		vms_buf_label_value(b, dev + name_off);
		vms_buf_append(b, "\"} ", 3);
		vms_buf_u64(b, v);
		vms_buf_append(b, "\n", 1);
	}
}

#define HDISK(field) offsetof(struct vms_host_disk, field)
#define HIF(field) offsetof(struct vms_host_iface, field)

static const struct host_dev_family host_disk_families[] = {
    {"vmscale_host_disk_read_bytes_total", "Bytes read from the host's block device (libstatgrab).",
     HDISK(read_bytes)},
    {"vmscale_host_disk_written_bytes_total",
     "Bytes written to the host's block device (libstatgrab).", HDISK(write_bytes)},
};

static const struct host_dev_family host_iface_families[] = {
    {"vmscale_host_network_receive_bytes_total", "Bytes the host's interface received.",
     HIF(rx_bytes)},
    {"vmscale_host_network_transmit_bytes_total", "Bytes the host's interface transmitted.",
     HIF(tx_bytes)},
    {"vmscale_host_network_receive_packets_total", "Packets the host's interface received.",
     HIF(rx_packets)},
    {"vmscale_host_network_transmit_packets_total", "Packets the host's interface transmitted.",
     HIF(tx_packets)},
    {"vmscale_host_network_receive_errors_total", "Receive errors on the host's interface.",
     HIF(rx_errors)},
    {"vmscale_host_network_transmit_errors_total", "Transmit errors on the host's interface.",
     HIF(tx_errors)},
    {"vmscale_host_network_collisions_total", "Collisions on the host's interface.",
     HIF(collisions)},
};

/* Swap, disks, interfaces, processes and seed 000's virtualization memory. */
static void
render_host_extra(struct vms_buf *b, const struct vms_host_stats *h)
{
	if (h->have_shared) {
		vms_gauge_u64(b, "vmscale_host_memory_buffers_bytes",
		              "Host block-device buffers (/proc/meminfo Buffers; inside used).",
		              h->mem_buffers);
		vms_gauge_u64(b, "vmscale_host_memory_shared_bytes",
		              "Host shared memory: tmpfs, memfd-backed guest RAM (/proc/meminfo "
		              "Shmem; inside cache).",
		              h->mem_shared);
	}
	if (h->have_virt_mem)
		vms_gauge_u64(
		    b, "vmscale_host_virtualization_memory_bytes",
		    "Seed 000's M_tool: host memory used (without page cache and buffers, with "
		    "shared "
		    "memory) minus the running domains' RSS; 0 when the RSS sum exceeds it.",
		    h->virt_mem);
	vms_buf_family(
	    b, "vmscale_host_virtualization_memory_clamped_total", "counter",
	    "Host reads where the domains' RSS sum exceeded host memory used (pages shared between "
	    "QEMU processes), so the virtualization memory was reported as 0.");
	vms_buf_printf(b, "vmscale_host_virtualization_memory_clamped_total %llu\n",
	               (unsigned long long)h->virt_mem_clamped_total);
	if (h->have_swap) {
		vms_gauge_u64(b, "vmscale_host_swap_size_bytes", "Host swap space (libstatgrab).",
		              h->swap_total);
		vms_buf_family(b, "vmscale_host_swap_bytes", "gauge",
		               "Host swap space by state, used or free.");
		vms_buf_printf(b,
		               "vmscale_host_swap_bytes{state=\"used\"} %llu\n"
		               "vmscale_host_swap_bytes{state=\"free\"} %llu\n",
		               (unsigned long long)h->swap_used, (unsigned long long)h->swap_free);
	}
	if (h->have_procs) {
		vms_buf_family(b, "vmscale_host_processes", "gauge",
		               "Host processes by state (other: states libstatgrab does not "
		               "classify, such as idle "
		               "kernel threads); they add up to the total.");
		const struct {
			const char *state;
			uint64_t n;
		} procs[] = {{"running", h->procs_running},
		             {"sleeping", h->procs_sleeping},
		             {"stopped", h->procs_stopped},
		             {"zombie", h->procs_zombie},
		             {"other", h->procs_other}};
		for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
			vms_buf_printf(b, "vmscale_host_processes{state=\"%s\"} %llu\n",
			               procs[i].state, (unsigned long long)procs[i].n);
	}
	if (h->have_disks)
		for (size_t i = 0; i < sizeof(host_disk_families) / sizeof(host_disk_families[0]);
		     i++)
			host_device_family(b, &host_disk_families[i], "device", h->disks,
			                   sizeof(h->disks[0]), HDISK(name), h->ndisks);
	if (h->have_ifaces)
		for (size_t i = 0; i < sizeof(host_iface_families) / sizeof(host_iface_families[0]);
		     i++)
			host_device_family(b, &host_iface_families[i], "interface", h->ifaces,
			                   sizeof(h->ifaces[0]), HIF(name), h->nifaces);
	if (h->have_disks || h->have_ifaces) {
		vms_buf_family(b, "vmscale_host_devices_dropped", "gauge",
		               "Host disks and interfaces left out of the last read: beyond the 64 "
		               "kept per kind, "
		               "or with a name too long for a label.");
		if (h->have_disks)
			vms_buf_printf(b, "vmscale_host_devices_dropped{kind=\"disk\"} %u\n",
			               h->disks_dropped);
		if (h->have_ifaces)
			vms_buf_printf(b, "vmscale_host_devices_dropped{kind=\"interface\"} %u\n",
			               h->ifaces_dropped);
	}
}

void
vms_expo_host(struct vms_buf *b, const struct vms_store *st)
{
	const struct vms_host_stats *h = &st->host;
	if (!h->valid)
		return;
	vms_buf_family(b, "vmscale_host_cpu_seconds_total", "counter",
	               "Host CPU time by mode, summed over all CPUs (libstatgrab).");
	const struct {
		const char *mode;
		uint64_t ticks;
	} modes[] = {
	    {"user", h->cpu_ticks_user},     {"nice", h->cpu_ticks_nice},
	    {"system", h->cpu_ticks_system}, {"idle", h->cpu_ticks_idle},
	    {"iowait", h->cpu_ticks_iowait},
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		vms_buf_printf(b, "vmscale_host_cpu_seconds_total{mode=\"%s\"}", modes[i].mode);
		vms_buf_ticks_sample_value(b, modes[i].ticks, h->ticks_per_second);
	}
	vms_gauge_u64(b, "vmscale_host_memory_total_bytes", "Host physical memory (libstatgrab).",
	              h->mem_total);
	vms_gauge_u64(b, "vmscale_host_memory_used_bytes",
	              "Host memory in use, page cache excluded (libstatgrab).", h->mem_used);
	vms_gauge_u64(b, "vmscale_host_memory_free_bytes", "Host memory free (libstatgrab).",
	              h->mem_free);
	vms_gauge_u64(b, "vmscale_host_memory_cache_bytes", "Host page cache (libstatgrab).",
	              h->mem_cache);
	vms_gauge_double(b, "vmscale_host_load1", "Host load average over 1 minute.", h->load1);
	vms_gauge_double(b, "vmscale_host_load5", "Host load average over 5 minutes.", h->load5);
	vms_gauge_double(b, "vmscale_host_load15", "Host load average over 15 minutes.", h->load15);
	render_host_extra(b, h);
}
