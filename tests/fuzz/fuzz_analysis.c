/*
 * The stateful run/analysis path (daemon/analysis/): a store and an analysis driven by a
 * program decoded from the input, one command per byte with its operands after it. Domains
 * come and go, probe values arrive (raw doubles: NaN, infinities, negatives, huge), vCPU and
 * host counters move, the clock steps, the configuration is reloaded, operators pin, unpin
 * and reset, and the state is saved and loaded. Checked after every update: an update that
 * leaves the generation alone leaves the exposition alone; every saved state loads again
 * into a fresh analysis; the control handler answers 0 or -1 with a reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/analysis.h"
#include "daemon/store/store.h"
#include "daemon/util/log.h"
#include "fuzz.h"
#include "vmscale/clock.h"

#define DOMAINS 6
#define VCPUS 4

struct prog {
	const uint8_t *p, *end;
};

static unsigned
next(struct prog *g)
{
	return g->p < g->end ? *g->p++ : 0;
}

static double
next_double(struct prog *g)
{
	static const double interesting[] = {1,   100,      0.01,      1e6,    1e-9,   0,     -1,
	                                     NAN, INFINITY, -INFINITY, 1.8e28, 5e-324, 1e308, 99.5};
	unsigned k = next(g);
	if (k < 128)
		return interesting[k % (sizeof(interesting) / sizeof(interesting[0]))] *
		       (1 + (k >> 4) / 16.0);
	double v = 0;
	uint64_t bits = 0;
	for (unsigned i = 0; i < 8; i++)
		bits = bits << 8 | next(g);
	memcpy(&v, &bits, sizeof(v));
	return v;
}

static const char *
uuid_of(unsigned i)
{
	static char u[VMS_UUID_LEN + 1];
	snprintf(u, sizeof(u), "00000000-0000-4000-8000-%012u", i);
	return u;
}

static struct vms_domain *
domain(struct vms_store *st, unsigned i)
{
	return vms_store_find(st, uuid_of(i % DOMAINS));
}

static void
add_domain(struct vms_store *st, unsigned i)
{
	char name[16];
	snprintf(name, sizeof(name), i % 3 ? "d%u" : "d%u\"\n", i % DOMAINS);
	struct vms_domain *d = vms_store_upsert(st, uuid_of(i % DOMAINS), name, (int)i);
	if (!d->stats.vcpu) {
		d->stats.vcpu = calloc(VCPUS, sizeof(*d->stats.vcpu));
		d->stats.block = calloc(1, sizeof(*d->stats.block));
		d->stats.net = calloc(1, sizeof(*d->stats.net));
		FUZZ_ASSERT(d->stats.vcpu && d->stats.block && d->stats.net);
		d->stats.vcpu_cap = VCPUS;
		d->stats.block_cap = d->stats.net_cap = 1;
	}
}

/* A probe value: an op, or the network at one of two block sizes. */
static void
probe_value(struct prog *g, struct vms_domain *d, uint64_t now)
{
	unsigned k = next(g);
	double v = next_double(g);
	if (k % 4) {
		d->probe.ops[k % VMS_OP_COUNT] = (struct vms_probe_value){true, v, now};
		return;
	}
	unsigned b = (k >> 2) % 2, dir = (k >> 3) % 2;
	d->probe.net_nblocks = d->probe.net_nblocks > b ? d->probe.net_nblocks : b + 1;
	d->probe.net_blocks[b] = b ? 65536 : 1024;
	d->probe.net[b][dir] = (struct vms_probe_value){true, v, now};
}

/* What libvirt would say about the domain: vCPUs, their time, disk and network bytes. */
static void
domain_stats(struct prog *g, struct vms_domain *d)
{
	unsigned k = next(g);
	d->stats.have_cpu = k & 1;
	d->stats.nvcpu = 1 + (k >> 1) % VCPUS;
	for (unsigned i = 0; i < d->stats.nvcpu; i++)
		d->stats.vcpu[i].time_ns += (uint64_t)next(g) << (next(g) % 40);
	d->stats.nblock = d->stats.nnet = (k >> 3) & 1;
	d->stats.block[0].rd_bytes += (uint64_t)next(g) << 20;
	d->stats.net[0].tx_bytes += (uint64_t)next(g) << 20;
	d->stats.have_balloon_current = k & 16;
	d->stats.balloon_current_kib = (k & 32) ? 1048576 : 2097152;
	d->vcpu_utilization = (k & 64) ? NAN : next(g) / 255.0;
}

static void
host_stats(struct prog *g, struct vms_store *st)
{
	struct vms_host_stats *h = &st->host;
	unsigned k = next(g);
	h->valid = k & 1;
	h->ticks_per_second = k & 2 ? 100 : 0;
	h->cpu_ticks_user += next(g);
	h->cpu_ticks_system += next(g);
	h->cpu_ticks_idle += (uint64_t)next(g) << (k >> 4);
	h->mem_total = 1ull << 34;
	h->mem_used = (uint64_t)next(g) << 26;
}

static void
hello(struct prog *g, struct vms_domain *d, uint64_t now)
{
	d->probe.hello = true;
	d->probe.hello_at_ns = now;
	snprintf(d->probe.info.probe_version, sizeof(d->probe.info.probe_version), "0.%u",
	         next(g) % 3);
}

static void
control(struct prog *g, struct vms_analysis *a)
{
	static const char *const verbs[] = {"list", "pin", "unpin", "reset", "bogus"};
	char cmd[16], verb[16], who[48], probe[24];
	unsigned k = next(g), p = next(g);
	snprintf(cmd, sizeof(cmd), "%s", k & 64 ? "status" : "baseline");
	snprintf(verb, sizeof(verb), "%s", verbs[k % 5]);
	snprintf(who, sizeof(who), "%s", k & 8 ? uuid_of(k % DOMAINS) : "d1");
	snprintf(probe, sizeof(probe), "%s", p < VMS_AN_PROBE_COUNT ? vms_an_probe_name(p) : "x");
	char *argv[] = {cmd, verb, who, probe};
	int argc = k & 64 ? 1 : 2 + (k >> 4) % 3;
	struct vms_buf out;
	char err[256] = "";
	vms_buf_init(&out);
	int rc = vms_analysis_control(a, argc, argv, &out, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || (rc == -1 && err[0]));
	vms_buf_free(&out);
}

static void
reconfigure(struct prog *g, struct vms_analysis *a)
{
	struct vms_analysis_config c;
	vms_analysis_config_defaults(&c);
	c.host_cpus = 2;
	c.min_samples = 1 + next(g) % 8;
	c.max_buckets = 2 + next(g) % (VMS_AN_MAX_BUCKETS - 1);
	c.capacity_min_levels = 2 + next(g) % (c.max_buckets - 1);
	c.window_ns = (10 + (uint64_t)next(g) * 10) * NS_PER_S;
	c.alert_for_ns = (uint64_t)next(g) * NS_PER_S;
	vms_analysis_set_config(a, &c);
}

/* The state saved loads into a fresh analysis; sometimes into this one too (as at a start). */
static void
round_trip(struct vms_analysis *a, const struct vms_analysis_config *cfg, bool reload)
{
	struct vms_buf b;
	char err[256] = "";
	vms_buf_init(&b);
	vms_analysis_serialize(a, &b);
	struct vms_analysis *fresh = vms_analysis_new(cfg);
	int rc = vms_analysis_deserialize(fresh, b.data, b.len, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "deserialize: %s\n%.*s", err, (int)b.len, b.data);
	FUZZ_ASSERT(rc == 0);
	vms_analysis_free(fresh);
	if (reload)
		FUZZ_ASSERT(vms_analysis_deserialize(a, b.data, b.len, err, sizeof(err)) == 0);
	vms_buf_free(&b);
}

static void
render(const struct vms_analysis *a, const struct vms_store *st, uint64_t now, struct vms_buf *b)
{
	vms_buf_init(b);
	vms_analysis_render(a, st, b, now);
	FUZZ_ASSERT(b->len > 0 && b->data[b->len - 1] == '\n');
}

/* An update; one that leaves the generation alone changes nothing rendered. */
static void
update(struct vms_analysis *a, const struct vms_store *st, uint64_t now)
{
	uint64_t gen = vms_analysis_generation(a);
	struct vms_buf before, after;
	render(a, st, now, &before);
	vms_analysis_update(a, st, now, 1700000000.0 + (double)(now / NS_PER_S));
	render(a, st, now, &after);
	if (vms_analysis_generation(a) == gen)
		FUZZ_ASSERT(after.len == before.len && !memcmp(after.data, before.data, after.len));
	vms_buf_free(&before);
	vms_buf_free(&after);
	struct vms_an_domain_view v;
	struct vms_an_point pts[VMS_AN_MAX_BUCKETS];
	for (size_t i = 0; i < st->ndomains; i++) {
		vms_analysis_domain_view(a, st->domains[i]->key, &v);
		unsigned n = vms_analysis_domain_curve(a, st->domains[i]->key, VMS_AN_CPU_WORK, pts,
		                                       VMS_AN_MAX_BUCKETS);
		FUZZ_ASSERT(n <= VMS_AN_MAX_BUCKETS);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	vms_log_init("fuzz_analysis", false);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prog g = {data, data + size};
	struct vms_store st;
	vms_store_init(&st, 5000);
	uint64_t now = 1000 * NS_PER_S;
	struct vms_analysis_config cfg;
	vms_analysis_config_defaults(&cfg);
	cfg.host_cpus = 2;
	struct vms_analysis *a = vms_analysis_new(&cfg);
	while (g.p < g.end) {
		unsigned op = next(&g), i = next(&g);
		struct vms_domain *d = domain(&st, i);
		switch (op % 12) {
		case 0:
			add_domain(&st, i);
			break;
		case 1:
			if (d)
				vms_store_remove(&st, d);
			break;
		case 2:
			if (d)
				probe_value(&g, d, now);
			break;
		case 3:
			if (d)
				domain_stats(&g, d);
			break;
		case 4:
			host_stats(&g, &st);
			break;
		case 5:
			if (d)
				hello(&g, d, now);
			break;
		case 6: /* a step from 1 ms to about 18 h */
			now += (uint64_t)(i + 1) * 1000000ull << (next(&g) % 17);
			break;
		case 7:
		case 8:
			update(a, &st, now);
			break;
		case 9:
			control(&g, a);
			break;
		case 10:
			reconfigure(&g, a);
			break;
		case 11:
			round_trip(a, &cfg, i & 1);
			break;
		}
	}
	update(a, &st, now);
	round_trip(a, &cfg, false);
	vms_analysis_free(a);
	vms_store_fini(&st);
	return 0;
}
