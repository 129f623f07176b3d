/* The key index (see keyindex.h). */
#include "daemon/util/keyindex.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/util/alloc.h"
#include "daemon/util/hash.h"

#define KEYINDEX_FIRST_CAP 64

void
vms_keyindex_init(struct vms_keyindex *ix, size_t key_offset)
{
	memset(ix, 0, sizeof(*ix));
	ix->key_offset = key_offset;
}

void
vms_keyindex_fini(struct vms_keyindex *ix)
{
	free(ix->slots);
	vms_keyindex_init(ix, ix->key_offset);
}

static const char *
key_of(const struct vms_keyindex *ix, const void *entry)
{
	return (const char *)entry + ix->key_offset;
}

/* The slot holding key, or the empty slot where it would go (the table is never full). */
static size_t
slot_of(const struct vms_keyindex *ix, const char *key)
{
	size_t mask = ix->cap - 1;
	size_t i = vms_hash_str(key) & mask;
	while (ix->slots[i] && strcmp(key_of(ix, ix->slots[i]), key) != 0)
		i = (i + 1) & mask;
	return i;
}

static void
grow(struct vms_keyindex *ix)
{
	void **old = ix->slots;
	size_t old_cap = ix->cap;
	ix->cap = old_cap ? old_cap * 2 : KEYINDEX_FIRST_CAP;
	ix->slots = vms_xcalloc(ix->cap, sizeof(*ix->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			ix->slots[slot_of(ix, key_of(ix, old[i]))] = old[i];
	free(old);
}

void *
vms_keyindex_find(const struct vms_keyindex *ix, const char *key)
{
	if (!ix->cap)
		return NULL;
	return ix->slots[slot_of(ix, key)];
}

void
vms_keyindex_add(struct vms_keyindex *ix, void *entry)
{
	if ((ix->n + 1) * 2 > ix->cap) /* at most half full: probe runs stay short */
		grow(ix);
	ix->slots[slot_of(ix, key_of(ix, entry))] = entry;
	ix->n++;
}

/*
 * Deletion by backward shift: the entries after the hole in its probe run move up unless
 * their home slot lies cyclically in (hole, j], so no lookup stops early at the hole.
 */
void
vms_keyindex_remove(struct vms_keyindex *ix, const void *entry)
{
	if (!ix->cap)
		return;
	size_t mask = ix->cap - 1;
	size_t hole = slot_of(ix, key_of(ix, entry));
	if (ix->slots[hole] != entry)
		return;
	ix->slots[hole] = NULL;
	ix->n--;
	for (size_t j = (hole + 1) & mask; ix->slots[j]; j = (j + 1) & mask) {
		size_t home = vms_hash_str(key_of(ix, ix->slots[j])) & mask;
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		ix->slots[hole] = ix->slots[j];
		ix->slots[j] = NULL;
		hole = j;
	}
}
