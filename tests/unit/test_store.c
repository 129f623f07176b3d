/*
 * The store's domain index: thousands of domains, removals and reinsertions checked against
 * a plain reference table, arrival order kept, and seed 000's virtualization memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/store/store.h"
#include "check.h"

#define NKEYS 5000

/* Deterministic pseudo-random numbers, so a failure replays (xorshift64). */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
key_of(int i, char *buf, size_t n)
{
	/* UUID-shaped keys that share long prefixes, as libvirt's often do. */
	snprintf(buf, n, "0b1f4e8e-6a86-4e38-9a8e-%012x", (unsigned)i * 2654435761u);
}

/* The domains array and the index agree with the reference: same members, nothing else. */
static bool
consistent(struct vms_store *st, struct vms_domain *const *ref)
{
	size_t n = 0;
	char key[VMS_UUID_LEN + 1];
	for (int i = 0; i < NKEYS; i++) {
		key_of(i, key, sizeof(key));
		if (vms_store_find(st, key) != ref[i])
			return false;
		n += ref[i] != NULL;
	}
	if (n != st->ndomains)
		return false;
	for (size_t i = 0; i < st->ndomains; i++)
		if (vms_store_find(st, st->domains[i]->uuid) != st->domains[i])
			return false;
	return true;
}

static void
test_many_domains(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	CHECK(vms_store_find(&st, "nothing") == NULL);
	static struct vms_domain *ref[NKEYS];
	char key[VMS_UUID_LEN + 1], name[32];

	for (int i = 0; i < NKEYS; i++) {
		key_of(i, key, sizeof(key));
		snprintf(name, sizeof(name), "vm%d", i);
		ref[i] = vms_store_upsert(&st, key, name, i);
	}
	CHECK_INT(st.ndomains, NKEYS);
	CHECK(st.index.cap >= 2 * NKEYS);
	CHECK(consistent(&st, ref));
	/* Arrival order is the order of /metrics. */
	bool ordered = true;
	for (int i = 0; i < NKEYS; i++)
		ordered &= st.domains[i] == ref[i];
	CHECK(ordered);
	/* Upserting a known key returns the same domain and renames it. */
	key_of(42, key, sizeof(key));
	CHECK(vms_store_upsert(&st, key, "renamed", 7) == ref[42]);
	CHECK_STR(ref[42]->name, "renamed");
	CHECK_INT(st.ndomains, NKEYS);

	/* Remove every third domain, then check lookups of survivors and the removed. */
	for (int i = 0; i < NKEYS; i += 3) {
		vms_store_remove(&st, ref[i]);
		ref[i] = NULL;
	}
	CHECK(consistent(&st, ref));
	/* The survivors keep their order. */
	size_t k = 0;
	ordered = true;
	for (int i = 0; i < NKEYS; i++)
		if (ref[i])
			ordered &= k < st.ndomains && st.domains[k++] == ref[i];
	CHECK(ordered);

	/* Churn: random removals and reinsertions, checked against the reference as we go. */
	int bad_rounds = 0;
	for (int round = 0; round < 20; round++) {
		for (int op = 0; op < 2000; op++) {
			int i = (int)(rng() % NKEYS);
			key_of(i, key, sizeof(key));
			if (ref[i] && rng() % 2) {
				vms_store_remove(&st, ref[i]);
				ref[i] = NULL;
			} else {
				struct vms_domain *d = vms_store_upsert(&st, key, "churn", i);
				if (ref[i] && d != ref[i])
					bad_rounds++;
				ref[i] = d;
			}
		}
		if (!consistent(&st, ref))
			bad_rounds++;
	}
	CHECK_INT(bad_rounds, 0);

	/* Empty it completely, then fill it again: the index must not keep ghosts. */
	while (st.ndomains)
		vms_store_remove(&st, st.domains[st.ndomains - 1]);
	memset(ref, 0, sizeof(ref));
	CHECK(consistent(&st, ref));
	for (int i = 0; i < NKEYS; i += 2) {
		key_of(i, key, sizeof(key));
		ref[i] = vms_store_upsert(&st, key, "again", i);
	}
	CHECK(consistent(&st, ref));

	/* Removing a domain that is not in this store changes nothing. */
	struct vms_store other;
	vms_store_init(&other, 5000);
	key_of(2, key, sizeof(key));
	struct vms_domain *foreign = vms_store_upsert(&other, key, "foreign", 2);
	size_t before = st.ndomains;
	vms_store_remove(&st, foreign);
	CHECK_INT(st.ndomains, before);
	CHECK(vms_store_find(&st, key) == ref[2]);
	vms_store_fini(&other);
	vms_store_fini(&st);
}

static struct vms_domain *
domain_with_rss(struct vms_store *st, const char *uuid, uint64_t rss_kib, bool have)
{
	struct vms_domain *d = vms_store_upsert(st, uuid, uuid, 1);
	d->stats.have_balloon_rss = have;
	d->stats.balloon_rss_kib = rss_kib;
	return d;
}

static void
test_virtualization_memory(void)
{
	struct vms_store st;
	vms_store_init(&st, 5000);
	uint64_t v = 12345;
	/* Host memory unknown. */
	CHECK_INT(vms_store_virtualization_memory(&st, &v), -1);
	st.host.valid = true;
	st.host.mem_used = 1000ull << 20;
	st.host.have_shared = true;
	st.host.mem_shared = 24ull << 20;
	/* libvirt down: the domains' RSS are stale. */
	CHECK_INT(vms_store_virtualization_memory(&st, &v), -1);
	st.libvirt_up = true;
	/* No domain: all the used memory is the host's and the tool's. */
	CHECK_INT(vms_store_virtualization_memory(&st, &v), 0);
	CHECK_INT(v, 1024ull << 20);
	domain_with_rss(&st, "a", 200 * 1024, true);
	domain_with_rss(&st, "b", 300 * 1024, true);
	CHECK_INT(vms_store_virtualization_memory(&st, &v), 0);
	CHECK_INT(v, (1024ull - 500) << 20);
	/* One running domain without RSS: unknown rather than too large. */
	struct vms_domain *c = domain_with_rss(&st, "c", 0, false);
	CHECK_INT(vms_store_virtualization_memory(&st, &v), -1);
	/* Shared pages counted in every RSS can exceed what is used: clamped to 0. */
	c->stats.have_balloon_rss = true;
	c->stats.balloon_rss_kib = 600 * 1024;
	CHECK_INT(vms_store_virtualization_memory(&st, &v), 1);
	CHECK_INT(v, 0);
	/* Without the shared-memory figure the host side is unknown. */
	c->stats.balloon_rss_kib = 1;
	st.host.have_shared = false;
	CHECK_INT(vms_store_virtualization_memory(&st, &v), -1);
	vms_store_fini(&st);
}

/* Reported as a channel does: the record, then the probes part marked changed. */
static void
report(struct vms_store *st, struct vms_domain *d, uint64_t at_ns)
{
	d->probe.connected = d->probe.hello = d->probe.have_cpu = true;
	d->probe.last_report_ns = at_ns;
	vms_store_part_changed(st, VMS_STORE_PROBES);
}

/* The count of probes up is remembered, yet follows every change: a report, a domain gone,
 * a probe going stale with time alone, a new probe interval. */
static void
test_probes_up(void)
{
	struct vms_store st;
	vms_store_init(&st, 1000); /* stale after 3 s without a report */
	const uint64_t s = 1000000000ull;
	struct vms_domain *a = vms_store_upsert(&st, "uuid-a", "a", 1);
	struct vms_domain *b = vms_store_upsert(&st, "uuid-b", "b", 2);
	vms_store_upsert(&st, "uuid-c", "c", 3); /* no probe */
	CHECK_INT(vms_store_probes_up(&st, 10 * s), 0);
	report(&st, a, 10 * s);
	CHECK_INT(vms_store_probes_up(&st, 10 * s), 1);
	report(&st, b, 11 * s);
	CHECK_INT(vms_store_probes_up(&st, 11 * s), 2);
	CHECK_INT(vms_store_probes_up(&st, 13 * s), 2);
	CHECK_INT(vms_store_probes_up(&st, 13 * s + 1), 1); /* a stale, nothing else changed */
	CHECK_INT(vms_store_probes_up(&st, 14 * s + 1), 0);
	report(&st, a, 15 * s);
	CHECK_INT(vms_store_probes_up(&st, 15 * s), 1);
	st.probe_interval_ms = 100; /* a reload: stale after 0.3 s */
	CHECK_INT(vms_store_probes_up(&st, 15 * s + s / 2), 0);
	st.probe_interval_ms = 1000;
	CHECK_INT(vms_store_probes_up(&st, 15 * s + s / 2), 1);
	vms_store_remove(&st, a);
	CHECK_INT(vms_store_probes_up(&st, 15 * s + s / 2), 0);
	vms_store_fini(&st);
}

int
main(void)
{
	test_many_domains();
	test_virtualization_memory();
	test_probes_up();
	return check_done("test_store");
}
