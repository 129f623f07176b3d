/* Rendering of /metrics and / (see render.h). */
#include "daemon/expo/render.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/analysis.h"
#include "daemon/util/log.h"
#include "daemon/util/svgplot.h"


/* Starts a sample: name{domain="..." — the caller adds more labels and closes it. */
static void
sample_domain(struct vms_buf *b, const char *name, const struct vms_domain *d)
{
	vms_buf_append(b, name, strlen(name));
	vms_buf_append(b, "{domain=\"", 9);
	vms_buf_label_value(b, d->name);
	vms_buf_append(b, "\"", 1);
}

/* A whole sample labelled by domain only: name{domain="..."} value. */
static void
domain_sample_u64(struct vms_buf *b, const char *name, const struct vms_domain *d, uint64_t v)
{
	sample_domain(b, name, d);
	vms_buf_append(b, "} ", 2);
	vms_buf_u64(b, v);
	vms_buf_append(b, "\n", 1);
}

static void
domain_sample_double(struct vms_buf *b, const char *name, const struct vms_domain *d, double v)
{
	sample_domain(b, name, d);
	vms_buf_append(b, "} ", 2);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}


static void
render_guest_cpu(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_guest_cpu_seconds_total", "counter",
	       "Guest CPU time by mode, summed over the guest's CPUs, from /proc/stat inside the "
	       "guest (mpstat's split; guest and guest_nice are in vmscale_guest_cpu_guest_seconds_total).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cpu)
			continue;
		unsigned last = d->probe.cpu.nmodes < VMS_CPU_GUEST ? d->probe.cpu.nmodes : VMS_CPU_GUEST;
		for (unsigned m = 0; m < last; m++) {
			sample_domain(b, "vmscale_guest_cpu_seconds_total", d);
			vms_buf_printf(b, ",mode=\"%s\"}", vms_cpu_mode_name((enum vms_cpu_mode)m));
			vms_buf_ticks_sample_value(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	vms_buf_family(b, "vmscale_guest_cpu_guest_seconds_total", "counter",
	       "Time the guest's own CPUs ran nested guests, by mode (already included in user and nice).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cpu)
			continue;
		static const char *const nested[] = {"user", "nice"};
		for (unsigned m = VMS_CPU_GUEST; m < d->probe.cpu.nmodes; m++) {
			sample_domain(b, "vmscale_guest_cpu_guest_seconds_total", d);
			vms_buf_printf(b, ",mode=\"%s\"}", nested[m - VMS_CPU_GUEST]);
			vms_buf_ticks_sample_value(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	vms_buf_family(b, "vmscale_guest_cpus", "gauge", "Number of CPUs the guest kernel sees.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cpu)
			continue;
		domain_sample_u64(b, "vmscale_guest_cpus", d, d->probe.cpu.ncpu);
	}
}

static void
sample_ns_as_seconds(struct vms_buf *b, uint64_t ns)
{
	vms_buf_append(b, " ", 1);
	if (!vms_buf_decimal(b, ns, 9))
		vms_buf_double(b, (double)ns / 1e9);
	vms_buf_append(b, "\n", 1);
}

/* Per-device families: one per quantity, op/direction as a label (Prometheus naming). */
struct dev_family {
	const char *name, *type, *help, *dev_label, *split_label, *split[2];
	size_t off[2];  /* offsets of the two values in the device struct */
	bool ns;        /* values are nanoseconds, exported as seconds */
};

static void
render_devices(struct vms_buf *b, const struct vms_store *st, const struct dev_family *f,
	       bool block)
{
	vms_buf_family(b, f->name, f->type, f->help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		const struct vms_domstats *ds = &d->stats;
		unsigned n = block ? ds->nblock : ds->nnet;
		for (unsigned k = 0; k < n; k++) {
			const char *dev = block ? (const char *)&ds->block[k] : (const char *)&ds->net[k];
			const char *devname = block ? ds->block[k].name : ds->net[k].name;
			for (int j = 0; j < 2; j++) {
				uint64_t v;
				memcpy(&v, dev + f->off[j], sizeof(v));
				sample_domain(b, f->name, d);
				vms_buf_append(b, ",", 1);
				vms_buf_append(b, f->dev_label, strlen(f->dev_label));
				vms_buf_append(b, "=\"", 2);
				vms_buf_label_value(b, devname);
				vms_buf_append(b, "\",", 2);
				vms_buf_append(b, f->split_label, strlen(f->split_label));
				vms_buf_append(b, "=\"", 2);
				vms_buf_append(b, f->split[j], strlen(f->split[j]));
				vms_buf_append(b, "\"}", 2);
				if (f->ns) {
					sample_ns_as_seconds(b, v);
				} else {
					vms_buf_append(b, " ", 1);
					vms_buf_u64(b, v);
					vms_buf_append(b, "\n", 1);
				}
			}
		}
	}
}

#define BLK(field) offsetof(struct vms_block_stats, field)
#define NET(field) offsetof(struct vms_net_stats, field)

static const struct dev_family block_families[] = {
	{"vmscale_domain_block_bytes_total", "counter", "Bytes the domain read and wrote, per disk.",
	 "device", "op", {"read", "write"}, {BLK(rd_bytes), BLK(wr_bytes)}, false},
	{"vmscale_domain_block_requests_total", "counter", "Read and write requests, per disk.",
	 "device", "op", {"read", "write"}, {BLK(rd_reqs), BLK(wr_reqs)}, false},
	{"vmscale_domain_block_time_seconds_total", "counter",
	 "Time spent on read and write requests, per disk.", "device", "op", {"read", "write"},
	 {BLK(rd_times_ns), BLK(wr_times_ns)}, true},
};

static const struct dev_family net_families[] = {
	{"vmscale_domain_net_bytes_total", "counter",
	 "Bytes received and transmitted, per interface (host view).", "interface", "direction",
	 {"rx", "tx"}, {NET(rx_bytes), NET(tx_bytes)}, false},
	{"vmscale_domain_net_packets_total", "counter", "Packets received and transmitted, per interface.",
	 "interface", "direction", {"rx", "tx"}, {NET(rx_pkts), NET(tx_pkts)}, false},
	{"vmscale_domain_net_errors_total", "counter", "Receive and transmit errors, per interface.",
	 "interface", "direction", {"rx", "tx"}, {NET(rx_errs), NET(tx_errs)}, false},
	{"vmscale_domain_net_drops_total", "counter", "Receive and transmit drops, per interface.",
	 "interface", "direction", {"rx", "tx"}, {NET(rx_drop), NET(tx_drop)}, false},
};

enum vcpu_field { VCPU_TIME, VCPU_WAIT, VCPU_DELAY };

/* One vCPU family; wait and delay only where the driver reported them. */
static void
render_vcpus(struct vms_buf *b, const struct vms_store *st, const char *name, const char *help,
	     enum vcpu_field which)
{
	vms_buf_family(b, name, "counter", help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned k = 0; k < d->stats.nvcpu; k++) {
			const struct vms_vcpu_stats *c = &d->stats.vcpu[k];
			if ((which == VCPU_WAIT && !c->has_wait) || (which == VCPU_DELAY && !c->has_delay))
				continue;
			sample_domain(b, name, d);
			vms_buf_append(b, ",vcpu=\"", 7);
			vms_buf_u64(b, k);
			vms_buf_append(b, "\"}", 2);
			sample_ns_as_seconds(b, which == VCPU_TIME   ? c->time_ns
						: which == VCPU_WAIT ? c->wait_ns
								     : c->delay_ns);
		}
	}
}

static void
render_domain_stats(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_domain_cpu_seconds_total", "counter",
	       "CPU time of the domain's QEMU process seen from the host, by mode (libvirt cpu.user, cpu.system).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_cpu)
			continue;
		sample_domain(b, "vmscale_domain_cpu_seconds_total", d);
		vms_buf_append(b, ",mode=\"user\"}", 13);
		sample_ns_as_seconds(b, d->stats.cpu_user_ns);
		sample_domain(b, "vmscale_domain_cpu_seconds_total", d);
		vms_buf_append(b, ",mode=\"system\"}", 15);
		sample_ns_as_seconds(b, d->stats.cpu_system_ns);
	}
	vms_buf_family(b, "vmscale_domain_vcpu_utilization_ratio", "gauge",
	       "Share of the domain's vCPUs used over the last interval, seen from the host (0..1).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (isnan(d->vcpu_utilization))
			continue;
		domain_sample_double(b, "vmscale_domain_vcpu_utilization_ratio", d, d->vcpu_utilization);
	}
	render_vcpus(b, st, "vmscale_domain_vcpu_seconds_total", "Time each vCPU ran, seen from the host.", VCPU_TIME);
	render_vcpus(b, st, "vmscale_domain_vcpu_wait_seconds_total",
		     "Time each vCPU waited on I/O, seen from the host.", VCPU_WAIT);
	render_vcpus(b, st, "vmscale_domain_vcpu_delay_seconds_total",
		     "Time each vCPU was runnable but not running: steal time seen from the host.",
		     VCPU_DELAY);
	vms_buf_family(b, "vmscale_domain_memory_balloon_bytes", "gauge",
	       "Memory the balloon driver leaves the guest (libvirt balloon.current).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_balloon_current)
			continue;
		domain_sample_u64(b, "vmscale_domain_memory_balloon_bytes", d, d->stats.balloon_current_kib * 1024);
	}
	vms_buf_family(b, "vmscale_domain_memory_rss_bytes", "gauge",
	       "Resident memory of the domain's QEMU process on the host (libvirt balloon.rss).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_balloon_rss)
			continue;
		domain_sample_u64(b, "vmscale_domain_memory_rss_bytes", d, d->stats.balloon_rss_kib * 1024);
	}
	for (size_t i = 0; i < sizeof(block_families) / sizeof(block_families[0]); i++)
		render_devices(b, st, &block_families[i], true);
	for (size_t i = 0; i < sizeof(net_families) / sizeof(net_families[0]); i++)
		render_devices(b, st, &net_families[i], false);
	vms_buf_family(b, "vmscale_libvirt_stats_incomplete_total", "counter",
	       "Domain records of the bulk stats call without CPU figures (a domain busy in a job; NOWAIT did not wait).");
	vms_buf_printf(b, "vmscale_libvirt_stats_incomplete_total %llu\n",
		       (unsigned long long)st->stats_incomplete_total);
}

/* The vsock and tcp probe transports: present only when their listener is on. */
static void
render_listeners(struct vms_buf *b, const struct vms_listener_stats *ls)
{
	if (!ls->vsock_on && !ls->tcp_on)
		return;
	vms_buf_family(b, "vmscale_probe_transport_connections_total", "counter",
	       "Probe connections accepted by a listener and tied to a domain, by transport.");
	if (ls->vsock_on)
		vms_buf_printf(b, "vmscale_probe_transport_connections_total{transport=\"vsock\"} "
			       "%llu\n", (unsigned long long)ls->vsock_accepted);
	if (ls->tcp_on)
		vms_buf_printf(b, "vmscale_probe_transport_connections_total{transport=\"tcp\"} "
			       "%llu\n", (unsigned long long)ls->tcp_accepted);
	vms_buf_family(b, "vmscale_probe_auth_failures_total", "counter",
	       "Probe connections refused before they were tied to a domain, by transport and "
	       "reason.");
	if (ls->vsock_on)
		vms_buf_printf(b, "vmscale_probe_auth_failures_total{transport=\"vsock\","
			       "reason=\"unknown_cid\"} %llu\n",
			       (unsigned long long)ls->vsock_unknown_cid);
	for (unsigned r = 0; ls->tcp_on && r < VMS_AUTH_FAIL_COUNT; r++)
		vms_buf_printf(b, "vmscale_probe_auth_failures_total{transport=\"tcp\",reason=\"%s\"} "
			       "%llu\n", vms_auth_fail_name((enum vms_auth_fail)r),
			       (unsigned long long)ls->tcp_refused[r]);
}

static void
render_probes(struct vms_buf *b, const struct vms_store *st, uint64_t now_ns)
{
	vms_buf_family(b, "vmscale_domain_info", "gauge",
	       "Running domain's metadata; 1 for every running domain.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		sample_domain(b, "vmscale_domain_info", d);
		vms_buf_printf(b, ",uuid=\"%s\",uri=\"", d->uuid);
		vms_buf_label_value(b, d->conn ? d->conn->uri : "");
		vms_buf_printf(b, "\",probe_channel=\"%s\"} 1\n",
			       !d->channel_path ? "no" : d->probe_excluded ? "excluded" : "yes");
	}
	vms_buf_family(b, "vmscale_probe_up", "gauge",
	       "1 if the domain's probe is connected, said hello and reported within 3 intervals.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_up", d, vms_probe_is_up(st, d, now_ns) ? 1 : 0);
	}
	vms_buf_family(b, "vmscale_probe_info", "gauge",
	       "Version of the probe in the guest, from its hello; 1 while it is connected.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.connected || !d->probe.hello)
			continue;
		sample_domain(b, "vmscale_probe_info", d);
		vms_buf_append(b, ",version=\"", 10);
		vms_buf_label_value(b, d->probe.info.probe_version);
		vms_buf_printf(b, "\",protocol=\"%u\"} 1\n", d->probe.info.proto);
	}
	vms_buf_family(b, "vmscale_probe_reports_total", "counter",
	       "Reports accepted from the domain's probe.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_reports_total", d, d->probe.reports_total);
	}
	vms_buf_family(b, "vmscale_probe_reports_lost_total", "counter",
	       "Reports the probe numbered but the daemon never received (gaps in seq).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_reports_lost_total", d, d->probe.reports_lost_total);
	}
	vms_buf_family(b, "vmscale_probe_clock_skew_seconds", "gauge",
	       "Guest monotonic time elapsed minus host time elapsed between the probe's last two "
	       "reports (positive: the guest clock ran fast); absent until two consecutive reports.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.connected || isnan(d->probe.clock_skew_s))
			continue;
		domain_sample_double(b, "vmscale_probe_clock_skew_seconds", d, d->probe.clock_skew_s);
	}
	vms_buf_family(b, "vmscale_probe_records_rejected_total", "counter",
	       "Records from the domain's probe rejected as malformed, by reason (present once non-zero).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned e = 1; e < VMS_PROTO_E_COUNT; e++) {
			if (!d->probe.rejected[e])
				continue;
			sample_domain(b, "vmscale_probe_records_rejected_total", d);
			vms_buf_printf(b, ",reason=\"%s\"} %llu\n",
				       vms_proto_error_name((enum vms_proto_error)e),
				       (unsigned long long)d->probe.rejected[e]);
		}
	}
}

/* A family with one unlabelled sample. */
static void
gauge_u64(struct vms_buf *b, const char *name, const char *help, uint64_t v)
{
	vms_buf_family(b, name, "gauge", help);
	vms_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge_double(struct vms_buf *b, const char *name, const char *help, double v)
{
	vms_buf_family(b, name, "gauge", help);
	vms_buf_printf(b, "%s ", name);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}

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
	{"vmscale_host_disk_written_bytes_total", "Bytes written to the host's block device (libstatgrab).",
	 HDISK(write_bytes)},
};

static const struct host_dev_family host_iface_families[] = {
	{"vmscale_host_network_receive_bytes_total", "Bytes the host's interface received.", HIF(rx_bytes)},
	{"vmscale_host_network_transmit_bytes_total", "Bytes the host's interface transmitted.", HIF(tx_bytes)},
	{"vmscale_host_network_receive_packets_total", "Packets the host's interface received.", HIF(rx_packets)},
	{"vmscale_host_network_transmit_packets_total", "Packets the host's interface transmitted.",
	 HIF(tx_packets)},
	{"vmscale_host_network_receive_errors_total", "Receive errors on the host's interface.", HIF(rx_errors)},
	{"vmscale_host_network_transmit_errors_total", "Transmit errors on the host's interface.",
	 HIF(tx_errors)},
	{"vmscale_host_network_collisions_total", "Collisions on the host's interface.", HIF(collisions)},
};

/* Swap, disks, interfaces, processes and seed 000's virtualization memory. */
static void
render_host_extra(struct vms_buf *b, const struct vms_host_stats *h)
{
	if (h->have_shared) {
		gauge_u64(b, "vmscale_host_memory_buffers_bytes",
			  "Host block-device buffers (/proc/meminfo Buffers; inside used).", h->mem_buffers);
		gauge_u64(b, "vmscale_host_memory_shared_bytes",
			  "Host shared memory: tmpfs, memfd-backed guest RAM (/proc/meminfo Shmem; inside cache).",
			  h->mem_shared);
	}
	if (h->have_virt_mem)
		gauge_u64(b, "vmscale_host_virtualization_memory_bytes",
			  "Seed 000's M_tool: host memory used (without page cache and buffers, with shared "
			  "memory) minus the running domains' RSS; 0 when the RSS sum exceeds it.",
			  h->virt_mem);
	vms_buf_family(b, "vmscale_host_virtualization_memory_clamped_total", "counter",
	       "Host reads where the domains' RSS sum exceeded host memory used (pages shared between "
	       "QEMU processes), so the virtualization memory was reported as 0.");
	vms_buf_printf(b, "vmscale_host_virtualization_memory_clamped_total %llu\n",
		       (unsigned long long)h->virt_mem_clamped_total);
	if (h->have_swap) {
		gauge_u64(b, "vmscale_host_swap_size_bytes", "Host swap space (libstatgrab).", h->swap_total);
		vms_buf_family(b, "vmscale_host_swap_bytes", "gauge", "Host swap space by state, used or free.");
		vms_buf_printf(b, "vmscale_host_swap_bytes{state=\"used\"} %llu\n"
				  "vmscale_host_swap_bytes{state=\"free\"} %llu\n",
			       (unsigned long long)h->swap_used, (unsigned long long)h->swap_free);
	}
	if (h->have_procs) {
		vms_buf_family(b, "vmscale_host_processes", "gauge",
		       "Host processes by state (other: states libstatgrab does not classify, such as idle "
		       "kernel threads); they add up to the total.");
		const struct {
			const char *state;
			uint64_t n;
		} procs[] = {{"running", h->procs_running}, {"sleeping", h->procs_sleeping},
			     {"stopped", h->procs_stopped}, {"zombie", h->procs_zombie},
			     {"other", h->procs_other}};
		for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++)
			vms_buf_printf(b, "vmscale_host_processes{state=\"%s\"} %llu\n", procs[i].state,
				       (unsigned long long)procs[i].n);
	}
	if (h->have_disks)
		for (size_t i = 0; i < sizeof(host_disk_families) / sizeof(host_disk_families[0]); i++)
			host_device_family(b, &host_disk_families[i], "device", h->disks,
					   sizeof(h->disks[0]), HDISK(name), h->ndisks);
	if (h->have_ifaces)
		for (size_t i = 0; i < sizeof(host_iface_families) / sizeof(host_iface_families[0]); i++)
			host_device_family(b, &host_iface_families[i], "interface", h->ifaces,
					   sizeof(h->ifaces[0]), HIF(name), h->nifaces);
	if (h->have_disks || h->have_ifaces) {
		vms_buf_family(b, "vmscale_host_devices_dropped", "gauge",
		       "Host disks and interfaces left out of the last read: beyond the 64 kept per kind, "
		       "or with a name too long for a label.");
		if (h->have_disks)
			vms_buf_printf(b, "vmscale_host_devices_dropped{kind=\"disk\"} %u\n", h->disks_dropped);
		if (h->have_ifaces)
			vms_buf_printf(b, "vmscale_host_devices_dropped{kind=\"interface\"} %u\n",
				       h->ifaces_dropped);
	}
}

static void
render_host(struct vms_buf *b, const struct vms_store *st)
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
	gauge_u64(b, "vmscale_host_memory_total_bytes", "Host physical memory (libstatgrab).",
		  h->mem_total);
	gauge_u64(b, "vmscale_host_memory_used_bytes",
		  "Host memory in use, page cache excluded (libstatgrab).", h->mem_used);
	gauge_u64(b, "vmscale_host_memory_free_bytes", "Host memory free (libstatgrab).",
		  h->mem_free);
	gauge_u64(b, "vmscale_host_memory_cache_bytes", "Host page cache (libstatgrab).",
		  h->mem_cache);
	gauge_double(b, "vmscale_host_load1", "Host load average over 1 minute.", h->load1);
	gauge_double(b, "vmscale_host_load5", "Host load average over 5 minutes.", h->load5);
	gauge_double(b, "vmscale_host_load15", "Host load average over 15 minutes.", h->load15);
	render_host_extra(b, h);
}

/* Guest /proc/diskstats columns as Prometheus families: sectors are 512 bytes whatever the
 * device, times are milliseconds. Columns a kernel lacks (discard: < 4.18, flush: < 5.5)
 * are absent, not zero. */
static const struct {
	const char *name, *type, *help;
	unsigned col;
	double scale;
} guest_disk_families[] = {
	{"vmscale_probe_disk_reads_completed_total", "counter", "Reads completed (guest /proc/diskstats).", 0, 1},
	{"vmscale_probe_disk_reads_merged_total", "counter", "Adjacent reads merged by the guest.", 1, 1},
	{"vmscale_probe_disk_read_bytes_total", "counter", "Bytes read (sectors x 512; seed 000's sectors read).", 2, 512},
	{"vmscale_probe_disk_read_time_seconds_total", "counter", "Time spent on reads.", 3, 0.001},
	{"vmscale_probe_disk_writes_completed_total", "counter", "Writes completed.", 4, 1},
	{"vmscale_probe_disk_writes_merged_total", "counter", "Adjacent writes merged by the guest.", 5, 1},
	{"vmscale_probe_disk_written_bytes_total", "counter", "Bytes written (sectors x 512; seed 000's sectors written).", 6, 512},
	{"vmscale_probe_disk_write_time_seconds_total", "counter", "Time spent on writes.", 7, 0.001},
	{"vmscale_probe_disk_io_now", "gauge", "I/Os in flight when the probe read the counters.", 8, 1},
	{"vmscale_probe_disk_io_time_seconds_total", "counter", "Time the device had I/O in flight.", 9, 0.001},
	{"vmscale_probe_disk_io_time_weighted_seconds_total", "counter", "I/O time weighted by the number in flight.", 10, 0.001},
	{"vmscale_probe_disk_discards_completed_total", "counter", "Discards completed (kernel 4.18+).", 11, 1},
	{"vmscale_probe_disk_discards_merged_total", "counter", "Adjacent discards merged (kernel 4.18+).", 12, 1},
	{"vmscale_probe_disk_discarded_bytes_total", "counter", "Bytes discarded (kernel 4.18+).", 13, 512},
	{"vmscale_probe_disk_discard_time_seconds_total", "counter", "Time spent on discards (kernel 4.18+).", 14, 0.001},
	{"vmscale_probe_disk_flush_requests_total", "counter", "Flush requests completed (kernel 5.5+).", 15, 1},
	{"vmscale_probe_disk_flush_time_seconds_total", "counter", "Time spent on flushes (kernel 5.5+).", 16, 0.001},
};

/* Appends ,key="value" for a value that needs no escaping (our own fixed names). */
static void
buf_label(struct vms_buf *b, const char *key, const char *value)
{
	vms_buf_append(b, ",", 1);
	vms_buf_append(b, key, strlen(key));
	vms_buf_append(b, "=\"", 2);
	vms_buf_append(b, value, strlen(value));
	vms_buf_append(b, "\"", 1);
}

static void
render_guest_disks(struct vms_buf *b, const struct vms_store *st)
{
	for (size_t k = 0; k < sizeof(guest_disk_families) / sizeof(guest_disk_families[0]); k++) {
		unsigned col = guest_disk_families[k].col;
		double scale = guest_disk_families[k].scale;
		vms_buf_family(b, guest_disk_families[k].name, guest_disk_families[k].type,
		       guest_disk_families[k].help);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			for (unsigned j = 0; j < d->probe.ndisks; j++) {
				const struct vms_disk_report *r = &d->probe.disks[j];
				if (col >= r->nfields)
					continue;
				sample_domain(b, guest_disk_families[k].name, d);
				vms_buf_append(b, ",device=\"", 9);
				vms_buf_label_value(b, r->dev);
				vms_buf_append(b, "\"} ", 3);
				if (scale == 1)
					vms_buf_u64(b, r->v[col]);
				else if (scale == 512)
					vms_buf_u64(b, r->v[col] << 9); /* sectors: < 2^55 in any real life */
				else
					vms_buf_measured(b, (double)r->v[col] * scale, 3);
				vms_buf_append(b, "\n", 1);
			}
		}
	}
}

/* One value family of the active probes: the ops of `fam`, labelled op="..." unless the
 * family has a single op. */
static void
render_probe_values(struct vms_buf *b, const struct vms_store *st, const char *name,
		    const char *help, enum vms_family fam, bool op_label)
{
	vms_buf_family(b, name, "gauge", help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned op = 0; op < VMS_OP_COUNT; op++) {
			const struct vms_probe_value *v = &d->probe.ops[op];
			if (vms_op_family((enum vms_op)op) != fam || !v->have)
				continue;
			sample_domain(b, name, d);
			if (op_label)
				buf_label(b, "op", vms_op_name((enum vms_op)op));
			vms_buf_append(b, "} ", 2);
			/* Rates and throughputs to the unit, latencies to the nanosecond. */
			vms_buf_measured(b, v->value, fam == VMS_FAM_MICRO ? 9 : 0);
			vms_buf_append(b, "\n", 1);
		}
	}
}

/* A counter per domain and active family (the passive ones too when all is set). */
static void
render_per_family(struct vms_buf *b, const struct vms_store *st, const char *name,
		  const char *type, const char *help, size_t offset, bool all)
{
	vms_buf_family(b, name, type, help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.hello && !all)
			continue;
		const uint64_t *counts = (const uint64_t *)((const char *)&d->probe + offset);
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			if (!(d->probe.caps & (1u << f)) && !counts[f])
				continue;
			sample_domain(b, name, d);
			buf_label(b, "probe", vms_family_name((enum vms_family)f));
			vms_buf_append(b, "} ", 2);
			vms_buf_u64(b, counts[f]);
			vms_buf_append(b, "\n", 1);
		}
	}
}

static void
render_probe_measurements(struct vms_buf *b, const struct vms_store *st,
			  const struct vms_render_info *info)
{
	render_guest_disks(b, st);
	render_probe_values(b, st, "vmscale_probe_cpu_work_units_per_second",
			    "Fixed-work CPU probe: arithmetic units per second (seeds 000/001's sqrt "
			    "and sin loops; a unit is the same work everywhere).",
			    VMS_FAM_CPU_WORK, false);
	render_probe_values(b, st, "vmscale_probe_memory_bandwidth_bytes_per_second",
			    "Memory bandwidth over a buffer of at least 8 MiB, by op: copy (memcpy), "
			    "read, write (seed 004's mbw and lmbench bw_mem).",
			    VMS_FAM_MEMORY, true);
	render_probe_values(b, st, "vmscale_probe_disk_read_bytes_per_second",
			    "O_DIRECT read throughput of the guest's disk at a rotating offset (seed "
			    "000's dd).", VMS_FAM_DISK_READ, false);
	vms_buf_family(b, "vmscale_probe_network_throughput_bytes_per_second", "gauge",
	       "TCP throughput between the guest and vmscaled's responder by direction (send: "
	       "guest to host) and block size (seeds 000/004's NetIO).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned k = 0; k < d->probe.net_nblocks; k++)
			for (unsigned dir = 0; dir < 2; dir++) {
				const struct vms_probe_value *v = &d->probe.net[k][dir];
				if (!v->have)
					continue;
				sample_domain(b, "vmscale_probe_network_throughput_bytes_per_second", d);
				buf_label(b, "direction", dir ? "receive" : "send");
				vms_buf_append(b, ",block_bytes=\"", 14);
				vms_buf_u64(b, d->probe.net_blocks[k]);
				vms_buf_append(b, "\"} ", 3);
				vms_buf_measured(b, v->value, 0);
				vms_buf_append(b, "\n", 1);
			}
	}
	render_probe_values(b, st, "vmscale_probe_latency_seconds",
			    "lmbench-style latency by op: fork_exit, fork_exec, ctxsw (pipe round "
			    "trip), file_create_0k/10k (create+delete), mem_read (one dependent load "
			    "over >= 8 MiB) (seed 004).", VMS_FAM_MICRO, true);
	render_per_family(b, st, "vmscale_probe_samples_total", "counter",
			  "Measurements received from active runs (trusted or flagged).",
			  offsetof(struct vms_probe_state, samples_total), false);
	render_per_family(b, st, "vmscale_probe_samples_flagged_total", "counter",
			  "Measurements not used because the guest clock disagreed with the host's "
			  "during their run (seed 001).",
			  offsetof(struct vms_probe_state, samples_flagged_total), false);
	render_per_family(b, st, "vmscale_probe_sample_errors_total", "counter",
			  "Measurements the probe could not take (it logs why in the guest).",
			  offsetof(struct vms_probe_state, sample_errors_total), false);
	vms_buf_family(b, "vmscale_probe_runs_total", "counter",
	       "Active runs by result: ok (done received) or timeout (given up).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
			for (unsigned r = 0; r < VMS_RUN_RESULT_COUNT; r++) {
				uint64_t n = d->probe.runs_total[f][r];
				if (!n && !(d->probe.caps & (1u << f)))
					continue;
				sample_domain(b, "vmscale_probe_runs_total", d);
				buf_label(b, "probe", vms_family_name((enum vms_family)f));
				buf_label(b, "result", r == VMS_RUN_OK ? "ok" : "timeout");
				vms_buf_append(b, "} ", 2);
				vms_buf_u64(b, n);
				vms_buf_append(b, "\n", 1);
			}
	}
	vms_buf_family(b, "vmscale_probe_run_flagged", "gauge",
	       "1 if the latest run of the family was flagged (its samples are not used).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			if (!d->probe.have_run_window[f])
				continue;
			sample_domain(b, "vmscale_probe_run_flagged", d);
			buf_label(b, "probe", vms_family_name((enum vms_family)f));
			vms_buf_append(b, d->probe.run_flagged[f] ? "} 1\n" : "} 0\n", 4);
		}
	}
	static const char *const window[2][2] = {
		{"vmscale_probe_run_start_timestamp_seconds",
		 "When the latest run of the family started (Unix time; guest times mapped to the "
		 "host's clock)."},
		{"vmscale_probe_run_end_timestamp_seconds", "When the latest run of the family ended."},
	};
	for (unsigned w = 0; w < 2; w++) {
		vms_buf_family(b, window[w][0], "gauge", window[w][1]);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
				if (!d->probe.have_run_window[f])
					continue;
				sample_domain(b, window[w][0], d);
				buf_label(b, "probe", vms_family_name((enum vms_family)f));
				vms_buf_append(b, "} ", 2);
				vms_buf_measured(b, w ? d->probe.run_end_unix[f] : d->probe.run_start_unix[f], 3);
				vms_buf_append(b, "\n", 1);
			}
		}
	}
	vms_buf_family(b, "vmscale_probe_cost_seconds_total", "counter",
	       "CPU time the probe spent in the guest, by family (other: its own loop).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cost)
			continue;
		for (unsigned f = 0; f <= VMS_FAM_COUNT; f++) {
			sample_domain(b, "vmscale_probe_cost_seconds_total", d);
			buf_label(b, "probe",
				  f < VMS_FAM_COUNT ? vms_family_name((enum vms_family)f) : "other");
			vms_buf_append(b, "} ", 2);
			vms_buf_measured(b, d->probe.cost_seconds[f], 9);
			vms_buf_append(b, "\n", 1);
		}
	}
	static const char *const mem[2][2] = {
		{"vmscale_probe_resident_memory_bytes", "The probe's resident memory in the guest (VmRSS)."},
		{"vmscale_probe_resident_memory_max_bytes",
		 "The probe's peak resident memory since it started (VmHWM), transient buffers included."},
	};
	for (unsigned m = 0; m < 2; m++) {
		vms_buf_family(b, mem[m][0], "gauge", mem[m][1]);
		for (size_t i = 0; i < st->ndomains; i++) {
			const struct vms_domain *d = st->domains[i];
			uint64_t v = m ? d->probe.last_cost.peak_rss_bytes : d->probe.last_cost.rss_bytes;
			if (d->probe.have_cost && v)
				domain_sample_u64(b, mem[m][0], d, v);
		}
	}
	vms_buf_family(b, "vmscale_probe_disks_dropped_total", "counter",
	       "Guest disk reports dropped because the domain already has 16 devices (present "
	       "once non-zero).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (d->probe.disks_dropped_total)
			domain_sample_u64(b, "vmscale_probe_disks_dropped_total", d,
					  d->probe.disks_dropped_total);
	}
	vms_buf_family(b, "vmscale_probe_runs_delayed_total", "counter",
	       "Active runs that started more than half an interval late: the schedule asks more "
	       "than one-at-a-time runs can serve.");
	vms_buf_printf(b, "vmscale_probe_runs_delayed_total %llu\n",
		       (unsigned long long)info->probe_runs_delayed);
	render_listeners(b, &info->listeners);
	if (!info->netio_on)
		return;
	const struct vms_netio_stats *n = &info->netio;
	vms_buf_family(b, "vmscale_netio_connections_total", "counter",
	       "TCP connections accepted by the network-probe responder.");
	vms_buf_printf(b, "vmscale_netio_connections_total %llu\n",
		       (unsigned long long)n->connections);
	vms_buf_family(b, "vmscale_netio_refused_total", "counter",
	       "Responder connections refused before moving data, by reason.");
	for (unsigned r = 0; r < VMS_NETIO_REFUSE_COUNT; r++)
		vms_buf_printf(b, "vmscale_netio_refused_total{reason=\"%s\"} %llu\n",
			       vms_netio_refuse_name((enum vms_netio_refuse)r),
			       (unsigned long long)n->refused[r]);
	vms_buf_family(b, "vmscale_netio_transfers_total", "counter",
	       "Responder transfers by result: completed or aborted.");
	vms_buf_printf(b, "vmscale_netio_transfers_total{result=\"completed\"} %llu\n",
		       (unsigned long long)n->completed);
	vms_buf_printf(b, "vmscale_netio_transfers_total{result=\"aborted\"} %llu\n",
		       (unsigned long long)n->aborted);
	vms_buf_family(b, "vmscale_netio_bytes_total", "counter",
	       "Payload bytes the responder moved, by direction as the guest sees it.");
	vms_buf_printf(b, "vmscale_netio_bytes_total{direction=\"send\"} %llu\n",
		       (unsigned long long)n->bytes_received);
	vms_buf_printf(b, "vmscale_netio_bytes_total{direction=\"receive\"} %llu\n",
		       (unsigned long long)n->bytes_sent);
}

static void render_metrics_body(struct vms_buf *b, const struct vms_store *st,
				const struct vms_render_info *info, uint64_t now_ns);

void
vms_render_metrics(struct vms_buf *b, const struct vms_store *st,
		   const struct vms_render_info *info, uint64_t now_ns)
{
	/* Room for about what the last render took: a 5 MB exposition (1 000 domains) built by
	 * doubling would copy itself over and over. Only the event loop renders. */
	static size_t last_len;
	vms_buf_reserve(b, last_len + last_len / 16);
	size_t start = b->len;
	render_metrics_body(b, st, info, now_ns);
	last_len = b->len - start;
}

static void
render_metrics_body(struct vms_buf *b, const struct vms_store *st,
		    const struct vms_render_info *info, uint64_t now_ns)
{
	vms_buf_family(b, "vmscale_build_info", "gauge", "Version of vmscaled and of its wire protocol.");
	vms_buf_append(b, "vmscale_build_info{version=\"", 28);
	vms_buf_label_value(b, info->version);
	vms_buf_printf(b, "\",protocol=\"%d\"} 1\n", VMS_PROTO_VERSION);
	static const char *const results[VMS_RELOAD_COUNT] = {"ok", "error", "refused"};
	vms_buf_family(b, "vmscale_config_reloads_total", "counter",
	       "Configuration reloads (SIGHUP) by result: ok, error (invalid file) or refused (a "
	       "change that needs a restart).");
	for (unsigned r = 0; r < VMS_RELOAD_COUNT; r++)
		vms_buf_printf(b, "vmscale_config_reloads_total{result=\"%s\"} %llu\n", results[r],
			       (unsigned long long)info->config_reloads[r]);
	gauge_double(b, "vmscale_config_last_reload_success_timestamp_seconds",
		     "When the configuration in force was loaded (Unix time): at start, then at "
		     "each successful reload.", info->config_loaded_unix);
	vms_buf_family(b, "vmscale_libvirt_up", "gauge",
	       "1 if the libvirt connection to this URI is open and answering.");
	for (size_t i = 0; i < st->nconns; i++) {
		vms_buf_append(b, "vmscale_libvirt_up{uri=\"", 24);
		vms_buf_label_value(b, st->conns[i]->uri);
		vms_buf_printf(b, "\"} %d\n", st->conns[i]->up ? 1 : 0);
	}
	vms_buf_family(b, "vmscale_domains_running", "gauge",
	       "N_up: running domains on this host (last known while libvirt is down).");
	vms_buf_printf(b, "vmscale_domains_running %zu\n", st->ndomains);
	vms_buf_family(b, "vmscale_domains_busy", "gauge",
	       "Running domains whose vCPU utilization over the last interval exceeds the busy threshold.");
	vms_buf_printf(b, "vmscale_domains_busy %zu\n", vms_store_domains_busy(st));
	vms_buf_family(b, "vmscale_busy_threshold_ratio", "gauge",
	       "vCPU utilization above which a domain counts as busy (--busy-threshold).");
	vms_buf_append(b, "vmscale_busy_threshold_ratio ", 29);
	vms_buf_double(b, st->busy_threshold);
	vms_buf_append(b, "\n", 1);
	vms_buf_family(b, "vmscale_probes_up", "gauge", "Domains whose probe is up.");
	vms_buf_printf(b, "vmscale_probes_up %zu\n", vms_store_probes_up(st, now_ns));
	render_probes(b, st, now_ns);
	render_domain_stats(b, st);
	render_guest_cpu(b, st);
	render_probe_measurements(b, st, info);
	render_host(b, st);
	if (info->control_on) {
		vms_buf_family(b, "vmscale_control_requests_total", "counter",
				  "Requests on the control socket (vmscalectl) by result: ok, error "
				  "(refused by the daemon), rejected (malformed, oversize, wrong peer), "
				  "timeout (silent or slow peers).");
		vms_buf_printf(b, "vmscale_control_requests_total{result=\"ok\"} %llu\n"
				  "vmscale_control_requests_total{result=\"error\"} %llu\n"
				  "vmscale_control_requests_total{result=\"rejected\"} %llu\n"
				  "vmscale_control_requests_total{result=\"timeout\"} %llu\n",
			       (unsigned long long)(info->control_requests - info->control_errors),
			       (unsigned long long)info->control_errors,
			       (unsigned long long)info->control_rejected,
			       (unsigned long long)info->control_timeouts);
	}
	if (info->analysis)
		vms_analysis_render(info->analysis, st, b, now_ns);
}

/* Length of name without a suffix that OpenMetrics keeps off family names, else 0. */
static size_t
openmetrics_family_len(const char *name, size_t len, const char **type)
{
	static const struct {
		const char *suffix, *from, *to;
	} map[] = {{"_total", "counter", "counter"}, {"_info", "gauge", "info"}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		size_t sl = strlen(map[i].suffix);
		if (len > sl && memcmp(name + len - sl, map[i].suffix, sl) == 0) {
			*type = map[i].to;
			return len - sl;
		}
	}
	return 0;
}

void
vms_render_openmetrics(struct vms_buf *b, const char *text, size_t len)
{
	/* HELP and TYPE names only get shorter, so one allocation holds the whole result. */
	vms_buf_reserve(b, len + 7);
	vms_render_openmetrics_lines(b, text, len);
	vms_buf_append(b, "# EOF\n", 6);
}

void
vms_render_openmetrics_lines(struct vms_buf *b, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		if (*p != '#') {
			/* Sample lines pass unchanged: copy up to the next comment line at once.
			 * '#' is rare outside comments (a label value may hold one), so memchr. */
			const char *stop = memchr(p, '#', (size_t)(end - p));
			while (stop && stop[-1] != '\n')
				stop = memchr(stop + 1, '#', (size_t)(end - stop - 1));
			if (!stop)
				stop = end;
			vms_buf_append(b, p, (size_t)(stop - p));
			p = stop;
			continue;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* "# HELP name_total ..." / "# TYPE name_total counter": the family is "name";
		 * a gauge "name_info" of constant 1 is an OpenMetrics info family "name". */
		const char *type = NULL;
		bool help = l > 7 && memcmp(p, "# HELP ", 7) == 0;
		bool typeline = l > 7 && memcmp(p, "# TYPE ", 7) == 0;
		const char *name = p + 7;
		const char *sp = (help || typeline) ? memchr(name, ' ', l - 7) : NULL;
		size_t flen = sp ? openmetrics_family_len(name, (size_t)(sp - name), &type) : 0;
		if (flen && help) {
			vms_buf_append(b, p, 7 + flen);
			vms_buf_append(b, sp, l - (size_t)(sp - p));
		} else if (flen && typeline) {
			vms_buf_append(b, p, 7 + flen);
			vms_buf_printf(b, " %s\n", type);
		} else {
			vms_buf_append(b, p, l);
		}
		p += l;
	}
}

static double
guest_busy_percent(const struct vms_domain *d)
{
	const struct vms_cpu_report *c = &d->probe.cpu;
	uint64_t total = 0;
	for (unsigned m = 0; m < c->nmodes && m < VMS_CPU_GUEST; m++)
		total += c->ticks[m];
	uint64_t idle = c->ticks[VMS_CPU_IDLE] + (c->nmodes > VMS_CPU_IOWAIT ? c->ticks[VMS_CPU_IOWAIT] : 0);
	return total ? 100.0 * (double)(total - idle) / (double)total : NAN;
}

/* Each domain's slowdown against N_up, one line per probe with a baseline: the live seed plot. */
static void
landing_plot(struct vms_buf *b, const struct vms_analysis *a, const struct vms_domain *d)
{
	static struct vms_svg_plot plot; /* large; the event loop is the only caller */
	memset(&plot, 0, sizeof(plot));
	char title[160];
	snprintf(title, sizeof(title), "%s: slowdown vs N_up", d->name);
	plot.title = title;
	plot.x_label = "N_up (running domains)";
	plot.y_label = "slowdown (1 = baseline)";
	plot.y_min = 1;
	plot.integer_x = true;
	plot.width = 420;
	plot.height = 220;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT && plot.nseries < VMS_SVG_MAX_SERIES; p++) {
		struct vms_an_point pts[VMS_SVG_MAX_POINTS];
		unsigned n = vms_analysis_domain_curve(a, d->key, p, pts, VMS_SVG_MAX_POINTS);
		if (!n)
			continue;
		struct vms_svg_series *se = &plot.series[plot.nseries++];
		se->name = vms_an_probe_name(p);
		se->n = n;
		for (unsigned i = 0; i < n; i++) {
			se->x[i] = pts[i].n_up;
			se->y[i] = pts[i].slowdown;
		}
	}
	plot.refs[plot.nrefs++] = (struct vms_svg_ref){
		"warning", vms_analysis_threshold(a, VMS_AN_CPU_WORK, VMS_AN_WARNING)};
	vms_svg_line_plot(b, &plot);
}

void
vms_render_landing(struct vms_buf *b, const struct vms_store *st,
		   const struct vms_render_info *info, uint64_t now_ns)
{
	static const char head[] =
		       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<title>vmscaled</title><style>body{font-family:sans-serif;margin:2em}"
		       "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ccc;"
		       "text-align:left}.up{color:#070}.down{color:#b00}.warning{color:#b60}"
		       ".critical{color:#b00;font-weight:bold}.plots{display:flex;flex-wrap:wrap;gap:1em}"
		       "</style></head><body>\n";
	const struct vms_analysis *a = info->analysis;
	vms_buf_append(b, head, sizeof(head) - 1);
	vms_buf_printf(b, "<h1>vmscaled ");
	vms_buf_html(b, info->version);
	vms_buf_printf(b, "</h1>\n<p>libvirt");
	for (size_t i = 0; i < st->nconns; i++) {
		const struct vms_conn *c = st->conns[i];
		vms_buf_printf(b, "%s <b>", i ? "," : "");
		vms_buf_html(b, c->uri);
		vms_buf_printf(b, "</b>: <span class=\"%s\">%s</span>", c->up ? "up" : "down",
			       c->up ? "connected" : "not connected");
	}
	size_t alerts = 0;
	for (size_t i = 0; a && i < st->ndomains; i++) {
		struct vms_an_domain_view v;
		if (vms_analysis_domain_view(a, st->domains[i]->key, &v))
			alerts += v.alerts;
	}
	vms_buf_printf(b, ". N_up = <b>%zu</b> running domains, %zu busy, "
			  "%zu probes up, %zu degradation alerts. Metrics: <a href=\"/metrics\">/metrics</a>.</p>\n",
		       st->ndomains, vms_store_domains_busy(st), vms_store_probes_up(st, now_ns), alerts);
	vms_buf_printf(b, "<table><tr><th>domain</th><th>uuid</th><th>probe</th><th>version</th>"
			  "<th>guest CPUs</th><th>busy since boot</th><th>reports</th>"
			  "<th>worst slowdown</th><th>alerts</th></tr>\n");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		bool up = vms_probe_is_up(st, d, now_ns);
		vms_buf_printf(b, "<tr><td>");
		vms_buf_html(b, d->name);
		vms_buf_printf(b, "</td><td>%s</td><td class=\"%s\">%s</td><td>", d->uuid,
			       up ? "up" : "down",
			       up ? "up" : !d->channel_path ? "no channel" : d->probe_excluded ? "excluded" : "down");
		if (d->probe.hello)
			vms_buf_html(b, d->probe.info.probe_version);
		if (d->probe.have_cpu)
			vms_buf_printf(b, "</td><td>%u</td><td>%.1f %%</td>", d->probe.cpu.ncpu,
				       guest_busy_percent(d));
		else
			vms_buf_printf(b, "</td><td></td><td></td>");
		vms_buf_printf(b, "<td>%llu</td>", (unsigned long long)d->probe.reports_total);
		struct vms_an_domain_view v;
		bool viewed = a && vms_analysis_domain_view(a, d->key, &v);
		if (viewed && isfinite(v.worst_slowdown))
			vms_buf_printf(b, "<td>%.2f (%s)</td>", v.worst_slowdown,
				       vms_an_probe_name(v.worst_probe));
		else if (viewed && v.baselines)
			vms_buf_printf(b, "<td>no recent sample</td>");
		else
			vms_buf_printf(b, "<td>no baseline yet</td>");
		if (viewed && v.alerts)
			vms_buf_printf(b, "<td class=\"%s\">%u %s</td></tr>\n",
				       v.severity == VMS_AN_CRITICAL ? "critical" : "warning", v.alerts,
				       v.severity == VMS_AN_CRITICAL ? "critical" : "warning");
		else
			vms_buf_printf(b, "<td>none</td></tr>\n");
	}
	vms_buf_printf(b, "</table>\n");
	if (a && st->ndomains) {
		vms_buf_printf(b, "<h2>Slowdown vs N_up</h2>\n<p>Each probe's mean at every N_up "
				  "level against the domain's baseline (1 = as at the baseline; the "
				  "dashed line is the CPU-work warning threshold).</p>\n<div class=\"plots\">\n");
		for (size_t i = 0; i < st->ndomains; i++) {
			landing_plot(b, a, st->domains[i]);
			vms_buf_append(b, "\n", 1);
		}
		vms_buf_printf(b, "</div>\n");
	}
	vms_buf_printf(b, "</body></html>\n");
}
