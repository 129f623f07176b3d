/* The metrics registry (see registry.h). */
#include "daemon/expo/registry.h"

#include <stdlib.h>

#include "daemon/util/alloc.h"

struct registered {
	struct vms_metrics_source src;
	uint64_t generation; /* of the cached text */
	bool rendered;
	struct vms_buf text;
};

struct vms_registry {
	struct registered *items;
	size_t n, cap;
	size_t text_len; /* sum of the cached pieces: the assembled exposition's size */
	struct vms_registry_counts counts;
};

struct vms_registry *
vms_registry_new(void)
{
	return vms_xcalloc(1, sizeof(struct vms_registry));
}

void
vms_registry_free(struct vms_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		vms_buf_free(&r->items[i].text);
	free(r->items);
	free(r);
}

void
vms_registry_add(struct vms_registry *r, struct vms_metrics_source src)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->items = vms_xrealloc(r->items, r->cap, sizeof(*r->items));
	}
	struct registered *it = &r->items[r->n++];
	*it = (struct registered){.src = src};
	vms_buf_init(&it->text);
}

bool
vms_registry_changed(const struct vms_registry *r, uint64_t now_ns)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct registered *it = &r->items[i];
		if (!it->rendered || it->src.generation(it->src.ctx, now_ns) != it->generation)
			return true;
	}
	return false;
}

bool
vms_registry_refresh(struct vms_registry *r, uint64_t now_ns)
{
	bool changed = false;
	r->counts.refreshes++;
	r->text_len = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct registered *it = &r->items[i];
		uint64_t gen = it->src.generation(it->src.ctx, now_ns);
		if (it->rendered && gen == it->generation) {
			r->counts.reuses++;
		} else {
			/* Reuse the allocation: a piece's size changes little between renders. */
			it->text.len = 0;
			if (it->text.data)
				it->text.data[0] = '\0';
			it->src.render(it->src.ctx, &it->text, now_ns);
			it->generation = gen;
			it->rendered = true;
			r->counts.renders++;
			changed = true;
		}
		r->text_len += it->text.len;
	}
	return changed;
}

void
vms_registry_text(const struct vms_registry *r, struct vms_buf *out)
{
	vms_buf_reserve(out, r->text_len);
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].text.len)
			vms_buf_append(out, r->items[i].text.data, r->items[i].text.len);
}

void
vms_registry_get_counts(const struct vms_registry *r, struct vms_registry_counts *out)
{
	*out = r->counts;
}

size_t
vms_registry_count(const struct vms_registry *r)
{
	return r->n;
}

const char *
vms_registry_owner(const struct vms_registry *r, size_t i)
{
	return i < r->n ? r->items[i].src.owner : NULL;
}

const struct vms_buf *
vms_registry_piece(const struct vms_registry *r, size_t i)
{
	return i < r->n ? &r->items[i].text : NULL;
}
