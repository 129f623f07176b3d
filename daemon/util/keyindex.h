/*
 * An index of caller-owned entries found by a string key stored inside each of them: open
 * addressing with linear probing over a power-of-two table kept at most half full, so lookups
 * stay O(1) at thousands of entries; deletion by backward shift, so no tombstones pile up
 * while entries come and go. An entry's key must not change while it is indexed.
 */
#ifndef VMSCALE_UTIL_KEYINDEX_H
#define VMSCALE_UTIL_KEYINDEX_H

#include <stddef.h>

struct vms_keyindex {
	void **slots;      /* NULL = empty */
	size_t cap;        /* 0 or a power of two */
	size_t n;          /* entries indexed */
	size_t key_offset; /* where an entry's NUL-terminated key lies: offsetof(entry, key) */
};

void vms_keyindex_init(struct vms_keyindex *ix, size_t key_offset);
void vms_keyindex_fini(struct vms_keyindex *ix);
/* The entry with this key, or NULL. */
void *vms_keyindex_find(const struct vms_keyindex *ix, const char *key);
/* Indexes an entry whose key is not indexed yet; the table grows first when it must. */
void vms_keyindex_add(struct vms_keyindex *ix, void *entry);
/* Takes this entry out of the index; nothing when it is not indexed. */
void vms_keyindex_remove(struct vms_keyindex *ix, const void *entry);

#endif
