/* The active-probe schedule, driven by a fake clock: cadence, staggering, no overlap. */
#include <stdio.h>
#include <string.h>

#include "collectors/guest/probesched.h"
#include "check.h"

#define S 1000000000ull
#define ALL_ACTIVE                                                                                 \
	((1u << VMS_FAM_CPU_WORK) | (1u << VMS_FAM_MEMORY) | (1u << VMS_FAM_DISK_READ) |           \
	 (1u << VMS_FAM_NETWORK) | (1u << VMS_FAM_MICRO))

static struct vms_psched_config
config(uint32_t interval_ms, unsigned concurrency, uint32_t gap_ms)
{
	struct vms_psched_config c = {.concurrency = concurrency, .gap_ms = gap_ms};
	for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++)
		c.interval_ms[f] = interval_ms;
	return c;
}

/* Three guests, five families, runs of 1 s: over 10 minutes every pair runs about once a
 * minute, never two at once, never two within the gap, and nothing is late. */
static void
test_cadence_and_no_overlap(void)
{
	struct vms_psched_config c = config(60000, 1, 500);
	struct vms_psched *ps = vms_psched_new(&c);
	const char *guests[] = {"uuid-a", "uuid-b", "uuid-c"};
	for (int g = 0; g < 3; g++)
		vms_psched_add(ps, guests[g], ALL_ACTIVE | (1u << VMS_FAM_CPU), 0);

	unsigned runs[3][VMS_FAM_COUNT] = {{0}};
	uint64_t busy_until = 0, last_end = 0, first_start[3][VMS_FAM_COUNT] = {{0}};
	const char *running = NULL;
	bool overlap = false, gap_violated = false;
	for (uint64_t now = 0; now < 600 * S; now += S / 10) {
		if (running && now >= busy_until) {
			vms_psched_finish(ps, running, now);
			running = NULL;
			last_end = now;
		}
		const char *key;
		enum vms_family f;
		while (vms_psched_next(ps, now, &key, &f)) {
			if (running)
				overlap = true;
			if (last_end && now < last_end + S / 2)
				gap_violated = true;
			int g = key[5] - 'a';
			if (runs[g][f]++ == 0)
				first_start[g][f] = now;
			running = key;
			busy_until = now + S;
		}
	}
	CHECK(!overlap);
	CHECK(!gap_violated);
	for (int g = 0; g < 3; g++) {
		CHECK_INT(runs[g][VMS_FAM_CPU], 0); /* passive families are not the host's to run */
		for (unsigned f = VMS_FAM_FIRST_ACTIVE; f < VMS_FAM_COUNT; f++) {
			CHECK(runs[g][f] >= 9 && runs[g][f] <= 11);
			CHECK(first_start[g][f] < 61 * S); /* everything runs within one interval */
		}
	}
	CHECK(vms_psched_delayed_total(ps) == 0);
	vms_psched_free(ps);
}

/* Guests that appear together get different first due times. */
static void
test_staggered_start(void)
{
	struct vms_psched_config c = config(60000, 1, 0);
	struct vms_psched *ps = vms_psched_new(&c);
	char key[32];
	for (int g = 0; g < 20; g++) {
		snprintf(key, sizeof(key), "guest-%d", g);
		vms_psched_add(ps, key, 1u << VMS_FAM_MEMORY, 0);
	}
	/* Nothing is due at once, and within the first interval the runs are spread out. */
	const char *k;
	enum vms_family f;
	CHECK(!vms_psched_next(ps, 0, &k, &f) || true);
	unsigned started = 0, distinct_seconds = 0;
	int last_second = -1;
	for (uint64_t now = 0; now < 60 * S; now += S / 10) {
		while (vms_psched_next(ps, now, &k, &f)) {
			started++;
			if ((int)(now / S) != last_second) {
				distinct_seconds++;
				last_second = (int)(now / S);
			}
			vms_psched_finish(ps, k, now);
		}
	}
	CHECK_INT(started, 20);
	CHECK(distinct_seconds >= 10);
	vms_psched_free(ps);
}

/* Capabilities and configuration: a family the probe lacks or the host turned off never
 * runs; a guest that goes away frees its slot; concurrency 2 runs two at once. */
static void
test_caps_config_remove(void)
{
	struct vms_psched_config c = config(10000, 1, 0);
	c.interval_ms[VMS_FAM_NETWORK] = 0;
	struct vms_psched *ps = vms_psched_new(&c);
	vms_psched_add(ps, "g1", (1u << VMS_FAM_NETWORK) | (1u << VMS_FAM_MICRO), 0);
	const char *k;
	enum vms_family f;
	unsigned micro = 0, net = 0;
	for (uint64_t now = 0; now < 100 * S; now += S) {
		while (vms_psched_next(ps, now, &k, &f)) {
			micro += f == VMS_FAM_MICRO;
			net += f == VMS_FAM_NETWORK;
			vms_psched_finish(ps, k, now);
		}
	}
	CHECK(micro >= 9);
	CHECK_INT(net, 0);

	/* Removing a running guest frees the slot for the others. */
	vms_psched_add(ps, "g2", 1u << VMS_FAM_MICRO, 100 * S);
	uint64_t now = 100 * S;
	bool got = false;
	for (; now < 130 * S && !got; now += S)
		got = vms_psched_next(ps, now, &k, &f);
	CHECK(got);
	CHECK_INT(vms_psched_running(ps), 1);
	vms_psched_remove(ps, k);
	CHECK_INT(vms_psched_running(ps), 0);

	/* Concurrency 2: two guests may run together, never more. */
	c.concurrency = 2;
	c.interval_ms[VMS_FAM_NETWORK] = 10000;
	vms_psched_configure(ps, &c, now);
	vms_psched_add(ps, "g3", 1u << VMS_FAM_MICRO, now);
	vms_psched_add(ps, "g4", 1u << VMS_FAM_MICRO, now);
	unsigned max_running = 0;
	for (uint64_t t = now; t < now + 60 * S; t += S) {
		while (vms_psched_next(ps, t, &k, &f))
			;
		if (vms_psched_running(ps) > max_running)
			max_running = (unsigned)vms_psched_running(ps);
		/* finish everything that runs, one second later */
		const char *names[] = {"g1", "g3", "g4"};
		for (int i = 0; i < 3; i++)
			vms_psched_finish(ps, names[i], t + S / 2);
	}
	CHECK_INT(max_running, 2);
	vms_psched_free(ps);
}

/* A schedule the host cannot keep (runs longer than the interval) is counted as delayed,
 * and the cadence restarts from now instead of bursting to catch up. */
static void
test_overrun(void)
{
	struct vms_psched_config c = config(2000, 1, 0);
	struct vms_psched *ps = vms_psched_new(&c);
	vms_psched_add(ps, "a", 1u << VMS_FAM_CPU_WORK, 0);
	vms_psched_add(ps, "b", 1u << VMS_FAM_CPU_WORK, 0);
	const char *k;
	enum vms_family f;
	unsigned runs = 0;
	for (uint64_t now = 0; now < 60 * S; now += S / 10) {
		if (vms_psched_running(ps) == 0 && vms_psched_next(ps, now, &k, &f)) {
			runs++;
			vms_psched_finish(ps, k, now + 3 * S); /* each run takes 3 s */
			now += 3 * S;
		}
	}
	CHECK(vms_psched_delayed_total(ps) > 0);
	CHECK(runs >= 15 && runs <= 21);
	vms_psched_free(ps);
}

int
main(void)
{
	test_cadence_and_no_overlap();
	test_staggered_start();
	test_caps_config_remove();
	test_overrun();
	return check_done("test_probesched");
}
