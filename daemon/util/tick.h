/*
 * A deadline sweep on the libvirt event loop: a periodic timeout that runs only while its
 * owner has something that can time out (connections, paused accepts), so an idle daemon
 * never wakes for it.
 */
#ifndef VMSCALE_UTIL_TICK_H
#define VMSCALE_UTIL_TICK_H

#include <stdbool.h>

#define VMS_TICK_MS 100 /* the sweep's period: deadlines are met within this */

typedef void (*vms_tick_fn)(void *opaque);

/* Embedded in its owner (it must not move once added); zeroed means "not added". */
struct vms_tick {
	bool added, armed;
	int id;
	unsigned period_ms;
	vms_tick_fn fn;
	void *opaque;
};

/* Registers the timeout, disarmed; 0, or -1 if no event loop is registered. */
int vms_tick_add(struct vms_tick *t, unsigned period_ms, vms_tick_fn fn, void *opaque);
/* Runs the sweep while busy, stops it when not. Arming an armed tick keeps its period
 * running (re-arming would restart it, and steady traffic could postpone every sweep). */
void vms_tick_arm(struct vms_tick *t, bool busy);
/* Unregisters it; a tick never added (or already removed) is fine. */
void vms_tick_remove(struct vms_tick *t);

#endif
