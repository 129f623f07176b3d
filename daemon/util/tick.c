/* Deadline sweeps on the libvirt event loop (see tick.h). */
#include "daemon/util/tick.h"

#include <stddef.h>

#include <libvirt/libvirt.h>

static void
on_timeout(int timer, void *opaque)
{
	struct vms_tick *t = opaque;
	(void)timer;
	t->fn(t->opaque);
}

int
vms_tick_add(struct vms_tick *t, unsigned period_ms, vms_tick_fn fn, void *opaque)
{
	*t = (struct vms_tick){.period_ms = period_ms, .fn = fn, .opaque = opaque};
	t->id = virEventAddTimeout(-1, on_timeout, t, NULL);
	if (t->id < 0)
		return -1;
	t->added = true;
	return 0;
}

void
vms_tick_arm(struct vms_tick *t, bool busy)
{
	if (!t->added || busy == t->armed)
		return;
	virEventUpdateTimeout(t->id, busy ? (int)t->period_ms : -1);
	t->armed = busy;
}

void
vms_tick_remove(struct vms_tick *t)
{
	if (!t->added)
		return;
	virEventRemoveTimeout(t->id);
	t->added = false;
	t->armed = false;
}
