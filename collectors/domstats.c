/* Mapping of libvirt's bulk domain statistics (see domstats.h and virConnectGetAllDomainStats). */
#include "collectors/domstats.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/log.h"
#include "daemon/util/alloc.h"

static bool
param_u64(const virTypedParameter *p, uint64_t *out)
{
	switch (p->type) {
	case VIR_TYPED_PARAM_ULLONG:
		*out = p->value.ul;
		return true;
	case VIR_TYPED_PARAM_UINT:
		*out = p->value.ui;
		return true;
	case VIR_TYPED_PARAM_LLONG:
		if (p->value.l < 0)
			return false;
		*out = (uint64_t)p->value.l;
		return true;
	case VIR_TYPED_PARAM_INT:
		if (p->value.i < 0)
			return false;
		*out = (uint64_t)p->value.i;
		return true;
	default:
		return false;
	}
}

/* "prefix.N.rest": returns N (< limit) and points *rest after the dot, or -1. */
static long
indexed(const char *field, const char *prefix, unsigned limit, const char **rest)
{
	size_t pl = strlen(prefix);
	if (strncmp(field, prefix, pl) != 0)
		return -1;
	const char *p = field + pl;
	char *end;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long n = strtoul(p, &end, 10);
	if (*end != '.' || n >= limit)
		return -1;
	*rest = end + 1;
	return (long)n;
}

/* Grows an array of elements of size sz to hold n (bounded by the caller's limit). */
static void *
ensure(void *arr, unsigned *cap, unsigned n, size_t sz)
{
	if (n <= *cap)
		return arr;
	arr = vms_xrealloc(arr, n, sz);
	memset((char *)arr + (size_t)*cap * sz, 0, (size_t)(n - *cap) * sz);
	*cap = n;
	return arr;
}

static void
copy_name(char *dst, const virTypedParameter *p)
{
	if (p->type == VIR_TYPED_PARAM_STRING && p->value.s)
		snprintf(dst, VMS_DEVICE_NAME_MAX + 1, "%s", p->value.s);
}

static void
parse_vcpu(struct vms_domstats *st, unsigned idx, const char *rest, const virTypedParameter *p)
{
	uint64_t v;
	if (!param_u64(p, &v))
		return;
	st->vcpu = ensure(st->vcpu, &st->vcpu_cap, idx + 1, sizeof(*st->vcpu));
	if (idx + 1 > st->nvcpu)
		st->nvcpu = idx + 1;
	struct vms_vcpu_stats *c = &st->vcpu[idx];
	if (strcmp(rest, "time") == 0) {
		c->time_ns = v;
	} else if (strcmp(rest, "wait") == 0) {
		c->wait_ns = v;
		c->has_wait = true;
	} else if (strcmp(rest, "delay") == 0) {
		c->delay_ns = v;
		c->has_delay = true;
	}
}

/* A counter of a device record: libvirt's key after "block.N." or "net.N.", and where it goes. */
struct counter_key {
	const char *key;
	size_t off;
};

static const struct counter_key block_keys[] = {
    {"rd.bytes", offsetof(struct vms_block_stats, rd_bytes)},
    {"rd.reqs", offsetof(struct vms_block_stats, rd_reqs)},
    {"rd.times", offsetof(struct vms_block_stats, rd_times_ns)},
    {"wr.bytes", offsetof(struct vms_block_stats, wr_bytes)},
    {"wr.reqs", offsetof(struct vms_block_stats, wr_reqs)},
    {"wr.times", offsetof(struct vms_block_stats, wr_times_ns)},
    {NULL, 0},
};

static const struct counter_key net_keys[] = {
    {"rx.bytes", offsetof(struct vms_net_stats, rx_bytes)},
    {"rx.pkts", offsetof(struct vms_net_stats, rx_pkts)},
    {"rx.errs", offsetof(struct vms_net_stats, rx_errs)},
    {"rx.drop", offsetof(struct vms_net_stats, rx_drop)},
    {"tx.bytes", offsetof(struct vms_net_stats, tx_bytes)},
    {"tx.pkts", offsetof(struct vms_net_stats, tx_pkts)},
    {"tx.errs", offsetof(struct vms_net_stats, tx_errs)},
    {"tx.drop", offsetof(struct vms_net_stats, tx_drop)},
    {NULL, 0},
};

/* Stores p into the device record dev: its name, or the counter that rest names. */
static void
set_device_field(char *dev, char *name, const struct counter_key *keys, const char *rest,
                 const virTypedParameter *p)
{
	if (strcmp(rest, "name") == 0) {
		copy_name(name, p);
		return;
	}
	for (const struct counter_key *k = keys; k->key; k++)
		if (strcmp(rest, k->key) == 0)
			param_u64(p, (uint64_t *)(void *)(dev + k->off));
}

static void
parse_block(struct vms_domstats *st, unsigned idx, const char *rest, const virTypedParameter *p)
{
	st->block = ensure(st->block, &st->block_cap, idx + 1, sizeof(*st->block));
	if (idx + 1 > st->nblock)
		st->nblock = idx + 1;
	set_device_field((char *)&st->block[idx], st->block[idx].name, block_keys, rest, p);
}

static void
parse_net(struct vms_domstats *st, unsigned idx, const char *rest, const virTypedParameter *p)
{
	st->net = ensure(st->net, &st->net_cap, idx + 1, sizeof(*st->net));
	if (idx + 1 > st->nnet)
		st->nnet = idx + 1;
	set_device_field((char *)&st->net[idx], st->net[idx].name, net_keys, rest, p);
}

/* "perf.NAME": one of the events in the store's table, counted (an integer, not negative)
 * and below the bound; anything else is left out. A count lower than the last one is kept:
 * the event was disabled and enabled again, or QEMU restarted, and its counter began anew,
 * which Prometheus' rate() reads as the counter reset it is. */
static void
parse_perf(struct vms_domstats *st, const char *name, const virTypedParameter *p)
{
	enum vms_perf_event e = vms_perf_event_find(name);
	uint64_t v;
	if (e == VMS_PERF_COUNT || !param_u64(p, &v) || v >= VMS_PERF_COUNT_MAX)
		return;
	st->perf[e] = v;
	st->perf_have |= UINT32_C(1) << e;
}

int
vms_domstats_parse(const virTypedParameter *params, int nparams, struct vms_domstats *st)
{
	/* Keep the arrays (capacity) but forget last round's values and counts. */
	st->have_cpu = st->have_balloon_current = st->have_balloon_rss = false;
	st->nvcpu = st->nblock = st->nnet = 0;
	st->perf_have = 0;
	if (st->vcpu)
		memset(st->vcpu, 0, st->vcpu_cap * sizeof(*st->vcpu));
	if (st->block)
		memset(st->block, 0, st->block_cap * sizeof(*st->block));
	if (st->net)
		memset(st->net, 0, st->net_cap * sizeof(*st->net));

	for (int i = 0; i < nparams; i++) {
		const virTypedParameter *p = &params[i];
		const char *f = p->field;
		const char *rest;
		long idx;
		if (strcmp(f, "cpu.time") == 0)
			st->have_cpu = param_u64(p, &st->cpu_time_ns);
		else if (strcmp(f, "cpu.user") == 0)
			param_u64(p, &st->cpu_user_ns);
		else if (strcmp(f, "cpu.system") == 0)
			param_u64(p, &st->cpu_system_ns);
		else if (strcmp(f, "balloon.current") == 0)
			st->have_balloon_current = param_u64(p, &st->balloon_current_kib);
		else if (strcmp(f, "balloon.rss") == 0)
			st->have_balloon_rss = param_u64(p, &st->balloon_rss_kib);
		else if (strncmp(f, "perf.", 5) == 0)
			parse_perf(st, f + 5, p);
		else if ((idx = indexed(f, "vcpu.", VMS_MAX_VCPUS, &rest)) >= 0)
			parse_vcpu(st, (unsigned)idx, rest, p);
		else if ((idx = indexed(f, "block.", VMS_MAX_DEVICES, &rest)) >= 0)
			parse_block(st, (unsigned)idx, rest, p);
		else if ((idx = indexed(f, "net.", VMS_MAX_DEVICES, &rest)) >= 0)
			parse_net(st, (unsigned)idx, rest, p);
	}
	/* A device with no name cannot be labelled; give it its index. */
	for (unsigned i = 0; i < st->nblock; i++)
		if (!st->block[i].name[0])
			snprintf(st->block[i].name, sizeof(st->block[i].name), "#%u", i);
	for (unsigned i = 0; i < st->nnet; i++)
		if (!st->net[i].name[0])
			snprintf(st->net[i].name, sizeof(st->net[i].name), "#%u", i);
	return st->have_cpu ? 0 : -1;
}

static bool
same_bytes(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* Every field a render reads. The arrays are zeroed to their capacity before each parse, so
 * their padding compares equal too. */
static bool
domstats_equal(const struct vms_domstats *a, const struct vms_domstats *b)
{
	return a->have_cpu == b->have_cpu && a->cpu_time_ns == b->cpu_time_ns &&
	       a->cpu_user_ns == b->cpu_user_ns && a->cpu_system_ns == b->cpu_system_ns &&
	       a->have_balloon_current == b->have_balloon_current &&
	       a->have_balloon_rss == b->have_balloon_rss &&
	       a->balloon_current_kib == b->balloon_current_kib &&
	       a->balloon_rss_kib == b->balloon_rss_kib && a->nvcpu == b->nvcpu &&
	       a->nblock == b->nblock && a->nnet == b->nnet && a->perf_have == b->perf_have &&
	       same_bytes(a->perf, b->perf, sizeof(a->perf)) &&
	       same_bytes(a->vcpu, b->vcpu, a->nvcpu * sizeof(*a->vcpu)) &&
	       same_bytes(a->block, b->block, a->nblock * sizeof(*a->block)) &&
	       same_bytes(a->net, b->net, a->nnet * sizeof(*a->net));
}

int
vms_domstats_update(const virTypedParameter *params, int nparams, struct vms_domstats *cur,
                    struct vms_domstats *scratch, bool *changed)
{
	/* cur's values with scratch's arrays: vms_domstats_parse keeps what libvirt omits. */
	struct vms_domstats arrays = *scratch;
	*scratch = *cur;
	scratch->vcpu = arrays.vcpu;
	scratch->vcpu_cap = arrays.vcpu_cap;
	scratch->block = arrays.block;
	scratch->block_cap = arrays.block_cap;
	scratch->net = arrays.net;
	scratch->net_cap = arrays.net_cap;
	int rc = vms_domstats_parse(params, nparams, scratch);
	*changed = !domstats_equal(scratch, cur);
	if (*changed) {
		struct vms_domstats t = *cur;
		*cur = *scratch;
		*scratch = t;
	}
	return rc;
}
