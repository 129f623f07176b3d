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

/*
 * CPI²'s antagonist search: for a victim over its warning threshold, the correlation of its
 * per-sample slowdown (on its worst probe) with each neighbour's host-side use of CPU, block
 * and network at the same moments. The top AN_SUSPECTS positive correlations are kept (the
 * victim comes in with none).
 */
static void
find_suspects(struct vms_analysis *a, struct an_domain *victim)
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
				double s = an_oriented(worst, pr->baseline, v);
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
an_update_suspects(struct vms_analysis *a, uint64_t now_ns)
{
	/* Suspects once per collection interval at most: they follow the resource samples. */
	if (now_ns - a->interference_at_ns >= a->cfg.interval_ns || !a->interference_at_ns) {
		a->interference_at_ns = now_ns;
		for (size_t i = 0; i < a->ndomains; i++) {
			struct an_domain *d = a->domains[i];
			if (!d->present)
				continue;
			struct an_suspect old[AN_SUSPECTS];
			unsigned nold = d->nsuspects;
			memcpy(old, d->suspects, sizeof(old));
			d->nsuspects = 0;
			find_suspects(a, d);
			if (!same_suspects(old, nold, d->suspects, d->nsuspects))
				an_changed(a);
			for (unsigned k = 0; k < nold; k++)
				free(old[k].name);
		}
	}
	/* The next search falls due with time alone; it keeps the cadence of one per interval. */
	an_due_at(a, a->interference_at_ns + a->cfg.interval_ns);
}
