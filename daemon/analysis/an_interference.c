/* Interference: which neighbours' resource use goes with a victim's slowdown (CPI²). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/analysis/an_internal.h"
#include "daemon/util/alloc.h"
#include "vmscale/clock.h"

#define AN_MIN_PAIRS 5 /* correlation needs this many paired points */
/* A resource sample this near a probe sample pairs with it. */
#define AN_PAIR_MAX_GAP_NS (30 * NS_PER_S)

void
an_clear_suspects(struct an_domain *d)
{
	for (unsigned i = 0; i < d->nsuspects; i++)
		free(d->suspects[i].name);
	d->nsuspects = 0;
}

static uint64_t
sum_vcpu_ns(const struct vms_domstats *ds)
{
	uint64_t t = 0;
	for (unsigned i = 0; i < ds->nvcpu; i++)
		t += ds->vcpu[i].time_ns;
	return t;
}

void
an_track_resources(struct vms_analysis *a, struct an_domain *ad, const struct vms_domain *d,
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
		vms_window_add(&ad->res[AN_RES_BLOCK], now_ns,
		               (double)(blk - ad->prev_block_bytes) / dt);
		vms_window_add(&ad->res[AN_RES_NETWORK], now_ns,
		               (double)(net - ad->prev_net_bytes) / dt);
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

/* The resource sample of w nearest to at_ns, if within the pairing gap. Values enter a
 * window in time order, so index i (0 = newest) is in falling time: a binary search. */
static bool
nearest(const struct vms_window *w, uint64_t at_ns, double *v)
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
	return best_gap <= AN_PAIR_MAX_GAP_NS;
}

static bool
same_suspects(const struct an_suspect *x, unsigned nx, const struct an_suspect *y, unsigned ny)
{
	if (nx != ny)
		return false;
	for (unsigned i = 0; i < nx; i++)
		if (x[i].resource != y[i].resource || x[i].score != y[i].score ||
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

/* Into the victim's top list, kept sorted by score; a score below the last is left out. */
static void
rank_suspect(struct an_domain *victim, const char *name, unsigned resource, double score)
{
	unsigned pos = victim->nsuspects;
	while (pos > 0 && victim->suspects[pos - 1].score < score)
		pos--;
	if (pos >= AN_SUSPECTS)
		return;
	if (victim->nsuspects == AN_SUSPECTS)
		free(victim->suspects[--victim->nsuspects].name);
	memmove(&victim->suspects[pos + 1], &victim->suspects[pos],
	        (victim->nsuspects - pos) * sizeof(victim->suspects[0]));
	victim->suspects[pos] = (struct an_suspect){vms_xstrdup(name), resource, score};
	victim->nsuspects++;
}

/*
 * CPI²'s antagonist search: for a victim over its warning threshold, the correlation of its
 * per-sample slowdown (on its worst probe) with each neighbour's host-side use of CPU, block
 * and network at the same moments. The top AN_SUSPECTS positive correlations are kept (the
 * victim comes in with none).
 */
static void
find_suspects(struct vms_analysis *a, struct an_domain *victim, unsigned worst)
{
	const struct an_probe *pr = &victim->probes[worst];
	uint64_t at[VMS_WINDOW_CAP];
	double slow[VMS_WINDOW_CAP], xs[VMS_WINDOW_CAP], ys[VMS_WINDOW_CAP];
	unsigned nslow = 0;
	for (unsigned k = 0; k < pr->recent.n; k++) {
		double v;
		vms_window_get(&pr->recent, k, &at[nslow], &v);
		slow[nslow] = an_oriented(worst, pr->baseline, v);
		if (isfinite(slow[nslow]))
			nslow++;
	}
	for (size_t i = 0; i < a->ndomains; i++) {
		const struct an_domain *n = a->domains[i];
		if (n == victim || !n->present)
			continue;
		for (unsigned r = 0; r < AN_RES_COUNT; r++) {
			unsigned m = 0;
			for (unsigned k = 0; k < nslow; k++)
				if (nearest(&n->res[r], at[k], &xs[m]))
					ys[m++] = slow[k];
			double score = m >= AN_MIN_PAIRS ? vms_pearson(xs, ys, m) : NAN;
			if (score > 0)
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
search_victim(struct vms_analysis *a, struct an_domain *d, unsigned worst)
{
	struct an_suspect old[AN_SUSPECTS];
	unsigned nold = d->nsuspects;
	memcpy(old, d->suspects, sizeof(old));
	d->nsuspects = 0;
	if (worst < VMS_AN_PROBE_COUNT)
		find_suspects(a, d, worst);
	bool changed = !same_suspects(old, nold, d->suspects, d->nsuspects);
	for (unsigned k = 0; k < nold; k++)
		free(old[k].name);
	return changed;
}

static void
search_round(struct vms_analysis *a)
{
	size_t nd = a->ndomains, pairs = nd > 1 ? nd - 1 : 1;
	size_t budget = AN_PAIRS_PER_PASS, next = a->suspect_cursor;
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
		}
		if (search_victim(a, d, worst))
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
		search_round(a);
	}
	/* The next search falls due with time alone; it keeps the cadence of one per interval. */
	an_due_at(a, a->interference_at_ns + a->cfg.interval_ns);
}
