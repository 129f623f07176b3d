/* The store (see store.h). */
#include "store.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PROBE_STALE_INTERVALS 3

void
vms_store_init(struct vms_store *st, uint32_t probe_interval_ms)
{
	memset(st, 0, sizeof(*st));
	st->probe_interval_ms = probe_interval_ms;
	st->busy_threshold = VMS_BUSY_THRESHOLD_DEFAULT;
}

void
vms_domstats_free(struct vms_domstats *ds)
{
	free(ds->vcpu);
	free(ds->block);
	free(ds->net);
	memset(ds, 0, sizeof(*ds));
}

static void
domain_free(struct vms_domain *d)
{
	if (!d)
		return;
	vms_domstats_free(&d->stats);
	free(d->name);
	free(d->channel_path);
	free(d);
}

void
vms_store_fini(struct vms_store *st)
{
	for (size_t i = 0; i < st->ndomains; i++)
		domain_free(st->domains[i]);
	free(st->domains);
	memset(st, 0, sizeof(*st));
}

struct vms_domain *
vms_store_find(struct vms_store *st, const char *uuid)
{
	for (size_t i = 0; i < st->ndomains; i++)
		if (strcmp(st->domains[i]->uuid, uuid) == 0)
			return st->domains[i];
	return NULL;
}

struct vms_domain *
vms_store_upsert(struct vms_store *st, const char *uuid, const char *name, int id)
{
	struct vms_domain *d = vms_store_find(st, uuid);
	if (!d) {
		if (st->ndomains == st->cap) {
			st->cap = st->cap ? st->cap * 2 : 16;
			st->domains = vms_xrealloc(st->domains, st->cap, sizeof(*st->domains));
		}
		d = vms_xcalloc(1, sizeof(*d));
		d->vcpu_utilization = NAN;
		d->probe.clock_skew_s = NAN;
		snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
		st->domains[st->ndomains++] = d;
		vms_store_changed(st);
	}
	if (!d->name || strcmp(d->name, name) != 0) {
		free(d->name);
		d->name = vms_xstrdup(name);
		vms_store_changed(st);
	}
	d->id = id;
	return d;
}

void
vms_store_set_channel(struct vms_domain *d, const char *path)
{
	free(d->channel_path);
	d->channel_path = path ? vms_xstrdup(path) : NULL;
}

void
vms_store_remove(struct vms_store *st, struct vms_domain *d)
{
	for (size_t i = 0; i < st->ndomains; i++) {
		if (st->domains[i] == d) {
			memmove(&st->domains[i], &st->domains[i + 1],
				(st->ndomains - i - 1) * sizeof(*st->domains));
			st->ndomains--;
			domain_free(d);
			vms_store_changed(st);
			return;
		}
	}
}

void
vms_store_changed(struct vms_store *st)
{
	st->generation++;
}

bool
vms_probe_is_up(const struct vms_store *st, const struct vms_domain *d, uint64_t now_ns)
{
	const struct vms_probe_state *p = &d->probe;
	if (!p->connected || !p->hello || !p->have_cpu)
		return false;
	uint64_t stale_ns = (uint64_t)PROBE_STALE_INTERVALS * st->probe_interval_ms * 1000000ull;
	return now_ns - p->last_report_ns <= stale_ns;
}

size_t
vms_store_probes_up(const struct vms_store *st, uint64_t now_ns)
{
	size_t n = 0;
	for (size_t i = 0; i < st->ndomains; i++)
		n += vms_probe_is_up(st, st->domains[i], now_ns);
	return n;
}

void
vms_domain_update_utilization(struct vms_domain *d, uint64_t now_ns)
{
	const struct vms_domstats *ds = &d->stats;
	if (!ds->have_cpu || ds->nvcpu == 0) {
		d->vcpu_utilization = NAN;
		d->util_prev_at_ns = 0;
		return;
	}
	uint64_t vcpu_ns = 0;
	for (unsigned i = 0; i < ds->nvcpu; i++)
		vcpu_ns += ds->vcpu[i].time_ns;
	/* A restarted domain's counters fall: start over rather than report a negative rate. */
	if (d->util_prev_at_ns && now_ns > d->util_prev_at_ns && vcpu_ns >= d->util_prev_vcpu_ns)
		d->vcpu_utilization = (double)(vcpu_ns - d->util_prev_vcpu_ns) /
				      ((double)(now_ns - d->util_prev_at_ns) * ds->nvcpu);
	else
		d->vcpu_utilization = NAN;
	d->util_prev_vcpu_ns = vcpu_ns;
	d->util_prev_at_ns = now_ns;
}

size_t
vms_store_domains_busy(const struct vms_store *st)
{
	size_t n = 0;
	for (size_t i = 0; i < st->ndomains; i++) {
		double u = st->domains[i]->vcpu_utilization;
		n += !isnan(u) && u > st->busy_threshold;
	}
	return n;
}
