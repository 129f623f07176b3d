/*
 * The degradation analysis (see analysis.h). Everything here runs in the event loop's thread.
 *
 * Bounds: one entry per domain seen (running, or stopped less than retention ago, at most
 * AN_MAX_DOMAINS); per domain and probe at most max_buckets N_up buckets of fixed size, one
 * window of VMS_WINDOW_CAP recent values; per domain three windows of resource use. Host-wide
 * series keep at most VMS_AN_MAX_BUCKETS buckets each. Nothing grows with time.
 */
#include "daemon/analysis/analysis.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/util/log.h"
#include "daemon/store/statefile.h"
#include "daemon/util/stats.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/keyindex.h"

#define buf_lit(b, s) vms_buf_append((b), (s), sizeof(s) - 1) /* a literal, its length counted */
#define AN_MAX_DOMAINS 65536        /* entries kept, running or not; more are not tracked */
#define AN_STATE_KIND "analysis"
#define AN_STATE_VERSION 1u
#define AN_STARTUP_GIVE_UP_NS (600ull * 1000000000ull) /* no report 10 min after start */
#define AN_SUSPECTS 3
#define AN_MIN_PAIRS 5              /* correlation needs this many paired points */
#define AN_PAIR_MAX_GAP_NS (30ull * 1000000000ull) /* a resource sample this near a probe sample */

/* ---------------------------------------------------------------- probes */

static const struct {
	enum vms_op op;
	const char *name;
} probe_defs[VMS_AN_PROBE_COUNT] = {
	[VMS_AN_CPU_WORK] = {VMS_OP_CPU_WORK, "cpu_work"},
	[VMS_AN_MEMORY_COPY] = {VMS_OP_MEM_COPY, "memory_copy"},
	[VMS_AN_MEMORY_READ] = {VMS_OP_MEM_READ, "memory_read"},
	[VMS_AN_MEMORY_WRITE] = {VMS_OP_MEM_WRITE, "memory_write"},
	[VMS_AN_DISK_READ] = {VMS_OP_DISK_READ, "disk_read"},
	[VMS_AN_NETWORK_SEND] = {VMS_OP_NET_SEND, "network_send"},
	[VMS_AN_NETWORK_RECEIVE] = {VMS_OP_NET_RECV, "network_receive"},
	[VMS_AN_FORK_EXIT] = {VMS_OP_FORK_EXIT, "fork_exit"},
	[VMS_AN_FORK_EXEC] = {VMS_OP_FORK_EXEC, "fork_exec"},
	[VMS_AN_CTXSW] = {VMS_OP_CTXSW, "ctxsw"},
	[VMS_AN_FILE_CREATE_0K] = {VMS_OP_FILE_0K, "file_create_0k"},
	[VMS_AN_FILE_CREATE_10K] = {VMS_OP_FILE_10K, "file_create_10k"},
	[VMS_AN_MEM_READ_LATENCY] = {VMS_OP_MEM_LATENCY, "mem_read_latency"},
};

const char *
vms_an_probe_name(enum vms_an_probe p)
{
	return (unsigned)p < VMS_AN_PROBE_COUNT ? probe_defs[p].name : "unknown";
}

int
vms_an_probe_from_name(const char *name)
{
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (strcmp(probe_defs[p].name, name) == 0)
			return (int)p;
	return -1;
}

/* Rates and throughputs: more is better. Latencies: less is better. */
static bool
higher_is_better(unsigned p)
{
	return vms_op_kind(probe_defs[p].op) != VMS_KIND_LATENCY;
}

/* Slowdown of a value against its baseline, oriented so that > 1 is always worse. */
static double
oriented(unsigned p, double baseline, double value)
{
	if (!(baseline > 0) || !(value > 0) || !isfinite(baseline) || !isfinite(value))
		return NAN;
	return higher_is_better(p) ? baseline / value : value / baseline;
}

/* The latest trusted value of probe p in the store; the network at its largest block. */
static const struct vms_probe_value *
probe_value(const struct vms_probe_state *ps, unsigned p)
{
	enum vms_op op = probe_defs[p].op;
	if (op != VMS_OP_NET_SEND && op != VMS_OP_NET_RECV)
		return &ps->ops[op];
	unsigned best = VMS_MAX_NET_BLOCKS;
	for (unsigned i = 0; i < ps->net_nblocks && i < VMS_MAX_NET_BLOCKS; i++)
		if (best == VMS_MAX_NET_BLOCKS || ps->net_blocks[i] > ps->net_blocks[best])
			best = i;
	if (best == VMS_MAX_NET_BLOCKS)
		return NULL;
	return &ps->net[best][op == VMS_OP_NET_SEND ? 0 : 1];
}

/* ---------------------------------------------------------------- state */

struct an_bucket {
	uint32_t n_up;
	uint64_t last_use; /* the analysis' feed counter when last fed: eviction order */
	struct vms_welford w;
	double recent[VMS_AN_BUCKET_WINDOW]; /* behind the robust central value */
	unsigned head, nrecent;
};

struct an_probe {
	struct an_bucket *buckets; /* max_buckets of them, allocated at the first sample */
	unsigned nbuckets;
	uint64_t fed_at_ns;      /* the store's at_ns of the last value fed */
	struct vms_window recent; /* host time and value: the slowdown window */
	bool have_baseline, pinned;
	double baseline;
	uint32_t baseline_n_up;
	double slowdown;         /* over the window; NaN when unknown */
	struct vms_welford overhead[2]; /* slowdown - 1 with the neighbours idle [0] or busy [1] */
	enum vms_an_severity severity;
	uint64_t warn_since_ns, crit_since_ns; /* when the condition began; 0 = not met */
};

enum an_resource { AN_RES_CPU, AN_RES_BLOCK, AN_RES_NETWORK, AN_RES_COUNT };
static const char *const resource_names[AN_RES_COUNT] = {"cpu", "block", "network"};

struct an_suspect {
	char *name;
	enum an_resource resource;
	double score;
};

struct an_domain {
	char key[VMS_DOMAIN_KEY_LEN + 1];
	char *name;
	/* What the baseline was measured with: a change resets it. 0/"" = not known yet. */
	unsigned sig_vcpus;
	uint64_t sig_mem_kib;
	char sig_probe[64];
	double last_seen_unix;
	bool present;    /* running at the last update */
	bool id_known;
	int seen_id;
	/* Startup: from the moment we see the domain start to its probe's first hello. */
	bool awaiting_report;
	uint64_t start_ns;
	uint32_t start_n_up;
	bool have_startup;
	double startup_s;
	/* Host-side resource use between consecutive statistics, for interference. */
	bool have_prev;
	uint64_t prev_vcpu_ns, prev_block_bytes, prev_net_bytes, prev_at_ns;
	struct vms_window res[AN_RES_COUNT];
	struct an_suspect suspects[AN_SUSPECTS];
	unsigned nsuspects;
	struct an_probe probes[VMS_AN_PROBE_COUNT];
};

enum an_host_metric { AN_HOST_OVERHEAD, AN_HOST_MTOOL, AN_HOST_STARTUP, AN_HOST_COUNT };
static const char *const host_metric_names[AN_HOST_COUNT] = {
	"hypervisor_overhead_cores", "virtualization_memory_bytes", "startup_seconds"};

struct an_host_bucket {
	uint32_t n_up;
	struct vms_welford w;
};

struct an_host_series {
	struct an_host_bucket b[VMS_AN_MAX_BUCKETS];
	unsigned n;
};

struct vms_analysis {
	struct vms_analysis_config cfg;
	struct an_domain **domains; /* in arrival order */
	size_t ndomains, cap;
	struct vms_keyindex index; /* the domains by key */
	uint64_t feed_seq;
	bool updated_once;
	/* Host CPU not attributable to vCPUs (seed 001's hypervisor overhead). */
	bool have_host_prev;
	uint64_t host_prev_busy, host_prev_total;
	uint64_t vcpu_acc_ns;       /* vCPU time of the domains since the last host sample */
	bool vcpu_acc_valid;        /* no domain came or went meanwhile */
	size_t host_prev_n_up;
	double overhead_cores;      /* NaN until two host samples */
	struct an_host_series host[AN_HOST_COUNT];
	uint64_t interference_at_ns;
	/* Persistence, for the metrics. */
	uint64_t saves_ok, saves_failed;
	double last_save_unix;
	int load_result; /* -2 not tried, -1 unusable, 0 loaded, 1 none */
	struct vms_complaint save_complaint;
};

void
vms_analysis_config_defaults(struct vms_analysis_config *c)
{
	memset(c, 0, sizeof(*c));
	c->window_ns = 300ull * 1000000000ull;
	c->min_samples = 5;
	c->max_buckets = 8;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		c->warning[p] = 1.5;
		c->critical[p] = 2.0;
		c->clear[p] = 1.2;
	}
	c->alert_for_ns = 60ull * 1000000000ull;
	c->capacity_min_r2 = 0.8;
	c->capacity_min_levels = 3;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->host_cpus = n > 0 ? (unsigned)n : 1;
	c->retention_s = 30ull * 86400;
}

static struct an_domain *
find_domain(const struct vms_analysis *a, const char *key)
{
	return vms_keyindex_find(&a->index, key);
}

static void
probe_init(struct an_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->slowdown = NAN;
}

static struct an_domain *
add_domain(struct vms_analysis *a, const char *key, const char *name)
{
	if (a->ndomains >= AN_MAX_DOMAINS)
		return NULL;
	struct an_domain *d = vms_xcalloc(1, sizeof(*d));
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->name = vms_xstrdup(name ? name : key);
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		probe_init(&d->probes[p]);
	if (a->ndomains == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->domains = vms_xrealloc(a->domains, a->cap, sizeof(*a->domains));
	}
	a->domains[a->ndomains++] = d;
	vms_keyindex_add(&a->index, d);
	return d;
}

static void
clear_suspects(struct an_domain *d)
{
	for (unsigned i = 0; i < d->nsuspects; i++)
		free(d->suspects[i].name);
	d->nsuspects = 0;
}

static void
free_domain(struct an_domain *d)
{
	if (!d)
		return;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		free(d->probes[p].buckets);
	clear_suspects(d);
	free(d->name);
	free(d);
}

static void
remove_domain_at(struct vms_analysis *a, size_t i)
{
	vms_keyindex_remove(&a->index, a->domains[i]);
	free_domain(a->domains[i]);
	memmove(&a->domains[i], &a->domains[i + 1], (a->ndomains - i - 1) * sizeof(*a->domains));
	a->ndomains--;
}

struct vms_analysis *
vms_analysis_new(const struct vms_analysis_config *cfg)
{
	struct vms_analysis *a = vms_xcalloc(1, sizeof(*a));
	a->cfg = *cfg;
	vms_keyindex_init(&a->index, offsetof(struct an_domain, key));
	a->overhead_cores = NAN;
	a->load_result = -2;
	return a;
}

void
vms_analysis_free(struct vms_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ndomains; i++)
		free_domain(a->domains[i]);
	free(a->domains);
	vms_keyindex_fini(&a->index);
	free(a);
}

/* Drops the least recently fed buckets beyond the cap, never the baseline's own (with a cap of
 * at least 1 there is always another bucket to drop: N_up levels are distinct). */
static void
trim_buckets(struct an_probe *p, unsigned cap)
{
	while (p->nbuckets > cap) {
		unsigned victim = p->nbuckets;
		for (unsigned i = 0; i < p->nbuckets; i++) {
			if (p->have_baseline && p->buckets[i].n_up == p->baseline_n_up && cap > 0)
				continue;
			if (victim == p->nbuckets || p->buckets[i].last_use < p->buckets[victim].last_use)
				victim = i;
		}
		p->buckets[victim] = p->buckets[--p->nbuckets];
	}
}

void
vms_analysis_set_config(struct vms_analysis *a, const struct vms_analysis_config *cfg)
{
	bool fewer = cfg->max_buckets < a->cfg.max_buckets;
	unsigned old_cap = a->cfg.max_buckets;
	a->cfg = *cfg;
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &a->domains[i]->probes[p];
			if (!pr->buckets)
				continue;
			if (fewer)
				trim_buckets(pr, cfg->max_buckets);
			if (cfg->max_buckets != old_cap)
				pr->buckets = vms_xrealloc(pr->buckets, cfg->max_buckets,
							   sizeof(*pr->buckets));
		}
}

/* ---------------------------------------------------------------- buckets and baselines */

static double
bucket_central(const struct an_bucket *b)
{
	double v[VMS_AN_BUCKET_WINDOW];
	memcpy(v, b->recent, b->nrecent * sizeof(double));
	return vms_median(v, b->nrecent);
}

static struct an_bucket *
get_bucket(struct vms_analysis *a, struct an_probe *p, uint32_t n_up)
{
	for (unsigned i = 0; i < p->nbuckets; i++)
		if (p->buckets[i].n_up == n_up)
			return &p->buckets[i];
	if (!p->buckets)
		p->buckets = vms_xcalloc(a->cfg.max_buckets, sizeof(*p->buckets));
	if (p->nbuckets == a->cfg.max_buckets)
		trim_buckets(p, a->cfg.max_buckets - 1);
	struct an_bucket *b = &p->buckets[p->nbuckets++];
	memset(b, 0, sizeof(*b));
	b->n_up = n_up;
	return b;
}

/* The baseline: the central value of the lowest N_up with enough samples (unless pinned). */
static void
choose_baseline(const struct vms_analysis *a, struct an_probe *p)
{
	if (p->pinned)
		return;
	const struct an_bucket *best = NULL;
	for (unsigned i = 0; i < p->nbuckets; i++) {
		const struct an_bucket *b = &p->buckets[i];
		if (b->w.n >= a->cfg.min_samples && (!best || b->n_up < best->n_up))
			best = b;
	}
	if (!best)
		return;
	double c = bucket_central(best);
	if (!(c > 0) || !isfinite(c))
		return;
	p->have_baseline = true;
	p->baseline = c;
	p->baseline_n_up = best->n_up;
}

static void
reset_probe(struct an_probe *p)
{
	free(p->buckets);
	probe_init(p);
}

static void
feed(struct vms_analysis *a, struct an_probe *p, unsigned probe, double v, uint64_t at_ns,
     uint32_t n_up, bool neighbours_busy)
{
	if (!isfinite(v) || !(v > 0))
		return;
	struct an_bucket *b = get_bucket(a, p, n_up);
	b->last_use = ++a->feed_seq;
	vms_welford_add(&b->w, v);
	b->recent[b->head] = v;
	b->head = (b->head + 1) % VMS_AN_BUCKET_WINDOW;
	if (b->nrecent < VMS_AN_BUCKET_WINDOW)
		b->nrecent++;
	vms_window_add(&p->recent, at_ns, v);
	choose_baseline(a, p);
	/* Seed 000's O_vn: the cost of n VMs up, with them idle or working. */
	if (p->have_baseline && n_up >= 2) {
		double s = oriented(probe, p->baseline, v);
		if (isfinite(s))
			vms_welford_add(&p->overhead[neighbours_busy], s - 1);
	}
}

/* ---------------------------------------------------------------- alerts */

static const char *
severity_name(enum vms_an_severity s)
{
	return s == VMS_AN_CRITICAL ? "critical" : s == VMS_AN_WARNING ? "warning" : "ok";
}

static void
log_transition(const struct an_domain *d, unsigned probe, enum vms_an_severity from,
	       enum vms_an_severity to, double slowdown, size_t n_up, const char *why)
{
	char sd[32], nu[32];
	snprintf(sd, sizeof(sd), "%.3f", slowdown);
	if (n_up)
		snprintf(nu, sizeof(nu), "%zu", n_up);
	else
		snprintf(nu, sizeof(nu), "?"); /* not known to the caller */
	const char *fields[] = {"PROBE", vms_an_probe_name(probe), "SLOWDOWN", sd, "N_UP", nu,
				"SEVERITY", severity_name(to), NULL};
	if (to > from)
		vms_log_fields(to == VMS_AN_CRITICAL ? LOG_CRIT : LOG_WARNING, d->name, fields,
			       "alert %s firing: probe %s slowdown %s at N_up %s (was %s)",
			       severity_name(to), vms_an_probe_name(probe), sd, nu,
			       severity_name(from));
	else
		vms_log_fields(LOG_NOTICE, d->name, fields,
			       "alert %s %s: probe %s slowdown %s at N_up %s%s%s",
			       severity_name(from), to == VMS_AN_OK ? "resolved" : "eased to warning",
			       vms_an_probe_name(probe), sd, nu, why ? ": " : "", why ? why : "");
}

/*
 * Netdata's hysteresis: warning fires at slowdown >= warning held for alert-for and ends only
 * below clear; critical fires at >= critical held as long and eases to warning below the
 * warning threshold. No fresh value: the state holds.
 */
static void
evaluate_alert(const struct vms_analysis *a, struct an_domain *d, unsigned probe,
	       uint64_t now_ns, size_t n_up)
{
	struct an_probe *p = &d->probes[probe];
	double s = p->slowdown;
	if (isnan(s))
		return;
	double warn = a->cfg.warning[probe], crit = a->cfg.critical[probe],
	       clear = a->cfg.clear[probe];
	p->warn_since_ns = s >= warn ? (p->warn_since_ns ? p->warn_since_ns : now_ns) : 0;
	p->crit_since_ns = s >= crit ? (p->crit_since_ns ? p->crit_since_ns : now_ns) : 0;
	enum vms_an_severity to = p->severity;
	if (p->crit_since_ns && now_ns - p->crit_since_ns >= a->cfg.alert_for_ns)
		to = VMS_AN_CRITICAL;
	else if (p->warn_since_ns && now_ns - p->warn_since_ns >= a->cfg.alert_for_ns &&
		 to < VMS_AN_WARNING)
		to = VMS_AN_WARNING;
	if (to == VMS_AN_CRITICAL && s < warn)
		to = VMS_AN_WARNING;
	if (to >= VMS_AN_WARNING && s < clear)
		to = VMS_AN_OK;
	if (to != p->severity) {
		log_transition(d, probe, p->severity, to, s, n_up, NULL);
		p->severity = to;
	}
}

/* ---------------------------------------------------------------- update */

static uint64_t
sum_vcpu_ns(const struct vms_domstats *ds)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < ds->nvcpu; i++)
		t += ds->vcpu[i].time_ns;
	return t;
}

/* Resets the baselines when the domain now runs with other vCPUs, memory or probe. */
static void
check_signature(struct an_domain *ad, const struct vms_domain *d)
{
	unsigned vcpus = d->stats.have_cpu ? d->stats.nvcpu : 0;
	uint64_t mem = d->stats.have_balloon_current ? d->stats.balloon_current_kib : 0;
	const char *probe = d->probe.hello ? d->probe.info.probe_version : "";
	char why[160] = "";
	if (vcpus && ad->sig_vcpus && vcpus != ad->sig_vcpus)
		snprintf(why, sizeof(why), "vCPUs %u -> %u", ad->sig_vcpus, vcpus);
	else if (mem && ad->sig_mem_kib && mem != ad->sig_mem_kib)
		snprintf(why, sizeof(why), "memory %llu -> %llu KiB",
			 (unsigned long long)ad->sig_mem_kib, (unsigned long long)mem);
	else if (*probe && *ad->sig_probe && strncmp(probe, ad->sig_probe, sizeof(ad->sig_probe) - 1))
		snprintf(why, sizeof(why), "probe version %s -> %.40s", ad->sig_probe, probe);
	if (*why) {
		vms_log(LOG_NOTICE, ad->name, "baselines reset: %s", why);
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			if (ad->probes[p].severity != VMS_AN_OK)
				log_transition(ad, p, ad->probes[p].severity, VMS_AN_OK,
					       ad->probes[p].slowdown, 0, "baselines reset");
			reset_probe(&ad->probes[p]);
		}
	}
	if (vcpus)
		ad->sig_vcpus = vcpus;
	if (mem)
		ad->sig_mem_kib = mem;
	if (*probe)
		snprintf(ad->sig_probe, sizeof(ad->sig_probe), "%.63s", probe);
}

static void
host_feed(struct an_host_series *s, uint32_t n_up, double v)
{
	if (!isfinite(v))
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (s->b[i].n_up == n_up) {
			vms_welford_add(&s->b[i].w, v);
			return;
		}
	if (s->n == VMS_AN_MAX_BUCKETS) {
		/* Full: the fewest-sampled level gives way. */
		unsigned m = 0;
		for (unsigned i = 1; i < s->n; i++)
			if (s->b[i].w.n < s->b[m].w.n)
				m = i;
		s->b[m] = s->b[--s->n];
	}
	s->b[s->n].n_up = n_up;
	memset(&s->b[s->n].w, 0, sizeof(s->b[s->n].w));
	vms_welford_add(&s->b[s->n].w, v);
	s->n++;
}

static void
track_resources(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
		uint64_t now_ns)
{
	if (!d->stats.have_cpu)
		return;
	uint64_t vcpu = sum_vcpu_ns(&d->stats), blk = 0, net = 0;
	for (unsigned i = 0; i < d->stats.nblock; i++)
		blk += d->stats.block[i].rd_bytes + d->stats.block[i].wr_bytes;
	for (unsigned i = 0; i < d->stats.nnet; i++)
		net += d->stats.net[i].rx_bytes + d->stats.net[i].tx_bytes;
	if (ad->have_prev && vcpu == ad->prev_vcpu_ns && blk == ad->prev_block_bytes &&
	    net == ad->prev_net_bytes)
		return; /* no new statistics since the last look */
	if (ad->have_prev && now_ns > ad->prev_at_ns && vcpu >= ad->prev_vcpu_ns &&
	    blk >= ad->prev_block_bytes && net >= ad->prev_net_bytes) {
		double dt = (double)(now_ns - ad->prev_at_ns) / NS_PER_S;
		vms_window_add(&ad->res[AN_RES_CPU], now_ns,
			       (double)(vcpu - ad->prev_vcpu_ns) / NS_PER_S / dt);
		vms_window_add(&ad->res[AN_RES_BLOCK], now_ns, (double)(blk - ad->prev_block_bytes) / dt);
		vms_window_add(&ad->res[AN_RES_NETWORK], now_ns, (double)(net - ad->prev_net_bytes) / dt);
		a->vcpu_acc_ns += vcpu - ad->prev_vcpu_ns;
	} else if (ad->have_prev) {
		a->vcpu_acc_valid = false; /* counters reset: the domain restarted */
	}
	ad->have_prev = true;
	ad->prev_vcpu_ns = vcpu;
	ad->prev_block_bytes = blk;
	ad->prev_net_bytes = net;
	ad->prev_at_ns = now_ns;
}

/* Seed 001: host CPU time not spent in guests' vCPUs, per host sample, by N_up. */
static void
track_hypervisor(struct vms_analysis *a, const struct vms_store *st, size_t n_up)
{
	const struct vms_host_stats *h = &st->host;
	if (!h->valid || !h->ticks_per_second)
		return;
	uint64_t busy = h->cpu_ticks_user + h->cpu_ticks_nice + h->cpu_ticks_system;
	uint64_t total = busy + h->cpu_ticks_idle + h->cpu_ticks_iowait;
	if (a->have_host_prev && total == a->host_prev_total)
		return; /* no new host sample */
	if (a->have_host_prev && total > a->host_prev_total && busy >= a->host_prev_busy &&
	    a->vcpu_acc_valid && n_up == a->host_prev_n_up && a->cfg.host_cpus) {
		double tps = (double)h->ticks_per_second;
		double elapsed = (double)(total - a->host_prev_total) / tps / a->cfg.host_cpus;
		double busy_s = (double)(busy - a->host_prev_busy) / tps;
		double guest_s = (double)a->vcpu_acc_ns / NS_PER_S;
		if (elapsed > 0) {
			double cores = (busy_s - guest_s) / elapsed;
			if (cores < 0)
				cores = 0; /* vCPU time and host ticks are sampled a moment apart */
			a->overhead_cores = cores;
			host_feed(&a->host[AN_HOST_OVERHEAD], (uint32_t)n_up, cores);
		}
	}
	uint64_t mtool;
	if (vms_store_virtualization_memory(st, &mtool) >= 0)
		host_feed(&a->host[AN_HOST_MTOOL], (uint32_t)n_up, (double)mtool);
	a->have_host_prev = true;
	a->host_prev_busy = busy;
	a->host_prev_total = total;
	a->host_prev_n_up = n_up;
	a->vcpu_acc_ns = 0;
	a->vcpu_acc_valid = true;
}

/* The resource sample of w nearest to at_ns, if within the pairing gap. */
static bool
nearest(const struct vms_window *w, uint64_t at_ns, double *v)
{
	uint64_t best_gap = UINT64_MAX;
	for (unsigned i = 0; i < w->n; i++) {
		uint64_t t;
		double x;
		vms_window_get(w, i, &t, &x);
		uint64_t gap = t > at_ns ? t - at_ns : at_ns - t;
		if (gap < best_gap) {
			best_gap = gap;
			*v = x;
		}
	}
	return best_gap <= AN_PAIR_MAX_GAP_NS;
}

/*
 * CPI²'s antagonist search: for a victim over its warning threshold, the correlation of its
 * per-sample slowdown (on its worst probe) with each neighbour's host-side use of CPU, block
 * and network at the same moments. The top AN_SUSPECTS positive correlations are kept.
 */
static void
find_suspects(struct vms_analysis *a, struct an_domain *victim)
{
	clear_suspects(victim);
	unsigned worst = VMS_AN_PROBE_COUNT;
	double worst_s = 0;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const struct an_probe *pr = &victim->probes[p];
		if (pr->have_baseline && pr->slowdown >= a->cfg.warning[p] && pr->slowdown > worst_s) {
			worst = p;
			worst_s = pr->slowdown;
		}
	}
	if (worst == VMS_AN_PROBE_COUNT)
		return;
	const struct an_probe *pr = &victim->probes[worst];
	double xs[VMS_WINDOW_CAP], ys[VMS_WINDOW_CAP];
	for (size_t i = 0; i < a->ndomains; i++) {
		struct an_domain *n = a->domains[i];
		if (n == victim || !n->present)
			continue;
		for (unsigned r = 0; r < AN_RES_COUNT; r++) {
			unsigned m = 0;
			for (unsigned k = 0; k < pr->recent.n; k++) {
				uint64_t t;
				double v, use;
				vms_window_get(&pr->recent, k, &t, &v);
				double s = oriented(worst, pr->baseline, v);
				if (isfinite(s) && nearest(&n->res[r], t, &use)) {
					xs[m] = use;
					ys[m] = s;
					m++;
				}
			}
			if (m < AN_MIN_PAIRS)
				continue;
			double score = vms_pearson(xs, ys, m);
			if (!(score > 0))
				continue;
			/* Insert into the top list, kept sorted by score. */
			unsigned pos = victim->nsuspects;
			while (pos > 0 && victim->suspects[pos - 1].score < score)
				pos--;
			if (pos >= AN_SUSPECTS)
				continue;
			if (victim->nsuspects == AN_SUSPECTS)
				free(victim->suspects[--victim->nsuspects].name);
			memmove(&victim->suspects[pos + 1], &victim->suspects[pos],
				(victim->nsuspects - pos) * sizeof(victim->suspects[0]));
			victim->suspects[pos] = (struct an_suspect){vms_xstrdup(n->name), r, score};
			victim->nsuspects++;
		}
	}
}

void
vms_analysis_update(struct vms_analysis *a, const struct vms_store *st, uint64_t now_ns,
		    double now_unix)
{
	size_t n_up = st->ndomains, busy = vms_store_domains_busy(st);
	for (size_t i = 0; i < a->ndomains; i++)
		a->domains[i]->present = false;
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		struct an_domain *ad = find_domain(a, d->key);
		bool is_new = !ad;
		if (!ad && !(ad = add_domain(a, d->key, d->name)))
			continue;
		if (strcmp(ad->name, d->name) != 0) {
			free(ad->name);
			ad->name = vms_xstrdup(d->name);
		}
		ad->present = true;
		ad->last_seen_unix = now_unix;
		/* A start seen live (not a domain that already ran when we started). */
		if (a->updated_once && (is_new || !ad->id_known || ad->seen_id != d->id)) {
			ad->awaiting_report = true;
			ad->start_ns = now_ns;
			ad->start_n_up = (uint32_t)n_up;
			a->vcpu_acc_valid = false;
		}
		ad->id_known = true;
		ad->seen_id = d->id;
		if (ad->awaiting_report) {
			if (d->probe.hello && d->probe.hello_at_ns >= ad->start_ns) {
				ad->awaiting_report = false;
				ad->have_startup = true;
				ad->startup_s = (double)(d->probe.hello_at_ns - ad->start_ns) / NS_PER_S;
				host_feed(&a->host[AN_HOST_STARTUP], ad->start_n_up, ad->startup_s);
			} else if (now_ns - ad->start_ns > AN_STARTUP_GIVE_UP_NS) {
				ad->awaiting_report = false;
			}
		}
		check_signature(ad, d);
		track_resources(a, ad, d, now_ns);
		double u = d->vcpu_utilization;
		bool self_busy = !isnan(u) && u > st->busy_threshold;
		bool neighbours_busy = busy > (size_t)self_busy;
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &ad->probes[p];
			const struct vms_probe_value *pv = probe_value(&d->probe, p);
			if (pv && pv->have && pv->at_ns > pr->fed_at_ns) {
				pr->fed_at_ns = pv->at_ns;
				feed(a, pr, p, pv->value, pv->at_ns, (uint32_t)n_up, neighbours_busy);
			}
			uint64_t since = now_ns > a->cfg.window_ns ? now_ns - a->cfg.window_ns : 0;
			double cur = vms_window_median(&pr->recent, since, NULL);
			pr->slowdown = pr->have_baseline ? oriented(p, pr->baseline, cur) : NAN;
			evaluate_alert(a, ad, p, now_ns, n_up);
		}
	}
	track_hypervisor(a, st, n_up);
	/* Stopped domains: their alerts end; their state is kept for retention_s. */
	for (size_t i = a->ndomains; i-- > 0;) {
		struct an_domain *ad = a->domains[i];
		if (ad->present)
			continue;
		if (ad->have_prev)
			a->vcpu_acc_valid = false;
		ad->have_prev = false;
		ad->awaiting_report = false;
		clear_suspects(ad);
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &ad->probes[p];
			if (pr->severity != VMS_AN_OK)
				log_transition(ad, p, pr->severity, VMS_AN_OK, pr->slowdown, n_up,
					       "the domain stopped");
			pr->severity = VMS_AN_OK;
			pr->warn_since_ns = pr->crit_since_ns = 0;
			pr->slowdown = NAN;
			pr->recent.n = pr->recent.head = 0;
		}
		if (now_unix - ad->last_seen_unix > (double)a->cfg.retention_s)
			remove_domain_at(a, i);
	}
	/* Suspects once per host interval at most: they follow the resource samples. */
	if (now_ns - a->interference_at_ns >= 5ull * 1000000000ull || !a->interference_at_ns) {
		a->interference_at_ns = now_ns;
		for (size_t i = 0; i < a->ndomains; i++)
			if (a->domains[i]->present)
				find_suspects(a, a->domains[i]);
	}
	a->updated_once = true;
}

bool
vms_analysis_domain_view(const struct vms_analysis *a, const char *key,
			 struct vms_an_domain_view *v)
{
	const struct an_domain *d = find_domain(a, key);
	memset(v, 0, sizeof(*v));
	v->worst_slowdown = NAN;
	if (!d)
		return false;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const struct an_probe *pr = &d->probes[p];
		if (isfinite(pr->slowdown) && (isnan(v->worst_slowdown) || pr->slowdown > v->worst_slowdown)) {
			v->worst_slowdown = pr->slowdown;
			v->worst_probe = p;
		}
		v->baselines += pr->have_baseline;
		if (pr->severity != VMS_AN_OK)
			v->alerts++;
		if (pr->severity > v->severity)
			v->severity = pr->severity;
	}
	return true;
}

/* ---------------------------------------------------------------- rendering */


/* name{domain="...",probe="..." — the caller closes it. */
static void
sample_dp(struct vms_buf *b, const char *name, const struct an_domain *d, unsigned p)
{
	vms_buf_append(b, name, strlen(name));
	buf_lit(b, "{domain=\"");
	vms_buf_label_value(b, d->name);
	buf_lit(b, "\",probe=\"");
	vms_buf_append(b, probe_defs[p].name, strlen(probe_defs[p].name));
	buf_lit(b, "\"");
}

/* Measured values and fits to 9 significant digits: what the state file keeps, and more than
 * any probe resolves; printf-free, which matters at hundreds of thousands of series. */
static void
value_line(struct vms_buf *b, double v)
{
	buf_lit(b, " ");
	vms_buf_sig(b, v, 9);
	buf_lit(b, "\n");
}

/* The bucket means against N_up, over buckets with enough samples. */
static int
probe_linearity(const struct vms_analysis *a, const struct an_probe *p, struct vms_fit *f)
{
	double x[VMS_AN_MAX_BUCKETS], y[VMS_AN_MAX_BUCKETS];
	unsigned n = 0;
	for (unsigned i = 0; i < p->nbuckets; i++)
		if (p->buckets[i].w.n >= a->cfg.min_samples) {
			x[n] = p->buckets[i].n_up;
			y[n] = p->buckets[i].w.mean;
			n++;
		}
	return vms_fit_linear(x, y, n, f);
}

/* Seed 001's ideal: a CPU-bound domain's time stays ET_P until N_up passes P, then grows as
 * N_up/P. The RMS relative error of the measured CPU-work slowdown (bucket means) against it. */
static bool
cpu_model_error(const struct vms_analysis *a, const struct an_domain *d, double *rms)
{
	const struct an_probe *p = &d->probes[VMS_AN_CPU_WORK];
	if (!p->have_baseline || !a->cfg.host_cpus)
		return false;
	const struct an_bucket *base = NULL;
	for (unsigned i = 0; i < p->nbuckets; i++)
		if (p->buckets[i].n_up == p->baseline_n_up)
			base = &p->buckets[i];
	if (!base || base->w.n < a->cfg.min_samples)
		return false;
	double P = a->cfg.host_cpus, model_base = fmax(1, base->n_up / P), sum = 0;
	unsigned n = 0;
	for (unsigned i = 0; i < p->nbuckets; i++) {
		const struct an_bucket *bk = &p->buckets[i];
		if (bk->w.n < a->cfg.min_samples)
			continue;
		double measured = oriented(VMS_AN_CPU_WORK, base->w.mean, bk->w.mean);
		double model = fmax(1, bk->n_up / P) / model_base;
		if (!isfinite(measured))
			continue;
		sum += (measured / model - 1) * (measured / model - 1);
		n++;
	}
	if (n < 2)
		return false;
	*rms = sqrt(sum / n);
	return true;
}

enum capacity_reason {
	CAP_OK,
	CAP_NO_BASELINE,
	CAP_TOO_FEW_LEVELS,
	CAP_POOR_FIT,
	CAP_NO_TREND,
	CAP_REASON_COUNT
};
static const char *const capacity_reasons[CAP_REASON_COUNT] = {
	"ok", "no_baseline", "too_few_levels", "poor_fit", "no_degradation_trend"};

struct capacity {
	enum capacity_reason reason;
	struct vms_fit fit;
	unsigned levels;
	double predicted_max;
};

struct level_value {
	uint32_t n_up;
	double v;
};

static int
cmp_level(const void *x, const void *y)
{
	const struct level_value *a = x, *b = y;
	if (a->n_up != b->n_up)
		return a->n_up < b->n_up ? -1 : 1;
	return a->v < b->v ? -1 : a->v > b->v;
}

/*
 * The median domain's slowdown at each N_up level (each domain's bucket central value against
 * its baseline), fitted as a line; where it crosses the warning threshold is the predicted
 * maximum N_up. A fit over too few levels, with a poor R^2 or without a rising trend predicts
 * nothing: the reason is exported instead of a number.
 */
static struct capacity
capacity_of(const struct vms_analysis *a, unsigned probe)
{
	struct capacity c = {.reason = CAP_NO_BASELINE, .predicted_max = NAN};
	size_t cap = 0, n = 0;
	struct level_value *lv = NULL;
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_probe *p = &a->domains[i]->probes[probe];
		if (!p->have_baseline)
			continue;
		for (unsigned k = 0; k < p->nbuckets; k++) {
			const struct an_bucket *bk = &p->buckets[k];
			if (bk->w.n < a->cfg.min_samples)
				continue;
			double s = oriented(probe, p->baseline, bucket_central(bk));
			if (!isfinite(s))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				lv = vms_xrealloc(lv, cap, sizeof(*lv));
			}
			lv[n++] = (struct level_value){bk->n_up, s};
		}
	}
	if (n == 0)
		return c;
	qsort(lv, n, sizeof(*lv), cmp_level);
	double x[VMS_AN_MAX_BUCKETS * 4], y[VMS_AN_MAX_BUCKETS * 4];
	unsigned levels = 0;
	for (size_t i = 0; i < n && levels < sizeof(x) / sizeof(x[0]);) {
		size_t j = i;
		while (j < n && lv[j].n_up == lv[i].n_up)
			j++;
		size_t m = j - i; /* sorted within the level: the median is in the middle */
		x[levels] = lv[i].n_up;
		y[levels] = m % 2 ? lv[i + m / 2].v : (lv[i + m / 2 - 1].v + lv[i + m / 2].v) / 2;
		levels++;
		i = j;
	}
	free(lv);
	c.levels = levels;
	if (levels < a->cfg.capacity_min_levels || levels < 2 ||
	    vms_fit_linear(x, y, levels, &c.fit) < 0) {
		c.reason = CAP_TOO_FEW_LEVELS;
		return c;
	}
	if (!(c.fit.slope > 1e-9)) {
		c.reason = CAP_NO_TREND;
		return c;
	}
	if (!(c.fit.r_squared >= a->cfg.capacity_min_r2)) {
		c.reason = CAP_POOR_FIT;
		return c;
	}
	c.reason = CAP_OK;
	c.predicted_max = (a->cfg.warning[probe] - c.fit.intercept) / c.fit.slope;
	return c;
}

static void
render_host_series(const struct vms_analysis *a, struct vms_buf *b)
{
	vms_buf_family(b, "vmscale_nup_host_mean", "gauge",
	       "Host-wide series by N_up (seeds 000, 001): mean hypervisor CPU not spent in vCPUs "
	       "(cores), virtualization memory M_tool (bytes), startup time (s).");
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		for (unsigned i = 0; i < a->host[m].n; i++) {
			vms_buf_printf(b, "vmscale_nup_host_mean{metric=\"%s\",n_up=\"%u\"}",
				       host_metric_names[m], a->host[m].b[i].n_up);
			value_line(b, a->host[m].b[i].w.mean);
		}
	vms_buf_family(b, "vmscale_nup_host_samples", "gauge", "Samples behind vmscale_nup_host_mean.");
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		for (unsigned i = 0; i < a->host[m].n; i++)
			vms_buf_printf(b, "vmscale_nup_host_samples{metric=\"%s\",n_up=\"%u\"} %llu\n",
				       host_metric_names[m], a->host[m].b[i].n_up,
				       (unsigned long long)a->host[m].b[i].w.n);
	struct vms_fit fits[AN_HOST_COUNT];
	bool have[AN_HOST_COUNT];
	for (unsigned m = 0; m < AN_HOST_COUNT; m++) {
		double x[VMS_AN_MAX_BUCKETS], y[VMS_AN_MAX_BUCKETS];
		for (unsigned i = 0; i < a->host[m].n; i++) {
			x[i] = a->host[m].b[i].n_up;
			y[i] = a->host[m].b[i].w.mean;
		}
		have[m] = vms_fit_linear(x, y, a->host[m].n, &fits[m]) == 0;
	}
	static const char *const parts[3][2] = {
		{"vmscale_host_linearity_intercept", "Fit a + b*N_up of each host series: a."},
		{"vmscale_host_linearity_slope", "Fit a + b*N_up of each host series: b, per domain."},
		{"vmscale_host_linearity_r_squared", "Fit a + b*N_up of each host series: R^2."}};
	for (unsigned k = 0; k < 3; k++) {
		vms_buf_family(b, parts[k][0], "gauge", parts[k][1]);
		for (unsigned m = 0; m < AN_HOST_COUNT; m++) {
			if (!have[m])
				continue;
			vms_buf_printf(b, "%s{metric=\"%s\"}", parts[k][0], host_metric_names[m]);
			value_line(b, k == 0 ? fits[m].intercept : k == 1 ? fits[m].slope
									 : fits[m].r_squared);
		}
	}
}

static void
render_capacity(const struct vms_analysis *a, const struct vms_store *st, struct vms_buf *b)
{
	struct capacity caps[VMS_AN_PROBE_COUNT];
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		caps[p] = capacity_of(a, p);
	vms_buf_family(b, "vmscale_capacity_headroom_domains", "gauge",
	       "More domains this host can run before the median domain's slowdown on the probe "
	       "crosses its warning threshold (predicted N_up maximum minus N_up); absent when "
	       "the fit cannot be trusted (see vmscale_capacity_headroom_unavailable).");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == CAP_OK) {
			vms_buf_printf(b, "vmscale_capacity_headroom_domains{probe=\"%s\"}",
				       probe_defs[p].name);
			value_line(b, floor(caps[p].predicted_max) - (double)st->ndomains);
		}
	vms_buf_family(b, "vmscale_capacity_predicted_max_domains", "gauge",
	       "N_up at which the fitted median slowdown reaches the warning threshold.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == CAP_OK) {
			vms_buf_printf(b, "vmscale_capacity_predicted_max_domains{probe=\"%s\"}",
				       probe_defs[p].name);
			value_line(b, caps[p].predicted_max);
		}
	vms_buf_family(b, "vmscale_capacity_fit_r_squared", "gauge",
	       "R^2 of the median slowdown against N_up behind the capacity prediction.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason == CAP_OK || caps[p].reason == CAP_POOR_FIT ||
		    caps[p].reason == CAP_NO_TREND) {
			vms_buf_printf(b, "vmscale_capacity_fit_r_squared{probe=\"%s\"}",
				       probe_defs[p].name);
			value_line(b, caps[p].fit.r_squared);
		}
	vms_buf_family(b, "vmscale_capacity_fit_levels", "gauge",
	       "N_up levels with enough samples behind the capacity fit.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		vms_buf_printf(b, "vmscale_capacity_fit_levels{probe=\"%s\"} %u\n",
			       probe_defs[p].name, caps[p].levels);
	vms_buf_family(b, "vmscale_capacity_headroom_unavailable", "gauge",
	       "1 when no headroom is predicted for the probe, with the reason: no_baseline, "
	       "too_few_levels, poor_fit or no_degradation_trend.");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (caps[p].reason != CAP_OK)
			vms_buf_printf(b,
				       "vmscale_capacity_headroom_unavailable{probe=\"%s\",reason=\"%s\"} 1\n",
				       probe_defs[p].name, capacity_reasons[caps[p].reason]);
}

/* Families with one series per domain, probe and N_up bucket: the mean, then the count. */
static const struct {
	const char *name, *help;
} bucket_families[] = {
	{"vmscale_nup_mean", "Mean of a probe's trusted samples taken while N_up domains ran, in "
			     "the probe's unit (units/s, bytes/s or seconds); at most analysis-buckets "
			     "N_up levels per domain and probe."},
	{"vmscale_nup_samples", "Samples behind vmscale_nup_mean."},
};

enum probe_field { PF_BASELINE_N_UP, PF_BASELINE_VALUE, PF_BASELINE_PINNED, PF_SLOWDOWN };

/* Families with one series per domain and probe. */
static const struct {
	const char *name, *help;
	enum probe_field field;
} probe_families[] = {
	{"vmscale_baseline_n_up", "N_up of the baseline: the lowest N_up with baseline-min-samples "
				  "samples, or where an operator pinned it.", PF_BASELINE_N_UP},
	{"vmscale_baseline_value", "The baseline, in the probe's unit: the median of the baseline "
				   "bucket's recent samples.", PF_BASELINE_VALUE},
	{"vmscale_baseline_pinned", "1 when an operator pinned the baseline (vmscalectl baseline "
				    "pin).", PF_BASELINE_PINNED},
	{"vmscale_slowdown_ratio", "Baseline performance over current performance (median over "
				   "slowdown-window): 1 = as at the baseline, 2 = twice as slow. "
				   "Throughputs inverted, latencies direct.", PF_SLOWDOWN},
};

/* A probe's value for one of probe_families; false when its series is absent. */
static bool
probe_family_value(const struct an_probe *pr, enum probe_field f, double *v)
{
	if (f == PF_SLOWDOWN) {
		*v = pr->slowdown;
		return !isnan(pr->slowdown);
	}
	*v = f == PF_BASELINE_N_UP ? pr->baseline_n_up : f == PF_BASELINE_VALUE ? pr->baseline
										 : pr->pinned;
	return pr->have_baseline;
}

void
vms_analysis_render(const struct vms_analysis *a, const struct vms_store *st,
		    struct vms_buf *b, uint64_t now_ns)
{
	(void)now_ns;
	for (unsigned k = 0; k < sizeof(bucket_families) / sizeof(bucket_families[0]); k++) {
		vms_buf_family(b, bucket_families[k].name, "gauge", bucket_families[k].help);
		for (size_t i = 0; i < a->ndomains; i++)
			for (unsigned p = 0; a->domains[i]->present && p < VMS_AN_PROBE_COUNT; p++) {
				const struct an_probe *pr = &a->domains[i]->probes[p];
				for (unsigned j = 0; j < pr->nbuckets; j++) {
					sample_dp(b, bucket_families[k].name, a->domains[i], p);
					buf_lit(b, ",n_up=\"");
					vms_buf_u64(b, pr->buckets[j].n_up);
					buf_lit(b, "\"}");
					value_line(b, k == 0 ? pr->buckets[j].w.mean : (double)pr->buckets[j].w.n);
				}
			}
	}
	for (unsigned k = 0; k < sizeof(probe_families) / sizeof(probe_families[0]); k++) {
		vms_buf_family(b, probe_families[k].name, "gauge", probe_families[k].help);
		for (size_t i = 0; i < a->ndomains; i++)
			for (unsigned p = 0; a->domains[i]->present && p < VMS_AN_PROBE_COUNT; p++) {
				double v;
				if (!probe_family_value(&a->domains[i]->probes[p], probe_families[k].field, &v))
					continue;
				sample_dp(b, probe_families[k].name, a->domains[i], p);
				buf_lit(b, "}");
				value_line(b, v);
			}
	}
	vms_buf_family(b, "vmscale_overhead_ratio", "gauge",
	       "Seed 000's overhead O_vn as a share of the baseline: mean slowdown - 1 of samples "
	       "taken with other domains up, all idle or some busy (vmscale_domains_busy).");
	static const char *const states[2] = {"idle", "busy"};
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
			for (unsigned s = 0; s < 2; s++) {
				const struct an_domain *d = a->domains[i];
				if (!d->present || !d->probes[p].overhead[s].n)
					continue;
				sample_dp(b, "vmscale_overhead_ratio", d, p);
				vms_buf_printf(b, ",neighbours=\"%s\"}", states[s]);
				value_line(b, d->probes[p].overhead[s].mean);
			}
	static const char *const lin[3][2] = {
		{"vmscale_linearity_intercept", "Seed 000's linearity: fit a + b*N_up of the N_up means: a, in the probe's unit."},
		{"vmscale_linearity_slope", "Seed 000's linearity: fit a + b*N_up of the N_up means: b, in the probe's unit per domain."},
		{"vmscale_linearity_r_squared", "Seed 000's linearity: R^2 of the fit (2 levels fit exactly)."}};
	for (unsigned k = 0; k < 3; k++) {
		vms_buf_family(b, lin[k][0], "gauge", lin[k][1]);
		for (size_t i = 0; i < a->ndomains; i++)
			for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
				const struct an_domain *d = a->domains[i];
				struct vms_fit f;
				if (!d->present || probe_linearity(a, &d->probes[p], &f) < 0)
					continue;
				sample_dp(b, lin[k][0], d, p);
				buf_lit(b, "}");
				value_line(b, k == 0 ? f.intercept : k == 1 ? f.slope : f.r_squared);
			}
	}
	vms_buf_family(b, "vmscale_cpu_model_error_ratio", "gauge",
	       "RMS relative error of the CPU-work slowdown by N_up against seed 001's "
	       "ET(i) = ET_P * max(1, i/P), P = vmscale_host_cpus.");
	for (size_t i = 0; i < a->ndomains; i++) {
		double rms;
		if (!a->domains[i]->present || !cpu_model_error(a, a->domains[i], &rms))
			continue;
		buf_lit(b, "vmscale_cpu_model_error_ratio{domain=\"");
		vms_buf_label_value(b, a->domains[i]->name);
		buf_lit(b, "\"}");
		value_line(b, rms);
	}
	vms_buf_family(b, "vmscale_host_cpus", "gauge", "Host CPUs: P in seed 001's CPU model.");
	vms_buf_printf(b, "vmscale_host_cpus %u\n", a->cfg.host_cpus);
	vms_buf_family(b, "vmscale_hypervisor_overhead_cores", "gauge",
	       "Host CPU time not spent in guests' vCPUs over the last host interval, in cores "
	       "(QEMU's own threads, the kernel, libvirtd, vmscaled...).");
	if (!isnan(a->overhead_cores)) {
		buf_lit(b, "vmscale_hypervisor_overhead_cores");
		value_line(b, a->overhead_cores);
	}
	render_host_series(a, b);
	vms_buf_family(b, "vmscale_domain_startup_seconds", "gauge",
	       "From seeing the domain start to its probe's first hello, at its latest start.");
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		if (!d->present || !d->have_startup)
			continue;
		buf_lit(b, "vmscale_domain_startup_seconds{domain=\"");
		vms_buf_label_value(b, d->name);
		buf_lit(b, "\"}");
		value_line(b, d->startup_s);
	}
	render_capacity(a, st, b);
	vms_buf_family(b, "vmscale_interference_score", "gauge",
	       "For a domain over its warning threshold: correlation of its slowdown with a "
	       "neighbour's host-side use of a resource (cpu, block, network); top 3.");
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		for (unsigned k = 0; d->present && k < d->nsuspects; k++) {
			buf_lit(b, "vmscale_interference_score{victim=\"");
			vms_buf_label_value(b, d->name);
			buf_lit(b, "\",suspect=\"");
			vms_buf_label_value(b, d->suspects[k].name);
			vms_buf_printf(b, "\",resource=\"%s\"}", resource_names[d->suspects[k].resource]);
			value_line(b, d->suspects[k].score);
		}
	}
	vms_buf_family(b, "vmscale_alert", "gauge",
	       "1 for each active degradation alert (slowdown over its threshold for alert-for).");
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_domain *d = a->domains[i];
			if (!d->present || d->probes[p].severity == VMS_AN_OK)
				continue;
			sample_dp(b, "vmscale_alert", d, p);
			vms_buf_printf(b, ",severity=\"%s\"} 1\n", severity_name(d->probes[p].severity));
		}
	vms_buf_family(b, "vmscale_slowdown_threshold_ratio", "gauge",
	       "Alert thresholds per probe: warning, critical and clear (a warning ends below it).");
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const double *t[3] = {a->cfg.warning, a->cfg.critical, a->cfg.clear};
		static const char *const names[3] = {"warning", "critical", "clear"};
		for (unsigned k = 0; k < 3; k++) {
			vms_buf_printf(b, "vmscale_slowdown_threshold_ratio{probe=\"%s\",severity=\"%s\"}",
				       probe_defs[p].name, names[k]);
			value_line(b, t[k][p]);
		}
	}
	vms_buf_family(b, "vmscale_analysis_domains_tracked", "gauge",
	       "Domains with analysis state: running, or stopped within the retention time.");
	vms_buf_printf(b, "vmscale_analysis_domains_tracked %zu\n", a->ndomains);
	vms_buf_family(b, "vmscale_analysis_state_saves_total", "counter",
	       "Writes of the analysis state file by result.");
	vms_buf_printf(b, "vmscale_analysis_state_saves_total{result=\"ok\"} %llu\n",
		       (unsigned long long)a->saves_ok);
	vms_buf_printf(b, "vmscale_analysis_state_saves_total{result=\"error\"} %llu\n",
		       (unsigned long long)a->saves_failed);
	vms_buf_family(b, "vmscale_analysis_state_last_save_timestamp_seconds", "gauge",
	       "When the analysis state was last written (Unix time); 0 before the first write.");
	buf_lit(b, "vmscale_analysis_state_last_save_timestamp_seconds");
	buf_lit(b, " "); /* a timestamp: every digit counts */
	vms_buf_double(b, a->last_save_unix);
	buf_lit(b, "\n");
	vms_buf_family(b, "vmscale_analysis_state_loaded", "gauge",
	       "How the analysis state was found at start: loaded, absent or unusable (moved aside).");
	if (a->load_result != -2)
		vms_buf_printf(b, "vmscale_analysis_state_loaded{result=\"%s\"} 1\n",
			       a->load_result == 0 ? "loaded" : a->load_result == 1 ? "absent"
										: "unusable");
}

/* ---------------------------------------------------------------- persistence */

/*
 * The payload, version 1: text, one record per line, fields separated by one space; strings
 * percent-encoded (bytes <= 0x20, >= 0x7f and '%'); doubles as %.17g; a variance of 0 when
 * n < 2. Lines after a "domain" line belong to that domain until the next one.
 *
 *   domain KEY LAST_SEEN_UNIX VCPUS MEM_KIB PROBE_VERSION|- NAME
 *   baseline PROBE PINNED(0|1) VALUE N_UP
 *   bucket PROBE N_UP COUNT MEAN VARIANCE K V1 .. VK        (K recent values, oldest first)
 *   overhead PROBE idle|busy COUNT MEAN VARIANCE
 *   startup SECONDS
 *   host METRIC N_UP COUNT MEAN VARIANCE
 *   end DOMAINS
 *
 * The "end" line proves the payload is whole. Any unknown record or bad field rejects the
 * file: state is either what was saved or nothing.
 */

static void
put_escaped(struct vms_buf *b, const char *s)
{
	if (!*s || strcmp(s, "-") == 0) { /* "-" alone stands for the empty string */
		vms_buf_append(b, *s ? "%2D" : "-", *s ? 3 : 1);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || c == '%')
			vms_buf_printf(b, "%%%02X", c);
		else
			vms_buf_append(b, s, 1);
	}
}

static void
put_double(struct vms_buf *b, double v)
{
	vms_buf_printf(b, " %.17g", v);
}

static double
welford_var0(const struct vms_welford *w)
{
	return w->n >= 2 ? vms_welford_variance(w) : 0;
}

void
vms_analysis_serialize(const struct vms_analysis *a, struct vms_buf *b)
{
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *d = a->domains[i];
		vms_buf_printf(b, "domain ");
		put_escaped(b, d->key);
		put_double(b, d->last_seen_unix);
		vms_buf_printf(b, " %u %llu ", d->sig_vcpus, (unsigned long long)d->sig_mem_kib);
		put_escaped(b, d->sig_probe);
		buf_lit(b, " ");
		put_escaped(b, d->name);
		buf_lit(b, "\n");
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			const struct an_probe *pr = &d->probes[p];
			if (pr->have_baseline) {
				vms_buf_printf(b, "baseline %s %d", probe_defs[p].name, pr->pinned);
				put_double(b, pr->baseline);
				vms_buf_printf(b, " %u\n", pr->baseline_n_up);
			}
			for (unsigned k = 0; k < pr->nbuckets; k++) {
				const struct an_bucket *bk = &pr->buckets[k];
				vms_buf_printf(b, "bucket %s %u %llu", probe_defs[p].name, bk->n_up,
					       (unsigned long long)bk->w.n);
				put_double(b, bk->w.mean);
				put_double(b, welford_var0(&bk->w));
				vms_buf_printf(b, " %u", bk->nrecent);
				for (unsigned j = 0; j < bk->nrecent; j++) {
					unsigned at = (bk->head + VMS_AN_BUCKET_WINDOW - bk->nrecent + j) %
						      VMS_AN_BUCKET_WINDOW;
					vms_buf_printf(b, " %.9g", bk->recent[at]); /* plenty for a median */
				}
				buf_lit(b, "\n");
			}
			for (unsigned s = 0; s < 2; s++) {
				if (!pr->overhead[s].n)
					continue;
				vms_buf_printf(b, "overhead %s %s %llu", probe_defs[p].name,
					       s ? "busy" : "idle", (unsigned long long)pr->overhead[s].n);
				put_double(b, pr->overhead[s].mean);
				put_double(b, welford_var0(&pr->overhead[s]));
				buf_lit(b, "\n");
			}
		}
		if (d->have_startup) {
			vms_buf_printf(b, "startup");
			put_double(b, d->startup_s);
			buf_lit(b, "\n");
		}
	}
	for (unsigned m = 0; m < AN_HOST_COUNT; m++)
		for (unsigned i = 0; i < a->host[m].n; i++) {
			const struct an_host_bucket *hb = &a->host[m].b[i];
			vms_buf_printf(b, "host %s %u %llu", host_metric_names[m], hb->n_up,
				       (unsigned long long)hb->w.n);
			put_double(b, hb->w.mean);
			put_double(b, welford_var0(&hb->w));
			buf_lit(b, "\n");
		}
	vms_buf_printf(b, "end %zu\n", a->ndomains);
}

#define AN_MAX_FIELDS (8 + VMS_AN_BUCKET_WINDOW)

/* Decodes a percent-encoded field in place; "-" is the empty string. */
static bool
unescape(char *s)
{
	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return true;
	}
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		unsigned v;
		if (!r[1] || !r[2] || sscanf(r + 1, "%2x", &v) != 1 || v == 0)
			return false;
		*w++ = (char)v;
		r += 2;
	}
	*w = '\0';
	return true;
}

static bool
parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return false;
	*v = x;
	return true;
}

static bool
parse_double(const char *s, double *v)
{
	errno = 0;
	char *end;
	*v = strtod(s, &end);
	return !errno && end != s && !*end && isfinite(*v);
}

static bool
parse_welford(char **f, struct vms_welford *w)
{
	uint64_t n;
	double mean, var;
	return parse_u64(f[0], UINT64_MAX / 2, &n) && parse_double(f[1], &mean) &&
	       parse_double(f[2], &var) && vms_welford_restore(w, n, mean, n >= 2 ? var : 0);
}

int
vms_analysis_deserialize(struct vms_analysis *a, const char *payload, size_t len, char *err,
			 size_t errsz)
{
	struct vms_analysis *fresh = vms_analysis_new(&a->cfg);
	char *text = vms_xcalloc(len + 1, 1);
	memcpy(text, payload, len);
	struct an_domain *cur = NULL;
	unsigned line = 0;
	bool ended = false;
	int rc = -1;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		if (ended) {
			snprintf(err, errsz, "line %u: data after the end record", line);
			goto cleanup;
		}
		char *f[AN_MAX_FIELDS + 1] = {NULL}, *s2 = NULL;
		unsigned nf = 0;
		for (char *t = strtok_r(l, " ", &s2); t; t = strtok_r(NULL, " ", &s2)) {
			if (nf == AN_MAX_FIELDS) {
				snprintf(err, errsz, "line %u: too many fields", line);
				goto cleanup;
			}
			f[nf++] = t;
		}
		if (nf == 0)
			goto bad;
		int p = nf > 1 ? vms_an_probe_from_name(f[1]) : -1;
		uint64_t u, u2;
		if (strcmp(f[0], "domain") == 0 && nf == 7) {
			double seen;
			if (!unescape(f[1]) || strlen(f[1]) > VMS_DOMAIN_KEY_LEN || !*f[1] ||
			    find_domain(fresh, f[1]) || !parse_double(f[2], &seen) ||
			    !parse_u64(f[3], VMS_MAX_VCPUS, &u) || !parse_u64(f[4], UINT64_MAX, &u2) ||
			    !unescape(f[5]) || strlen(f[5]) >= sizeof(cur->sig_probe) ||
			    !unescape(f[6]) || !*f[6])
				goto bad;
			if (!(cur = add_domain(fresh, f[1], f[6]))) {
				snprintf(err, errsz, "more than %u domains", AN_MAX_DOMAINS);
				goto cleanup;
			}
			cur->last_seen_unix = seen;
			cur->sig_vcpus = (unsigned)u;
			cur->sig_mem_kib = u2;
			snprintf(cur->sig_probe, sizeof(cur->sig_probe), "%s", f[5]);
		} else if (strcmp(f[0], "baseline") == 0 && nf == 5 && cur && p >= 0) {
			struct an_probe *pr = &cur->probes[p];
			double v;
			if (pr->have_baseline || !parse_u64(f[2], 1, &u) || !parse_double(f[3], &v) ||
			    !(v > 0) || !parse_u64(f[4], UINT32_MAX, &u2) || u2 == 0)
				goto bad;
			pr->have_baseline = true;
			pr->pinned = u;
			pr->baseline = v;
			pr->baseline_n_up = (uint32_t)u2;
		} else if (strcmp(f[0], "bucket") == 0 && nf >= 7 && cur && p >= 0) {
			struct an_probe *pr = &cur->probes[p];
			uint64_t k;
			if (!parse_u64(f[2], UINT32_MAX, &u) || u == 0 ||
			    !parse_u64(f[6], VMS_AN_BUCKET_WINDOW, &k) || nf != 7 + k)
				goto bad;
			for (unsigned i = 0; i < pr->nbuckets; i++)
				if (pr->buckets[i].n_up == u)
					goto bad;
			/* Over a cap lowered since the save, get_bucket evicts the least recent,
			 * never the baseline's (its record comes first). */
			struct an_bucket *bk = get_bucket(fresh, pr, (uint32_t)u);
			if (!parse_welford(&f[3], &bk->w) || bk->w.n < k)
				goto bad;
			for (unsigned j = 0; j < k; j++)
				if (!parse_double(f[7 + j], &bk->recent[j]) || !(bk->recent[j] > 0))
					goto bad;
			bk->nrecent = (unsigned)k;
			bk->head = (unsigned)(k % VMS_AN_BUCKET_WINDOW);
			bk->last_use = ++fresh->feed_seq;
		} else if (strcmp(f[0], "overhead") == 0 && nf == 6 && cur && p >= 0) {
			int s = strcmp(f[2], "busy") == 0 ? 1 : strcmp(f[2], "idle") == 0 ? 0 : -1;
			if (s < 0 || cur->probes[p].overhead[s].n ||
			    !parse_welford(&f[3], &cur->probes[p].overhead[s]))
				goto bad;
		} else if (strcmp(f[0], "startup") == 0 && nf == 2 && cur) {
			if (!parse_double(f[1], &cur->startup_s) || cur->startup_s < 0)
				goto bad;
			cur->have_startup = true;
		} else if (strcmp(f[0], "host") == 0 && nf == 6) {
			unsigned m = 0;
			while (m < AN_HOST_COUNT && strcmp(host_metric_names[m], f[1]) != 0)
				m++;
			struct an_host_series *hs = m < AN_HOST_COUNT ? &fresh->host[m] : NULL;
			if (!hs || hs->n == VMS_AN_MAX_BUCKETS || !parse_u64(f[2], UINT32_MAX, &u) ||
			    u == 0)
				goto bad;
			for (unsigned i = 0; i < hs->n; i++)
				if (hs->b[i].n_up == u)
					goto bad;
			hs->b[hs->n].n_up = (uint32_t)u;
			if (!parse_welford(&f[3], &hs->b[hs->n].w))
				goto bad;
			hs->n++;
		} else if (strcmp(f[0], "end") == 0 && nf == 2) {
			if (!parse_u64(f[1], AN_MAX_DOMAINS, &u) || u != fresh->ndomains) {
				snprintf(err, errsz, "line %u: the end record counts %s domains, the file has %zu",
					 line, f[1], fresh->ndomains);
				goto cleanup;
			}
			ended = true;
		} else {
			goto bad;
		}
		continue;
bad:
		snprintf(err, errsz, "line %u: malformed '%.20s' record", line, f[0] ? f[0] : "");
		goto cleanup;
	}
	if (!ended) {
		snprintf(err, errsz, "no end record: the state is incomplete");
		goto cleanup;
	}
	/* Success: take the fresh state over (the configuration stays a's). */
	for (size_t i = 0; i < fresh->ndomains; i++)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
			choose_baseline(fresh, &fresh->domains[i]->probes[p]);
	for (size_t i = 0; i < a->ndomains; i++)
		free_domain(a->domains[i]);
	free(a->domains);
	vms_keyindex_fini(&a->index);
	a->domains = fresh->domains;
	a->ndomains = fresh->ndomains;
	a->cap = fresh->cap;
	a->index = fresh->index;
	a->feed_seq = fresh->feed_seq;
	memcpy(a->host, fresh->host, sizeof(a->host));
	fresh->domains = NULL;
	fresh->ndomains = 0;
	vms_keyindex_init(&fresh->index, fresh->index.key_offset);
	rc = 0;
cleanup:
	free(text);
	vms_analysis_free(fresh);
	return rc;
}

int
vms_analysis_save(struct vms_analysis *a, const char *path, double now_unix, char *err,
		  size_t errsz)
{
	struct vms_buf b;
	vms_buf_init(&b);
	vms_analysis_serialize(a, &b);
	int rc = vms_statefile_write(path, AN_STATE_KIND, AN_STATE_VERSION, b.data, b.len, err, errsz);
	vms_buf_free(&b);
	if (rc == 0) {
		a->saves_ok++;
		a->last_save_unix = now_unix;
		vms_complain_recovered(&a->save_complaint, NULL, "analysis state saved to %s again", path);
	} else {
		a->saves_failed++;
		vms_complain(&a->save_complaint, LOG_ERR, NULL, "%s", err);
	}
	return rc;
}

int
vms_analysis_load(struct vms_analysis *a, const char *path)
{
	char err[256] = "", bad[4096];
	char *payload = NULL;
	size_t len = 0;
	unsigned version = 0;
	vms_statefile_clean_temps(path);
	int rc = vms_statefile_read(path, AN_STATE_KIND, AN_STATE_VERSION, VMS_STATEFILE_MAX_LEN,
				    &payload, &len, &version, err, sizeof(err));
	if (rc == 0 && vms_analysis_deserialize(a, payload, len, err, sizeof(err)) < 0)
		rc = -1;
	free(payload);
	if (rc < 0) {
		if (vms_statefile_quarantine(path, bad, sizeof(bad)) == 0)
			vms_err("analysis state %s is unusable (%s): moved it to %s and starting fresh",
				path, err, bad);
		else
			vms_err("analysis state %s is unusable (%s) and cannot be moved aside (%s): "
				"starting fresh; the next save replaces it",
				path, err, strerror(errno));
	} else if (rc == 0) {
		size_t baselines = 0;
		for (size_t i = 0; i < a->ndomains; i++)
			for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
				baselines += a->domains[i]->probes[p].have_baseline;
		vms_info("analysis state loaded from %s: %zu domains, %zu baselines", path,
			 a->ndomains, baselines);
	}
	a->load_result = rc;
	return rc;
}

/* ---------------------------------------------------------------- control */

static bool
domain_matches(const struct an_domain *d, const char *who)
{
	size_t n = strlen(who);
	return strcmp(d->name, who) == 0 || strcmp(d->key, who) == 0 ||
	       (n == VMS_UUID_LEN && strncmp(d->key, who, n) == 0 &&
		(d->key[n] == '\0' || d->key[n] == '@'));
}

static void
list_probe(struct vms_buf *out, const struct an_domain *d, unsigned p)
{
	const struct an_probe *pr = &d->probes[p];
	uint64_t samples = 0;
	for (unsigned k = 0; k < pr->nbuckets; k++)
		samples += pr->buckets[k].w.n;
	vms_buf_printf(out, "%s %s ", d->name, probe_defs[p].name);
	if (pr->have_baseline)
		vms_buf_printf(out, "baseline=%.9g n_up=%u pinned=%s", pr->baseline, pr->baseline_n_up,
			       pr->pinned ? "yes" : "no");
	else
		vms_buf_printf(out, "baseline=none");
	if (isfinite(pr->slowdown))
		vms_buf_printf(out, " slowdown=%.3f", pr->slowdown);
	vms_buf_printf(out, " samples=%llu alert=%s%s\n", (unsigned long long)samples,
		       severity_name(pr->severity), d->present ? "" : " (not running)");
}

int
vms_analysis_control(void *opaque, int argc, char **argv, struct vms_buf *out, char *err,
		     size_t errsz)
{
	struct vms_analysis *a = opaque;
	if (argc >= 1 && strcmp(argv[0], "status") == 0 && argc == 1) {
		size_t present = 0, baselines = 0, alerts = 0, pinned = 0;
		for (size_t i = 0; i < a->ndomains; i++) {
			present += a->domains[i]->present;
			for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
				baselines += a->domains[i]->probes[p].have_baseline;
				pinned += a->domains[i]->probes[p].pinned;
				alerts += a->domains[i]->probes[p].severity != VMS_AN_OK;
			}
		}
		vms_buf_printf(out, "domains tracked %zu (running %zu)\nbaselines %zu (pinned %zu)\n"
				    "alerts active %zu\nstate saves ok %llu, failed %llu\n",
			       a->ndomains, present, baselines, pinned, alerts,
			       (unsigned long long)a->saves_ok, (unsigned long long)a->saves_failed);
		return 0;
	}
	if (argc < 2 || strcmp(argv[0], "baseline") != 0) {
		snprintf(err, errsz, "unknown command (status, baseline list|pin|unpin|reset)");
		return -1;
	}
	const char *verb = argv[1];
	bool list = strcmp(verb, "list") == 0;
	if (!list && strcmp(verb, "pin") && strcmp(verb, "unpin") && strcmp(verb, "reset")) {
		snprintf(err, errsz, "unknown baseline command '%.40s' (list, pin, unpin, reset)", verb);
		return -1;
	}
	if ((list && argc > 3) || (!list && (argc < 3 || argc > 4))) {
		snprintf(err, errsz, list ? "usage: baseline list [DOMAIN]"
					  : "usage: baseline %s DOMAIN [PROBE]", verb);
		return -1;
	}
	const char *who = argc >= 3 ? argv[2] : NULL;
	int probe = -1;
	if (!list && argc == 4 && (probe = vms_an_probe_from_name(argv[3])) < 0) {
		snprintf(err, errsz, "unknown probe '%.40s'", argv[3]);
		return -1;
	}
	size_t matched = 0, changed = 0;
	for (size_t i = 0; i < a->ndomains; i++) {
		struct an_domain *d = a->domains[i];
		if (who && !domain_matches(d, who))
			continue;
		matched++;
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &d->probes[p];
			if (probe >= 0 && (unsigned)probe != p)
				continue;
			if (list) {
				if (pr->have_baseline || pr->nbuckets)
					list_probe(out, d, p);
			} else if (strcmp(verb, "pin") == 0) {
				if (!pr->have_baseline) {
					if (probe >= 0) {
						snprintf(err, errsz, "%s has no %s baseline yet", d->name,
							 probe_defs[p].name);
						return -1;
					}
					continue;
				}
				pr->pinned = true;
				changed++;
				vms_buf_printf(out, "pinned %s %s at %.9g (N_up %u)\n", d->name,
					       probe_defs[p].name, pr->baseline, pr->baseline_n_up);
			} else if (strcmp(verb, "unpin") == 0) {
				if (!pr->pinned)
					continue;
				pr->pinned = false;
				choose_baseline(a, pr);
				changed++;
				vms_buf_printf(out, "unpinned %s %s\n", d->name, probe_defs[p].name);
			} else {
				if (!pr->have_baseline && !pr->nbuckets)
					continue;
				if (pr->severity != VMS_AN_OK)
					log_transition(d, p, pr->severity, VMS_AN_OK, pr->slowdown, 0,
						       "baseline reset by an operator");
				reset_probe(pr);
				changed++;
				vms_buf_printf(out, "reset %s %s\n", d->name, probe_defs[p].name);
			}
		}
	}
	if (who && !matched) {
		snprintf(err, errsz, "no domain '%.60s' (name or UUID)", who);
		return -1;
	}
	if (!list) {
		if (!changed) {
			snprintf(err, errsz, "nothing to %s", verb);
			return -1;
		}
		vms_log(LOG_NOTICE, who, "control: baseline %s%s%s: %zu probe(s)", verb,
			probe >= 0 ? " " : "", probe >= 0 ? probe_defs[probe].name : "", changed);
	}
	return 0;
}

/* ---------------------------------------------------------------- views for the landing page */

unsigned
vms_analysis_domain_curve(const struct vms_analysis *a, const char *key, enum vms_an_probe p,
			  struct vms_an_point *pts, unsigned max)
{
	const struct an_domain *d = find_domain(a, key);
	if (!d || (unsigned)p >= VMS_AN_PROBE_COUNT || !d->probes[p].have_baseline)
		return 0;
	const struct an_probe *pr = &d->probes[p];
	unsigned n = 0;
	for (unsigned i = 0; i < pr->nbuckets && n < max; i++) {
		double s = oriented(p, pr->baseline, pr->buckets[i].w.mean);
		if (!isfinite(s))
			continue;
		/* Insertion by N_up: a handful of buckets. */
		unsigned at = n++;
		while (at > 0 && pts[at - 1].n_up > pr->buckets[i].n_up) {
			pts[at] = pts[at - 1];
			at--;
		}
		pts[at] = (struct vms_an_point){pr->buckets[i].n_up, s, pr->buckets[i].w.n};
	}
	return n;
}

double
vms_analysis_threshold(const struct vms_analysis *a, enum vms_an_probe p, enum vms_an_severity s)
{
	if ((unsigned)p >= VMS_AN_PROBE_COUNT)
		return NAN;
	return s == VMS_AN_CRITICAL ? a->cfg.critical[p] : s == VMS_AN_WARNING ? a->cfg.warning[p] : NAN;
}
