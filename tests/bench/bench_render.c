/*
 * Rendering benchmark: a store of N synthetic domains with the full metric set (vCPUs, disks,
 * interfaces, probe state with CPU reports, a busy host), rendered as the event loop does on
 * every change. Prints "key value" lines for tests/bench/render_bench.sh.
 *
 *   bench_render [--all] [DOMAINS [ITERATIONS [DUMP]]]
 *                                                default 1000 domains, 201 iterations;
 *                                                DUMP: a file to write the exposition to.
 *                                                The set of issue 4: vCPUs, disks, NICs,
 *                                                memory, probe CPU reports; --all adds every
 *                                                later probe family (guest disks, active
 *                                                measurements, runs, the probe's cost)
 *   bench_render --connection-rss URI            anonymous memory that opening URI and
 *                                                listing its domains adds to this process:
 *                                                for test:///, the driver's own state, which
 *                                                lives in libvirtd for qemu:///
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/libvirt.h>

#include "daemon/analysis/analysis.h"
#include "daemon/util/gzip.h"
#include "daemon/util/log.h"
#include "daemon/expo/expo.h"
#include "daemon/expo/openmetrics.h"
#include "daemon/store/store.h"
#include "daemon/util/alloc.h"

#define NOW_NS (100000ull * 1000000000ull)
#define VCPUS 4
#define DISKS 2
#define NICS 2

static uint64_t
clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Counters that look like a host that has run for a while: many digits, as in production. */
static void
fill_domain(struct vms_domain *d, unsigned i, bool all)
{
	struct vms_domstats *ds = &d->stats;
	ds->have_cpu = true;
	ds->cpu_user_ns = 5906851000ull + i * 7919ull;
	ds->cpu_system_ns = 637226000ull + i * 104729ull;
	ds->cpu_time_ns = ds->cpu_user_ns + ds->cpu_system_ns;
	ds->nvcpu = ds->vcpu_cap = VCPUS;
	ds->vcpu = vms_xcalloc(VCPUS, sizeof(*ds->vcpu));
	for (unsigned k = 0; k < VCPUS; k++)
		ds->vcpu[k] =
		    (struct vms_vcpu_stats){.time_ns = 60700000000ull + i * 1000003ull + k,
		                            .wait_ns = 12345678ull * k,
		                            .delay_ns = 64871075ull + i * 31ull + k,
		                            .has_wait = true,
		                            .has_delay = true};
	ds->have_balloon_current = ds->have_balloon_rss = true;
	ds->balloon_current_kib = 2097152;
	ds->balloon_rss_kib = 1048576 + i;
	ds->nblock = ds->block_cap = DISKS;
	ds->block = vms_xcalloc(DISKS, sizeof(*ds->block));
	for (unsigned k = 0; k < DISKS; k++) {
		struct vms_block_stats *b = &ds->block[k];
		snprintf(b->name, sizeof(b->name), "vd%c", 'a' + k);
		b->rd_bytes = 1280000000ull + i * 4096ull;
		b->rd_reqs = 400000 + i;
		b->rd_times_ns = 2299825000ull + i;
		b->wr_bytes = 512000000ull + i * 512ull;
		b->wr_reqs = 100000 + i;
		b->wr_times_ns = 700000000ull + i;
	}
	ds->nnet = ds->net_cap = NICS;
	ds->net = vms_xcalloc(NICS, sizeof(*ds->net));
	for (unsigned k = 0; k < NICS; k++) {
		struct vms_net_stats *n = &ds->net[k];
		snprintf(n->name, sizeof(n->name), "vnet%u", i * NICS + k);
		n->rx_bytes = 98765432100ull + i;
		n->rx_pkts = 87654321ull + i;
		n->tx_bytes = 12345678900ull + i;
		n->tx_pkts = 7654321ull + i;
		n->rx_drop = k;
	}
	d->util_prev_vcpu_ns = 0;
	d->vcpu_utilization = 0.05 + (double)(i % 50) / 100.0;

	struct vms_probe_state *p = &d->probe;
	p->connected = p->hello = p->have_cpu = true;
	p->info.proto = VMS_PROTO_VERSION;
	snprintf(p->info.probe_version, sizeof(p->info.probe_version), "0.1.0");
	p->cpu = (struct vms_cpu_report){
	    .seq = 1000 + i,
	    .hz = 100,
	    .ncpu = VCPUS,
	    .nmodes = VMS_CPU_MODE_COUNT,
	    .ticks = {123456 + i, 5, 67890, 9000000 + i, 1200, 0, 3400, 700, 0, 0}};
	p->last_report_ns = NOW_NS - 2000000000ull;
	p->clock_skew_s = -0.000164122 * (double)(i % 7);
	p->reports_total = 20000 + i;
	p->reports_lost_total = i % 3;
	if (i % 100 == 0)
		p->rejected[VMS_PROTO_E_SYNTAX] = 1;

	if (!all)
		return;
	/* Every probe family: guest disks, active measurements, runs and the probe's cost. */
	p->caps = (1u << VMS_FAM_COUNT) - 1;
	p->ndisks = 2;
	for (unsigned k = 0; k < p->ndisks; k++) {
		struct vms_disk_report *r = &p->disks[k];
		snprintf(r->dev, sizeof(r->dev), "vd%c", 'a' + k);
		r->nfields = VMS_DISK_FIELD_COUNT;
		for (unsigned c = 0; c < VMS_DISK_FIELD_COUNT; c++)
			r->v[c] = 1000003ull * (c + 1) + i;
	}
	for (unsigned op = 0; op < VMS_OP_COUNT; op++)
		if (op != VMS_OP_NET_SEND && op != VMS_OP_NET_RECV)
			p->ops[op] =
			    (struct vms_probe_value){.have = true,
			                             .value = 1234567.891 / (double)(op + 1) + i,
			                             .at_ns = NOW_NS};
	p->net_nblocks = 2;
	p->net_blocks[0] = 1024;
	p->net_blocks[1] = 32768;
	for (unsigned k = 0; k < p->net_nblocks; k++)
		for (unsigned dir = 0; dir < 2; dir++)
			p->net[k][dir] =
			    (struct vms_probe_value){.have = true,
			                             .value = 987654321.5 + k * 1000 + dir + i,
			                             .at_ns = NOW_NS};
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
		p->samples_total[f] = 40 + i;
		p->samples_flagged_total[f] = i % 4;
		p->runs_total[f][VMS_RUN_OK] = 20 + i;
		p->runs_total[f][VMS_RUN_TIMEOUT] = i % 2;
		p->have_run_window[f] = true;
		p->run_start_unix[f] = 1795296023.545288 + i;
		p->run_end_unix[f] = 1795296024.125 + i;
	}
	p->have_cost = true;
	for (unsigned f = 0; f <= VMS_FAM_COUNT; f++)
		p->cost_seconds[f] = 0.0125 * (f + 1) + (double)i / 1000;
	p->last_cost.rss_bytes = 1048576;
	p->last_cost.peak_rss_bytes = 9437184;
}

static void
fill_host(struct vms_host_stats *h)
{
	*h = (struct vms_host_stats){.valid = true,
	                             .cpu_ticks_user = 100100100,
	                             .cpu_ticks_nice = 2000,
	                             .cpu_ticks_system = 30300300,
	                             .cpu_ticks_idle = 400400400,
	                             .cpu_ticks_iowait = 55000,
	                             .ticks_per_second = 100,
	                             .mem_total = 1099511627776ull,
	                             .mem_free = 24000000000ull,
	                             .mem_used = 1050000000000ull,
	                             .mem_cache = 25511627776ull,
	                             .load1 = 40.5,
	                             .load5 = 38.25,
	                             .load15 = 37.125,
	                             .have_shared = true,
	                             .mem_buffers = 99942400,
	                             .mem_shared = 908492800,
	                             .have_swap = true,
	                             .swap_total = 8589934592ull,
	                             .swap_used = 4096,
	                             .swap_free = 8589930496ull,
	                             .have_disks = true,
	                             .ndisks = 8,
	                             .have_ifaces = true,
	                             .nifaces = 6,
	                             .have_procs = true,
	                             .procs_running = 40,
	                             .procs_sleeping = 1800,
	                             .procs_other = 300,
	                             .have_virt_mem = true,
	                             .virt_mem = 3000000000ull};
	for (unsigned k = 0; k < h->ndisks; k++)
		h->disks[k] = (struct vms_host_disk){.read_bytes = 314074828800ull + k,
		                                     .write_bytes = 197906432000ull + k};
	for (unsigned k = 0; k < h->ndisks; k++)
		snprintf(h->disks[k].name, sizeof(h->disks[k].name), "nvme%un1", k);
	for (unsigned k = 0; k < h->nifaces; k++) {
		h->ifaces[k] = (struct vms_host_iface){.rx_bytes = 120432200000ull,
		                                       .tx_bytes = 101533000000ull,
		                                       .rx_packets = 2482000000ull,
		                                       .tx_packets = 1337000000ull};
		snprintf(h->ifaces[k].name, sizeof(h->ifaces[k].name), "eno%u", k + 1);
	}
}

/* The conversion as the HTTP thread does it for Prometheus (OpenMetrics + gzip): 64 KiB
 * slices of lines through one small buffer (daemon/http.c: gzip_openmetrics, less zlib). */
static size_t
convert_sliced(struct vms_buf *slice, const char *text, size_t len)
{
	size_t total = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *stop = (size_t)(end - p) > 65536 ? p + 65536 : end;
		const char *nl = stop < end ? memchr(stop, '\n', (size_t)(end - stop)) : NULL;
		if (stop < end)
			stop = nl ? nl + 1 : end;
		slice->len = 0;
		vms_openmetrics_lines(slice, p, (size_t)(stop - p));
		total += slice->len;
		p = stop;
	}
	return total + 6; /* "# EOF\n" */
}

static void
report(const char *name, uint64_t *ns, unsigned n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%s_ms_median %.3f\n%s_ms_min %.3f\n%s_ms_p90 %.3f\n", name, (double)ns[n / 2] / 1e6,
	       name, (double)ns[0] / 1e6, name, (double)ns[n * 9 / 10] / 1e6);
}

/* A "Key:  N kB" line of /proc/self/status, -1 if absent. */
static long
status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	size_t kl = strlen(key);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':' &&
		    sscanf(line + kl + 1, "%ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static long
rss_anon_kib(void)
{
	return status_kib("RssAnon");
}

static int
connection_rss(const char *uri)
{
	long before = rss_anon_kib();
	virConnectPtr conn = virConnectOpenReadOnly(uri);
	if (!conn) {
		fprintf(stderr, "bench_render: cannot open %s\n", uri);
		return 1;
	}
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	long after = rss_anon_kib();
	printf("connection_domains %d\nconnection_rss_kib %ld\n", n, after - before);
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(conn);
	return 0;
}

/* Every probe of every domain at value v (rates: v below the baseline of 1000 is slower). */
static void
feed_probes(struct vms_store *st, uint64_t now, double v, unsigned spread)
{
	for (size_t i = 0; i < st->ndomains; i++) {
		struct vms_probe_state *ps = &st->domains[i]->probe;
		double x = v - (spread ? 20.0 * (double)((i + now / 1000000000ull) % spread) : 0);
		for (unsigned op = 0; op < VMS_OP_COUNT; op++)
			ps->ops[op] = (struct vms_probe_value){true, x, now};
		for (unsigned b = 0; b < ps->net_nblocks; b++)
			ps->net[b][0] = ps->net[b][1] = (struct vms_probe_value){true, x, now};
	}
}

/*
 * The interference step's worst case: every domain a victim (its rates 1.6 times slower than
 * the baseline, over the 1.5 warning) whose slowdown is correlated with every neighbour's
 * host-side CPU, block and network use, once per collection interval. A minute apart, so
 * the slowdown window holds only slow values; ten rounds, so that every pair has enough
 * points; then one update with the search due, timed.
 */
static void
bench_interference(struct vms_analysis *a, struct vms_store *st, uint64_t now)
{
	uint64_t t0 = 0, t1 = 0;
	for (unsigned r = 0; r <= 10; r++) {
		now += 60 * 1000000000ull;
		for (size_t i = 0; i < st->ndomains; i++) {
			struct vms_domstats *ds = &st->domains[i]->stats;
			ds->vcpu[0].time_ns += (uint64_t)((i * 7 + r * 13) % 11 + 1) * 100000000ull;
		}
		feed_probes(st, now, 625, 5);
		t0 = clock_ns();
		vms_analysis_update(a, st, now, 100000.0 + r);
		t1 = clock_ns();
	}
	printf("analysis_update_interference_all_victims_ms %.1f\n", (double)(t1 - t0) / 1e6);
}

/*
 * The degradation analysis at its cap: every domain with every probe at max_buckets N_up
 * levels of 16 recent samples each, built through the state file's payload (so loading one is
 * measured too). Then the update with a new sample of every probe of every domain (the worst
 * case without victims), an update with nothing new (the common one), its families rendered,
 * a save's serialization, and the interference step with every domain a victim.
 */
static void
bench_analysis(struct vms_store *st, unsigned iters)
{
	struct vms_analysis_config ac;
	vms_analysis_config_defaults(&ac);
	struct vms_analysis *a = vms_analysis_new(&ac);
	struct vms_buf payload, out;
	vms_buf_init(&payload);
	for (size_t i = 0; i < st->ndomains; i++) {
		vms_buf_printf(&payload, "domain %s 100000 0 0 - %s\n", st->domains[i]->key,
		               st->domains[i]->name);
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			vms_buf_printf(&payload, "baseline %s 0 1000 1\n", vms_an_probe_name(p));
			for (unsigned n = 1; n <= ac.max_buckets; n++) {
				vms_buf_printf(&payload, "bucket %s %u 100 %u 25 16",
				               vms_an_probe_name(p), n, 1000 - 50 * n);
				for (unsigned k = 0; k < 16; k++)
					vms_buf_printf(&payload, " %u", 1000 - 50 * n + k);
				vms_buf_printf(&payload, "\n");
			}
		}
	}
	vms_buf_printf(&payload, "end %zu\n", st->ndomains);
	char err[256];
	uint64_t t0 = clock_ns();
	if (vms_analysis_deserialize(a, payload.data, payload.len, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_render: analysis payload refused: %s\n", err);
		exit(1);
	}
	uint64_t load_ns = clock_ns() - t0;
	uint64_t *fed = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *idle = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *render = vms_xcalloc(iters, sizeof(uint64_t));
	size_t render_len = 0;
	vms_analysis_update(a, st, NOW_NS, 100000); /* the first: every domain seen */
	for (unsigned it = 0; it < iters; it++) {
		uint64_t now = NOW_NS + (it + 1) * 1000000000ull;
		feed_probes(st, now, 900.0 + it % 7, 0);
		t0 = clock_ns();
		vms_analysis_update(a, st, now, 100000.0 + it);
		uint64_t t1 = clock_ns();
		vms_analysis_update(a, st, now + 1000000, 100000.0 + it);
		uint64_t t2 = clock_ns();
		vms_buf_init(&out);
		vms_analysis_render(a, st, &out, now);
		uint64_t t3 = clock_ns();
		render_len = out.len;
		vms_buf_free(&out);
		fed[it] = t1 - t0;
		idle[it] = t2 - t1;
		render[it] = t3 - t2;
	}
	vms_buf_init(&out);
	t0 = clock_ns();
	vms_analysis_serialize(a, &out);
	uint64_t save_ns = clock_ns() - t0;
	printf("analysis_state_bytes %zu\nanalysis_load_ms %.1f\nanalysis_serialize_ms %.1f\n"
	       "analysis_render_bytes %zu\n",
	       out.len, (double)load_ns / 1e6, (double)save_ns / 1e6, render_len);
	report("analysis_update_new_samples", fed, iters);
	report("analysis_update_idle", idle, iters);
	report("analysis_render", render, iters);
	bench_interference(a, st, NOW_NS + (iters + 1) * 1000000000ull);
	vms_buf_free(&out);
	vms_buf_free(&payload);
	free(fed);
	free(idle);
	free(render);
	vms_analysis_free(a);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--connection-rss") == 0)
		return connection_rss(argv[2]);
	bool all = argc > 1 && strcmp(argv[1], "--all") == 0;
	if (all) {
		argc--;
		argv++;
	}
	unsigned ndom = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	unsigned iters = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 201;
	if (ndom == 0 || iters == 0) {
		fprintf(stderr, "usage: bench_render [--all] [DOMAINS [ITERATIONS [DUMP]]]\n");
		return 2;
	}
	vms_log_init("bench_render", false);
	long start_kib = status_kib("VmRSS");
	struct vms_store st;
	vms_store_init(&st, 5000);
	vms_store_set_conn_up(&st, vms_store_add_conn(&st, "qemu:///system"), true);
	for (unsigned i = 0; i < ndom; i++) {
		char uuid[VMS_UUID_LEN + 1], name[32];
		snprintf(uuid, sizeof(uuid), "%08x-6a86-4e38-9a8e-%012x", i, i * 2654435761u);
		snprintf(name, sizeof(name), "bench-vm-%04u", i);
		struct vms_domain *d = vms_store_upsert(&st, uuid, name, (int)i + 1);
		vms_store_set_channel(d, "/run/libvirt/qemu/channel/x/org.vmscale.probe.0");
		fill_domain(d, i, all);
	}
	fill_host(&st.host);
	long store_kib = rss_anon_kib();
	struct vms_self_info self = {.version = VMSCALE_VERSION};
	/* The store's sources as the daemon registers them (daemon/main.c). */
	struct vms_registry *reg = vms_registry_new();
	vms_registry_add(reg, vms_expo_self_source(&self));
	vms_expo_add_store_sources(reg, &st);
	vms_registry_add(reg, vms_expo_host_source(&st));
	uint64_t *unchanged_ns = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t unchanged_renders = 0;

	uint64_t *text_ns = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *om_ns = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *sliced_ns = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *both_ns = vms_xcalloc(iters, sizeof(uint64_t));
	struct vms_buf slice;
	vms_buf_init(&slice);
	uint64_t *publish_ns = vms_xcalloc(iters, sizeof(uint64_t));
	uint64_t *gzip_ns = vms_xcalloc(iters, sizeof(uint64_t));
	size_t text_len = 0, om_len = 0, landing_len = 0, gz_len = 0, om_gz_len = 0;
	unsigned long series = 0;
	for (unsigned it = 0; it <= iters; it++) {
		/* A fresh buffer each time, as publish() does: allocation is part of the cost. */
		struct vms_buf text, om, landing;
		vms_buf_init(&text);
		vms_buf_init(&om);
		vms_buf_init(&landing);
		/* A change in the store: its sources render again, then the text is assembled. */
		vms_store_changed(&st);
		uint64_t t0 = clock_ns();
		vms_registry_refresh(reg, NOW_NS);
		vms_registry_text(reg, &text);
		uint64_t t1 = clock_ns();
		/* Nothing changed since: a refresh only asks the sources for their generations. */
		struct vms_registry_counts before, after;
		vms_registry_get_counts(reg, &before);
		uint64_t tu0 = clock_ns();
		vms_registry_refresh(reg, NOW_NS);
		uint64_t tu1 = clock_ns();
		vms_registry_get_counts(reg, &after);
		vms_openmetrics(&om, text.data, text.len);
		uint64_t t2 = clock_ns();
		size_t sliced_len = convert_sliced(&slice, text.data, text.len);
		uint64_t t2s = clock_ns();
		if (sliced_len != om.len)
			fprintf(stderr,
			        "bench_render: sliced conversion gave %zu bytes, whole %zu\n",
			        sliced_len, om.len);
		vms_expo_landing(&landing, &st, self.version, NULL, NOW_NS);
		uint64_t t3 = clock_ns();
		size_t gl;
		char *gz = vms_gzip(om.data, om.len, &gl);
		uint64_t t4 = clock_ns();
		if (it > 0) { /* the first round warms caches and the allocator */
			unsigned k = it - 1;
			text_ns[k] = t1 - t0;
			om_ns[k] = t2 - t1;
			sliced_ns[k] = t2s - t2;
			both_ns[k] = (t1 - t0) + (t2s - t2);
			publish_ns[k] = (t1 - t0) + (t3 - t2s);
			gzip_ns[k] = t4 - t3;
			unchanged_ns[k] = tu1 - tu0;
			unchanged_renders += after.renders - before.renders;
		} else {
			FILE *f = argc > 3 ? fopen(argv[3], "w") : NULL;
			if (f) {
				fwrite(text.data, 1, text.len, f);
				fclose(f);
			}
			text_len = text.len;
			om_len = om.len;
			landing_len = landing.len;
			om_gz_len = gl;
			free(vms_gzip(text.data, text.len, &gz_len));
			for (size_t i = 0; i < text.len; i++)
				series += text.data[i] == '\n' && i + 1 < text.len &&
				          text.data[i + 1] != '#';
			series += text.len && text.data[0] != '#';
		}
		free(gz);
		vms_buf_free(&text);
		vms_buf_free(&om);
		vms_buf_free(&landing);
	}
	printf("domains %u\niterations %u\nseries %lu\nprobe_families %s\n", ndom, iters, series,
	       all ? "all" : "cpu");
	printf("store_rss_anon_kib %ld\n", store_kib);
	/* The store plus one snapshot with its variants, at the peak. */
	printf("data_peak_kib %ld\n", status_kib("VmHWM") - start_kib);
	printf("text_bytes %zu\nopenmetrics_bytes %zu\nlanding_bytes %zu\ntext_gzip_bytes %zu\n"
	       "openmetrics_gzip_bytes %zu\n",
	       text_len, om_len, landing_len, gz_len, om_gz_len);
	report("render_text", text_ns, iters);
	report("convert_openmetrics", om_ns, iters);
	report("convert_openmetrics_sliced", sliced_ns, iters);
	report("render_openmetrics", both_ns, iters);
	report("publish", publish_ns, iters);
	report("gzip_openmetrics", gzip_ns, iters);
	report("refresh_unchanged", unchanged_ns, iters);
	/* An unchanged scrape must cost no render: the cached pieces serve it. */
	printf("renders_per_unchanged_refresh %.3f\n", (double)unchanged_renders / iters);
	if (all)
		bench_analysis(&st, iters < 21 ? iters : 21);
	free(text_ns);
	free(om_ns);
	free(sliced_ns);
	free(both_ns);
	vms_buf_free(&slice);
	free(publish_ns);
	free(gzip_ns);
	free(unchanged_ns);
	vms_registry_free(reg);
	vms_store_fini(&st);
	return 0;
}
