/*
 * The key index against a plain reference array: lookups after adds, removals and churn;
 * probe runs that wrap around the end of the table, broken by removals (backward shift).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon/util/hash.h"
#include "daemon/util/keyindex.h"
#include "check.h"

#define NKEYS 3000

struct item {
	int payload; /* the key lies elsewhere than at the start, as in the store's domains */
	char key[16];
};

static struct item items[NKEYS];
static bool in[NKEYS]; /* the reference: which items are indexed */

static uint64_t
rng(void)
{
	static uint64_t x = 88172645463325252ull; /* xorshift64: the same churn every run */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static bool
consistent(const struct vms_keyindex *ix)
{
	size_t n = 0;
	for (int i = 0; i < NKEYS; i++) {
		if (vms_keyindex_find(ix, items[i].key) != (in[i] ? &items[i] : NULL))
			return false;
		n += in[i];
	}
	return n == ix->n && 2 * ix->n <= ix->cap && (ix->cap & (ix->cap - 1)) == 0;
}

static void
test_many(void)
{
	struct vms_keyindex ix;
	vms_keyindex_init(&ix, offsetof(struct item, key));
	CHECK(vms_keyindex_find(&ix, "nothing") == NULL);
	vms_keyindex_remove(&ix, &items[0]); /* on an empty index: nothing */
	for (int i = 0; i < NKEYS; i++) {
		items[i].payload = i;
		snprintf(items[i].key, sizeof(items[i].key), "key-%d", i);
		vms_keyindex_add(&ix, &items[i]);
		in[i] = true;
	}
	CHECK_INT(ix.n, NKEYS);
	CHECK(ix.cap >= 2 * NKEYS);
	CHECK(consistent(&ix));
	for (int i = 0; i < NKEYS; i += 3) {
		vms_keyindex_remove(&ix, &items[i]);
		in[i] = false;
	}
	CHECK(consistent(&ix));
	vms_keyindex_remove(&ix, &items[0]); /* not indexed any more: nothing */
	CHECK(consistent(&ix));
	/* An entry that merely shares a key with an indexed one is not that one. */
	struct item twin = items[1];
	vms_keyindex_remove(&ix, &twin);
	CHECK(consistent(&ix));

	int bad_rounds = 0;
	for (int round = 0; round < 20; round++) {
		for (int op = 0; op < 2000; op++) {
			int i = (int)(rng() % NKEYS);
			if (in[i])
				vms_keyindex_remove(&ix, &items[i]);
			else
				vms_keyindex_add(&ix, &items[i]);
			in[i] = !in[i];
		}
		bad_rounds += !consistent(&ix);
	}
	CHECK_INT(bad_rounds, 0);
	vms_keyindex_fini(&ix);
	CHECK(ix.slots == NULL && ix.cap == 0 && ix.n == 0);
	CHECK(vms_keyindex_find(&ix, "key-1") == NULL);
}

/* Keys whose home is the last slot of the first table (64): their run wraps to slot 0. */
static void
test_wrap_around(void)
{
	struct item w[4];
	unsigned found = 0;
	for (unsigned k = 0; found < 3 && k < 100000; k++) {
		snprintf(w[found].key, sizeof(w[found].key), "w%u", k);
		if ((vms_hash_str(w[found].key) & 63) == 63)
			found++;
	}
	for (unsigned k = 0; found < 4 && k < 100000; k++) { /* and one whose home is slot 0 */
		snprintf(w[found].key, sizeof(w[found].key), "z%u", k);
		if ((vms_hash_str(w[found].key) & 63) == 0)
			found++;
	}
	if (!CHECK_INT(found, 4))
		return;
	struct vms_keyindex ix;
	vms_keyindex_init(&ix, offsetof(struct item, key));
	for (unsigned i = 0; i < 4; i++)
		vms_keyindex_add(&ix, &w[i]);
	CHECK_INT(ix.cap, 64);
	CHECK(ix.slots[63] == &w[0] && ix.slots[0] == &w[1] && ix.slots[1] == &w[2] &&
	      ix.slots[2] == &w[3]);
	/* The hole at the end is filled across the wrap; the slot-0 key moves home. */
	vms_keyindex_remove(&ix, &w[0]);
	CHECK(ix.slots[63] == &w[1] && ix.slots[0] == &w[2] && ix.slots[1] == &w[3] &&
	      ix.slots[2] == NULL);
	for (unsigned i = 1; i < 4; i++)
		CHECK(vms_keyindex_find(&ix, w[i].key) == &w[i]);
	CHECK(vms_keyindex_find(&ix, w[0].key) == NULL);
	/* A hole at slot 0: the key whose home it is moves back in; the one before stays. */
	vms_keyindex_remove(&ix, &w[2]);
	CHECK(ix.slots[63] == &w[1] && ix.slots[0] == &w[3] && ix.slots[1] == NULL);
	CHECK(vms_keyindex_find(&ix, w[1].key) == &w[1] &&
	      vms_keyindex_find(&ix, w[3].key) == &w[3]);
	CHECK_INT(ix.n, 2);
	vms_keyindex_fini(&ix);
}

int
main(void)
{
	test_many();
	test_wrap_around();
	return check_done("test_keyindex");
}
