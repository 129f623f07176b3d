/*
 * The metrics registry: sources render on their first refresh and then only when their
 * generation moves; the exposition is the cached pieces in registration order.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "daemon/expo/registry.h"

struct fake {
	const char *name;
	uint64_t generation;
	unsigned renders;
	uint64_t last_now;
};

static uint64_t
fake_generation(const void *ctx, uint64_t now_ns)
{
	(void)now_ns;
	return ((const struct fake *)ctx)->generation;
}

static void
fake_render(const void *ctx, struct vms_buf *b, uint64_t now_ns)
{
	struct fake *f = (struct fake *)(uintptr_t)ctx; /* the test counts its renders */
	f->renders++;
	f->last_now = now_ns;
	vms_buf_printf(b, "%s %llu\n", f->name, (unsigned long long)f->generation);
}

static struct vms_metrics_source
source_of(struct fake *f)
{
	return (struct vms_metrics_source){
	    .owner = f->name, .ctx = f, .generation = fake_generation, .render = fake_render};
}

static void
text_is(const struct vms_registry *r, const char *want)
{
	struct vms_buf b;
	vms_buf_init(&b);
	vms_registry_text(r, &b);
	CHECK_STR(b.data ? b.data : "", want);
	vms_buf_free(&b);
}

static void
test_renders_only_what_changed(void)
{
	struct fake a = {.name = "a"}, b = {.name = "b", .generation = 7}, c = {.name = "c"};
	struct vms_registry *r = vms_registry_new();
	vms_registry_add(r, source_of(&a));
	vms_registry_add(r, source_of(&b));
	vms_registry_add(r, source_of(&c));
	CHECK_INT(vms_registry_count(r), 3);
	CHECK_STR(vms_registry_owner(r, 1), "b");
	CHECK(vms_registry_owner(r, 3) == NULL);

	/* The first refresh renders every source, whatever its generation (0 included). */
	CHECK(vms_registry_changed(r, 50));
	CHECK(vms_registry_refresh(r, 100));
	CHECK_INT(a.renders + b.renders + c.renders, 3);
	CHECK_INT(a.last_now, 100);
	text_is(r, "a 0\nb 7\nc 0\n");

	/* Nothing moved: no render, no change, the same text. */
	CHECK(!vms_registry_changed(r, 150));
	CHECK(!vms_registry_refresh(r, 200));
	CHECK(!vms_registry_refresh(r, 300));
	CHECK_INT(a.renders + b.renders + c.renders, 3);
	text_is(r, "a 0\nb 7\nc 0\n");

	/* One source moves: only it renders again, in its place; asking whether anything
	 * changed renders nothing and changes nothing. */
	b.generation = 8;
	CHECK(vms_registry_changed(r, 350));
	CHECK(vms_registry_changed(r, 360));
	CHECK_INT(b.renders, 1);
	CHECK(vms_registry_refresh(r, 400));
	CHECK_INT(a.renders, 1);
	CHECK_INT(b.renders, 2);
	CHECK_INT(c.renders, 1);
	CHECK_INT(b.last_now, 400);
	text_is(r, "a 0\nb 8\nc 0\n");
	CHECK_STR(vms_registry_piece(r, 1)->data, "b 8\n");

	/* A generation that goes back is a change too: only equality means unchanged. */
	c.generation = UINT64_MAX;
	CHECK(vms_registry_refresh(r, 500));
	c.generation = 0;
	CHECK(vms_registry_refresh(r, 600));
	CHECK_INT(c.renders, 3);

	struct vms_registry_counts n;
	vms_registry_get_counts(r, &n);
	CHECK_INT(n.refreshes, 6);
	CHECK_INT(n.renders, 3 + 1 + 1 + 1);
	CHECK_INT(n.reuses, 6 * 3 - n.renders);
	vms_registry_free(r);
}

static void
test_empty(void)
{
	struct vms_registry *r = vms_registry_new();
	CHECK(!vms_registry_refresh(r, 1));
	text_is(r, "");
	vms_registry_free(r);
	vms_registry_free(NULL);
}

int
main(void)
{
	test_renders_only_what_changed();
	test_empty();
	return check_done("test_registry");
}
