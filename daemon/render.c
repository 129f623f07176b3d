/* Rendering of /metrics and / (see render.h). */
#include "render.h"

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void
vms_buf_init(struct vms_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
vms_buf_free(struct vms_buf *b)
{
	free(b->data);
	vms_buf_init(b);
}

static void
buf_reserve(struct vms_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = vms_xrealloc(b->data, cap, 1);
	b->cap = cap;
}

void
vms_buf_append(struct vms_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
vms_buf_printf(struct vms_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
vms_buf_label_value(struct vms_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			vms_buf_append(b, "\\\\", 2);
			break;
		case '"':
			vms_buf_append(b, "\\\"", 2);
			break;
		case '\n':
			vms_buf_append(b, "\\n", 2);
			break;
		default:
			vms_buf_append(b, s, 1);
		}
	}
}

void
vms_buf_html(struct vms_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			vms_buf_append(b, "&amp;", 5);
			break;
		case '<':
			vms_buf_append(b, "&lt;", 4);
			break;
		case '>':
			vms_buf_append(b, "&gt;", 4);
			break;
		case '"':
			vms_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			vms_buf_append(b, "&#39;", 5);
			break;
		default:
			vms_buf_append(b, s, 1);
		}
	}
}

static void
family(struct vms_buf *b, const char *name, const char *type, const char *help)
{
	vms_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Starts a sample: name{domain="..." — the caller adds more labels and closes it. */
static void
sample_domain(struct vms_buf *b, const char *name, const struct vms_domain *d)
{
	vms_buf_printf(b, "%s{domain=\"", name);
	vms_buf_label_value(b, d->name);
	vms_buf_append(b, "\"", 1);
}

/* A whole sample labelled by domain only: name{domain="..."} value. */
static void
domain_sample_u64(struct vms_buf *b, const char *name, const struct vms_domain *d, uint64_t v)
{
	sample_domain(b, name, d);
	vms_buf_printf(b, "} %llu\n", (unsigned long long)v);
}

static void
domain_sample_double(struct vms_buf *b, const char *name, const struct vms_domain *d, double v)
{
	sample_domain(b, name, d);
	vms_buf_append(b, "} ", 2);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}

/* The shortest decimal that reads back as the same double: 0.1, not 0.10000000000000001. */
void
vms_buf_double(struct vms_buf *b, double v)
{
	char tmp[40];
	if (isnan(v)) {
		vms_buf_append(b, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		vms_buf_append(b, v > 0 ? "+Inf" : "-Inf", 4);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	vms_buf_append(b, tmp, strlen(tmp));
}

static void
value_seconds(struct vms_buf *b, uint64_t ticks, uint64_t hz)
{
	vms_buf_append(b, " ", 1);
	vms_buf_double(b, (double)ticks / (double)hz);
	vms_buf_append(b, "\n", 1);
}

static void
render_guest_cpu(struct vms_buf *b, const struct vms_store *st)
{
	family(b, "vmscale_guest_cpu_seconds_total", "counter",
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
			value_seconds(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	family(b, "vmscale_guest_cpu_guest_seconds_total", "counter",
	       "Time the guest's own CPUs ran nested guests, by mode (already included in user and nice).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.have_cpu)
			continue;
		static const char *const nested[] = {"user", "nice"};
		for (unsigned m = VMS_CPU_GUEST; m < d->probe.cpu.nmodes; m++) {
			sample_domain(b, "vmscale_guest_cpu_guest_seconds_total", d);
			vms_buf_printf(b, ",mode=\"%s\"}", nested[m - VMS_CPU_GUEST]);
			value_seconds(b, d->probe.cpu.ticks[m], d->probe.cpu.hz);
		}
	}
	family(b, "vmscale_guest_cpus", "gauge", "Number of CPUs the guest kernel sees.");
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
	family(b, f->name, f->type, f->help);
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
				vms_buf_printf(b, ",%s=\"", f->dev_label);
				vms_buf_label_value(b, devname);
				vms_buf_printf(b, "\",%s=\"%s\"}", f->split_label, f->split[j]);
				if (f->ns)
					sample_ns_as_seconds(b, v);
				else
					vms_buf_printf(b, " %llu\n", (unsigned long long)v);
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
	family(b, name, "counter", help);
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned k = 0; k < d->stats.nvcpu; k++) {
			const struct vms_vcpu_stats *c = &d->stats.vcpu[k];
			if ((which == VCPU_WAIT && !c->has_wait) || (which == VCPU_DELAY && !c->has_delay))
				continue;
			sample_domain(b, name, d);
			vms_buf_printf(b, ",vcpu=\"%u\"}", k);
			sample_ns_as_seconds(b, which == VCPU_TIME   ? c->time_ns
						: which == VCPU_WAIT ? c->wait_ns
								     : c->delay_ns);
		}
	}
}

static void
render_domain_stats(struct vms_buf *b, const struct vms_store *st)
{
	family(b, "vmscale_domain_cpu_seconds_total", "counter",
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
	family(b, "vmscale_domain_vcpu_utilization_ratio", "gauge",
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
	family(b, "vmscale_domain_memory_balloon_bytes", "gauge",
	       "Memory the balloon driver leaves the guest (libvirt balloon.current).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->stats.have_balloon_current)
			continue;
		domain_sample_u64(b, "vmscale_domain_memory_balloon_bytes", d, d->stats.balloon_current_kib * 1024);
	}
	family(b, "vmscale_domain_memory_rss_bytes", "gauge",
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
	family(b, "vmscale_libvirt_stats_incomplete_total", "counter",
	       "Domain records of the bulk stats call without CPU figures (a domain busy in a job; NOWAIT did not wait).");
	vms_buf_printf(b, "vmscale_libvirt_stats_incomplete_total %llu\n",
		       (unsigned long long)st->stats_incomplete_total);
}

static void
render_probes(struct vms_buf *b, const struct vms_store *st, uint64_t now_ns)
{
	family(b, "vmscale_domain_info", "gauge",
	       "Running domain's metadata; 1 for every running domain.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		sample_domain(b, "vmscale_domain_info", d);
		vms_buf_printf(b, ",uuid=\"%s\",probe_channel=\"%s\"} 1\n", d->uuid,
			       !d->channel_path ? "no" : d->probe_excluded ? "excluded" : "yes");
	}
	family(b, "vmscale_probe_up", "gauge",
	       "1 if the domain's probe is connected, said hello and reported within 3 intervals.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_up", d, vms_probe_is_up(st, d, now_ns) ? 1 : 0);
	}
	family(b, "vmscale_probe_info", "gauge",
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
	family(b, "vmscale_probe_reports_total", "counter",
	       "Reports accepted from the domain's probe.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_reports_total", d, d->probe.reports_total);
	}
	family(b, "vmscale_probe_reports_lost_total", "counter",
	       "Reports the probe numbered but the daemon never received (gaps in seq).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		domain_sample_u64(b, "vmscale_probe_reports_lost_total", d, d->probe.reports_lost_total);
	}
	family(b, "vmscale_probe_clock_skew_seconds", "gauge",
	       "Guest monotonic time elapsed minus host time elapsed between the probe's last two "
	       "reports (positive: the guest clock ran fast); absent until two consecutive reports.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.connected || isnan(d->probe.clock_skew_s))
			continue;
		domain_sample_double(b, "vmscale_probe_clock_skew_seconds", d, d->probe.clock_skew_s);
	}
	family(b, "vmscale_probe_records_rejected_total", "counter",
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
	family(b, name, "gauge", help);
	vms_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge_double(struct vms_buf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	vms_buf_printf(b, "%s ", name);
	vms_buf_double(b, v);
	vms_buf_append(b, "\n", 1);
}

static void
render_host(struct vms_buf *b, const struct vms_store *st)
{
	const struct vms_host_stats *h = &st->host;
	if (!h->valid)
		return;
	family(b, "vmscale_host_cpu_seconds_total", "counter",
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
		value_seconds(b, modes[i].ticks, h->ticks_per_second);
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
}

void
vms_render_metrics(struct vms_buf *b, const struct vms_store *st,
		   const struct vms_render_info *info, uint64_t now_ns)
{
	family(b, "vmscale_build_info", "gauge", "Version of vmscaled and of its wire protocol.");
	vms_buf_append(b, "vmscale_build_info{version=\"", 28);
	vms_buf_label_value(b, info->version);
	vms_buf_printf(b, "\",protocol=\"%d\"} 1\n", VMS_PROTO_VERSION);
	family(b, "vmscale_libvirt_up", "gauge", "1 if the libvirt connection is open and answering.");
	vms_buf_printf(b, "vmscale_libvirt_up %d\n", st->libvirt_up ? 1 : 0);
	family(b, "vmscale_domains_running", "gauge",
	       "N_up: running domains on this host (last known while libvirt is down).");
	vms_buf_printf(b, "vmscale_domains_running %zu\n", st->ndomains);
	family(b, "vmscale_domains_busy", "gauge",
	       "Running domains whose vCPU utilization over the last interval exceeds the busy threshold.");
	vms_buf_printf(b, "vmscale_domains_busy %zu\n", vms_store_domains_busy(st));
	family(b, "vmscale_busy_threshold_ratio", "gauge",
	       "vCPU utilization above which a domain counts as busy (--busy-threshold).");
	vms_buf_append(b, "vmscale_busy_threshold_ratio ", 29);
	vms_buf_double(b, st->busy_threshold);
	vms_buf_append(b, "\n", 1);
	family(b, "vmscale_probes_up", "gauge", "Domains whose probe is up.");
	vms_buf_printf(b, "vmscale_probes_up %zu\n", vms_store_probes_up(st, now_ns));
	render_probes(b, st, now_ns);
	render_domain_stats(b, st);
	render_guest_cpu(b, st);
	render_host(b, st);
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
	const char *p = text, *end = text + len;
	while (p < end) {
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
	vms_buf_append(b, "# EOF\n", 6);
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

void
vms_render_landing(struct vms_buf *b, const struct vms_store *st,
		   const struct vms_render_info *info, uint64_t now_ns)
{
	static const char head[] =
		       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<title>vmscaled</title><style>body{font-family:sans-serif;margin:2em}"
		       "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ccc;"
		       "text-align:left}.up{color:#070}.down{color:#b00}</style></head><body>\n";
	vms_buf_append(b, head, sizeof(head) - 1);
	vms_buf_printf(b, "<h1>vmscaled ");
	vms_buf_html(b, info->version);
	vms_buf_printf(b, "</h1>\n<p>libvirt <b>");
	vms_buf_html(b, info->uri);
	vms_buf_printf(b, "</b>: <span class=\"%s\">%s</span>. N_up = <b>%zu</b> running domains, "
			  "%zu probes up. Metrics: <a href=\"/metrics\">/metrics</a>.</p>\n",
		       st->libvirt_up ? "up" : "down", st->libvirt_up ? "connected" : "not connected",
		       st->ndomains, vms_store_probes_up(st, now_ns));
	vms_buf_printf(b, "<table><tr><th>domain</th><th>uuid</th><th>probe</th><th>version</th>"
			  "<th>guest CPUs</th><th>busy since boot</th><th>reports</th></tr>\n");
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
		vms_buf_printf(b, "<td>%llu</td></tr>\n", (unsigned long long)d->probe.reports_total);
	}
	vms_buf_printf(b, "</table>\n</body></html>\n");
}
