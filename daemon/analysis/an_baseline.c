/* N_up buckets, baselines and what their means say: linearity, seed 001's CPU model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"

void
an_probe_init(struct an_probe *p)
{
	memset(p, 0, sizeof(*p));
	p->slowdown = NAN;
}

/* What an_probe_init makes, for every domain that has no probe state of its own. */
#define BLANK                                                                                      \
	{                                                                                          \
		.slowdown = NAN                                                                    \
	}
const struct an_probe an_blank_probes[VMS_AN_PROBE_COUNT] = {
    BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK,
};
_Static_assert(VMS_AN_PROBE_COUNT == 13, "one BLANK per probe in an_blank_probes");

struct an_probe *
an_probes_mut(struct an_domain *d)
{
	if (!d->own_probes) {
		d->own_probes = vms_xcalloc(VMS_AN_PROBE_COUNT, sizeof(*d->own_probes));
		for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++)
			an_probe_init(&d->own_probes[p]);
		d->probes = d->own_probes;
	}
	return d->own_probes;
}

/* Drops the least recently fed buckets beyond the cap, never the baseline's own (with a cap of
 * at least 1 there is always another bucket to drop: N_up levels are distinct). */
void
an_trim_buckets(struct an_probe *p, unsigned cap)
{
	while (p->nbuckets > cap) {
		unsigned victim = p->nbuckets;
		for (unsigned i = 0; i < p->nbuckets; i++) {
			if (p->have_baseline && p->buckets[i].n_up == p->baseline_n_up && cap > 0)
				continue;
			if (victim == p->nbuckets ||
			    p->buckets[i].last_use < p->buckets[victim].last_use)
				victim = i;
		}
		p->buckets[victim] = p->buckets[--p->nbuckets];
	}
}

double
an_bucket_central(const struct an_bucket *b)
{
	double v[VMS_AN_BUCKET_WINDOW];
	memcpy(v, b->recent, b->nrecent * sizeof(double));
	return vms_median(v, b->nrecent);
}

struct an_bucket *
an_get_bucket(struct vms_analysis *a, struct an_probe *p, uint32_t n_up)
{
	for (unsigned i = 0; i < p->nbuckets; i++)
		if (p->buckets[i].n_up == n_up)
			return &p->buckets[i];
	if (!p->buckets)
		p->buckets = vms_xcalloc(a->cfg.max_buckets, sizeof(*p->buckets));
	if (p->nbuckets == a->cfg.max_buckets)
		an_trim_buckets(p, a->cfg.max_buckets - 1);
	struct an_bucket *b = &p->buckets[p->nbuckets++];
	memset(b, 0, sizeof(*b));
	b->n_up = n_up;
	return b;
}

/* The baseline: the central value of the lowest N_up with enough samples (unless pinned). */
void
an_choose_baseline(const struct vms_analysis *a, struct an_probe *p)
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
	double c = an_bucket_central(best);
	if (!(c > 0) || !isfinite(c))
		return;
	p->have_baseline = true;
	p->baseline = c;
	p->baseline_n_up = best->n_up;
}

/* Fewer recent samples than this give no spread: a MAD of two values says little. */
#define AN_SPREAD_MIN 5

void
an_baseline_spread(struct an_probe *p)
{
	p->spread_valid = true;
	p->have_spread = false;
	p->baseline_cv = NAN;
	for (unsigned i = 0; p->have_baseline && i < p->nbuckets; i++) {
		const struct an_bucket *b = &p->buckets[i];
		if (b->n_up != p->baseline_n_up)
			continue;
		double v[VMS_AN_BUCKET_WINDOW];
		memcpy(v, b->recent, b->nrecent * sizeof(double));
		double m = vms_median(v, b->nrecent);
		p->have_spread = true;
		p->baseline_samples = b->w.n;
		/* Robust: 1.4826 MAD estimates the standard deviation, and one odd sample among
		 * sixteen does not move it. */
		if (b->nrecent >= AN_SPREAD_MIN && m > 0)
			p->baseline_cv = 1.4826 * vms_mad(v, b->nrecent, m) / m;
		return;
	}
}

void
an_reset_probe(struct an_probe *p)
{
	uint64_t outliers = p->outliers; /* a counter never goes back */
	free(p->buckets);
	an_probe_init(p);
	p->outliers = outliers;
}

/*
 * Outliers. One sample must not move a bucket's statistics, the baseline or the slowdown by
 * itself; a sustained change must. The baseline and the slowdown are medians already (of the
 * bucket's last 16 samples, of the window), but the bucket means, the overheads and a
 * slowdown window holding one or two samples (after a restart, with a slow probe cadence) are
 * not. So a sample is judged against its bucket first: median and MAD rather than a trimmed
 * mean, because the median and the MAD ignore up to half the values however wild, need no
 * choice of how much to trim, and are what the bucket's ring already supports. In logarithms,
 * as the probes' values are rates and latencies, wrong by factors: 100x and 0.01x are equally
 * far. A sample is an outlier when its distance from the median exceeds both a factor of 10
 * (so that no real degradation, which the alerts see at 1.5x and 2x, is ever held back, and a
 * constant series whose MAD is 0 still takes ordinary changes) and 5 robust standard
 * deviations (1.4826 MAD: a noisy probe gets a wider gate). A bucket judges once it holds
 * 5 samples. The third far sample in a row on the same side is a change, not an outlier, and
 * is taken with the ones after it: a sustained shift moves everything as before, two samples
 * late (those two count as outliers).
 */
#define AN_MIN_VALUE 1e-30 /* values an_feed takes at all */
#define AN_MAX_VALUE 1e30
#define AN_GATE_MIN 5     /* samples a bucket needs to judge one */
#define AN_GATE_FACTOR 10 /* never an outlier within this factor of the median */
#define AN_GATE_MADS 5    /* ... nor within this many robust standard deviations */
#define AN_GATE_CONFIRM 3 /* far samples in a row on one side: a change */

/* 1 when v is an outlier above the bucket's median, -1 below, 0 when it is not one. */
static int
outlier_side(const struct an_bucket *b, double v)
{
	if (b->nrecent < AN_GATE_MIN)
		return 0;
	double l[VMS_AN_BUCKET_WINDOW];
	for (unsigned i = 0; i < b->nrecent; i++)
		l[i] = log(b->recent[i]);
	double m = vms_median(l, b->nrecent);
	double limit = fmax(log(AN_GATE_FACTOR), AN_GATE_MADS * 1.4826 * vms_mad(l, b->nrecent, m));
	double d = log(v) - m;
	return d > limit ? 1 : d < -limit ? -1 : 0;
}

/* Whether a sample is let in; a far one only as the AN_GATE_CONFIRM'th in a row on its side. */
static bool
gate_admits(struct an_bucket *b, double v)
{
	int side = outlier_side(b, v);
	if (!side) {
		b->outlier_run = 0;
		return true;
	}
	if (b->outlier_run * side < 0)
		b->outlier_run = 0;
	if (b->outlier_run * side < AN_GATE_CONFIRM)
		b->outlier_run += side;
	return b->outlier_run * side >= AN_GATE_CONFIRM;
}

void
an_feed(struct vms_analysis *a, struct an_probe *p, unsigned probe, double v, uint64_t at_ns,
        uint32_t n_up, bool neighbours_busy)
{
	/* Beyond any probe's range, and kept where a variance (squares, times the count) and a
	 * ratio of two values stay finite: an infinite variance cannot be saved. */
	if (!(v >= AN_MIN_VALUE && v <= AN_MAX_VALUE))
		return;
	struct an_bucket *b = an_get_bucket(a, p, n_up);
	if (!gate_admits(b, v)) {
		p->outliers++;
		return;
	}
	b->last_use = ++a->feed_seq;
	vms_welford_add(&b->w, v);
	b->recent[b->head] = v;
	b->head = (b->head + 1) % VMS_AN_BUCKET_WINDOW;
	if (b->nrecent < VMS_AN_BUCKET_WINDOW)
		b->nrecent++;
	vms_window_add(&p->recent, at_ns, v);
	an_choose_baseline(a, p);
	p->spread_valid = false;
	/* Seed 000's O_vn: the cost of n VMs up, with them idle or working. */
	if (p->have_baseline && n_up >= 2) {
		double s = an_oriented(probe, p->baseline, v);
		if (isfinite(s))
			vms_welford_add(&p->overhead[neighbours_busy], s - 1);
	}
}

/* The bucket means against N_up, over buckets with enough samples. */
int
an_probe_linearity(const struct vms_analysis *a, const struct an_probe *p, struct vms_fit *f)
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
bool
an_cpu_model_error(const struct vms_analysis *a, const struct an_domain *d, double *rms)
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
		double measured = an_oriented(VMS_AN_CPU_WORK, base->w.mean, bk->w.mean);
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

/* Resets the baselines when the domain now runs with other vCPUs, memory or probe: true then. */
bool
an_check_signature(struct an_domain *ad, const struct vms_domain *d)
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
	else if (*probe && *ad->sig_probe &&
	         strncmp(probe, ad->sig_probe, sizeof(ad->sig_probe) - 1))
		snprintf(why, sizeof(why), "probe version %s -> %.40s", ad->sig_probe, probe);
	if (*why) {
		vms_log(LOG_NOTICE, ad->name, "baselines reset: %s", why);
		for (unsigned p = 0; ad->own_probes && p < VMS_AN_PROBE_COUNT; p++) {
			struct an_probe *pr = &ad->own_probes[p];
			if (pr->severity != VMS_AN_OK)
				an_log_transition(ad, p, pr->severity, VMS_AN_OK, pr->slowdown, 0,
				                  "baselines reset");
			an_reset_probe(pr);
		}
	}
	if (vcpus)
		ad->sig_vcpus = vcpus;
	if (mem)
		ad->sig_mem_kib = mem;
	if (*probe)
		snprintf(ad->sig_probe, sizeof(ad->sig_probe), "%.63s", probe);
	return *why != '\0';
}
