/* Host-wide series by N_up (hypervisor CPU, M_tool, startup) and the capacity prediction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"
#include "vmscale/clock.h"

const char *const an_host_metric_names[AN_HOST_COUNT] = {"hypervisor_overhead",
                                                         "virtualization_memory", "startup"};
const char *const an_host_metric_units[AN_HOST_COUNT] = {"cpu_seconds_per_second", "bytes",
                                                         "seconds"};
/* Before 1.0 the state file named them with their unit. */
static const char *const legacy_names[AN_HOST_COUNT] = {
    "hypervisor_overhead_cores", "virtualization_memory_bytes", "startup_seconds"};

enum an_host_metric
an_host_metric_from_name(const char *name)
{
	unsigned m = 0;
	while (m < AN_HOST_COUNT && strcmp(an_host_metric_names[m], name) != 0 &&
	       strcmp(legacy_names[m], name) != 0)
		m++;
	return (enum an_host_metric)m;
}

void
an_host_feed(struct an_host_series *s, uint32_t n_up, double v)
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

/* Seed 001: host CPU time not spent in guests' vCPUs, per host sample, by N_up. */
void
an_track_hypervisor(struct vms_analysis *a, const struct vms_store *st, size_t n_up)
{
	const struct vms_host_stats *h = &st->host;
	if (!h->valid || !h->ticks_per_second)
		return;
	uint64_t busy = h->cpu_ticks_user + h->cpu_ticks_nice + h->cpu_ticks_system;
	uint64_t total = busy + h->cpu_ticks_idle + h->cpu_ticks_iowait;
	if (a->have_host_prev && total == a->host_prev_total)
		return; /* no new host sample */
	an_changed(a);  /* the hypervisor overhead and M_tool series take it in */
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
			an_host_feed(&a->host[AN_HOST_OVERHEAD], (uint32_t)n_up, cores);
		}
	}
	uint64_t mtool;
	if (vms_store_virtualization_memory(st, &mtool) >= 0)
		an_host_feed(&a->host[AN_HOST_MTOOL], (uint32_t)n_up, (double)mtool);
	a->have_host_prev = true;
	a->host_prev_busy = busy;
	a->host_prev_total = total;
	a->host_prev_n_up = n_up;
	a->vcpu_acc_ns = 0;
	a->vcpu_acc_valid = true;
}

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
struct an_capacity
an_capacity_of(const struct vms_analysis *a, unsigned probe)
{
	struct an_capacity c = {.reason = AN_CAP_NO_BASELINE, .predicted_max = NAN};
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
			double s = an_oriented(probe, p->baseline, an_bucket_central(bk));
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
		c.reason = AN_CAP_TOO_FEW_LEVELS;
		return c;
	}
	if (!(c.fit.slope > 1e-9)) {
		c.reason = AN_CAP_NO_TREND;
		return c;
	}
	if (!(c.fit.r_squared >= a->cfg.capacity_min_r2)) {
		c.reason = AN_CAP_POOR_FIT;
		return c;
	}
	c.reason = AN_CAP_OK;
	c.predicted_max = (a->cfg.warning[probe] - c.fit.intercept) / c.fit.slope;
	return c;
}
