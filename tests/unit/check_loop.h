/* Driving libvirt's default event loop in tests: run it until a condition holds. */
#ifndef VMSCALE_CHECK_LOOP_H
#define VMSCALE_CHECK_LOOP_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

static inline void
check_loop_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* Runs the loop until cond(arg) holds or about 3 s pass (a 50 ms timer keeps it turning). */
static inline bool
run_until(bool (*cond)(void *), void *arg)
{
	int timer = virEventAddTimeout(50, check_loop_tick, NULL, NULL);
	bool ok = false;
	for (int i = 0; i < 60 && !(ok = cond(arg)); i++)
		virEventRunDefaultImpl();
	virEventRemoveTimeout(timer);
	return ok;
}

#endif
