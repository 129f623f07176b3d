/* The host-side statistics of each domain (libvirt's bulk stats) as metric families. */
#include "daemon/expo/store_families.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "daemon/expo/sample.h"

/* Per-device families: one per quantity, op/direction as a label (Prometheus naming). */
struct dev_family {
	const char *name, *type, *help, *dev_label, *split_label, *split[2];
	size_t off[2]; /* offsets of the two values in the device struct */
	bool ns;       /* values are nanoseconds, exported as seconds */
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
			const char *dev =
			    block ? (const char *)&ds->block[k] : (const char *)&ds->net[k];
			const char *devname = block ? ds->block[k].name : ds->net[k].name;
			for (int j = 0; j < 2; j++) {
				uint64_t v;
				memcpy(&v, dev + f->off[j], sizeof(v));
				vms_sample_domain(b, f->name, d);
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
					vms_sample_ns_seconds(b, v);
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
    {"vmscale_domain_block_bytes_total",
     "counter",
     "Bytes the domain read and wrote, per disk.",
     "device",
     "op",
     {"read", "write"},
     {BLK(rd_bytes), BLK(wr_bytes)},
     false},
    {"vmscale_domain_block_requests_total",
     "counter",
     "Read and write requests, per disk.",
     "device",
     "op",
     {"read", "write"},
     {BLK(rd_reqs), BLK(wr_reqs)},
     false},
    {"vmscale_domain_block_time_seconds_total",
     "counter",
     "Time spent on read and write requests, per disk.",
     "device",
     "op",
     {"read", "write"},
     {BLK(rd_times_ns), BLK(wr_times_ns)},
     true},
};

static const struct dev_family net_families[] = {
    {"vmscale_domain_net_bytes_total",
     "counter",
     "Bytes received and transmitted, per interface (host view).",
     "interface",
     "direction",
     {"receive", "transmit"},
     {NET(rx_bytes), NET(tx_bytes)},
     false},
    {"vmscale_domain_net_packets_total",
     "counter",
     "Packets received and transmitted, per interface.",
     "interface",
     "direction",
     {"receive", "transmit"},
     {NET(rx_pkts), NET(tx_pkts)},
     false},
    {"vmscale_domain_net_errors_total",
     "counter",
     "Receive and transmit errors, per interface.",
     "interface",
     "direction",
     {"receive", "transmit"},
     {NET(rx_errs), NET(tx_errs)},
     false},
    {"vmscale_domain_net_drops_total",
     "counter",
     "Receive and transmit drops, per interface.",
     "interface",
     "direction",
     {"receive", "transmit"},
     {NET(rx_drop), NET(tx_drop)},
     false},
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
			if ((which == VCPU_WAIT && !c->has_wait) ||
			    (which == VCPU_DELAY && !c->has_delay))
				continue;
			vms_sample_domain(b, name, d);
			vms_buf_append(b, ",vcpu=\"", 7);
			vms_buf_u64(b, k);
			vms_buf_append(b, "\"}", 2);
			vms_sample_ns_seconds(b, which == VCPU_TIME   ? c->time_ns
			                         : which == VCPU_WAIT ? c->wait_ns
			                                              : c->delay_ns);
		}
	}
}

void
vms_expo_domain_stats(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_domain_cpu_seconds_total", "counter",
	               "CPU time of the domain seen from the host (its QEMU process, a container's "
	               "cgroup), by mode (libvirt cpu.user, cpu.system).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_cpu)
			continue;
		vms_sample_domain(b, "vmscale_domain_cpu_seconds_total", d);
		vms_buf_append(b, ",mode=\"user\"}", 13);
		vms_sample_ns_seconds(b, d->stats.cpu_user_ns);
		vms_sample_domain(b, "vmscale_domain_cpu_seconds_total", d);
		vms_buf_append(b, ",mode=\"system\"}", 15);
		vms_sample_ns_seconds(b, d->stats.cpu_system_ns);
	}
	vms_buf_family(
	    b, "vmscale_domain_vcpu_utilization_ratio", "gauge",
	    "Share of the domain's vCPUs used over the last interval, seen from the host (0..1).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (isnan(d->vcpu_utilization))
			continue;
		vms_sample_domain_double(b, "vmscale_domain_vcpu_utilization_ratio", d,
		                         d->vcpu_utilization);
	}
	render_vcpus(b, st, "vmscale_domain_vcpu_seconds_total",
	             "Time each vCPU ran, seen from the host.", VCPU_TIME);
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
		vms_sample_domain_u64(b, "vmscale_domain_memory_balloon_bytes", d,
		                      d->stats.balloon_current_kib * 1024);
	}
	vms_buf_family(
	    b, "vmscale_domain_memory_rss_bytes", "gauge",
	    "Resident memory of the domain's QEMU process on the host (libvirt balloon.rss).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_balloon_rss)
			continue;
		vms_sample_domain_u64(b, "vmscale_domain_memory_rss_bytes", d,
		                      d->stats.balloon_rss_kib * 1024);
	}
	for (size_t i = 0; i < sizeof(block_families) / sizeof(block_families[0]); i++)
		render_devices(b, st, &block_families[i], true);
	for (size_t i = 0; i < sizeof(net_families) / sizeof(net_families[0]); i++)
		render_devices(b, st, &net_families[i], false);
}

void
vms_expo_stats_incomplete(struct vms_buf *b, const struct vms_store *st)
{
	vms_buf_family(b, "vmscale_libvirt_stats_incomplete_total", "counter",
	               "Domain records of the bulk stats call without CPU figures (a domain busy "
	               "in a job; NOWAIT did not wait).");
	vms_buf_printf(b, "vmscale_libvirt_stats_incomplete_total %llu\n",
	               (unsigned long long)st->stats_incomplete_total);
}
