/*
 * The libvirt collector: one persistent read-only connection per URI, reopened with backoff
 * when libvirtd goes away; lists running domains (N_up sums over the URIs), reads each new
 * domain's live XML for its probe channel, and asks for an early refresh when a lifecycle
 * event arrives. Each instance owns the store's domains of its connection, and only those.
 */
#ifndef VMSCALE_LIBVIRT_H
#define VMSCALE_LIBVIRT_H

#include "daemon/store/store.h"

struct vms_libvirt;

/* Registers libvirt's default event loop implementation; call once, before anything else. */
int vms_libvirt_event_init(void);

/* on_change is called (from the event loop) when a lifecycle event suggests refreshing now.
 * The URI is added to the store's connections. */
struct vms_libvirt *vms_libvirt_new(const char *uri, struct vms_store *st,
                                    void (*on_change)(void *), void *cls);
void vms_libvirt_free(struct vms_libvirt *lv);

/* Connects if needed (respecting backoff) and refreshes the domain list; 0 or -1. */
int vms_libvirt_refresh(struct vms_libvirt *lv);

#endif
