/* Host-wide schedule of active probe runs (see probesched.h). */
#include "collectors/guest/probesched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/log.h"
#include "vmscale/clock.h"
#include "daemon/util/alloc.h"
#include "daemon/util/hash.h"

struct entry {
	char key[VMS_PSCHED_KEY_MAX + 1];
	unsigned caps;
	uint64_t due_ns[VMS_FAM_COUNT];
	bool has_due[VMS_FAM_COUNT];
	int running; /* family being run, or -1 */
};

struct vms_psched {
	struct vms_psched_config cfg;
	struct entry *entries;
	size_t n, cap;
	size_t running;
	uint64_t quiet_until_ns;
	uint64_t delayed_total;
};

static bool
family_on(const struct vms_psched *ps, const struct entry *e, unsigned f)
{
	return f >= VMS_FAM_FIRST_ACTIVE && f < VMS_FAM_COUNT && ps->cfg.interval_ms[f] > 0 &&
	       (e->caps & (1u << f));
}

/* First due time: a point within one interval that depends on the key and the family. */
static uint64_t
first_due(const struct vms_psched *ps, const struct entry *e, unsigned f, uint64_t now_ns)
{
	uint64_t interval = (uint64_t)ps->cfg.interval_ms[f] * NS_PER_MS;
	uint64_t slot = (uint64_t)(vms_hash_str(e->key) % 1000u) * interval / 1000u;
	uint64_t fam = (uint64_t)(f - VMS_FAM_FIRST_ACTIVE) * interval /
	               (VMS_FAM_COUNT - VMS_FAM_FIRST_ACTIVE);
	return now_ns + (slot + fam) % interval;
}

static void
refresh_dues(struct vms_psched *ps, struct entry *e, uint64_t now_ns)
{
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
		if (!family_on(ps, e, f)) {
			e->has_due[f] = false;
			continue;
		}
		uint64_t latest = now_ns + (uint64_t)ps->cfg.interval_ms[f] * NS_PER_MS;
		if (!e->has_due[f]) {
			e->due_ns[f] = first_due(ps, e, f, now_ns);
			e->has_due[f] = true;
		} else if (e->due_ns[f] > latest) {
			e->due_ns[f] = latest; /* a shorter interval pulls the next run in */
		}
	}
}

static void
sanitize(struct vms_psched_config *cfg)
{
	if (cfg->concurrency == 0)
		cfg->concurrency = 1;
}

struct vms_psched *
vms_psched_new(const struct vms_psched_config *cfg)
{
	struct vms_psched *ps = vms_xcalloc(1, sizeof(*ps));
	ps->cfg = *cfg;
	sanitize(&ps->cfg);
	return ps;
}

void
vms_psched_free(struct vms_psched *ps)
{
	if (!ps)
		return;
	free(ps->entries);
	free(ps);
}

void
vms_psched_configure(struct vms_psched *ps, const struct vms_psched_config *cfg, uint64_t now_ns)
{
	ps->cfg = *cfg;
	sanitize(&ps->cfg);
	for (size_t i = 0; i < ps->n; i++)
		refresh_dues(ps, &ps->entries[i], now_ns);
}

static struct entry *
find(struct vms_psched *ps, const char *key)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->entries[i].key, key) == 0)
			return &ps->entries[i];
	return NULL;
}

void
vms_psched_add(struct vms_psched *ps, const char *key, unsigned caps, uint64_t now_ns)
{
	struct entry *e = find(ps, key);
	if (!e) {
		if (ps->n == ps->cap) {
			ps->cap = ps->cap ? ps->cap * 2 : 16;
			ps->entries = vms_xrealloc(ps->entries, ps->cap, sizeof(*ps->entries));
		}
		e = &ps->entries[ps->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->running = -1;
	}
	e->caps = caps;
	refresh_dues(ps, e, now_ns);
}

void
vms_psched_remove(struct vms_psched *ps, const char *key)
{
	struct entry *e = find(ps, key);
	if (!e)
		return;
	if (e->running >= 0)
		ps->running--;
	*e = ps->entries[--ps->n];
}

bool
vms_psched_next(struct vms_psched *ps, uint64_t now_ns, const char **key, enum vms_family *family)
{
	if (ps->running >= ps->cfg.concurrency || now_ns < ps->quiet_until_ns)
		return false;
	struct entry *best = NULL;
	unsigned best_f = 0;
	for (size_t i = 0; i < ps->n; i++) {
		struct entry *e = &ps->entries[i];
		if (e->running >= 0)
			continue;
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			if (!e->has_due[f] || e->due_ns[f] > now_ns)
				continue;
			if (!best || e->due_ns[f] < best->due_ns[best_f]) {
				best = e;
				best_f = f;
			}
		}
	}
	if (!best)
		return false;
	uint64_t interval = (uint64_t)ps->cfg.interval_ms[best_f] * NS_PER_MS;
	if (now_ns - best->due_ns[best_f] > interval / 2)
		ps->delayed_total++;
	best->running = (int)best_f;
	ps->running++;
	*key = best->key;
	*family = (enum vms_family)best_f;
	return true;
}

void
vms_psched_finish(struct vms_psched *ps, const char *key, uint64_t now_ns)
{
	struct entry *e = find(ps, key);
	if (!e || e->running < 0)
		return;
	unsigned f = (unsigned)e->running;
	e->running = -1;
	ps->running--;
	ps->quiet_until_ns = now_ns + (uint64_t)ps->cfg.gap_ms * NS_PER_MS;
	if (!e->has_due[f])
		return; /* turned off while it ran */
	/* next += interval keeps the cadence; if we fell behind, restart from now. */
	uint64_t interval = (uint64_t)ps->cfg.interval_ms[f] * NS_PER_MS;
	e->due_ns[f] += interval;
	if (e->due_ns[f] <= now_ns)
		e->due_ns[f] = now_ns + interval;
}

size_t
vms_psched_running(const struct vms_psched *ps)
{
	return ps->running;
}

uint64_t
vms_psched_delayed_total(const struct vms_psched *ps)
{
	return ps->delayed_total;
}
