/* The store (see store.h). */
#include "daemon/store/store.h"

#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/log.h"
#include "daemon/util/alloc.h"

#define PROBE_STALE_INTERVALS 3

/* What a count of probes up was taken from, and until when it holds. */
struct vms_probes_up_memo {
	bool valid;
	uint64_t domains_gen, probes_gen, at_ns, until_ns;
	uint32_t interval_ms;
	size_t up;
};

void
vms_store_init(struct vms_store *st, uint32_t probe_interval_ms)
{
	memset(st, 0, sizeof(*st));
	st->probe_interval_ms = probe_interval_ms;
	st->busy_threshold = VMS_BUSY_THRESHOLD_DEFAULT;
	/* The key a domain is found by: the one place to change when the key grows. */
	vms_keyindex_init(&st->index, offsetof(struct vms_domain, key));
	st->probes_up_memo = vms_xcalloc(1, sizeof(*st->probes_up_memo));
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
	free(d->socket_dir);
	free(d);
}

void
vms_store_fini(struct vms_store *st)
{
	for (size_t i = 0; i < st->ndomains; i++)
		domain_free(st->domains[i]);
	free(st->domains);
	vms_keyindex_fini(&st->index);
	for (size_t i = 0; i < st->nconns; i++) {
		free(st->conns[i]->uri);
		free(st->conns[i]);
	}
	free(st->conns);
	free(st->probes_up_memo);
	memset(st, 0, sizeof(*st));
}

struct vms_domain *
vms_store_find(struct vms_store *st, const char *key)
{
	return vms_keyindex_find(&st->index, key);
}

struct vms_conn *
vms_store_add_conn(struct vms_store *st, const char *uri)
{
	for (size_t i = 0; i < st->nconns; i++)
		if (strcmp(st->conns[i]->uri, uri) == 0)
			return st->conns[i];
	st->conns = vms_xrealloc(st->conns, st->nconns + 1, sizeof(*st->conns));
	struct vms_conn *c = vms_xcalloc(1, sizeof(*c));
	c->uri = vms_xstrdup(uri);
	c->index = (unsigned)st->nconns;
	st->conns[st->nconns++] = c;
	st->libvirt_up = false;
	vms_store_part_changed(st, VMS_STORE_DOMAINS);
	return c;
}

void
vms_store_set_conn_up(struct vms_store *st, struct vms_conn *conn, bool up)
{
	if (conn->up == up)
		return;
	conn->up = up;
	bool all = st->nconns > 0;
	for (size_t i = 0; i < st->nconns; i++)
		all = all && st->conns[i]->up;
	st->libvirt_up = all;
	vms_store_part_changed(st, VMS_STORE_DOMAINS);
}

void
vms_domain_key(char key[VMS_DOMAIN_KEY_LEN + 1], const struct vms_conn *conn, const char *uuid)
{
	/* The first connection's keys are bare UUIDs: one URI behaves as before. Connections
	 * are few (VMS_CONFIG_MAX_URIS), so "@N" fits. */
	if (conn && conn->index > 0)
		snprintf(key, VMS_DOMAIN_KEY_LEN + 1, "%.*s@%u", VMS_UUID_LEN, uuid,
		         conn->index % 100u);
	else
		snprintf(key, VMS_DOMAIN_KEY_LEN + 1, "%.*s", VMS_UUID_LEN, uuid);
}

const char *
vms_throttle_name(enum vms_throttle why)
{
	static const char *const names[VMS_THROTTLE_COUNT] = {
	    [VMS_THROTTLE_RECORDS] = "records",
	    [VMS_THROTTLE_BYTES] = "bytes",
	};
	return (unsigned)why < VMS_THROTTLE_COUNT ? names[why] : "unknown";
}

_Static_assert(VMS_PERF_COUNT <= 32, "perf_have holds one bit per event");

static const char *const perf_names[VMS_PERF_COUNT] = {
    [VMS_PERF_CPU_CYCLES] = "cpu_cycles",
    [VMS_PERF_INSTRUCTIONS] = "instructions",
    [VMS_PERF_CACHE_REFERENCES] = "cache_references",
    [VMS_PERF_CACHE_MISSES] = "cache_misses",
    [VMS_PERF_BRANCH_INSTRUCTIONS] = "branch_instructions",
    [VMS_PERF_BRANCH_MISSES] = "branch_misses",
    [VMS_PERF_BUS_CYCLES] = "bus_cycles",
    [VMS_PERF_STALLED_CYCLES_FRONTEND] = "stalled_cycles_frontend",
    [VMS_PERF_STALLED_CYCLES_BACKEND] = "stalled_cycles_backend",
    [VMS_PERF_REF_CPU_CYCLES] = "ref_cpu_cycles",
    [VMS_PERF_CPU_CLOCK] = "cpu_clock",
    [VMS_PERF_TASK_CLOCK] = "task_clock",
    [VMS_PERF_PAGE_FAULTS] = "page_faults",
    [VMS_PERF_CONTEXT_SWITCHES] = "context_switches",
    [VMS_PERF_CPU_MIGRATIONS] = "cpu_migrations",
    [VMS_PERF_PAGE_FAULTS_MIN] = "page_faults_min",
    [VMS_PERF_PAGE_FAULTS_MAJ] = "page_faults_maj",
    [VMS_PERF_ALIGNMENT_FAULTS] = "alignment_faults",
    [VMS_PERF_EMULATION_FAULTS] = "emulation_faults",
};

const char *
vms_perf_event_name(enum vms_perf_event e)
{
	return (unsigned)e < VMS_PERF_COUNT ? perf_names[e] : NULL;
}

enum vms_perf_event
vms_perf_event_find(const char *name)
{
	for (unsigned e = 0; e < VMS_PERF_COUNT; e++)
		if (strcmp(name, perf_names[e]) == 0)
			return (enum vms_perf_event)e;
	return VMS_PERF_COUNT;
}

bool
vms_perf_event_is_clock(enum vms_perf_event e)
{
	return e == VMS_PERF_CPU_CLOCK || e == VMS_PERF_TASK_CLOCK;
}

struct vms_domain *
vms_store_upsert(struct vms_store *st, const char *uuid, const char *name, int id)
{
	return vms_store_upsert_in(st, NULL, uuid, name, id);
}

struct vms_domain *
vms_store_upsert_in(struct vms_store *st, const struct vms_conn *conn, const char *uuid,
                    const char *name, int id)
{
	char key[VMS_DOMAIN_KEY_LEN + 1];
	vms_domain_key(key, conn, uuid);
	struct vms_domain *d = vms_store_find(st, key);
	if (!d) {
		if (st->ndomains == st->cap) {
			st->cap = st->cap ? st->cap * 2 : 16;
			st->domains = vms_xrealloc(st->domains, st->cap, sizeof(*st->domains));
		}
		d = vms_xcalloc(1, sizeof(*d));
		d->vcpu_utilization = NAN;
		d->probe.clock_skew_s = NAN;
		snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
		memcpy(d->key, key, sizeof(d->key));
		d->conn = conn;
		vms_keyindex_add(&st->index, d);
		st->domains[st->ndomains++] = d;
		vms_store_part_changed(st, VMS_STORE_DOMAINS);
	}
	if (!d->name || strcmp(d->name, name) != 0) {
		free(d->name);
		d->name = vms_xstrdup(name);
		vms_store_part_changed(st, VMS_STORE_DOMAINS);
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
vms_store_set_socket_dir(struct vms_domain *d, const char *dir)
{
	free(d->socket_dir);
	d->socket_dir = dir ? vms_xstrdup(dir) : NULL;
}

void
vms_store_remove(struct vms_store *st, struct vms_domain *d)
{
	for (size_t i = 0; i < st->ndomains; i++) {
		if (st->domains[i] == d) {
			vms_keyindex_remove(&st->index, d);
			memmove(&st->domains[i], &st->domains[i + 1],
			        (st->ndomains - i - 1) * sizeof(*st->domains));
			st->ndomains--;
			domain_free(d);
			vms_store_part_changed(st, VMS_STORE_DOMAINS);
			return;
		}
	}
}

void
vms_store_part_changed(struct vms_store *st, enum vms_store_part part)
{
	st->part_generation[part]++;
	st->generation++;
}

void
vms_store_changed(struct vms_store *st)
{
	for (unsigned p = 0; p < VMS_STORE_PART_COUNT; p++)
		st->part_generation[p]++;
	st->generation++;
}

/* How long after its last report a probe still counts as up. */
static uint64_t
probe_stale_ns(const struct vms_store *st)
{
	return (uint64_t)PROBE_STALE_INTERVALS * st->probe_interval_ms * 1000000ull;
}

bool
vms_probe_is_up(const struct vms_store *st, const struct vms_domain *d, uint64_t now_ns)
{
	const struct vms_probe_state *p = &d->probe;
	if (!p->connected || !p->hello || !p->have_cpu)
		return false;
	return now_ns - p->last_report_ns <= probe_stale_ns(st);
}

size_t
vms_store_probes_up(const struct vms_store *st, uint64_t now_ns)
{
	struct vms_probes_up_memo *m = st->probes_up_memo;
	if (m && m->valid && m->domains_gen == st->part_generation[VMS_STORE_DOMAINS] &&
	    m->probes_gen == st->part_generation[VMS_STORE_PROBES] &&
	    m->interval_ms == st->probe_interval_ms && now_ns >= m->at_ns && now_ns < m->until_ns)
		return m->up;
	uint64_t stale_ns = probe_stale_ns(st);
	uint64_t until = UINT64_MAX; /* when the first probe up goes stale */
	size_t n = 0;
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domain *d = st->domains[i];
		if (!vms_probe_is_up(st, d, now_ns))
			continue;
		n++;
		uint64_t stale_at = d->probe.last_report_ns + stale_ns + 1;
		if (stale_at < until)
			until = stale_at;
	}
	if (m)
		*m = (struct vms_probes_up_memo){true,
		                                 st->part_generation[VMS_STORE_DOMAINS],
		                                 st->part_generation[VMS_STORE_PROBES],
		                                 now_ns,
		                                 until,
		                                 st->probe_interval_ms,
		                                 n};
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

int
vms_store_virtualization_memory(const struct vms_store *st, uint64_t *bytes)
{
	const struct vms_host_stats *h = &st->host;
	if (!h->valid || !h->have_shared || !st->libvirt_up)
		return -1;
	uint64_t used = h->mem_used + h->mem_shared;
	used = used > h->mem_buffers ? used - h->mem_buffers : 0;
	uint64_t rss = 0;
	for (size_t i = 0; i < st->ndomains; i++) {
		const struct vms_domstats *ds = &st->domains[i]->stats;
		if (!ds->have_balloon_rss)
			return -1;
		rss += ds->balloon_rss_kib * 1024;
	}
	*bytes = used >= rss ? used - rss : 0;
	return used >= rss ? 0 : 1;
}

const char *
vms_agent_command_name(enum vms_agent_command c)
{
	return c == VMS_AGENT_CPUSTATS ? "cpustats" : c == VMS_AGENT_DISKSTATS ? "diskstats" : NULL;
}

const char *
vms_agent_result_name(enum vms_agent_result r)
{
	static const char *const names[] = {"ok", "error", "rejected"};
	return (unsigned)r < VMS_AGENT_RESULT_COUNT ? names[r] : NULL;
}

const char *
vms_guest_source_name(enum vms_guest_source s)
{
	return s == VMS_SOURCE_PROBE ? "probe" : s == VMS_SOURCE_AGENT ? "qemu_agent" : "none";
}

struct vms_passive
vms_domain_passive(const struct vms_domain *d)
{
	const struct vms_probe_state *p = &d->probe;
	const struct vms_agent_state *a = &d->agent;
	/* A container's probe without lxcfs reads the host's /proc: none of it is the guest's. */
	if (!p->info.view_host && (p->have_cpu || p->ndisks))
		return (struct vms_passive){VMS_SOURCE_PROBE, p->have_cpu, &p->cpu,
		                            p->disks,         p->ndisks,   p->disks_dropped_total};
	if (a->have_cpu || a->ndisks)
		return (struct vms_passive){VMS_SOURCE_AGENT, a->have_cpu, &a->cpu,
		                            a->disks,         a->ndisks,   a->disks_dropped_total};
	return (struct vms_passive){.source = VMS_SOURCE_NONE};
}
