/*
 * Interference: which neighbours a degraded domain suffers from (CPI²'s antagonists), and
 * what named each. For a victim whose worst probe is over its warning threshold, every
 * neighbour and resource (cpu, block, network) is scored by each evidence that names it, and
 * ranked by the strongest:
 *   onset        it started or turned busy with the resource lacking when the slowdown began:
 *                (1 + share) / 2, so that it outranks neighbours that were busy before;
 *   share        it is busy with the resource the slowed probe needs (CPU: only while the
 *                victim waits for a host CPU, vcpu.N.delay, where the host reports it): its
 *                share of all busy neighbours' use now;
 *   correlation  its use goes with the victim's per-sample slowdown (Pearson's r >= 0.5);
 *   cpi          its use goes with the victim's cycles per instruction (host perf events),
 *                which replaces the slowdown when the host counts both.
 * A neighbour never busy with a resource is not a suspect for it, whatever its correlation:
 * an idle neighbour's noise correlates with anything now and then.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"
#include "vmscale/clock.h"

const char *const an_evidence_names[AN_EV_COUNT] = {"onset", "share", "correlation", "cpi"};

#define AN_MIN_PAIRS 5 /* correlation needs this many paired points */
/* A weaker correlation is noise at 5 to 32 points (r = 0.5 is about the 5 % significance
 * level at 16): not evidence. */
#define AN_MIN_CORRELATION 0.5
/* Block or network use at which a neighbour counts as busy with it (CPU: busy-threshold). */
#define AN_IO_BUSY_BYTES_PER_S (1024.0 * 1024.0)
/* The victim waits for a host CPU at least this share of its vCPU time: CPU is contended. */
#define AN_MIN_DELAY_RATIO 0.01
/* A resource sample this near a probe sample pairs with it (probe samples are sparse). */
#define AN_PAIR_MAX_GAP_NS (30 * NS_PER_S)

void
an_clear_suspects(struct an_domain *d)
{
	for (unsigned i = 0; i < d->nsuspects; i++)
		free(d->suspects[i].name);
	d->nsuspects = 0;
}

/* The resource sample of w nearest to at_ns, if within the pairing gap. Values enter a
 * window in time order, so index i (0 = newest) is in falling time: a binary search. */
static bool
nearest(const struct vms_window *w, uint64_t at_ns, uint64_t max_gap_ns, double *v)
{
	if (w->n == 0)
		return false;
	unsigned lo = 0, hi = w->n - 1; /* the first index whose time is <= at_ns, or w->n */
	uint64_t t;
	double x;
	vms_window_get(w, hi, &t, &x);
	if (t > at_ns) {
		lo = w->n;
	} else {
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;
			vms_window_get(w, mid, &t, &x);
			if (t <= at_ns)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	uint64_t best_gap = UINT64_MAX;
	for (unsigned i = lo > 0 ? lo - 1 : 0; i <= lo && i < w->n; i++) {
		vms_window_get(w, i, &t, &x);
		uint64_t gap = t > at_ns ? t - at_ns : at_ns - t;
		if (gap < best_gap) {
			best_gap = gap;
			*v = x;
		}
	}
	return best_gap <= max_gap_ns;
}

static bool
same_suspects(const struct an_suspect *x, unsigned nx, const struct an_suspect *y, unsigned ny)
{
	if (nx != ny)
		return false;
	for (unsigned i = 0; i < nx; i++)
		if (x[i].resource != y[i].resource ||
		    memcmp(x[i].score, y[i].score, sizeof(x[i].score)) != 0 ||
		    strcmp(x[i].name, y[i].name) != 0)
			return false;
	return true;
}

/* The victim's worst probe over its warning threshold, or VMS_AN_PROBE_COUNT if none. */
static unsigned
worst_probe(const struct vms_analysis *a, const struct an_domain *victim)
{
	unsigned worst = VMS_AN_PROBE_COUNT;
	double worst_s = 0;
	for (unsigned p = 0; p < VMS_AN_PROBE_COUNT; p++) {
		const struct an_probe *pr = &victim->probes[p];
		if (pr->have_baseline && pr->slowdown >= a->cfg.warning[p] &&
		    pr->slowdown > worst_s) {
			worst = p;
			worst_s = pr->slowdown;
		}
	}
	return worst;
}

/* Into the victim's top list, kept sorted by the best score; one below the last is left out. */
static void
rank_suspect(struct an_domain *victim, const char *name, unsigned resource,
             const double score[AN_EV_COUNT])
{
	double top = 0;
	for (unsigned e = 0; e < AN_EV_COUNT; e++)
		top = score[e] > top ? score[e] : top;
	if (!(top > 0))
		return;
	unsigned pos = victim->nsuspects;
	while (pos > 0 && victim->suspects[pos - 1].top < top)
		pos--;
	if (pos >= AN_SUSPECTS)
		return;
	if (victim->nsuspects == AN_SUSPECTS)
		free(victim->suspects[--victim->nsuspects].name);
	memmove(&victim->suspects[pos + 1], &victim->suspects[pos],
	        (victim->nsuspects - pos) * sizeof(victim->suspects[0]));
	struct an_suspect *sp = &victim->suspects[pos];
	*sp = (struct an_suspect){.name = vms_xstrdup(name), .resource = resource, .top = top};
	memcpy(sp->score, score, sizeof(sp->score));
	victim->nsuspects++;
}

/* The resource a probe's slowdown points at. */
static enum an_resource
lacking_resource(unsigned p)
{
	switch (p) {
	case VMS_AN_DISK_READ:
		return AN_RES_BLOCK;
	case VMS_AN_NETWORK_TRANSMIT:
	case VMS_AN_NETWORK_RECEIVE:
		return AN_RES_NETWORK;
	default:
		return AN_RES_CPU; /* CPU work, memory bandwidth, the micro latencies */
	}
}

/* One victim's search: its window, when its slowdown began, and the signal to correlate. */
struct search {
	const struct vms_analysis *a;
	const struct an_domain *victim;
	enum an_resource lacking;
	uint64_t onset_from_ns, onset_to_ns;
	bool cpu_contended;
	double busy_total; /* busy neighbours' use of the lacking resource now */
	enum an_evidence signal;
	uint64_t max_gap_ns; /* a use sample this near a signal sample pairs with it */
	uint64_t at[VMS_WINDOW_CAP];
	double value[VMS_WINDOW_CAP];
	unsigned n;
};

/* What the neighbour uses of r now (the median over the slowdown window, at least its newest
 * value), or NaN: taken once per pass (take_use_now), not once per victim. */
static double
use_now(const struct an_domain *n, unsigned r)
{
	return n->use.use_now[r];
}

static void
take_use_now(struct vms_analysis *a, uint64_t now_ns)
{
	uint64_t since = now_ns > a->cfg.window_ns ? now_ns - a->cfg.window_ns : 0;
	for (size_t i = 0; i < a->ndomains; i++) {
		struct an_domain *d = a->domains[i];
		for (unsigned r = 0; r < AN_RES_COUNT; r++)
			d->use.use_now[r] =
			    d->present ? vms_window_median_min(&d->use.res[r], since, 1, NULL)
			               : NAN;
	}
}

/* A use of r that counts as busy: CPU in cores over busy-threshold of its vCPUs. */
static bool
busy_use(const struct vms_analysis *a, const struct an_domain *n, unsigned r, double use)
{
	if (r == AN_RES_CPU)
		return use > a->busy_threshold * (n->sig_vcpus ? n->sig_vcpus : 1);
	return use >= AN_IO_BUSY_BYTES_PER_S;
}

static bool
in_onset(const struct search *s, uint64_t t)
{
	return t && t >= s->onset_from_ns && t <= s->onset_to_ns;
}

/* Onset or share: a neighbour busy now with the resource the victim lacks. */
static double
share_score(const struct search *s, const struct an_domain *n, enum an_evidence *ev)
{
	double use = use_now(n, s->lacking);
	if (!(use > 0) || !busy_use(s->a, n, s->lacking, use) || !(s->busy_total > 0))
		return 0;
	double share = use / s->busy_total;
	bool began = s->lacking == AN_RES_CPU && in_onset(s, n->use.busy_since_ns);
	if (began || in_onset(s, n->start_ns)) {
		*ev = AN_EV_ONSET;
		return (1 + share) / 2;
	}
	if (s->lacking == AN_RES_CPU && !s->cpu_contended)
		return 0; /* the victim does not wait for a CPU: CPU users are not its problem */
	*ev = AN_EV_SHARE;
	return share;
}

/* Correlation of the victim's signal with the neighbour's use of r, if it was ever busy. */
static double
correlation_score(const struct search *s, const struct an_domain *n, unsigned r)
{
	double xs[VMS_WINDOW_CAP], ys[VMS_WINDOW_CAP], top = 0;
	unsigned m = 0;
	for (unsigned k = 0; k < s->n; k++)
		if (nearest(&n->use.res[r], s->at[k], s->max_gap_ns, &xs[m])) {
			top = xs[m] > top ? xs[m] : top;
			ys[m++] = s->value[k];
		}
	if (m < AN_MIN_PAIRS || !busy_use(s->a, n, r, top))
		return 0;
	double score = vms_pearson(xs, ys, m);
	return score >= AN_MIN_CORRELATION ? score : 0;
}

/* The victim's signal: its CPI where the host counts it, else its per-sample slowdown. */
static void
victim_signal(struct search *s, unsigned worst)
{
	const struct an_host_use *u = &s->victim->use;
	const struct vms_window *w =
	    u->cpi && u->cpi->n >= AN_MIN_PAIRS ? u->cpi : &s->victim->probes[worst].recent;
	s->signal = w == u->cpi ? AN_EV_CPI : AN_EV_CORRELATION;
	/* The CPI is sampled with the use, at the same moments: only those pair. */
	s->max_gap_ns = s->signal == AN_EV_CPI ? s->a->cfg.interval_ns / 2 : AN_PAIR_MAX_GAP_NS;
	s->n = 0;
	for (unsigned k = 0; k < w->n; k++) {
		double v;
		vms_window_get(w, k, &s->at[s->n], &v);
		s->value[s->n] = s->signal == AN_EV_CPI
		                     ? v
		                     : an_oriented(worst, s->victim->probes[worst].baseline, v);
		if (isfinite(s->value[s->n]))
			s->n++;
	}
}

static void
begin_search(struct search *s, const struct vms_analysis *a, const struct an_domain *victim,
             unsigned worst, uint64_t now_ns)
{
	uint64_t window = a->cfg.window_ns, tick = a->cfg.interval_ns;
	uint64_t began =
	    victim->probes[worst].warn_since_ns ? victim->probes[worst].warn_since_ns : now_ns;
	*s = (struct search){.a = a, .victim = victim, .lacking = lacking_resource(worst)};
	/* The median over the window crosses the threshold up to a window after the change. */
	s->onset_from_ns = began > window + tick ? began - window - tick : 0;
	s->onset_to_ns = began + tick;
	s->cpu_contended = !victim->use.have_delay || victim->use.delay_ratio >= AN_MIN_DELAY_RATIO;
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *n = a->domains[i];
		double use = n != victim && n->present ? use_now(n, s->lacking) : NAN;
		if (use > 0 && busy_use(a, n, s->lacking, use))
			s->busy_total += use;
	}
	victim_signal(s, worst);
}

/* The victim's top AN_SUSPECTS (it comes in with none). */
static void
find_suspects(struct vms_analysis *a, struct an_domain *victim, unsigned worst, uint64_t now_ns)
{
	struct search s;
	begin_search(&s, a, victim, worst, now_ns);
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *n = a->domains[i];
		if (n == victim || !n->present)
			continue;
		for (unsigned r = 0; r < AN_RES_COUNT; r++) {
			double score[AN_EV_COUNT] = {0};
			score[s.signal] = correlation_score(&s, n, r);
			if (r == s.lacking) {
				enum an_evidence ev = AN_EV_SHARE;
				double v = share_score(&s, n, &ev);
				score[ev] = v;
			}
			rank_suspect(victim, n->name, r, score);
		}
	}
}

/*
 * One search of every victim costs victims x neighbours correlations: quadratic when a whole
 * host is degraded. A pass searches victims in turn, from where the last one stopped, until
 * this many victim-neighbour pairs are done; the others keep their suspects until their turn.
 * Up to 128 domains every victim is searched every pass.
 */
#define AN_PAIRS_PER_PASS (128 * 127)

/* A domain's suspects anew; true if they changed. */
static bool
search_victim(struct vms_analysis *a, struct an_domain *d, unsigned worst, uint64_t now_ns)
{
	struct an_suspect old[AN_SUSPECTS];
	unsigned nold = d->nsuspects;
	memcpy(old, d->suspects, sizeof(old));
	d->nsuspects = 0;
	if (worst < VMS_AN_PROBE_COUNT)
		find_suspects(a, d, worst, now_ns);
	bool changed = !same_suspects(old, nold, d->suspects, d->nsuspects);
	for (unsigned k = 0; k < nold; k++)
		free(old[k].name);
	return changed;
}

static void
search_round(struct vms_analysis *a, uint64_t now_ns)
{
	size_t nd = a->ndomains, pairs = nd > 1 ? nd - 1 : 1;
	size_t budget = AN_PAIRS_PER_PASS, next = a->suspect_cursor;
	bool taken = false; /* the use now of every domain: only once a victim needs it */
	for (size_t j = 0; j < nd; j++) {
		size_t i = (a->suspect_cursor + j) % nd;
		struct an_domain *d = a->domains[i];
		if (!d->present)
			continue;
		unsigned worst = worst_probe(a, d);
		if (worst < VMS_AN_PROBE_COUNT) {
			if (budget == 0)
				continue; /* a victim: its turn comes in a later pass */
			budget = budget > pairs ? budget - pairs : 0;
			next = i + 1;
			if (!taken)
				take_use_now(a, now_ns);
			taken = true;
		}
		if (search_victim(a, d, worst, now_ns))
			an_changed(a);
	}
	a->suspect_cursor = nd ? next % nd : 0;
}

void
an_update_suspects(struct vms_analysis *a, uint64_t now_ns)
{
	/* Suspects once per collection interval at most: they follow the resource samples. */
	if (now_ns - a->interference_at_ns >= a->cfg.interval_ns || !a->interference_at_ns) {
		a->interference_at_ns = now_ns;
		search_round(a, now_ns);
	}
	/* The next search falls due with time alone; it keeps the cadence of one per interval. */
	an_due_at(a, a->interference_at_ns + a->cfg.interval_ns);
}
