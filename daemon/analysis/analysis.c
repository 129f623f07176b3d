/*
 * The degradation analysis (see analysis.h, and an_internal.h for how it is split): the probe
 * table, the domains it tracks and their update from the store, its configuration and the
 * views of the landing page.
 */
#include "daemon/analysis/analysis.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"
#include "daemon/util/keyindex.h"
#include "vmscale/clock.h"

#define AN_STARTUP_GIVE_UP_NS (600 * NS_PER_S) /* no report 10 min after start */

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
    [VMS_AN_NETWORK_TRANSMIT] = {VMS_OP_NET_SEND, "network_transmit"},
    [VMS_AN_NETWORK_RECEIVE] = {VMS_OP_NET_RECV, "network_receive"},
    [VMS_AN_FORK_EXIT] = {VMS_OP_FORK_EXIT, "fork_exit"},
    [VMS_AN_FORK_EXEC] = {VMS_OP_FORK_EXEC, "fork_exec"},
    [VMS_AN_CTXSW] = {VMS_OP_CTXSW, "ctxsw"},
    [VMS_AN_FILE_CREATE_0K] = {VMS_OP_FILE_0K, "file_create_0k"},
    [VMS_AN_FILE_CREATE_10K] = {VMS_OP_FILE_10K, "file_create_10k"},
    [VMS_AN_MEMORY_READ_LATENCY] = {VMS_OP_MEM_LATENCY, "memory_read_latency"},
};

const char *
vms_an_probe_name(enum vms_an_probe p)
{
	return (unsigned)p < VMS_AN_PROBE_COUNT ? probe_defs[p].name : "unknown";
}

/* Names before 1.0 (NEWS.md): still read from configuration, vmscalectl and state files. */
static const struct {
	const char *name;
	enum vms_an_probe probe;
} probe_aliases[] = {
    {"network_send", VMS_AN_NETWORK_TRANSMIT},
    {"mem_read_latency", VMS_AN_MEMORY_READ_LATENCY},
};

int
vms_an_probe_from_name(const char *name)
{
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
		if (strcmp(probe_defs[p].name, name) == 0)
			return (int)p;
	for (unsigned k = 0; k < sizeof(probe_aliases) / sizeof(probe_aliases[0]); k++)
		if (strcmp(probe_aliases[k].name, name) == 0)
			return (int)probe_aliases[k].probe;
	return -1;
}

enum vms_an_unit
vms_an_probe_unit(enum vms_an_probe p)
{
	switch (vms_op_kind(probe_defs[(unsigned)p < VMS_AN_PROBE_COUNT ? p : 0].op)) {
	case VMS_KIND_THROUGHPUT:
		return VMS_AN_UNIT_THROUGHPUT;
	case VMS_KIND_LATENCY:
		return VMS_AN_UNIT_LATENCY;
	default:
		return VMS_AN_UNIT_WORK_RATE;
	}
}

const char *
vms_an_unit_suffix(enum vms_an_unit u)
{
	static const char *const suffixes[VMS_AN_UNIT_COUNT] = {"work_units_per_second",
	                                                        "bytes_per_second", "seconds"};
	return (unsigned)u < VMS_AN_UNIT_COUNT ? suffixes[u] : "invalid";
}

/* Rates and throughputs: more is better. Latencies: less is better. */
static bool
higher_is_better(unsigned p)
{
	return vms_op_kind(probe_defs[p].op) != VMS_KIND_LATENCY;
}

/* Slowdown of a value against its baseline, oriented so that > 1 is always worse. */
double
an_oriented(unsigned p, double baseline, double value)
{
	if (!(baseline > 0) || !(value > 0) || !isfinite(baseline) || !isfinite(value))
		return NAN;
	return higher_is_better(p) ? baseline / value : value / baseline;
}

/* The latest trusted value of probe p in the store; the network at its largest block. */
const struct vms_probe_value *
an_probe_value(const struct vms_probe_state *ps, unsigned p)
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

/* ---------------------------------------------------------------- domains and configuration */

void
vms_analysis_config_defaults(struct vms_analysis_config *c)
{
	memset(c, 0, sizeof(*c));
	/* Two cpu_work periods: with slowdown-min-samples 3 the median turns at the second slow
	 * sample, and alert-for (one period) has then passed since the first (issue 15). */
	c->window_ns = 120 * NS_PER_S;
	c->window_min = 3;
	c->min_samples = 5;
	c->max_buckets = 8;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		c->warning[p] = 1.5;
		c->critical[p] = 2.0;
		c->clear[p] = 1.2;
	}
	c->alert_for_ns = 60 * NS_PER_S;
	c->capacity_min_r2 = 0.8;
	c->capacity_min_levels = 3;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	c->host_cpus = n > 0 ? (unsigned)n : 1;
	c->retention_s = 30ull * 86400;
	c->interval_ns = 5 * NS_PER_S;
}

struct an_domain *
an_find_domain(const struct vms_analysis *a, const char *key)
{
	return vms_keyindex_find(&a->index, key);
}

struct an_domain *
an_add_domain(struct vms_analysis *a, const char *key, const char *name)
{
	if (a->ndomains >= AN_MAX_DOMAINS)
		return NULL;
	struct an_domain *d = vms_xcalloc(1, sizeof(*d));
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->name = vms_xstrdup(name ? name : key);
	d->probes = an_blank_probes;
	if (a->ndomains == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->domains = vms_xrealloc(a->domains, a->cap, sizeof(*a->domains));
	}
	a->domains[a->ndomains++] = d;
	vms_keyindex_add(&a->index, d);
	return d;
}

void
an_free_domain(struct an_domain *d)
{
	if (!d)
		return;
	if (d->own_probes)
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
			free(d->own_probes[p].buckets);
	free(d->own_probes);
	an_clear_suspects(d);
	an_free_resources(d);
	free(d->name);
	free(d);
}

void
an_remove_domain_at(struct vms_analysis *a, size_t i)
{
	vms_keyindex_remove(&a->index, a->domains[i]);
	an_free_domain(a->domains[i]);
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
	a->update_pending = true;
	return a;
}

void
vms_analysis_free(struct vms_analysis *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->ndomains; i++)
		an_free_domain(a->domains[i]);
	free(a->domains);
	vms_keyindex_fini(&a->index);
	free(a);
}

void
vms_analysis_set_config(struct vms_analysis *a, const struct vms_analysis_config *cfg)
{
	an_changed_pending(a); /* thresholds, host CPUs; alerts judged again */
	bool fewer = cfg->max_buckets < a->cfg.max_buckets;
	unsigned old_cap = a->cfg.max_buckets;
	a->cfg = *cfg;
	for (size_t i = 0; i < a->ndomains; i++)
		for (unsigned p = 0; a->domains[i]->own_probes && p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &a->domains[i]->own_probes[p];
			if (!pr->buckets)
				continue;
			if (fewer)
				an_trim_buckets(pr, cfg->max_buckets);
			if (cfg->max_buckets != old_cap)
				pr->buckets = vms_xrealloc(pr->buckets, cfg->max_buckets,
				                           sizeof(*pr->buckets));
		}
}

/* ---------------------------------------------------------------- update */

/* A start seen live (not a domain that already ran when we started), and the startup time:
 * from then to the probe's first hello. */
static void
track_startup(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d, bool is_new,
              uint64_t now_ns, size_t n_up)
{
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
			an_host_feed(&a->host[AN_HOST_STARTUP], ad->start_n_up, ad->startup_s);
			an_changed(a);
		} else if (now_ns - ad->start_ns > AN_STARTUP_GIVE_UP_NS) {
			ad->awaiting_report = false;
		} else {
			an_due_at(a, ad->start_ns + AN_STARTUP_GIVE_UP_NS + 1);
		}
	}
}

/* A domain running now: found or added, then its statistics and probe values fed in. */
static void
update_domain(struct vms_analysis *a, const struct vms_store *st, const struct vms_domain *d,
              uint64_t now_ns, double now_unix, size_t busy)
{
	size_t n_up = st->ndomains;
	struct an_domain *ad = an_find_domain(a, d->key);
	bool is_new = !ad;
	if (!ad && !(ad = an_add_domain(a, d->key, d->name)))
		return;
	if (strcmp(ad->name, d->name) != 0) {
		free(ad->name);
		ad->name = vms_xstrdup(d->name);
		an_changed(a);
	}
	if (is_new || !ad->was_present)
		an_changed(a); /* its series appear */
	ad->present = true;
	ad->last_seen_unix = now_unix;
	track_startup(a, ad, d, is_new, now_ns, n_up);
	if (an_check_signature(ad, d))
		an_changed(a);
	an_track_resources(a, ad, d, now_ns);
	double u = d->vcpu_utilization;
	bool self_busy = !isnan(u) && u > st->busy_threshold;
	bool neighbours_busy = busy > (size_t)self_busy;
	an_update_probes(a, ad, d, now_ns, n_up, neighbours_busy);
}

/* Stopped domains: their alerts end; their state is kept for retention_s. */
static void
stop_absent(struct vms_analysis *a, uint64_t now_ns, double now_unix, size_t n_up)
{
	for (size_t i = a->ndomains; i-- > 0;) {
		struct an_domain *ad = a->domains[i];
		if (ad->present)
			continue;
		if (ad->was_present)
			an_changed(a); /* its series go */
		if (ad->use.have_prev)
			a->vcpu_acc_valid = false;
		an_forget_resources(ad);
		ad->awaiting_report = false;
		an_clear_suspects(ad);
		an_end_alerts(ad, n_up);
		double away_s = now_unix - ad->last_seen_unix;
		if (away_s > (double)a->cfg.retention_s) {
			an_remove_domain_at(a, i);
			an_changed(a);
		} else {
			/* Wall-clock retention on the monotonic clock: a second late at most. */
			double left_s = (double)a->cfg.retention_s - away_s;
			if (left_s < 1e9) /* else: beyond any uptime */
				an_due_at(a, now_ns + (uint64_t)(left_s * NS_PER_S) + NS_PER_S);
		}
	}
}

void
vms_analysis_update(struct vms_analysis *a, const struct vms_store *st, uint64_t now_ns,
                    double now_unix)
{
	a->next_due_ns = UINT64_MAX;
	a->update_pending = false;
	if (st->ndomains != a->rendered_n_up) {
		a->rendered_n_up = st->ndomains; /* the capacity headroom counts from it */
		an_changed(a);
	}
	size_t busy = vms_store_domains_busy(st);
	a->busy_threshold = st->busy_threshold;
	for (size_t i = 0; i < a->ndomains; i++) {
		a->domains[i]->was_present = a->domains[i]->present;
		a->domains[i]->present = false;
	}
	for (size_t i = 0; i < st->ndomains; i++)
		update_domain(a, st, st->domains[i], now_ns, now_unix, busy);
	an_track_hypervisor(a, st, st->ndomains);
	stop_absent(a, now_ns, now_unix, st->ndomains);
	an_update_suspects(a, now_ns);
	a->updated_once = true;
}

uint64_t
vms_analysis_next_due_ns(const struct vms_analysis *a)
{
	return a->update_pending ? 0 : a->next_due_ns;
}

/* ---------------------------------------------------------------- views */

bool
vms_analysis_domain_view(const struct vms_analysis *a, const char *key,
                         struct vms_an_domain_view *v)
{
	const struct an_domain *d = an_find_domain(a, key);
	memset(v, 0, sizeof(*v));
	v->worst_slowdown = NAN;
	if (!d)
		return false;
	v->probe_state = d->own_probes != NULL;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const struct an_probe *pr = &d->probes[p];
		if (isfinite(pr->slowdown) &&
		    (isnan(v->worst_slowdown) || pr->slowdown > v->worst_slowdown)) {
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

unsigned
vms_analysis_domain_curve(const struct vms_analysis *a, const char *key, enum vms_an_probe p,
                          struct vms_an_point *pts, unsigned max)
{
	const struct an_domain *d = an_find_domain(a, key);
	if (!d || (unsigned)p >= VMS_AN_PROBE_COUNT || !d->probes[p].have_baseline)
		return 0;
	const struct an_probe *pr = &d->probes[p];
	unsigned n = 0;
	for (unsigned i = 0; i < pr->nbuckets && n < max; i++) {
		double s = an_oriented(p, pr->baseline, pr->buckets[i].w.mean);
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
	return s == VMS_AN_CRITICAL  ? a->cfg.critical[p]
	       : s == VMS_AN_WARNING ? a->cfg.warning[p]
	                             : NAN;
}

uint64_t
vms_analysis_generation(const struct vms_analysis *a)
{
	return a->generation;
}
