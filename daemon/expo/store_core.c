/* The store's families as metrics sources: what libvirt and the probes report, and the host. */
#include "daemon/expo/store_families.h"
#include "daemon/expo/expo.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "daemon/expo/sample.h"

/* vmscale_probe_hellos_total of one domain: both results, zeros included. */
static void
render_hellos(struct vms_buf *b, const struct vms_domain *d)
{
	static const char *const result[VMS_HELLO_RESULT_COUNT] = {"reset", "deferred"};
	for (unsigned r = 0; r < VMS_HELLO_RESULT_COUNT; r++) {
		vms_sample_domain(b, "vmscale_probe_hellos_total", d);
		vms_buf_printf(b, ",counters=\"%s\"} %llu\n", result[r],
		               (unsigned long long)d->probe.hellos_total[r]);
	}
}

void
vms_expo_probes(struct vms_buf *b, const struct vms_store *st, uint64_t now_ns)
{
	vms_buf_family(b, "vmscale_domain_info", "gauge",
	               "Running domain's metadata; 1 for every running domain.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		vms_sample_domain(b, "vmscale_domain_info", d);
		vms_buf_printf(b, ",uuid=\"%s\",uri=\"", d->uuid);
		vms_buf_label_value(b, d->conn ? d->conn->uri : "");
		vms_buf_printf(b, "\",probe_channel=\"%s\"} 1\n",
		               !d->channel_path && !d->socket_dir ? "no"
		               : d->probe_excluded                ? "excluded"
		                                                  : "yes");
	}
	vms_buf_family(
	    b, "vmscale_probe_up", "gauge",
	    "1 if the domain's probe is connected, said hello and reported within 3 intervals.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		vms_sample_domain_u64(b, "vmscale_probe_up", d,
		                      vms_probe_is_up(st, d, now_ns) ? 1 : 0);
	}
	vms_buf_family(
	    b, "vmscale_probe_info", "gauge",
	    "Version of the probe in the guest, from its hello, and its /proc view: guest (its "
	    "own kernel's counters) or host (a container without lxcfs: its CPU and disk "
	    "counters are the host's and are not shown as the guest's); 1 while it is "
	    "connected.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.connected || !d->probe.hello)
			continue;
		vms_sample_domain(b, "vmscale_probe_info", d);
		vms_buf_append(b, ",version=\"", 10);
		vms_buf_label_value(b, d->probe.info.probe_version);
		vms_buf_printf(b, "\",protocol=\"%u\",view=\"%s\"} 1\n", d->probe.info.proto,
		               d->probe.info.view_host ? "host" : "guest");
	}
	vms_buf_family(b, "vmscale_probe_reports_total", "counter",
	               "Reports accepted from the domain's probe.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		vms_sample_domain_u64(b, "vmscale_probe_reports_total", d, d->probe.reports_total);
	}
	vms_buf_family(b, "vmscale_probe_reports_lost_total", "counter",
	               "Reports the probe numbered but the daemon never received (gaps in seq).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		vms_sample_domain_u64(b, "vmscale_probe_reports_lost_total", d,
		                      d->probe.reports_lost_total);
	}
	vms_buf_family(
	    b, "vmscale_probe_hellos_total", "counter",
	    "Hellos from the domain's probe, by what they did to the baselines of its "
	    "counters: reset them, or deferred that (at most one reset per 6 intervals).");
	for (size_t i = 0; i < st->ndomains; i++)
		render_hellos(b, st->domains[i]);
	vms_buf_family(
	    b, "vmscale_probe_clock_skew_seconds", "gauge",
	    "Guest monotonic time elapsed minus host time elapsed between the probe's last two "
	    "reports (positive: the guest clock ran fast); absent until two consecutive reports.");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!d->probe.connected || isnan(d->probe.clock_skew_s))
			continue;
		vms_sample_domain_double(b, "vmscale_probe_clock_skew_seconds", d,
		                         d->probe.clock_skew_s);
	}
	vms_buf_family(b, "vmscale_probe_records_rejected_total", "counter",
	               "Records from the domain's probe rejected as malformed or implausible, or "
	               "(unmatched) a UDP measurement of a burst the host never sent, by reason "
	               "(present once non-zero).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned e = 1; e < VMS_PROTO_E_COUNT; e++) {
			if (!d->probe.rejected[e])
				continue;
			vms_sample_domain(b, "vmscale_probe_records_rejected_total", d);
			vms_buf_printf(b, ",reason=\"%s\"} %llu\n",
			               vms_proto_error_name((enum vms_proto_error)e),
			               (unsigned long long)d->probe.rejected[e]);
		}
	}
	vms_buf_family(b, "vmscale_probe_throttled_total", "counter",
	               "Times reading the domain's probe channel paused because it sent more "
	               "than its share of records or bytes per second (present once non-zero).");
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		for (unsigned t = 0; t < VMS_THROTTLE_COUNT; t++) {
			if (!d->probe.throttled[t])
				continue;
			vms_sample_domain(b, "vmscale_probe_throttled_total", d);
			vms_buf_printf(b, ",reason=\"%s\"} %llu\n",
			               vms_throttle_name((enum vms_throttle)t),
			               (unsigned long long)d->probe.throttled[t]);
		}
	}
}

/* libvirt connections, N_up and the busy domains. */
static void
render_domains(struct vms_buf *b, const struct vms_store *st)
{
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
	               "Running domains whose vCPU utilization over the last interval exceeds the "
	               "busy threshold.");
	vms_buf_printf(b, "vmscale_domains_busy %zu\n", vms_store_domains_busy(st));
	vms_buf_family(b, "vmscale_busy_threshold_ratio", "gauge",
	               "vCPU utilization above which a domain counts as busy (--busy-threshold).");
	vms_buf_append(b, "vmscale_busy_threshold_ratio ", 29);
	vms_buf_double(b, st->busy_threshold);
	vms_buf_append(b, "\n", 1);
}

static uint64_t
part(const struct vms_store *st, enum vms_store_part p)
{
	return st->part_generation[p];
}

/* Connections, N_up and the busy domains: which domains run and how busy. */
static uint64_t
domains_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return part(ctx, VMS_STORE_DOMAINS) + part(ctx, VMS_STORE_DOMSTATS);
}

static void
render_domains_source(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	render_domains(b, ctx);
}

/* A probe that goes stale changes nothing in the store but the time, so the count of probes
 * up is part of the generation too. */
static uint64_t
probes_generation(const void *ctx, uint64_t now_ns)
{
	const struct vms_store *st = ctx;
	uint64_t g = part(st, VMS_STORE_DOMAINS) + part(st, VMS_STORE_PROBES);
	return g * 1000003u + vms_store_probes_up(st, now_ns);
}

static void
render_probes(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	const struct vms_store *st = ctx;
	vms_buf_family(b, "vmscale_probes_up", "gauge", "Domains whose probe is up.");
	vms_buf_printf(b, "vmscale_probes_up %zu\n", vms_store_probes_up(st, now_ns));
	vms_expo_probes(b, st, now_ns);
}

static void
render_domain_stats(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_expo_domain_stats(b, ctx);
}

static void
render_domain_perf(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_expo_domain_perf(b, ctx);
}

/* Its own source: drivers without CPU statistics (the test driver) count a record at every
 * refresh, which must not render every domain's statistics again. The counter only grows. */
static uint64_t
incomplete_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return ((const struct vms_store *)ctx)->stats_incomplete_total;
}

static void
render_incomplete(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_expo_stats_incomplete(b, ctx);
}

/* What the probes measure, per domain. */
static uint64_t
guest_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return part(ctx, VMS_STORE_DOMAINS) + part(ctx, VMS_STORE_PROBES);
}

static void
render_guest(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_expo_guest_cpu(b, ctx);
	vms_expo_probe_measurements(b, ctx);
}

void
vms_expo_add_store_sources(struct vms_registry *r, const struct vms_store *st)
{
	const struct vms_metrics_source sources[] = {
	    {.owner = "daemon/expo/store_core.c",
	     .ctx = st,
	     .generation = domains_generation,
	     .render = render_domains_source},
	    {.owner = "daemon/expo/store_core.c",
	     .ctx = st,
	     .generation = probes_generation,
	     .render = render_probes},
	    /* The statistics are shown with the domains' names: both parts. */
	    {.owner = "daemon/expo/store_domains.c",
	     .ctx = st,
	     .generation = domains_generation,
	     .render = render_domain_stats},
	    {.owner = "daemon/expo/store_perf.c",
	     .ctx = st,
	     .generation = domains_generation,
	     .render = render_domain_perf},
	    {.owner = "daemon/expo/store_domains.c",
	     .ctx = st,
	     .generation = incomplete_generation,
	     .render = render_incomplete},
	    {.owner = "daemon/expo/store_guest.c",
	     .ctx = st,
	     .generation = guest_generation,
	     .render = render_guest},
	};
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		vms_registry_add(r, sources[i]);
}

static uint64_t
host_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return part(ctx, VMS_STORE_HOST);
}

static void
render_host(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	vms_expo_host(b, ctx);
}

struct vms_metrics_source
vms_expo_host_source(const struct vms_store *st)
{
	return (struct vms_metrics_source){.owner = "daemon/expo/store_host.c",
	                                   .ctx = st,
	                                   .generation = host_generation,
	                                   .render = render_host};
}
